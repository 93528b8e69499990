/**
 * Host alerts from node exporter, with thresholds and `for` durations from stack config.
 * Every alert keeps the `instance` label, so Alertmanager's "host unreachable mutes that host's
 * other alerts" inhibition can match on it.
 */
import { RULE_RATE_WINDOW, RULE_RATE_WINDOW_MS } from "../../lib/catalog";
import type { AlertThresholds } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import { durationSeconds, formatDuration, minutesCovering } from "./duration";
import { hostFailureRules } from "./host-failures";
import {
  type AlertRule,
  type InputSeries,
  type RecordingRule,
  type RuleGroup,
  seriesSelector,
} from "./types";

/**
 * Filesystems that are not real disks on a Docker host: container layers (overlay), snaps
 * (squashfs, always full) and memory-backed mounts.
 */
const EXCLUDED_FSTYPES = ["tmpfs", "devtmpfs", "overlay", "squashfs", "nsfs", "ramfs"] as const;
const FS_SELECTOR = `job="${JOB_NAMES.node}", fstype!~"${EXCLUDED_FSTYPES.join("|")}"`;

/** Window predict_linear fits its line over. */
const DISK_FILL_WINDOW = "6h";
/** Only predict on filesystems already below this much free space: growth on an empty disk is normal. */
const DISK_FILL_MAX_FREE_PERCENT = 40;
const DISK_FILL_FOR = "1h";
/** The critical fill-up level: empty within this many hours, with less than this much free. */
const DISK_FILL_CRITICAL_HOURS = 4;
const DISK_FILL_CRITICAL_MAX_FREE_PERCENT = 20;

const NODE = { job: JOB_NAMES.node };
const RATE_WINDOW_MINUTES = RULE_RATE_WINDOW_MS / 60_000;
const GIB = 1024 ** 3;

/**
 * Whole percentages just either side of a threshold (thresholds may be fractional, 0 < t < 100),
 * so the cases prove the configured threshold is the one the rule uses.
 */
function justAbove(threshold: number): number {
  return Math.floor(threshold) + 1;
}

function justBelow(threshold: number): number {
  return Math.ceil(threshold) - 1;
}

/** Evaluation time that lets a rate warm up, then holds the condition for `forDuration` and a step. */
function evalAfter(forDuration: string, warmupMinutes = RATE_WINDOW_MINUTES): string {
  return formatDuration((warmupMinutes + minutesCovering(forDuration) + 1) * 60);
}

/** Samples (one a minute) enough to reach evalAfter(forDuration) and a little beyond. */
function samplesFor(forDuration: string): number {
  return RATE_WINDOW_MINUTES + minutesCovering(forDuration) + 5;
}

/** Idle CPU seconds gained per minute by one core that is `busyPercent` busy. */
function idleSecondsPerMinute(busyPercent: number): number {
  return Number(((60 * (100 - busyPercent)) / 100).toFixed(6));
}

function cpuSeries(instance: string, busyPercent: number, samples: number): InputSeries[] {
  return ["0", "1"].map((cpu) => ({
    series: seriesSelector("node_cpu_seconds_total", { ...NODE, instance, cpu, mode: "idle" }),
    values: `0+${idleSecondsPerMinute(busyPercent)}x${samples}`,
  }));
}

function filesystemLabels(instance: string, mountpoint: string, fstype: string): Record<string, string> {
  const device = fstype === "ext4" ? "/dev/nvme0n1p1" : fstype;
  return { ...NODE, instance, device, fstype, mountpoint };
}

/** A filesystem's capacity and what is left of it: bytes (space) or inodes. */
interface FilesystemMetrics {
  readonly size: string;
  readonly free: string;
}
const SPACE_METRICS: FilesystemMetrics = {
  size: "node_filesystem_size_bytes",
  free: "node_filesystem_avail_bytes",
};
const INODE_METRICS: FilesystemMetrics = {
  size: "node_filesystem_files",
  free: "node_filesystem_files_free",
};

