/**
 * Container alerts from cAdvisor.
 *
 * ContainerStopped: cAdvisor stops exporting a container's series the moment it stops, so the
 * rule looks back with `max_over_time(container_last_seen[1h])` and fires when a container seen
 * in the last hour has not been seen for a while. Design choices:
 * - grouped by host and container name (plus compose project/service), not by container id: a
 *   deploy that recreates a container under the same name is not a stop;
 * - a container removed on purpose (service dropped from the compose file) falls out of the
 *   1h window, so the alert resolves by itself instead of paging forever;
 * - one-off containers (`docker compose run`, named `<project>-<service>-run-<hex>`) exit by
 *   design and are ignored (by name: cAdvisor keeps only the compose project/service labels);
 * - when cAdvisor itself is down every container would look stopped: ExporterDown covers that.
 */
import { JOB_NAMES } from "../prometheus";
import { durationSeconds, formatDuration } from "./duration";
import { type AlertRule, type InputSeries, type RuleGroup, seriesSelector } from "./types";

/** Names compose v2 gives `docker compose run` containers. */
const ONE_OFF_NAME_PATTERN = ".+-run-[0-9a-f]+";

/** How long a vanished container is reported before it counts as removed on purpose. */
const CONTAINER_GONE_WINDOW = "1h";
const CONTAINER_STOPPED_FOR = "1m";
const GROUPING = [
  "instance",
  "name",
  "container_label_com_docker_compose_project",
  "container_label_com_docker_compose_service",
] as const;

/**
 * Seconds without a sighting before a container counts as stopped: two scrapes (cAdvisor's value
 * is only as fresh as the last scrape) plus a minute of slack.
 */
function containerStaleAfterSeconds(scrapeInterval: string): number {
  return 2 * durationSeconds(scrapeInterval) + 60;
}

function containerLabels(instance: string, service: string, id: string): Record<string, string> {
  return {
    job: JOB_NAMES.cadvisor,
    instance,
    id: `/system.slice/docker-${id}.scope`,
    name: `shop-${service}-1`,
    container_label_com_docker_compose_project: "shop",
    container_label_com_docker_compose_service: service,
  };
}

function lastSeen(labels: Record<string, string>, values: string): InputSeries {
  return { series: seriesSelector("container_last_seen", labels), values };
}

/** `container_last_seen` is a Unix time; with one sample a minute from t=0 it equals 60 x index. */
function seenFor(minutes: number): string {
  return `0+60x${minutes}`;
}

