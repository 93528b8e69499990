/**
 * How the monitoring services themselves are doing beyond up/down: Prometheus' storage, alert
 * delivery, scrapes and rule evaluation; Alertmanager's configuration; Loki (./loki.ts). Metric
 * names: Prometheus 3.5 and Alertmanager 0.33 (test/support/documented-metrics.ts, checked against
 * the real binaries in test/dashboards.test.ts).
 */
import { RULE_RATE_WINDOW } from "../../lib/catalog";
import { parsePrometheusSizeGb, type StackConfig } from "../../lib/stack-config";
import { JOB_NAMES, MONITOR_INSTANCE } from "../prometheus";
import { durationSeconds, formatDuration, minutesCovering } from "./duration";
import { lokiRules } from "./loki";
import { after, rule, series } from "./rule-spec";
import type { AlertRule } from "./types";

const PROMETHEUS = { job: JOB_NAMES.prometheus, instance: MONITOR_INSTANCE };
const ALERTMANAGER = { job: JOB_NAMES.alertmanager, instance: MONITOR_INSTANCE };
const PROM_JOB = `job="${JOB_NAMES.prometheus}"`;

/** Bytes a sample takes on disk, compressed: Prometheus' storage docs give 1-2; the upper end. */
const BYTES_PER_SAMPLE = 2;
/** The share of the data volume Prometheus may use (the settings' limit for retentionSize). */
const PROMETHEUS_VOLUME_SHARE = 0.8;

/** A counter of failures that must not move: fires when it moved in `window` for `for`. */
function failureCounter(spec: {
  name: string;
  metric: string;
  window: string;
  for: string;
  severity: AlertRule["severity"];
  condition: string;
  summary: string;
  description: (instance: string) => string;
}): AlertRule {
  // Five-minute steps (inside the 5m lookback): the windows here are an hour long.
  const steps = Math.ceil((durationSeconds(spec.window) + durationSeconds(spec.for)) / 300) + 6;
  const evalTime = formatDuration((steps - 2) * 300);
  return rule({
    name: spec.name,
    expr: `increase(${spec.metric}{${PROM_JOB}}[${spec.window}]) > 0`,
    for: spec.for,
    severity: spec.severity,
    condition: spec.condition,
    summary: spec.summary,
    labels: ["instance"],
    description: (l) => spec.description(l.instance ?? ""),
    firing: {
      name: "fires while failures keep coming",
      interval: "5m",
      series: [series(spec.metric, PROMETHEUS, `0x2 1+1x${steps}`)],
      evalTime,
      labels: PROMETHEUS,
    },
    quiet: [
      {
        name: "stays quiet while the counter holds",
        interval: "5m",
        series: [series(spec.metric, PROMETHEUS, `2x${steps + 2}`)],
        evalTime,
      },
    ],
  });
}

/**
 * Active series the data volume holds for the whole retention: the volume's share (or the
 * configured retentionSize) over the bytes one series takes in that time at the scrape interval.
 */
function headSeriesBudget(config: StackConfig): number {
  const sizeGb =
    (config.metrics.retentionSize ? parsePrometheusSizeGb(config.metrics.retentionSize) : undefined) ??
    config.monitor.dataVolumeGb * PROMETHEUS_VOLUME_SHARE;
  const samplesPerSeries =
    durationSeconds(config.metrics.retentionTime) / durationSeconds(config.metrics.scrapeInterval);
  return Math.floor((sizeGb * 1024 ** 3) / (BYTES_PER_SAMPLE * samplesPerSeries));
}