/** Filesystem size/available series with a constant used percentage. */
function filesystemSeries(
  labels: Record<string, string>,
  usedPercent: number,
  samples: number,
  metrics: FilesystemMetrics = SPACE_METRICS,
): InputSeries[] {
  const size = 100 * GIB;
  const free = ((100 - usedPercent) * size) / 100;
  return [
    { series: seriesSelector(metrics.size, labels), values: `${size}+0x${samples}` },
    { series: seriesSelector(metrics.free, labels), values: `${free}+0x${samples}` },
  ];
}

/** Hosts that push their metrics (outside AWS), and how often their Alloy scrapes. */
export interface PushedHosts {
  /** Per pushing host, the labels its Alloy puts on every series (`instance` among them). */
  readonly labels: readonly Readonly<Record<string, string>>[];
  readonly scrapeInterval: string;
}

/**
 * One series per pushing host, `1`, labelled exactly like the `up` its Alloy pushes for the node
 * job: the list of hosts that should be pushing, kept out of the alert's expression (so a
 * notification's query names no other host) and giving a silent host's alert the labels a
 * failing scrape gives it (one alert per host, whichever way it went down; inhibition matches).
 */
const PUSH_EXPECTED_SERIES = "instance:pushed_up:expected";

/**
 * How long a pushing host may send nothing before it counts as down: three missed scrapes.
 * Remote-written series get no staleness marker when the sender stops, so `up` does not turn 0:
 * its absence over this window is the signal instead (and `for` still applies on top).
 */
function pushSilenceWindow(scrapeInterval: string): string {
  return formatDuration(3 * durationSeconds(scrapeInterval));
}

function pushExpectedRecords(pushed: PushedHosts): RecordingRule[] {
  return pushed.labels.map((labels) => ({
    record: PUSH_EXPECTED_SERIES,
    expr: "vector(1)",
    labels: { ...labels, ...NODE },
  }));
}

/**
 * Pushing hosts with no node `up` over the window. Only once Prometheus has been up for the
 * window itself: right after a start (an empty or old TSDB) every pushing host is absent until
 * its next push arrives, which is not an outage.
 */
function silentPushTerm(pushed: PushedHosts): string {
  const window = pushSilenceWindow(pushed.scrapeInterval);
  const uptime = `time() - process_start_time_seconds{job="${JOB_NAMES.prometheus}"}`;
  return (
    `(${PUSH_EXPECTED_SERIES} unless on (instance, job) present_over_time(up{job="${JOB_NAMES.node}"}[${window}]) ` +
    `and on () (${uptime}) > ${durationSeconds(window)})`
  );
}

function hostUnreachable(t: AlertThresholds, pushed: PushedHosts): AlertRule {
  const forMinutes = minutesCovering(t.hostDownFor);
  // Down for one step less than `for`: the alert is still pending.
  const shortOutage = Math.max(forMinutes - 1, 1);
  const pushing = pushed.labels.length > 0;
  const failedScrape = `up{job="${JOB_NAMES.node}"} == 0`;
  return {
    name: "HostUnreachable",
    expr: pushing ? `${failedScrape} or ${silentPushTerm(pushed)}` : failedScrape,
    for: t.hostDownFor,
    severity: "critical",
    condition: pushing
      ? `node exporter scrape fails (\`up == 0\`), or a host outside AWS pushes no \`up\` for ${pushSilenceWindow(pushed.scrapeInterval)}`
      : "node exporter scrape fails (`up == 0`)",
    summary: "A host does not answer Prometheus' scrapes.",
    description:
      "Prometheus cannot scrape the node exporter on {{ $labels.instance }} ({{ $labels.job }} job) for " +
      `${t.hostDownFor}: the host is down, unreachable or its exporter stopped. Its other alerts are muted.`,
    cases: [
      {
        name: "fires when the node exporter stays down longer than hostDownFor",
        inputSeries: [
          { series: seriesSelector("up", { ...NODE, instance: "web-1" }), values: `1x2 0x${forMinutes + 5}` },
          { series: seriesSelector("up", { ...NODE, instance: "db-1" }), values: `1x${forMinutes + 8}` },
          ...pushingUp(pushed.labels, forMinutes + 8),
        ],
        evalTime: formatDuration((3 + forMinutes + 1) * 60),
        expectedAlerts: [
          {
            labels: { ...NODE, instance: "web-1" },
            description: hostDownDescription(t, "web-1"),
          },
        ],
      },
      {
        name: "stays quiet through an outage shorter than hostDownFor",
        inputSeries: [
          {
            series: seriesSelector("up", { ...NODE, instance: "web-1" }),
            values: `1x2 0x${shortOutage - 1} 1x10`,
          },
          ...pushingUp(pushed.labels, shortOutage + 12),
        ],
        evalTime: formatDuration((2 + shortOutage) * 60),
        expectedAlerts: [],
      },
      ...silentPushCases(t, pushed),
    ],
  };
}

