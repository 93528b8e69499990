/**
 * Loki's operational alerts (after Loki's own mixin at v3.7.6): request errors, panics and latency,
 * rate-limited and discarded lines, and a compactor that stopped applying retention. Metric names
 * from Loki's source at v3.7.6 (test/support/documented-metrics.ts); Loki does not run here.
 */
import { RULE_RATE_WINDOW } from "../../lib/catalog";
import { JOB_NAMES, MONITOR_INSTANCE } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import { after, rule, series } from "./rule-spec";
import type { AlertRule } from "./types";

const LOKI = { job: JOB_NAMES.loki, instance: MONITOR_INSTANCE };
const LOKI_JOB = `job="${JOB_NAMES.loki}"`;
/** How stale the compactor's last successful run may be (it runs every 10 minutes). */
const COMPACTOR_STALE_HOURS = 3;

function lokiRequestErrors(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const route = "loki_api_v1_push";
  const requests = (errorsPerMinute: number) => [
    series(
      "loki_request_duration_seconds_count",
      { ...LOKI, route, status_code: "500" },
      `0+${errorsPerMinute}x${samples}`,
    ),
    series(
      "loki_request_duration_seconds_count",
      { ...LOKI, route, status_code: "204" },
      `0+${100 - errorsPerMinute}x${samples}`,
    ),
  ];
  return rule({
    name: "LokiRequestErrors",
    expr:
      `100 * sum by (instance, route) (rate(loki_request_duration_seconds_count{${LOKI_JOB}, status_code=~"5.."}[${RULE_RATE_WINDOW}])) ` +
      `/ sum by (instance, route) (rate(loki_request_duration_seconds_count{${LOKI_JOB}}[${RULE_RATE_WINDOW}])) > 10`,
    for: forDuration,
    severity: "critical",
    condition: "> 10% of a route's requests answered 5xx (5m)",
    summary: "Loki answers requests with server errors.",
    labels: ["instance", "route"],
    description: (l) =>
      `Loki on ${l.instance} has answered more than 10% of ${l.route} requests with 5xx for ${forDuration}: ` +
      "pushed logs are lost once the agents' buffers fill, or queries fail.",
    firing: {
      name: "fires at 20% errors on push",
      series: requests(20),
      evalTime: after(forDuration),
      labels: { instance: MONITOR_INSTANCE, route },
    },
    quiet: [{ name: "stays quiet at 2% errors", series: requests(2), evalTime: after(forDuration) }],
  });
}

function lokiPanics(): AlertRule {
  const panics = (values: string) => [series("loki_panic_total", LOKI, values)];
  return rule({
    name: "LokiPanics",
    expr: `sum by (instance) (increase(loki_panic_total{${LOKI_JOB}}[10m])) > 0`,
    for: "0s",
    severity: "warning",
    condition: "a request handler panicked in the last 10m",
    summary: "Loki recovered from a panic.",
    labels: ["instance"],
    description: (l) =>
      `A Loki request handler on ${l.instance} panicked in the last 10m: the request failed, and the log ` +
      "holds the stack trace (a Loki bug to report).",
    firing: {
      name: "fires after a panic",
      series: panics("0x5 1x20"),
      evalTime: "8m",
      labels: { instance: MONITOR_INSTANCE },
    },
    quiet: [{ name: "stays quiet without panics", series: panics("0x25"), evalTime: "8m" }],
  });
}

function lokiRequestLatency(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const route = "loki_api_v1_query_range";
  const buckets = (slow: boolean) =>
    ["0.5", "1", "2.5", "+Inf"].map((le) =>
      series(
        "loki_request_duration_seconds_bucket",
        { ...LOKI, route, le },
        `0+${slow && le === "0.5" ? 0 : slow && le === "1" ? 0 : 60}x${samples}`,
      ),
    );
  return rule({
    name: "LokiRequestLatency",
    expr: `histogram_quantile(0.99, sum by (instance, route, le) (rate(loki_request_duration_seconds_bucket{${LOKI_JOB}, route!~"(?i).*tail.*"}[${RULE_RATE_WINDOW}]))) > 1`,
    for: forDuration,
    severity: "warning",
    condition: "99th percentile request time of a route > 1s (5m; tail routes excluded)",
    summary: "Loki answers slowly.",
    labels: ["instance", "route"],
    description: (l) =>
      `The slowest 1% of ${l.route} requests to Loki on ${l.instance} have taken over a second for ${forDuration}: ` +
      "the S3 store, the host's CPU or heavy queries slow it.",
    firing: {
      name: "fires when requests take up to 2.5s",
      series: buckets(true),
      evalTime: after(forDuration),
      labels: { instance: MONITOR_INSTANCE, route },
    },
    quiet: [
      { name: "stays quiet under half a second", series: buckets(false), evalTime: after(forDuration) },
    ],
  });
}