function headSeriesOverBudget(config: StackConfig): AlertRule {
  const budget = headSeriesBudget(config);
  const forDuration = "1h";
  const samples = minutesCovering(forDuration) + 10;
  return rule({
    name: "PrometheusHeadSeriesOverBudget",
    expr: `prometheus_tsdb_head_series{${PROM_JOB}} > ${budget}`,
    for: forDuration,
    severity: "warning",
    condition: `active series > ${budget} (what the data volume holds for the retention at ${BYTES_PER_SAMPLE} bytes a sample)`,
    summary: "Prometheus holds more series than its data volume can keep for the retention.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} has held more than ${budget} active series for ${forDuration}: at this ` +
      `size the data volume fills before ${config.metrics.retentionTime} of history. A new exporter or a ` +
      "label with unbounded values (IDs, paths) adds series.",
    firing: {
      name: "fires above the budget",
      series: [series("prometheus_tsdb_head_series", PROMETHEUS, `${Math.ceil(budget * 1.2)}x${samples}`)],
      evalTime: after(forDuration, 0),
      labels: PROMETHEUS,
    },
    quiet: [
      {
        name: "stays quiet at half the budget",
        series: [series("prometheus_tsdb_head_series", PROMETHEUS, `${Math.floor(budget / 2)}x${samples}`)],
        evalTime: after(forDuration, 0),
      },
    ],
  });
}

function notificationQueueFull(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const queue = (length: number) => [
    series("prometheus_notifications_queue_length", PROMETHEUS, `${length}x${samples}`),
    series("prometheus_notifications_queue_capacity", PROMETHEUS, `10000x${samples}`),
  ];
  return rule({
    name: "PrometheusNotificationQueueFull",
    expr:
      `max_over_time(prometheus_notifications_queue_length{${PROM_JOB}}[${RULE_RATE_WINDOW}]) / ` +
      `min_over_time(prometheus_notifications_queue_capacity{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0.8`,
    for: forDuration,
    severity: "warning",
    condition: "alert queue to Alertmanager > 80% full",
    summary: "Prometheus' queue of alerts for Alertmanager is nearly full.",
    labels: ["instance"],
    description: (l) =>
      `The queue of alerts Prometheus on ${l.instance} sends to Alertmanager has been over 80% full for ` +
      `${forDuration}: when it is full, new alerts are dropped.`,
    firing: {
      name: "fires at 90% full",
      series: queue(9000),
      evalTime: after(forDuration),
      labels: PROMETHEUS,
    },
    quiet: [{ name: "stays quiet at 10% full", series: queue(1000), evalTime: after(forDuration) }],
  });
}

function droppingAlerts(): AlertRule {
  return rule({
    name: "PrometheusDroppingAlerts",
    expr: `increase(prometheus_notifications_dropped_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0`,
    for: "5m",
    severity: "warning",
    condition: "alerts dropped on the way to Alertmanager in every 5m window",
    summary: "Prometheus drops alerts meant for Alertmanager.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} keeps dropping alerts (queue overflow or failed sends): some never reach ` +
      "Alertmanager and nobody is notified of them.",
    firing: {
      name: "fires while alerts keep being dropped",
      series: [series("prometheus_notifications_dropped_total", PROMETHEUS, "0+3x30")],
      evalTime: after("5m"),
      labels: PROMETHEUS,
    },
    quiet: [
      {
        name: "stays quiet when nothing is dropped",
        series: [series("prometheus_notifications_dropped_total", PROMETHEUS, "4x30")],
        evalTime: after("5m"),
      },
    ],
  });
}

function alertmanagerSendErrors(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const target = { ...PROMETHEUS, alertmanager: "http://127.0.0.1:9093/api/v2/alerts" };
  const sends = (errorsPerMinute: number) => [
    series("prometheus_notifications_errors_total", target, `0+${errorsPerMinute}x${samples}`),
    series("prometheus_notifications_sent_total", target, `0+100x${samples}`),
  ];
  return rule({
    name: "PrometheusAlertmanagerSendErrors",
    expr:
      `rate(prometheus_notifications_errors_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) / ` +
      `rate(prometheus_notifications_sent_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0.01`,
    for: forDuration,
    severity: "warning",
    condition: "> 1% of alert sends to Alertmanager fail (5m)",
    summary: "Prometheus fails to send alerts to Alertmanager.",
    labels: ["instance", "alertmanager"],
    description: (l) =>
      `Prometheus on ${l.instance} fails to send alerts to ${l.alertmanager}: Alertmanager is unreachable or ` +
      "rejects them, so notifications are late or missing.",
    firing: {
      name: "fires when 10% of sends fail",
      series: sends(10),
      evalTime: after(forDuration),
      labels: target,
    },
    quiet: [{ name: "stays quiet without errors", series: sends(0), evalTime: after(forDuration) }],
  });
}