function hostDownDescription(t: AlertThresholds, instance: string): string {
  return (
    `Prometheus cannot scrape the node exporter on ${instance} (node job) for ` +
    `${t.hostDownFor}: the host is down, unreachable or its exporter stopped. Its other alerts are muted.`
  );
}

/** A pushing host's node `up`, labelled as its Alloy labels it. */
function pushedUp(labels: Readonly<Record<string, string>>): string {
  return seriesSelector("up", { ...NODE, ...labels });
}

/** Every pushing host sending `up` each minute: the silence term stays empty. */
function pushingUp(hosts: PushedHosts["labels"], samples: number): InputSeries[] {
  return hosts.map((labels) => ({ series: pushedUp(labels), values: `1x${samples}` }));
}

/**
 * A pushing host that stops sending fires, with the labels of its pushed `up`; one whose exporter
 * fails (Alloy pushes `up` 0) and that then goes silent stays one alert; one that keeps sending,
 * or a Prometheus that just started, does not fire.
 */
function silentPushCases(t: AlertThresholds, pushed: PushedHosts): AlertRule["cases"] {
  const [host, ...others] = pushed.labels;
  if (host === undefined) return [];
  const instance = host.instance ?? "";
  const windowMinutes = Math.ceil(durationSeconds(pushSilenceWindow(pushed.scrapeInterval)) / 60);
  const forMinutes = minutesCovering(t.hostDownFor);
  const up = pushedUp(host);
  // Samples every minute for 3m, then nothing: absent after the window, firing after `for`.
  const stopsAt = 3;
  const firesBy = stopsAt + windowMinutes + forMinutes + 2;
  // Failed scrapes pushed (0) for 3m, then nothing: `up == 0` holds through the 5m lookback,
  // then the silence term; the alert started at the first 0 and fires `for` after it.
  const zerosUntil = stopsAt + 3;
  const afterLookback = zerosUntil + 6;
  const thenSilentAt = Math.max(afterLookback, stopsAt + 1 + forMinutes);
  const total = Math.max(firesBy, thenSilentAt) + 3;
  const startTime = seriesSelector("process_start_time_seconds", { job: JOB_NAMES.prometheus });
  // Prometheus started long before (the uptime gate is open), or just now (it is closed).
  const longUp = { series: startTime, values: `0x${total}` };
  const justStarted = { series: startTime, values: `${firesBy * 60 - 30}x${total}` };
  const web1 = { series: seriesSelector("up", { ...NODE, instance: "web-1" }), values: `1x${total}` };
  const firing = [{ labels: { ...NODE, ...host }, description: hostDownDescription(t, instance) }];
  return [
    {
      name: `fires when the outside host ${instance} stops pushing for the silence window and hostDownFor, labelled like its pushed up`,
      inputSeries: [
        longUp,
        { series: up, values: `1x${stopsAt} _x${firesBy}` },
        web1,
        ...pushingUp(others, total),
      ],
      evalTime: formatDuration(firesBy * 60),
      expectedAlerts: firing,
    },
    {
      name: `stays one alert when ${instance}'s exporter fails (up 0 pushed) and the host then goes silent`,
      inputSeries: [
        longUp,
        { series: up, values: `1x${stopsAt - 1} 0x${zerosUntil - stopsAt} _x${total}` },
        web1,
        ...pushingUp(others, total),
      ],
      evalTime: formatDuration(thenSilentAt * 60),
      expectedAlerts: firing,
    },
    {
      name: `stays quiet while the outside host ${instance} keeps pushing`,
      inputSeries: [longUp, web1, ...pushingUp(pushed.labels, total)],
      evalTime: formatDuration(firesBy * 60),
      expectedAlerts: [],
    },
    {
      name: `stays quiet right after Prometheus starts, before ${instance}'s first push arrives`,
      inputSeries: [justStarted, web1],
      evalTime: formatDuration(firesBy * 60),
      expectedAlerts: [],
    },
  ];
}

