/**
 * Alerts on remote write to the managed Prometheus store (metrics.managedStore): samples failing
 * to arrive, and the queue falling behind. Either way local Prometheus, its rules and Alertmanager
 * go on working; what suffers is the fleet-wide history and the workspace's queries. Metric names
 * are read from the real Prometheus 3 by the remote-write test.
 */
import { JOB_NAMES, MANAGED_STORE_REMOTE_NAME, MONITOR_INSTANCE } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import type { AlertRule, RuleGroup } from "./types";
import { seriesSelector } from "./types";

const MANAGED_STORE_GROUP = "managed-prometheus";

const PROMETHEUS = { job: JOB_NAMES.prometheus, instance: MONITOR_INSTANCE };
const QUEUE = {
  ...PROMETHEUS,
  remote_name: MANAGED_STORE_REMOTE_NAME,
  url: "https://aps.example/api/v1/remote_write",
};
const QUEUE_SELECTOR = `job="${JOB_NAMES.prometheus}", remote_name="${MANAGED_STORE_REMOTE_NAME}"`;
/** Seconds the newest sent sample may trail the newest appended one. */
const MAX_LAG_SECONDS = 300;

/** Minutes to evaluate at so a condition true from `startMinute` has held for `forDuration`. */
function firingEval(forDuration: string, startMinute: number): string {
  return formatDuration((startMinute + minutesCovering(forDuration) + 1) * 60);
}

function writeFailing(): AlertRule {
  const forDuration = "15m";
  const description = (instance: string, perSecond: string) =>
    `Prometheus on ${instance} fails to send samples to the managed Prometheus workspace (${perSecond} a second dropped): ` +
    "check the monitor role's aps:RemoteWrite grant and the workspace's ingestion quota. Local metrics and alerts are unaffected.";
  const failed = (values: string) => [
    { series: seriesSelector("prometheus_remote_storage_samples_failed_total", QUEUE), values },
  ];
  return {
    name: "ManagedPrometheusWriteFailing",
    expr: `sum by (instance) (rate(prometheus_remote_storage_samples_failed_total{${QUEUE_SELECTOR}}[5m])) > 0`,
    for: forDuration,
    severity: "warning",
    condition: "samples failing to reach the managed store",
    summary: "Samples are not reaching the managed Prometheus workspace.",
    description: description("{{ $labels.instance }}", '{{ $value | printf "%.1f" }}'),
    cases: [
      {
        name: "fires while samples keep failing",
        inputSeries: failed("0+60x30"),
        evalTime: firingEval(forDuration, 2),
        expectedAlerts: [
          { labels: { instance: MONITOR_INSTANCE }, description: description(MONITOR_INSTANCE, "1.0") },
        ],
      },
      {
        name: "stays quiet when no sample fails",
        inputSeries: failed("0x30"),
        evalTime: firingEval(forDuration, 2),
        expectedAlerts: [],
      },
    ],
  };
}

function writeBehind(): AlertRule {
  const forDuration = "15m";
  const description = (instance: string, seconds: string) =>
    `Prometheus on ${instance} is ${seconds} s behind in sending to the managed Prometheus workspace: ` +
    "the queue cannot keep up (throttling, or too few shards) and will drop samples once they leave the WAL.";
  const series = (sent: string) => [
    {
      series: seriesSelector("prometheus_remote_storage_highest_timestamp_in_seconds", PROMETHEUS),
      values: "0+60x30",
    },
    {
      series: seriesSelector("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", QUEUE),
      values: sent,
    },
  ];
  const startMinute = MAX_LAG_SECONDS / 60 + 1;
  const evalTime = firingEval(forDuration, startMinute);
  return {
    name: "ManagedPrometheusWriteBehind",
    expr:
      `max by (instance) (prometheus_remote_storage_highest_timestamp_in_seconds{job="${JOB_NAMES.prometheus}"} ` +
      `- ignoring(remote_name, url) group_right prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${QUEUE_SELECTOR}}) > ${MAX_LAG_SECONDS}`,
    for: forDuration,
    severity: "warning",
    condition: `newest sent sample over ${MAX_LAG_SECONDS / 60}m behind the newest scraped`,
    summary: "Remote write to the managed Prometheus workspace is falling behind.",
    description: description("{{ $labels.instance }}", '{{ $value | printf "%.0f" }}'),
    cases: [
      {
        name: "fires when sending stalls",
        inputSeries: series("0x30"),
        evalTime,
        expectedAlerts: [
          {
            labels: { instance: MONITOR_INSTANCE },
            description: description(MONITOR_INSTANCE, String(60 * minutesCovering(evalTime))),
          },
        ],
      },
      {
        name: "stays quiet while sending keeps up",
        inputSeries: series("0+60x30"),
        evalTime,
        expectedAlerts: [],
      },
    ],
  };
}

/** The group, loaded only when the stack writes to a managed store. */
export function managedStoreRuleGroup(): RuleGroup {
  return { name: MANAGED_STORE_GROUP, rules: [writeFailing(), writeBehind()] };
}