function noAlertmanager(): AlertRule {
  const forDuration = "10m";
  const samples = minutesCovering(forDuration) + 15;
  const discovered = (count: number) => [
    series("prometheus_notifications_alertmanagers_discovered", PROMETHEUS, `${count}x${samples}`),
  ];
  return rule({
    name: "PrometheusNoAlertmanager",
    expr: `max_over_time(prometheus_notifications_alertmanagers_discovered{${PROM_JOB}}[${RULE_RATE_WINDOW}]) < 1`,
    for: forDuration,
    severity: "warning",
    condition: "no Alertmanager configured/discovered for 5m",
    summary: "Prometheus has no Alertmanager to send alerts to.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} knows no Alertmanager: alerts are evaluated but sent nowhere (check the ` +
      "alerting section of prometheus.yml).",
    firing: {
      name: "fires with none discovered",
      series: discovered(0),
      evalTime: after(forDuration),
      labels: PROMETHEUS,
    },
    quiet: [{ name: "stays quiet with one", series: discovered(1), evalTime: after(forDuration) }],
  });
}

function scrapeSampleLimitHit(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const hits = (values: string) => [
    series("prometheus_target_scrapes_exceeded_sample_limit_total", PROMETHEUS, values),
  ];
  return rule({
    name: "PrometheusScrapeSampleLimitHit",
    expr: `increase(prometheus_target_scrapes_exceeded_sample_limit_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0`,
    for: forDuration,
    severity: "warning",
    condition: "scrapes rejected for exceeding their sample_limit in every 5m window",
    summary: "A target exposes more samples than a scrape may take.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} rejects whole scrapes of some target for exceeding its sample_limit: ` +
      "that target's metrics are missing (ScrapeSampleLimitExceeded names it).",
    firing: {
      name: "fires while scrapes are rejected",
      series: hits(`0+1x${samples}`),
      evalTime: after(forDuration),
      labels: PROMETHEUS,
    },
    quiet: [
      { name: "stays quiet when none are", series: hits(`0x${samples}`), evalTime: after(forDuration) },
    ],
  });
}

function ruleEvaluationsMissed(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const labels = { ...PROMETHEUS, rule_group: "/etc/prometheus/rules/host.yml;host" };
  const missed = (values: string) => [
    series("prometheus_rule_group_iterations_missed_total", labels, values),
  ];
  return rule({
    name: "PrometheusRuleEvaluationsMissed",
    expr: `increase(prometheus_rule_group_iterations_missed_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0`,
    for: forDuration,
    severity: "warning",
    condition: "a rule group misses evaluations in every 5m window",
    summary: "Prometheus skips rule evaluations.",
    labels: ["instance", "rule_group"],
    description: (l) =>
      `Rule group ${l.rule_group} on ${l.instance} takes longer than its interval and skips evaluations: ` +
      "its alerts fire late or not at all.",
    firing: {
      name: "fires while evaluations are skipped",
      series: missed(`0+1x${samples}`),
      evalTime: after(forDuration),
      labels,
    },
    quiet: [
      { name: "stays quiet when none are", series: missed(`0x${samples}`), evalTime: after(forDuration) },
    ],
  });
}