function highCpu(t: AlertThresholds): AlertRule {
  const samples = samplesFor(t.cpuFor);
  const description = (instance: string, value: string) =>
    `CPU on ${instance} has been ${value}% busy (averaged over all cores) for ${t.cpuFor}, above ${t.cpuPercent}%.`;
  return {
    name: "HostHighCpu",
    expr:
      `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{job="${JOB_NAMES.node}", mode="idle"}[${RULE_RATE_WINDOW}]))) ` +
      `> ${t.cpuPercent}`,
    for: t.cpuFor,
    severity: "warning",
    condition: `CPU busy > ${t.cpuPercent}% (all cores, 5m rate)`,
    summary: "A host's CPU is busy above the threshold.",
    description: description("{{ $labels.instance }}", '{{ $value | printf "%.0f" }}'),
    cases: [
      {
        name: "fires just above the threshold",
        inputSeries: cpuSeries("web-1", justAbove(t.cpuPercent), samples),
        evalTime: evalAfter(t.cpuFor),
        expectedAlerts: [
          { labels: { instance: "web-1" }, description: description("web-1", `${justAbove(t.cpuPercent)}`) },
        ],
      },
      {
        name: "stays quiet just below the threshold",
        inputSeries: cpuSeries("web-1", justBelow(t.cpuPercent), samples),
        evalTime: evalAfter(t.cpuFor),
        expectedAlerts: [],
      },
    ],
  };
}

function highMemory(t: AlertThresholds): AlertRule {
  const samples = samplesFor(t.memoryFor);
  const total = 8 * GIB;
  const memorySeries = (instance: string, usedPercent: number): InputSeries[] => [
    {
      series: seriesSelector("node_memory_MemTotal_bytes", { ...NODE, instance }),
      values: `${total}+0x${samples}`,
    },
    {
      series: seriesSelector("node_memory_MemAvailable_bytes", { ...NODE, instance }),
      values: `${((100 - usedPercent) * total) / 100}+0x${samples}`,
    },
  ];
  const description = (instance: string, value: string) =>
    `Memory on ${instance} has been ${value}% used (excluding reclaimable cache) for ${t.memoryFor}, above ${t.memoryPercent}%.`;
  return {
    name: "HostHighMemory",
    expr:
      `100 * (1 - node_memory_MemAvailable_bytes{job="${JOB_NAMES.node}"} / node_memory_MemTotal_bytes{job="${JOB_NAMES.node}"}) ` +
      `> ${t.memoryPercent}`,
    for: t.memoryFor,
    severity: "warning",
    condition: `memory used (1 - MemAvailable/MemTotal) > ${t.memoryPercent}%`,
    summary: "A host's memory use is above the threshold.",
    description: description("{{ $labels.instance }}", '{{ $value | printf "%.0f" }}'),
    cases: [
      {
        name: "fires just above the threshold",
        inputSeries: memorySeries("db-1", justAbove(t.memoryPercent)),
        evalTime: evalAfter(t.memoryFor, 0),
        expectedAlerts: [
          {
            labels: { ...NODE, instance: "db-1" },
            description: description("db-1", `${justAbove(t.memoryPercent)}`),
          },
        ],
      },
      {
        name: "stays quiet just below the threshold",
        inputSeries: memorySeries("db-1", justBelow(t.memoryPercent)),
        evalTime: evalAfter(t.memoryFor, 0),
        expectedAlerts: [],
      },
    ],
  };
}

