/**
 * Host failure modes beyond the resource thresholds of ./host.ts, read from the node exporter:
 * network errors, conntrack, the clock, file descriptors, systemd units, OOM kills, disk I/O
 * queueing, load per core, read-only filesystems, reboots, the textfile collector and major page
 * faults. Each keeps the `instance` label, so HostUnreachable's inhibition mutes them with their host.
 * Thresholds are fixed here (the node-mixin's defaults, re-derived in docs/alerts.md's coverage table).
 */
import { RULE_RATE_WINDOW } from "../../lib/catalog";
import { JOB_NAMES } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import { type AlertRule, type InputSeries, seriesSelector } from "./types";

const NODE = { job: JOB_NAMES.node };
const JOB = `job="${JOB_NAMES.node}"`;
const RATE_MINUTES = minutesCovering(RULE_RATE_WINDOW);

/** Error share of packets above which a link counts as faulty. */
const NETWORK_ERROR_RATIO = 0.01;
const CONNTRACK_PERCENT = 80;
/** Offset from the time source, in seconds, beyond which the clock counts as skewed. */
const CLOCK_OFFSET_SECONDS = 0.05;
/** The kernel's maximum error estimate once a clock is left unsynchronised (16 s, NTP's limit). */
const CLOCK_MAX_ERROR_SECONDS = 16;
const FILE_DESCRIPTOR_PERCENT = 80;
/** Average number of I/O requests in flight (weighted I/O time per second). */
const DISK_QUEUE_DEPTH = 10;
const LOAD_PER_CORE = 2;
const MAJOR_PAGE_FAULTS_PER_SECOND = 500;
/** How long HostRebooted reports a reboot. */
const REBOOT_WINDOW = "30m";

/** The minute to evaluate at so a condition true from `startMinute` has held for `forDuration`. */
function evalAt(forDuration: string, startMinute = RATE_MINUTES): string {
  return formatDuration((startMinute + minutesCovering(forDuration) + 1) * 60);
}

function samplesFor(forDuration: string): number {
  return RATE_MINUTES + minutesCovering(forDuration) + 10;
}

function gauge(metric: string, labels: Record<string, string>, values: string): InputSeries {
  return { series: seriesSelector(metric, labels), values };
}

interface SimpleRule {
  readonly name: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: AlertRule["severity"];
  readonly condition: string;
  readonly summary: string;
  /** Given the rendered `instance` (and the value), the description. */
  readonly description: (labels: Record<string, string>, value: string) => string;
  /** Template placeholders for the description's labels beyond `instance`. */
  readonly templateLabels?: readonly string[];
  readonly valueTemplate?: string;
  readonly firing: {
    readonly name: string;
    readonly series: readonly InputSeries[];
    readonly labels: Record<string, string>;
    readonly value: string;
    readonly evalTime: string;
  };
  readonly quiet: readonly { name: string; series: readonly InputSeries[]; evalTime: string }[];
}

function simpleRule(spec: SimpleRule): AlertRule {
  const templated: Record<string, string> = { instance: "{{ $labels.instance }}" };
  for (const label of spec.templateLabels ?? []) templated[label] = `{{ $labels.${label} }}`;
  return {
    name: spec.name,
    expr: spec.expr,
    for: spec.for,
    severity: spec.severity,
    condition: spec.condition,
    summary: spec.summary,
    description: spec.description(templated, spec.valueTemplate ?? "{{ $value }}"),
    cases: [
      {
        name: spec.firing.name,
        inputSeries: spec.firing.series,
        evalTime: spec.firing.evalTime,
        expectedAlerts: [
          {
            labels: spec.firing.labels,
            description: spec.description(spec.firing.labels, spec.firing.value),
          },
        ],
      },
      ...spec.quiet.map((entry) => ({
        name: entry.name,
        inputSeries: entry.series,
        evalTime: entry.evalTime,
        expectedAlerts: [],
      })),
    ],
  };
}