function samplesRejected(): AlertRule {
  const forDuration = "10m";
  const samples = minutesCovering(forDuration) + 15;
  const rejected = (perMinute: number) => [
    series("prometheus_target_scrapes_sample_out_of_order_total", PROMETHEUS, `0+${perMinute}x${samples}`),
    series("prometheus_target_scrapes_sample_duplicate_timestamp_total", PROMETHEUS, `0x${samples}`),
  ];
  return rule({
    name: "PrometheusSamplesRejected",
    expr:
      `rate(prometheus_target_scrapes_sample_out_of_order_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0 ` +
      `or rate(prometheus_target_scrapes_sample_duplicate_timestamp_total{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0`,
    for: forDuration,
    severity: "warning",
    condition: "scraped samples rejected as out of order or duplicate",
    summary: "Prometheus rejects scraped samples.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} rejects scraped samples as out of order or with duplicate timestamps: an ` +
      "exporter sets wrong timestamps or exposes the same series twice; those samples are lost.",
    firing: {
      name: "fires while samples are rejected",
      series: rejected(5),
      evalTime: after(forDuration),
      labels: PROMETHEUS,
    },
    quiet: [{ name: "stays quiet when none are", series: rejected(0), evalTime: after(forDuration) }],
  });
}

function targetSyncFailing(): AlertRule {
  const labels = { ...PROMETHEUS, scrape_job: "node" };
  const failures = (values: string) => [series("prometheus_target_sync_failed_total", labels, values)];
  return rule({
    name: "PrometheusTargetSyncFailing",
    expr: `increase(prometheus_target_sync_failed_total{${PROM_JOB}}[30m]) > 0`,
    for: "5m",
    severity: "critical",
    condition: "a scrape pool failed to sync its targets in the last 30m",
    summary: "Prometheus cannot start scraping some targets.",
    labels: ["instance", "scrape_job"],
    description: (l) =>
      `Prometheus on ${l.instance} failed to build the targets of scrape job ${l.scrape_job}: its targets are ` +
      "not scraped, so their alerts cannot fire.",
    firing: { name: "fires after a failed sync", series: failures("0x5 1x30"), evalTime: "15m", labels },
    quiet: [{ name: "stays quiet without failures", series: failures("0x35"), evalTime: "15m" }],
  });
}

function queryLoadHigh(): AlertRule {
  const forDuration = "15m";
  const samples = minutesCovering(forDuration) + 15;
  const load = (running: number) => [
    series("prometheus_engine_queries", PROMETHEUS, `${running}x${samples}`),
    series("prometheus_engine_queries_concurrent_max", PROMETHEUS, `20x${samples}`),
  ];
  return rule({
    name: "PrometheusQueryLoadHigh",
    expr:
      `avg_over_time(prometheus_engine_queries{${PROM_JOB}}[${RULE_RATE_WINDOW}]) / ` +
      `max_over_time(prometheus_engine_queries_concurrent_max{${PROM_JOB}}[${RULE_RATE_WINDOW}]) > 0.8`,
    for: forDuration,
    severity: "warning",
    condition: "> 80% of the concurrent query slots busy (5m average)",
    summary: "Prometheus' query slots are nearly all busy.",
    labels: ["instance"],
    description: (l) =>
      `Prometheus on ${l.instance} has used over 80% of its concurrent query slots for ${forDuration}: ` +
      "dashboards and rule evaluations queue (a heavy dashboard or a slow query?).",
    firing: {
      name: "fires at 18 of 20 slots",
      series: load(18),
      evalTime: after(forDuration),
      labels: PROMETHEUS,
    },
    quiet: [{ name: "stays quiet at 2 of 20", series: load(2), evalTime: after(forDuration) }],
  });
}