/** Space or inodes: both alerts compare a free count against a size, as 100 * (1 - free / size). */
interface FilesystemUsageAlert {
  readonly name: string;
  /** What the percentage counts, for the alert table's condition ("filesystem used", "inodes used"). */
  readonly used: string;
  readonly percent: number;
  readonly metrics: FilesystemMetrics;
  readonly summary: string;
  readonly description: (mountpoint: string, instance: string, value: string) => string;
  readonly quietCaseName: string;
  /** Series the quiet case adds before the root filesystem just below the threshold. */
  readonly ignoredSeries?: (samples: number) => InputSeries[];
}

/** A real filesystem of any host used above `alert.percent` for `diskFor`. */
function filesystemUsageRule(t: AlertThresholds, alert: FilesystemUsageAlert): AlertRule {
  const samples = samplesFor(t.diskFor);
  const root = filesystemLabels("web-1", "/", "ext4");
  const { free, size } = alert.metrics;
  return {
    name: alert.name,
    expr: `100 * (1 - ${free}{${FS_SELECTOR}} / ${size}{${FS_SELECTOR}}) > ${alert.percent}`,
    for: t.diskFor,
    severity: "warning",
    condition: `${alert.used} > ${alert.percent}% (tmpfs/overlay/squashfs excluded)`,
    summary: alert.summary,
    description: alert.description(
      "{{ $labels.mountpoint }}",
      "{{ $labels.instance }}",
      '{{ $value | printf "%.0f" }}',
    ),
    cases: [
      {
        name: "fires just above the threshold",
        inputSeries: filesystemSeries(root, justAbove(alert.percent), samples, alert.metrics),
        evalTime: evalAfter(t.diskFor, 0),
        expectedAlerts: [
          { labels: root, description: alert.description("/", "web-1", `${justAbove(alert.percent)}`) },
        ],
      },
      {
        name: alert.quietCaseName,
        inputSeries: [
          ...(alert.ignoredSeries?.(samples) ?? []),
          ...filesystemSeries(root, justBelow(alert.percent), samples, alert.metrics),
        ],
        evalTime: evalAfter(t.diskFor, 0),
        expectedAlerts: [],
      },
    ],
  };
}

function diskFull(t: AlertThresholds): AlertRule {
  return filesystemUsageRule(t, {
    name: "HostDiskFull",
    used: "filesystem used",
    percent: t.diskPercent,
    metrics: SPACE_METRICS,
    summary: "A filesystem is fuller than the threshold.",
    description: (mountpoint, instance, value) =>
      `Filesystem ${mountpoint} on ${instance} is ${value}% full, above ${t.diskPercent}%.`,
    quietCaseName: "ignores a full tmpfs and a disk just below the threshold",
    ignoredSeries: (samples) => [
      ...filesystemSeries(filesystemLabels("web-1", "/run", "tmpfs"), 100, samples),
      ...filesystemSeries(filesystemLabels("web-1", "/snap/core", "squashfs"), 100, samples),
    ],
  });
}

/** One level of the fill-up prediction: free space below `maxFreePercent`, empty within `hours`. */
interface FillPrediction {
  readonly name: string;
  readonly hours: number;
  readonly maxFreePercent: number;
  readonly severity: AlertRule["severity"];
  readonly summary: string;
  readonly mutes?: AlertRule["mutes"];
}

