/**
 * Alerts on Tempo's own health (traces on): it is down, or it throws spans away (rate limits,
 * trace too large, live-trace limits). Metric names are Tempo 2.10's (modules/distributor,
 * modules/overrides/discarded_spans.go at the pinned tag); no Tempo runs here, promtool does.
 */
import { RULE_RATE_WINDOW } from "../../lib/catalog";
import { JOB_NAMES, MONITOR_INSTANCE } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import type { AlertRule, RuleGroup } from "./types";
import { seriesSelector } from "./types";

const TEMPO_GROUP = "tempo";
const TEMPO_DOWN_FOR = "5m";
const DISCARDING_FOR = "10m";
const TEMPO = { job: JOB_NAMES.tempo, instance: MONITOR_INSTANCE };

function tempoDown(): AlertRule {
  const forMinutes = minutesCovering(TEMPO_DOWN_FOR);
  const description = (instance: string) =>
    `Prometheus cannot scrape Tempo on ${instance}: traces sent by the hosts' Alloy are buffered, then dropped, and trace queries fail.`;
  const series = (values: string) => [{ series: seriesSelector("up", TEMPO), values }];
  const evalTime = formatDuration((3 + forMinutes + 1) * 60);
  return {
    name: "TempoDown",
    expr: `up{job="${JOB_NAMES.tempo}"} == 0`,
    for: TEMPO_DOWN_FOR,
    severity: "warning",
    condition: `\`up{job="${JOB_NAMES.tempo}"} == 0\``,
    summary: "Tempo is down.",
    description: description("{{ $labels.instance }}"),
    cases: [
      {
        name: "fires when Tempo stays down",
        inputSeries: series(`1x2 0x${forMinutes + 5}`),
        evalTime,
        expectedAlerts: [{ labels: TEMPO, description: description(MONITOR_INSTANCE) }],
      },
      {
        name: "stays quiet through a restart",
        inputSeries: series(`1x2 0x1 1x${forMinutes + 5}`),
        evalTime,
        expectedAlerts: [],
      },
    ],
  };
}

function tempoDiscardingSpans(): AlertRule {
  const forMinutes = minutesCovering(DISCARDING_FOR);
  const labels = { ...TEMPO, reason: "rate_limited" };
  const description = (instance: string, reason: string) =>
    `Tempo on ${instance} is discarding spans (reason ${reason}): traces arrive incomplete; see the Traces dashboard.`;
  const series = (values: string) => [
    { series: seriesSelector("tempo_discarded_spans_total", { ...labels, tenant: "single-tenant" }), values },
  ];
  const evalTime = formatDuration((forMinutes + 10) * 60);
  return {
    name: "TempoDiscardingSpans",
    expr: `sum by (job, instance, reason) (rate(tempo_discarded_spans_total{job="${JOB_NAMES.tempo}"}[${RULE_RATE_WINDOW}])) > 0`,
    for: DISCARDING_FOR,
    severity: "warning",
    condition: `spans discarded in every ${RULE_RATE_WINDOW} window (by reason)`,
    summary: "Tempo is discarding spans.",
    description: description("{{ $labels.instance }}", "{{ $labels.reason }}"),
    cases: [
      {
        name: "fires while spans keep being discarded",
        inputSeries: series(`0+100x${forMinutes + 15}`),
        evalTime,
        expectedAlerts: [{ labels, description: description(MONITOR_INSTANCE, labels.reason) }],
      },
      {
        name: "stays quiet when nothing is discarded",
        inputSeries: series(`5x${forMinutes + 15}`),
        evalTime,
        expectedAlerts: [],
      },
    ],
  };
}

/** The Tempo group, or none when traces are off. */
export function tempoRuleGroups(tracesOn: boolean): RuleGroup[] {
  return tracesOn ? [{ name: TEMPO_GROUP, rules: [tempoDown(), tempoDiscardingSpans()] }] : [];
}