function networkErrors(direction: "receive" | "transmit"): AlertRule {
  const forDuration = "30m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "web-1", device: "ens5" };
  const series = (errorsPerMinute: number): InputSeries[] => [
    gauge(`node_network_${direction}_errs_total`, labels, `0+${errorsPerMinute}x${samples}`),
    gauge(`node_network_${direction}_packets_total`, labels, `0+1000x${samples}`),
  ];
  const verb = direction === "receive" ? "received" : "sent";
  const title = direction === "receive" ? "Receive" : "Transmit";
  return simpleRule({
    name: `HostNetwork${title}Errors`,
    expr:
      `rate(node_network_${direction}_errs_total{${JOB}}[${RULE_RATE_WINDOW}]) / ` +
      `rate(node_network_${direction}_packets_total{${JOB}}[${RULE_RATE_WINDOW}]) > ${NETWORK_ERROR_RATIO}`,
    for: forDuration,
    severity: "warning",
    condition: `> ${NETWORK_ERROR_RATIO * 100}% of packets ${verb} on an interface fail (5m rate)`,
    summary: `A host's network interface fails to ${direction === "receive" ? "receive" : "send"} packets.`,
    templateLabels: ["device"],
    valueTemplate: "{{ $value | humanizePercentage }}",
    description: (l, value) =>
      `${value} of the packets ${verb} on ${l.device} of ${l.instance} failed for ${forDuration}: ` +
      "a faulty link, driver or interface, or a saturated one dropping frames.",
    firing: {
      name: "fires when 2% of the packets fail",
      series: series(20),
      labels,
      value: "2%",
      evalTime: evalAt(forDuration),
    },
    quiet: [{ name: "stays quiet at 0.5% errors", series: series(5), evalTime: evalAt(forDuration) }],
  });
}