function diskFillPrediction(level: FillPrediction): AlertRule {
  const horizonSeconds = level.hours * 3600;
  const windowMinutes = durationSeconds(DISK_FILL_WINDOW) / 60;
  const evalMinutes = windowMinutes + minutesCovering(DISK_FILL_FOR) + 5;
  const stepMinutes = 5;
  const samples = Math.ceil(evalMinutes / stepMinutes) + 2;
  const size = 100 * GIB;
  const freeAtStart = ((level.maxFreePercent * 0.75) / 100) * size;
  // Fast: empty halfway through the horizon after evaluation. Slow: empty at twice the horizon.
  const fillingBy = (emptyAfterMinutes: number) => {
    const perMinute = freeAtStart / (evalMinutes + emptyAfterMinutes);
    return `${freeAtStart}-${(perMinute * stepMinutes).toFixed(3)}x${samples}`;
  };
  const labels = filesystemLabels("db-1", "/var/lib/docker", "ext4");
  const series = (freeValues: string): InputSeries[] => [
    { series: seriesSelector("node_filesystem_size_bytes", labels), values: `${size}+0x${samples}` },
    { series: seriesSelector("node_filesystem_avail_bytes", labels), values: freeValues },
  ];
  const description = (mountpoint: string, instance: string) =>
    `Filesystem ${mountpoint} on ${instance} has less than ${level.maxFreePercent}% free and, at the ` +
    `rate of the last ${DISK_FILL_WINDOW}, fills up within ${level.hours} hours.`;
  return {
    name: level.name,
    expr:
      `(100 * node_filesystem_avail_bytes{${FS_SELECTOR}} / node_filesystem_size_bytes{${FS_SELECTOR}} < ${level.maxFreePercent}) ` +
      `and predict_linear(node_filesystem_avail_bytes{${FS_SELECTOR}}[${DISK_FILL_WINDOW}], ${horizonSeconds}) < 0`,
    for: DISK_FILL_FOR,
    severity: level.severity,
    condition: `free < ${level.maxFreePercent}% and predict_linear over ${DISK_FILL_WINDOW} reaches 0 within ${level.hours}h`,
    summary: level.summary,
    description: description("{{ $labels.mountpoint }}", "{{ $labels.instance }}"),
    ...(level.mutes ? { mutes: level.mutes } : {}),
    cases: [
      {
        name: "fires when free space runs out within the horizon",
        interval: `${stepMinutes}m`,
        inputSeries: series(fillingBy((level.hours * 60) / 2)),
        evalTime: formatDuration(evalMinutes * 60),
        expectedAlerts: [{ labels, description: description("/var/lib/docker", "db-1") }],
      },
      {
        name: "stays quiet when the filesystem fills only after the horizon",
        interval: `${stepMinutes}m`,
        inputSeries: series(fillingBy(level.hours * 60 * 2)),
        evalTime: formatDuration(evalMinutes * 60),
        expectedAlerts: [],
      },
    ],
  };
}

function diskWillFill(t: AlertThresholds): AlertRule {
  return diskFillPrediction({
    name: "HostDiskWillFillSoon",
    hours: t.diskFillHours,
    maxFreePercent: DISK_FILL_MAX_FREE_PERCENT,
    severity: "warning",
    summary: "A filesystem is predicted to fill up soon.",
  });
}

/** The critical level: a person must act within hours; it mutes the warning level on the same mount. */
function diskWillFillImminently(): AlertRule {
  return diskFillPrediction({
    name: "HostDiskWillFillImminently",
    hours: DISK_FILL_CRITICAL_HOURS,
    maxFreePercent: DISK_FILL_CRITICAL_MAX_FREE_PERCENT,
    severity: "critical",
    summary: "A filesystem is predicted to fill up within hours.",
    mutes: { alerts: ["HostDiskWillFillSoon"], equal: ["instance", "mountpoint"] },
  });
}

function inodesExhausted(t: AlertThresholds): AlertRule {
  return filesystemUsageRule(t, {
    name: "HostInodesExhausted",
    used: "inodes used",
    percent: t.inodePercent,
    metrics: INODE_METRICS,
    summary: "A filesystem is running out of inodes.",
    description: (mountpoint, instance, value) =>
      `Filesystem ${mountpoint} on ${instance} has used ${value}% of its inodes, above ${t.inodePercent}%: ` +
      "new files fail even with space left.",
    quietCaseName: "stays quiet just below the threshold",
  });
}

export function hostRuleGroup(
  thresholds: AlertThresholds,
  pushed: PushedHosts = { labels: [], scrapeInterval: "1m" },
): RuleGroup {
  return {
    name: "host",
    records: pushExpectedRecords(pushed),
    rules: [
      hostUnreachable(thresholds, pushed),
      highCpu(thresholds),
      highMemory(thresholds),
      diskFull(thresholds),
      diskWillFill(thresholds),
      diskWillFillImminently(),
      inodesExhausted(thresholds),
      ...hostFailureRules(FS_SELECTOR, filesystemLabels("db-1", "/var/lib/postgresql", "ext4")),
    ],
  };
}