function lokiDiscarded(spec: {
  name: string;
  matcher: string;
  condition: string;
  summary: string;
  reason: string;
  quietReason: string;
  description: (instance: string, reason: string) => string;
}): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const discarded = (reason: string) => [
    series("loki_discarded_samples_total", { ...LOKI, reason, tenant: "fake" }, `0+10x${samples}`),
  ];
  return rule({
    name: spec.name,
    expr: `sum by (instance, reason) (rate(loki_discarded_samples_total{${LOKI_JOB}, ${spec.matcher}}[${RULE_RATE_WINDOW}])) > 0`,
    for: forDuration,
    severity: "warning",
    condition: spec.condition,
    summary: spec.summary,
    labels: ["instance", "reason"],
    description: (l) => spec.description(l.instance ?? "", l.reason ?? ""),
    firing: {
      name: `fires while lines are discarded as ${spec.reason}`,
      series: discarded(spec.reason),
      evalTime: after(forDuration),
      labels: { instance: MONITOR_INSTANCE, reason: spec.reason },
    },
    quiet: [
      {
        name: `leaves ${spec.quietReason} to the other alert`,
        series: discarded(spec.quietReason),
        evalTime: after(forDuration),
      },
    ],
  });
}

const RATE_LIMIT_REASONS = "rate_limited|per_stream_rate_limit";

function lokiCompactorStalled(): AlertRule {
  const forDuration = "30m";
  const limitSeconds = COMPACTOR_STALE_HOURS * 3600;
  // Five-minute steps (inside the 5m lookback); a last successful run is a Unix time, here seconds
  // since the test's start: a healthy compactor's value keeps up with the clock.
  const evalMinutes = COMPACTOR_STALE_HOURS * 60 + minutesCovering(forDuration) + 10;
  const steps = evalMinutes / 5 + 2;
  const runs = (retention: string, compaction: string) => [
    series("loki_compactor_apply_retention_last_successful_run_timestamp_seconds", LOKI, retention),
    series(
      "loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds",
      LOKI,
      compaction,
    ),
  ];
  const healthy = `0+300x${steps}`;
  return rule({
    name: "LokiCompactorStalled",
    expr:
      `(time() - max by (instance) (loki_compactor_apply_retention_last_successful_run_timestamp_seconds{${LOKI_JOB}}) > ${limitSeconds}) ` +
      `or (time() - max by (instance) (loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds{${LOKI_JOB}}) > ${limitSeconds})`,
    for: forDuration,
    severity: "warning",
    condition: `no successful retention or compaction run for ${COMPACTOR_STALE_HOURS}h`,
    summary: "Loki's compactor no longer applies retention or compacts the index.",
    labels: ["instance"],
    description: (l) =>
      `Loki on ${l.instance} has not completed a retention or compaction run for over ${COMPACTOR_STALE_HOURS}h: ` +
      "old logs are not deleted (the bucket keeps growing) and the index is not compacted.",
    firing: {
      name: "fires when retention never ran since Loki started",
      interval: "5m",
      series: runs(`0x${steps}`, healthy),
      evalTime: formatDuration(evalMinutes * 60),
      labels: { instance: MONITOR_INSTANCE },
    },
    quiet: [
      {
        name: "stays quiet while both run every few minutes",
        interval: "5m",
        series: runs(healthy, healthy),
        evalTime: formatDuration(evalMinutes * 60),
      },
    ],
  });
}

export function lokiRules(): AlertRule[] {
  return [
    lokiRequestErrors(),
    lokiPanics(),
    lokiRequestLatency(),
    lokiDiscarded({
      name: "LokiIngestionRateLimited",
      matcher: `reason=~"${RATE_LIMIT_REASONS}"`,
      condition: "log lines refused by a rate limit (5m)",
      summary: "Loki refuses logs over its ingestion rate limits.",
      reason: "rate_limited",
      quietReason: "line_too_long",
      description: (instance, reason) =>
        `Loki on ${instance} refuses pushed log lines over its rate limits (${reason}): agents retry, then drop ` +
        "them. Raise the limits or find the noisy source.",
    }),
    lokiDiscarded({
      name: "LokiDiscardingLogs",
      matcher: `reason!~"${RATE_LIMIT_REASONS}"`,
      condition: "log lines discarded by validation (5m; rate limits excluded)",
      summary: "Loki discards pushed log lines.",
      reason: "line_too_long",
      quietReason: "rate_limited",
      description: (instance, reason) =>
        `Loki on ${instance} discards pushed log lines as ${reason}: those lines are lost (too old, too long, ` +
        "too many labels or streams).",
    }),
    lokiCompactorStalled(),
  ];
}