function conntrackNearlyFull(): AlertRule {
  const forDuration = "10m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "web-1" };
  const series = (entries: number): InputSeries[] => [
    gauge("node_nf_conntrack_entries", labels, `${entries}x${samples}`),
    gauge("node_nf_conntrack_entries_limit", labels, `100000x${samples}`),
  ];
  return simpleRule({
    name: "HostConntrackNearlyFull",
    expr: `100 * node_nf_conntrack_entries{${JOB}} / node_nf_conntrack_entries_limit{${JOB}} > ${CONNTRACK_PERCENT}`,
    for: forDuration,
    severity: "warning",
    condition: `conntrack table > ${CONNTRACK_PERCENT}% of nf_conntrack_max`,
    summary: "A host's connection tracking table is nearly full.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (l, value) =>
      `The connection tracking table of ${l.instance} is ${value}% full: when it is full the kernel ` +
      "drops packets of new connections.",
    firing: {
      name: "fires at 85% of the limit",
      series: series(85000),
      labels,
      value: "85",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [{ name: "stays quiet at 70%", series: series(70000), evalTime: evalAt(forDuration, 0) }],
  });
}

function clockSkew(): AlertRule {
  const forDuration = "10m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "db-1" };
  const series = (offset: number) => [gauge("node_timex_offset_seconds", labels, `${offset}x${samples}`)];
  return simpleRule({
    name: "HostClockSkew",
    expr: `abs(node_timex_offset_seconds{${JOB}}) > ${CLOCK_OFFSET_SECONDS}`,
    for: forDuration,
    severity: "warning",
    condition: `clock offset from its time source > ${CLOCK_OFFSET_SECONDS * 1000}ms either way`,
    summary: "A host's clock is off.",
    valueTemplate: '{{ $value | printf "%.3f" }}',
    description: (l, value) =>
      `The clock of ${l.instance} has been ${value}s away from its time source for ${forDuration}: ` +
      "log order, TLS validity checks and scheduled jobs go wrong.",
    firing: {
      name: "fires when the clock runs 200ms behind",
      series: series(-0.2),
      labels,
      value: "0.200",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [{ name: "stays quiet at 10ms", series: series(0.01), evalTime: evalAt(forDuration, 0) }],
  });
}

function clockNotSynchronising(): AlertRule {
  const forDuration = "10m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "db-1" };
  const series = (status: number, maxError: number): InputSeries[] => [
    gauge("node_timex_sync_status", labels, `${status}x${samples}`),
    gauge("node_timex_maxerror_seconds", labels, `${maxError}x${samples}`),
  ];
  return simpleRule({
    name: "HostClockNotSynchronising",
    expr:
      `min_over_time(node_timex_sync_status{${JOB}}[${RULE_RATE_WINDOW}]) == 0 ` +
      `and node_timex_maxerror_seconds{${JOB}} >= ${CLOCK_MAX_ERROR_SECONDS}`,
    for: forDuration,
    severity: "warning",
    condition: `kernel clock unsynchronised for 5m and its max error at ${CLOCK_MAX_ERROR_SECONDS}s`,
    summary: "A host's clock is not synchronised.",
    description: (l) =>
      `${l.instance} has not synchronised its clock for ${forDuration} and the kernel's error estimate ` +
      `reached its ${CLOCK_MAX_ERROR_SECONDS}s limit: chrony/ntpd is stopped or cannot reach a time source.`,
    firing: {
      name: "fires when the kernel reports no synchronisation",
      series: series(0, 16),
      labels,
      value: "",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [
      { name: "stays quiet while synchronised", series: series(1, 16), evalTime: evalAt(forDuration, 0) },
      {
        name: "stays quiet while the error estimate is still small",
        series: series(0, 0.5),
        evalTime: evalAt(forDuration, 0),
      },
    ],
  });
}

function fileDescriptorsNearLimit(): AlertRule {
  const forDuration = "15m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "web-1" };
  const series = (allocated: number): InputSeries[] => [
    gauge("node_filefd_allocated", labels, `${allocated}x${samples}`),
    gauge("node_filefd_maximum", labels, `100000x${samples}`),
  ];
  return simpleRule({
    name: "HostFileDescriptorsNearLimit",
    expr: `100 * node_filefd_allocated{${JOB}} / node_filefd_maximum{${JOB}} > ${FILE_DESCRIPTOR_PERCENT}`,
    for: forDuration,
    severity: "warning",
    condition: `allocated file handles > ${FILE_DESCRIPTOR_PERCENT}% of fs.file-max`,
    summary: "A host is running out of file descriptors.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (l, value) =>
      `${l.instance} has allocated ${value}% of the kernel's file handles (fs.file-max): at 100% ` +
      "every open() and accept() fails.",
    firing: {
      name: "fires at 90% of the limit",
      series: series(90000),
      labels,
      value: "90",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [{ name: "stays quiet at 50%", series: series(50000), evalTime: evalAt(forDuration, 0) }],
  });
}

function systemdUnitFailed(): AlertRule {
  const forDuration = "5m";
  const samples = samplesFor(forDuration);
  const unit = (state: string) => ({
    ...NODE,
    instance: "web-1",
    name: "backup.service",
    state,
    type: "oneshot",
  });
  const series = (failed: number): InputSeries[] => [
    gauge("node_systemd_unit_state", unit("failed"), `${failed}x${samples}`),
    gauge("node_systemd_unit_state", unit("active"), `${1 - failed}x${samples}`),
  ];
  return simpleRule({
    name: "HostSystemdUnitFailed",
    expr: `node_systemd_unit_state{${JOB}, state="failed"} == 1`,
    for: forDuration,
    severity: "warning",
    condition: "a systemd unit in state `failed`",
    summary: "A systemd unit has failed.",
    templateLabels: ["name"],
    description: (l) =>
      `systemd unit ${l.name} on ${l.instance} is in the failed state: it exited with an error or ` +
      "exhausted its restarts (`systemctl status` and `journalctl -u` tell why).",
    firing: {
      name: "fires while a unit is failed",
      series: series(1),
      labels: unit("failed"),
      value: "",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [
      { name: "stays quiet while the unit is active", series: series(0), evalTime: evalAt(forDuration, 0) },
    ],
  });
}

function oomKill(): AlertRule {
  const labels = { ...NODE, instance: "db-1" };
  return simpleRule({
    name: "HostOomKill",
    expr: `increase(node_vmstat_oom_kill{${JOB}}[${RULE_RATE_WINDOW}]) > 0`,
    for: "0s",
    severity: "warning",
    condition: `the kernel's OOM killer ran in the last ${RULE_RATE_WINDOW}`,
    summary: "The kernel killed a process for lack of memory.",
    description: (l) =>
      `The kernel's out-of-memory killer ended a process on ${l.instance} in the last ${RULE_RATE_WINDOW}: ` +
      "a service or container may have restarted or be gone (`journalctl -k | grep -i oom`).",
    firing: {
      name: "fires after an OOM kill",
      series: [gauge("node_vmstat_oom_kill", labels, "0x10 1x20")],
      labels,
      value: "",
      evalTime: "12m",
    },
    quiet: [
      {
        name: "stays quiet while the counter does not move",
        series: [gauge("node_vmstat_oom_kill", labels, "3x30")],
        evalTime: "12m",
      },
      {
        name: "resolves once the kill is older than the window",
        series: [gauge("node_vmstat_oom_kill", labels, "0x10 1x20")],
        evalTime: "20m",
      },
    ],
  });
}

function diskIoSaturated(): AlertRule {
  const forDuration = "30m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "db-1", device: "nvme1n1" };
  const series = (queue: number) => [
    gauge("node_disk_io_time_weighted_seconds_total", labels, `0+${queue * 60}x${samples}`),
  ];
  return simpleRule({
    name: "HostDiskIoSaturated",
    expr: `rate(node_disk_io_time_weighted_seconds_total{${JOB}}[${RULE_RATE_WINDOW}]) > ${DISK_QUEUE_DEPTH}`,
    for: forDuration,
    severity: "warning",
    condition: `average I/O queue depth > ${DISK_QUEUE_DEPTH} (weighted I/O time, 5m rate)`,
    summary: "A host's disk cannot keep up with its I/O.",
    templateLabels: ["device"],
    valueTemplate: '{{ $value | printf "%.1f" }}',
    description: (l, value) =>
      `Disk ${l.device} on ${l.instance} has had ${value} I/O requests in flight on average for ` +
      `${forDuration}: requests queue and latency grows (an EBS volume at its IOPS or throughput limit?).`,
    firing: {
      name: "fires at a queue depth of 12",
      series: series(12),
      labels,
      value: "12.0",
      evalTime: evalAt(forDuration),
    },
    quiet: [{ name: "stays quiet at a depth of 5", series: series(5), evalTime: evalAt(forDuration) }],
  });
}

function loadHigh(): AlertRule {
  const forDuration = "15m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "web-1" };
  const series = (load: number): InputSeries[] => [
    gauge("node_load5", labels, `${load}x${samples}`),
    ...["0", "1"].map((cpu) =>
      gauge("node_cpu_seconds_total", { ...labels, cpu, mode: "idle" }, `0+30x${samples}`),
    ),
  ];
  return simpleRule({
    name: "HostLoadHigh",
    expr:
      `node_load5{${JOB}} / on (instance) group_left count by (instance) (node_cpu_seconds_total{${JOB}, mode="idle"}) ` +
      `> ${LOAD_PER_CORE}`,
    for: forDuration,
    severity: "warning",
    condition: `5m load average > ${LOAD_PER_CORE} per core`,
    summary: "A host's load is far above its core count.",
    valueTemplate: '{{ $value | printf "%.1f" }}',
    description: (l, value) =>
      `The 5m load average of ${l.instance} has been ${value} per core for ${forDuration}: runnable ` +
      "or I/O-blocked tasks queue far beyond what its cores serve.",
    firing: {
      name: "fires at 2.5 per core",
      series: series(5),
      labels,
      value: "2.5",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [{ name: "stays quiet at 1.5 per core", series: series(3), evalTime: evalAt(forDuration, 0) }],
  });
}

function majorPageFaults(): AlertRule {
  const forDuration = "15m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "db-1" };
  const series = (perSecond: number) => [
    gauge("node_vmstat_pgmajfault", labels, `0+${perSecond * 60}x${samples}`),
  ];
  return simpleRule({
    name: "HostMemoryMajorPageFaults",
    expr: `rate(node_vmstat_pgmajfault{${JOB}}[${RULE_RATE_WINDOW}]) > ${MAJOR_PAGE_FAULTS_PER_SECOND}`,
    for: forDuration,
    severity: "warning",
    condition: `> ${MAJOR_PAGE_FAULTS_PER_SECOND} major page faults/s (5m rate)`,
    summary: "A host keeps reading memory pages back from disk.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (l, value) =>
      `${l.instance} has had ${value} major page faults per second for ${forDuration}: memory is so ` +
      "tight that pages are read back from disk (thrashing) though MemAvailable may look fine.",
    firing: {
      name: "fires at 600 faults/s",
      series: series(600),
      labels,
      value: "600",
      evalTime: evalAt(forDuration),
    },
    quiet: [{ name: "stays quiet at 100 faults/s", series: series(100), evalTime: evalAt(forDuration) }],
  });
}

function rebooted(): AlertRule {
  const labels = { ...NODE, instance: "web-1" };
  const boot = (values: string) => [gauge("node_boot_time_seconds", labels, values)];
  return simpleRule({
    name: "HostRebooted",
    // Boot time moves by far more than a minute on a reboot; a first scrape has nothing to compare.
    expr: `node_boot_time_seconds{${JOB}} - min_over_time(node_boot_time_seconds{${JOB}}[${REBOOT_WINDOW}]) > 60`,
    for: "0s",
    severity: "info",
    condition: `boot time changed in the last ${REBOOT_WINDOW}`,
    summary: "A host rebooted.",
    description: (l) =>
      `${l.instance} rebooted in the last ${REBOOT_WINDOW}: check why (kernel panic, OOM, a maintenance ` +
      "event, someone's reboot) and that its services came back.",
    firing: {
      name: "fires after the boot time moved",
      series: boot("1000x5 4000x20"),
      labels,
      value: "",
      evalTime: "10m",
    },
    quiet: [
      { name: "stays quiet while the boot time holds", series: boot("1000x5 1001x20"), evalTime: "10m" },
      {
        name: "resolves once the reboot is older than the window",
        series: boot("1000x5 4000x40"),
        evalTime: "40m",
      },
    ],
  });
}

function textfileCollectorError(): AlertRule {
  const forDuration = "5m";
  const samples = samplesFor(forDuration);
  const labels = { ...NODE, instance: "web-1" };
  const series = (error: number) => [gauge("node_textfile_scrape_error", labels, `${error}x${samples}`)];
  return simpleRule({
    name: "HostTextfileCollectorError",
    expr: `node_textfile_scrape_error{${JOB}} == 1`,
    for: forDuration,
    severity: "warning",
    condition: "node exporter cannot read its textfile directory or a `.prom` file in it",
    summary: "The node exporter's textfile collector fails.",
    description: (l) =>
      `The node exporter on ${l.instance} fails to read its textfile directory or a .prom file in it: ` +
      "the metrics that jobs write there (backups, cron results) are missing or stale.",
    firing: {
      name: "fires while the collector reports an error",
      series: series(1),
      labels,
      value: "",
      evalTime: evalAt(forDuration, 0),
    },
    quiet: [
      { name: "stays quiet while every file parses", series: series(0), evalTime: evalAt(forDuration, 0) },
    ],
  });
}

/** The failure-mode alerts; `fsSelector` is the filesystem selector of ./host.ts. */
export function hostFailureRules(fsSelector: string, readOnlyLabels: Record<string, string>): AlertRule[] {
  const forDuration = "5m";
  const samples = samplesFor(forDuration);
  const tmpfs = { ...readOnlyLabels, device: "tmpfs", fstype: "tmpfs", mountpoint: "/run/credentials" };
  const readOnly = simpleRule({
    name: "HostFilesystemReadOnly",
    expr: `node_filesystem_readonly{${fsSelector}} == 1`,
    for: forDuration,
    severity: "critical",
    condition: "a real filesystem mounted read-only (tmpfs/overlay/squashfs excluded)",
    summary: "A filesystem is read-only.",
    templateLabels: ["mountpoint", "device"],
    description: (l) =>
      `Filesystem ${l.mountpoint} (${l.device}) on ${l.instance} is mounted read-only: the kernel ` +
      "remounts a disk read-only after I/O errors, and every write to it fails.",
    firing: {
      name: "fires when a disk turns read-only",
      series: [gauge("node_filesystem_readonly", readOnlyLabels, `0x2 1x${samples}`)],
      labels: readOnlyLabels,
      value: "",
      evalTime: evalAt(forDuration, 3),
    },
    quiet: [
      {
        name: "ignores a read-only tmpfs and a writable disk",
        series: [
          gauge("node_filesystem_readonly", tmpfs, `1x${samples}`),
          gauge("node_filesystem_readonly", readOnlyLabels, `0x${samples}`),
        ],
        evalTime: evalAt(forDuration, 3),
      },
    ],
  });
  return [
    networkErrors("receive"),
    networkErrors("transmit"),
    conntrackNearlyFull(),
    clockSkew(),
    clockNotSynchronising(),
    fileDescriptorsNearLimit(),
    systemdUnitFailed(),
    oomKill(),
    diskIoSaturated(),
    loadHigh(),
    majorPageFaults(),
    readOnly,
    rebooted(),
    textfileCollectorError(),
  ];
}