function containerStopped(scrapeInterval: string): AlertRule {
  const staleAfter = containerStaleAfterSeconds(scrapeInterval);
  const selector = `container_last_seen{job="${JOB_NAMES.cadvisor}", name!="", name!~"${ONE_OFF_NAME_PATTERN}"}`;
  const stopMinute = 10;
  // Last seen at stopMinute; stale after staleAfter; then pending for `for`; plus a step.
  const firingAtSeconds =
    stopMinute * 60 + Math.ceil(staleAfter / 60) * 60 + durationSeconds(CONTAINER_STOPPED_FOR) + 60;
  const web = containerLabels("web-1", "api", "aaa111");
  const description = (name: string, service: string, instance: string, gone: string) =>
    `Container ${name} (compose service ${service}) on ${instance} was running and has not been seen for ` +
    `${gone}. It stays reported for ${CONTAINER_GONE_WINDOW} unless it comes back.`;
  const { id: _id, job: _job, ...alertLabels } = web;
  return {
    name: "ContainerStopped",
    expr:
      `(time() - max by (${GROUPING.join(", ")}) (max_over_time(${selector}[${CONTAINER_GONE_WINDOW}])) > ${staleAfter}) ` +
      `unless on (instance) (up{job="${JOB_NAMES.cadvisor}"} == 0)`,
    for: CONTAINER_STOPPED_FOR,
    severity: "warning",
    condition: `a container seen in the last ${CONTAINER_GONE_WINDOW} not seen for ${staleAfter}s (same name not recreated)`,
    summary: "A container that was running has stopped.",
    description: description(
      "{{ $labels.name }}",
      "{{ $labels.container_label_com_docker_compose_service }}",
      "{{ $labels.instance }}",
      "{{ $value | humanizeDuration }}",
    ),
    cases: [
      {
        name: "fires when a running container disappears",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          lastSeen(containerLabels("web-1", "worker", "bbb222"), seenFor(40)),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [
          {
            labels: alertLabels,
            description: description(
              "shop-api-1",
              "api",
              "web-1",
              humanizeMinutes(firingAtSeconds / 60 - stopMinute),
            ),
          },
        ],
      },
      {
        name: "is still reported half an hour after the stop",
        inputSeries: [lastSeen(web, `${seenFor(stopMinute)} _x40`)],
        evalTime: formatDuration((stopMinute + 30) * 60),
        expectedAlerts: [
          {
            labels: alertLabels,
            description: description("shop-api-1", "api", "web-1", humanizeMinutes(30)),
          },
        ],
      },
      {
        name: "stays quiet when a deploy recreates the container under the same name",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          lastSeen(containerLabels("web-1", "api", "ccc333"), `_x${stopMinute} ${stopMinute * 60}+60x30`),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
      {
        name: "resolves by itself once a removed container is older than the window",
        inputSeries: [lastSeen(web, `${seenFor(stopMinute)} _x90`)],
        evalTime: formatDuration(stopMinute * 60 + durationSeconds(CONTAINER_GONE_WINDOW) + 120),
        expectedAlerts: [],
      },
      {
        name: "ignores one-off containers from docker compose run",
        inputSeries: [
          lastSeen(
            { ...containerLabels("web-1", "migrate", "ddd444"), name: "shop-migrate-run-0f3a9c2b7d1e" },
            `${seenFor(stopMinute)} _x30`,
          ),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
      {
        name: "stays quiet while cAdvisor itself is down (ExporterDown reports that)",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          {
            series: seriesSelector("up", { job: JOB_NAMES.cadvisor, instance: "web-1" }),
            values: "1x10 0x30",
          },
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
    ],
  };
}

/** Go's humanizeDuration for whole minutes below an hour: "7m 0s". */
function humanizeMinutes(minutes: number): string {
  return `${minutes}m 0s`;
}

const CADVISOR = `job="${JOB_NAMES.cadvisor}", name!=""`;
/** Starts of one container within RESTART_WINDOW that make a restart loop. */
const RESTARTS_IN_WINDOW = 3;
const RESTART_WINDOW = "15m";
const CONTAINER_MEMORY_PERCENT = 90;
const CPU_THROTTLED_PERCENT = 25;

/** A container's series as cAdvisor labels them, with the `job` the alert keeps. */
function sample(service: string): Record<string, string> {
  return { ...containerLabels("web-1", service, "eee555"), image: `example/${service}:1.0` };
}

/** Alerts on a running container's own metrics: its labels are kept whole (host, name, compose service). */
function containerSymptom(spec: {
  name: string;
  expr: string;
  for: string;
  condition: string;
  summary: string;
  valueTemplate?: string;
  description: (name: string, instance: string, value: string) => string;
  firing: {
    name: string;
    series: (labels: Record<string, string>) => InputSeries[];
    value: string;
    evalTime: string;
  };
  quiet: { name: string; series: (labels: Record<string, string>) => InputSeries[]; evalTime: string }[];
}): AlertRule {
  const labels = sample("api");
  return {
    name: spec.name,
    expr: spec.expr,
    for: spec.for,
    severity: "warning",
    condition: spec.condition,
    summary: spec.summary,
    description: spec.description(
      "{{ $labels.name }}",
      "{{ $labels.instance }}",
      spec.valueTemplate ?? "{{ $value }}",
    ),
    cases: [
      {
        name: spec.firing.name,
        inputSeries: spec.firing.series(labels),
        evalTime: spec.firing.evalTime,
        expectedAlerts: [
          {
            labels,
            description: spec.description(labels.name ?? "", labels.instance ?? "", spec.firing.value),
          },
        ],
      },
      ...spec.quiet.map((entry) => ({
        name: entry.name,
        inputSeries: entry.series(labels),
        evalTime: entry.evalTime,
        expectedAlerts: [],
      })),
    ],
  };
}

function containerRestarting(): AlertRule {
  return containerSymptom({
    name: "ContainerRestarting",
    expr: `changes(container_start_time_seconds{${CADVISOR}}[${RESTART_WINDOW}]) >= ${RESTARTS_IN_WINDOW}`,
    for: "0s",
    condition: `started ${RESTARTS_IN_WINDOW}+ times in ${RESTART_WINDOW} (restart loop)`,
    summary: "A container keeps restarting.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (name, instance, value) =>
      `Container ${name} on ${instance} restarted ${value} times in the last ${RESTART_WINDOW}: it crashes ` +
      "on start and Docker's restart policy keeps trying (`docker logs` shows why).",
    firing: {
      name: "fires on a restart loop",
      series: (labels) => [
        {
          series: seriesSelector("container_start_time_seconds", labels),
          values: "100x2 400x2 700x2 1000x2 1300x10",
        },
      ],
      value: "4",
      evalTime: "13m",
    },
    quiet: [
      {
        name: "stays quiet after a single restart (a deploy)",
        series: (labels) => [
          { series: seriesSelector("container_start_time_seconds", labels), values: "100x4 500x10" },
        ],
        evalTime: "13m",
      },
    ],
  });
}

function containerOomKilled(): AlertRule {
  return containerSymptom({
    name: "ContainerOomKilled",
    expr: `increase(container_oom_events_total{${CADVISOR}}[5m]) > 0`,
    for: "0s",
    condition: "the kernel OOM-killed a process of the container (5m)",
    summary: "A container ran out of memory.",
    description: (name, instance) =>
      `A process of container ${name} on ${instance} was killed for lack of memory in the last 5m: at its ` +
      "memory limit, or the host ran out (HostOomKill).",
    firing: {
      name: "fires after an OOM event",
      series: (labels) => [
        { series: seriesSelector("container_oom_events_total", labels), values: "0x5 1x20" },
      ],
      value: "",
      evalTime: "8m",
    },
    quiet: [
      {
        name: "stays quiet without OOM events",
        series: (labels) => [
          { series: seriesSelector("container_oom_events_total", labels), values: "2x20" },
        ],
        evalTime: "8m",
      },
    ],
  });
}

function containerMemoryNearLimit(): AlertRule {
  const memory = (usedPercent: number, limit: number) => (labels: Record<string, string>) => [
    {
      series: seriesSelector("container_memory_working_set_bytes", labels),
      values: `${(usedPercent / 100) * 1024 ** 3}x20`,
    },
    { series: seriesSelector("container_spec_memory_limit_bytes", labels), values: `${limit}x20` },
  ];
  return containerSymptom({
    name: "ContainerMemoryNearLimit",
    expr:
      `100 * container_memory_working_set_bytes{${CADVISOR}} / (container_spec_memory_limit_bytes{${CADVISOR}} > 0) ` +
      `> ${CONTAINER_MEMORY_PERCENT}`,
    for: "5m",
    condition: `working set > ${CONTAINER_MEMORY_PERCENT}% of the container's memory limit`,
    summary: "A container is close to its memory limit.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (name, instance, value) =>
      `Container ${name} on ${instance} uses ${value}% of its memory limit: at the limit the kernel kills it.`,
    firing: { name: "fires at 95% of the limit", series: memory(95, 1024 ** 3), value: "95", evalTime: "7m" },
    quiet: [
      { name: "stays quiet at 50% of the limit", series: memory(50, 1024 ** 3), evalTime: "7m" },
      { name: "ignores a container without a limit", series: memory(95, 0), evalTime: "7m" },
    ],
  });
}

function containerCpuThrottled(): AlertRule {
  const periods = (throttledPercent: number) => (labels: Record<string, string>) => [
    {
      series: seriesSelector("container_cpu_cfs_throttled_periods_total", labels),
      values: `0+${throttledPercent * 6}x40`,
    },
    { series: seriesSelector("container_cpu_cfs_periods_total", labels), values: "0+600x40" },
  ];
  return containerSymptom({
    name: "ContainerCpuThrottled",
    expr:
      `100 * rate(container_cpu_cfs_throttled_periods_total{${CADVISOR}}[5m]) / ` +
      `rate(container_cpu_cfs_periods_total{${CADVISOR}}[5m]) > ${CPU_THROTTLED_PERCENT}`,
    for: "15m",
    condition: `> ${CPU_THROTTLED_PERCENT}% of CPU periods throttled (5m)`,
    summary: "A container is held back by its CPU limit.",
    valueTemplate: '{{ $value | printf "%.0f" }}',
    description: (name, instance, value) =>
      `Container ${name} on ${instance} was throttled in ${value}% of its CPU periods for 15m: its CPU limit ` +
      "slows it down (raise the limit or find the busy work).",
    firing: { name: "fires at 50% throttled", series: periods(50), value: "50", evalTime: "21m" },
    quiet: [{ name: "stays quiet at 10% throttled", series: periods(10), evalTime: "21m" }],
  });
}

export function containerRuleGroup(scrapeInterval: string): RuleGroup {
  return {
    name: "containers",
    rules: [
      containerStopped(scrapeInterval),
      containerRestarting(),
      containerOomKilled(),
      containerMemoryNearLimit(),
      containerCpuThrottled(),
    ],
  };
}