function alertmanagerConfigReloadFailed(): AlertRule {
  const forDuration = "10m";
  const reloads = (values: string) => [
    series("alertmanager_config_last_reload_successful", ALERTMANAGER, values),
  ];
  return rule({
    name: "AlertmanagerConfigReloadFailed",
    expr: `max_over_time(alertmanager_config_last_reload_successful{job="${JOB_NAMES.alertmanager}"}[${RULE_RATE_WINDOW}]) == 0`,
    for: forDuration,
    severity: "warning",
    condition: "last config reload failed (for all of 5m)",
    summary: "Alertmanager failed to reload its configuration.",
    labels: ["instance"],
    description: (l) =>
      `Alertmanager on ${l.instance} failed to load its new configuration and keeps running the previous one; ` +
      "a restart would fail. Check with amtool check-config.",
    firing: {
      name: "fires while the last reload failed",
      series: reloads("1x2 0x30"),
      evalTime: after(forDuration, 8),
      labels: ALERTMANAGER,
    },
    quiet: [
      {
        name: "stays quiet once a reload succeeds",
        series: reloads("1x2 0x2 1x30"),
        evalTime: after(forDuration, 8),
      },
    ],
  });
}

/** The rules, in the self-monitoring group after the up/down alerts. */
export function stackHealthRules(config: StackConfig): AlertRule[] {
  return [
    failureCounter({
      name: "PrometheusTsdbCompactionsFailing",
      metric: "prometheus_tsdb_compactions_failed_total",
      window: "1h",
      for: "30m",
      severity: "warning",
      condition: "TSDB compactions failed in every 1h window for 30m",
      summary: "Prometheus fails to compact its storage.",
      description: (instance) =>
        `Prometheus on ${instance} keeps failing to compact its TSDB blocks: the disk fills faster and queries ` +
        "slow down (data volume full or corrupt block? see its log).",
    }),
    failureCounter({
      name: "PrometheusTsdbReloadsFailing",
      metric: "prometheus_tsdb_reloads_failures_total",
      window: "1h",
      for: "30m",
      severity: "warning",
      condition: "TSDB block reloads failed in every 1h window for 30m",
      summary: "Prometheus fails to load its storage blocks.",
      description: (instance) =>
        `Prometheus on ${instance} keeps failing to reload its TSDB blocks from disk: new blocks are not ` +
        "queryable and retention does not delete old ones (corrupt block? see its log).",
    }),
    rule({
      name: "PrometheusTsdbWalFailing",
      expr: [
        "prometheus_tsdb_wal_corruptions_total",
        "prometheus_tsdb_wal_writes_failed_total",
        "prometheus_tsdb_wal_truncations_failed_total",
        "prometheus_tsdb_checkpoint_creations_failed_total",
      ]
        .map((metric) => `increase(${metric}{${PROM_JOB}}[1h]) > 0`)
        .join(" or "),
      for: "0s",
      severity: "critical",
      condition: "WAL corruptions, failed WAL writes/truncations or checkpoints in the last 1h",
      summary: "Prometheus' write-ahead log is failing.",
      labels: ["instance"],
      description: (l) =>
        `Prometheus on ${l.instance} found a corrupt write-ahead log or failed to write, truncate or checkpoint ` +
        "it in the last hour: recent samples may be lost and the WAL grows (data volume full or read-only?).",
      firing: {
        name: "fires after a failed WAL write",
        series: [series("prometheus_tsdb_wal_writes_failed_total", PROMETHEUS, "0x5 1x20")],
        evalTime: "10m",
        labels: PROMETHEUS,
      },
      quiet: [
        {
          name: "stays quiet while every counter holds",
          series: [
            series("prometheus_tsdb_wal_corruptions_total", PROMETHEUS, "0x25"),
            series("prometheus_tsdb_wal_writes_failed_total", PROMETHEUS, "0x25"),
          ],
          evalTime: "10m",
        },
      ],
    }),
    headSeriesOverBudget(config),
    notificationQueueFull(),
    droppingAlerts(),
    alertmanagerSendErrors(),
    noAlertmanager(),
    scrapeSampleLimitHit(),
    ruleEvaluationsMissed(),
    samplesRejected(),
    targetSyncFailing(),
    queryLoadHigh(),
    alertmanagerConfigReloadFailed(),
    ...lokiRules(),
  ];
}
