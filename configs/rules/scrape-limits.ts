/**
 * Targets against their scrape limits (configs/scrape-limits.ts). Each job's sample limit is
 * recorded as a series, so one alert compares every target with its own job's limit: a warning
 * while a target nears it, and an alert once Prometheus refuses the scrape (the target then looks
 * down, so this alert is left out of HostUnreachable's inhibition and says why). Discovery or label
 * limits hit by a whole job show in Prometheus' own counters.
 */
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES, MONITOR_INSTANCE, scrapeJobSampleLimits } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import type { AlertRule, AlertTestCase, RecordingRule, RuleGroup } from "./types";
import { seriesSelector } from "./types";

export const SAMPLE_LIMIT_EXCEEDED_ALERT = "ScrapeSampleLimitExceeded";
const LIMIT_SERIES = "job:scrape_sample_limit:configured";
const NEAR_PERCENT = 80;
/** The job and limit the cases use: the node exporter on a client. */
const CASE_LABELS = { instance: "web-1", job: JOB_NAMES.node };

function firingEval(forDuration: string, startMinute: number): string {
  return formatDuration((startMinute + minutesCovering(forDuration) + 1) * 60);
}

/** `100 * samples / limit`, per target: the percentage of its job's limit one scrape used. */
const PERCENT_OF_LIMIT = `100 * scrape_samples_post_metric_relabeling / on(job) group_left() ${LIMIT_SERIES}`;

function limitCases(
  limit: number,
  forDuration: string,
  firing: { samples: number; description: string },
  quietSamples: number,
): AlertTestCase[] {
  const samples = (count: number) => ({
    series: seriesSelector("scrape_samples_post_metric_relabeling", CASE_LABELS),
    values: `${count}x${minutesCovering(forDuration) + 10}`,
  });
  const evalTime = firingEval(forDuration, 1);
  return [
    {
      name: `fires at ${firing.samples} samples against a limit of ${limit}`,
      inputSeries: [samples(firing.samples)],
      evalTime,
      expectedAlerts: [{ labels: CASE_LABELS, description: firing.description }],
    },
    {
      name: `stays quiet at ${quietSamples} samples`,
      inputSeries: [samples(quietSamples)],
      evalTime,
      expectedAlerts: [],
    },
  ];
}

function nearLimit(limit: number): AlertRule {
  const forDuration = "15m";
  const description = (job: string, instance: string, percent: string) =>
    `${job} on ${instance} returns ${percent}% of its job's sample limit per scrape; past 100% Prometheus refuses every scrape of it. ` +
    "Find what grew (a new table, a label per request) and drop it, or raise the job's limit.";
  const samples = Math.round(limit * 0.9);
  return {
    name: "TargetNearSampleLimit",
    expr: `${PERCENT_OF_LIMIT} > ${NEAR_PERCENT}`,
    for: forDuration,
    severity: "warning",
    condition: `a target's samples per scrape > ${NEAR_PERCENT}% of its job's sample_limit`,
    summary: "A scrape target is nearing its sample limit.",
    description: description("{{ $labels.job }}", "{{ $labels.instance }}", '{{ $value | printf "%.0f" }}'),
    cases: limitCases(
      limit,
      forDuration,
      { samples, description: description(CASE_LABELS.job, CASE_LABELS.instance, "90") },
      Math.round(limit * 0.7),
    ),
  };
}

function limitExceeded(limit: number): AlertRule {
  const forDuration = "1m";
  const description = (job: string, instance: string, percent: string) =>
    `${job} on ${instance} returned ${percent}% of its job's sample limit: Prometheus refuses the whole scrape, so the target reports up 0 ` +
    "(and a host-down alert fires) although it answers. Drop what grew, or raise the job's limit.";
  return {
    name: SAMPLE_LIMIT_EXCEEDED_ALERT,
    expr: `${PERCENT_OF_LIMIT} > 100`,
    for: forDuration,
    severity: "critical",
    condition: "a target's samples per scrape over its job's sample_limit (the scrape is refused)",
    summary: "Prometheus refuses a target's scrapes: it exceeds its sample limit.",
    description: description("{{ $labels.job }}", "{{ $labels.instance }}", '{{ $value | printf "%.0f" }}'),
    cases: limitCases(
      limit,
      forDuration,
      { samples: limit * 2, description: description(CASE_LABELS.job, CASE_LABELS.instance, "200") },
      limit,
    ),
  };
}

function poolLimitHit(): AlertRule {
  const forDuration = "0s";
  const prometheus = { job: JOB_NAMES.prometheus, instance: MONITOR_INSTANCE };
  const counter = (kind: "target_limit" | "label_limits") =>
    `prometheus_target_scrape_pool_exceeded_${kind}_total{job="${JOB_NAMES.prometheus}"}`;
  const description = (limit: string) =>
    `A scrape job hit its ${limit} limit: Prometheus drops the job's targets (target limit) or refuses scrapes with oversized labels. ` +
    "Check which job in Prometheus' targets page, and what discovery or an exporter started returning.";
  const series = (target: string, label: string) => [
    {
      series: seriesSelector("prometheus_target_scrape_pool_exceeded_target_limit_total", prometheus),
      values: target,
    },
    {
      series: seriesSelector("prometheus_target_scrape_pool_exceeded_label_limits_total", prometheus),
      values: label,
    },
  ];
  return {
    name: "ScrapePoolLimitHit",
    expr:
      `label_replace(increase(${counter("target_limit")}[5m]) > 0, "limit", "target", "", "") ` +
      `or label_replace(increase(${counter("label_limits")}[5m]) > 0, "limit", "label", "", "")`,
    for: forDuration,
    severity: "warning",
    condition: "a job hit its target_limit or label limits in the last 5m",
    summary: "A scrape job hit its target or label limit.",
    description: description("{{ $labels.limit }}"),
    cases: [
      {
        name: "fires when discovery returns more targets than the limit",
        inputSeries: series("0x5 1x10", "0x15"),
        evalTime: "7m",
        expectedAlerts: [{ labels: { ...prometheus, limit: "target" }, description: description("target") }],
      },
      {
        name: "stays quiet while no limit is hit",
        inputSeries: series("0x15", "0x15"),
        evalTime: "7m",
        expectedAlerts: [],
      },
    ],
  };
}

/** The group: the limits as series, and the three alerts. */
export function scrapeLimitRuleGroup(config: StackConfig): RuleGroup {
  const limits = scrapeJobSampleLimits(config);
  const records: RecordingRule[] = limits.map(({ job, limit }) => ({
    record: LIMIT_SERIES,
    expr: `vector(${limit})`,
    labels: { job },
  }));
  const nodeLimit = limits.find((entry) => entry.job === JOB_NAMES.node)?.limit;
  if (nodeLimit === undefined) throw new Error("the node job has no sample limit");
  return {
    name: "scrape-limits",
    records,
    rules: [nearLimit(nodeLimit), limitExceeded(nodeLimit), poolLimitHit()],
  };
}
