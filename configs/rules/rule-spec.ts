/**
 * A compact way to write an alert rule with one firing and some quiet promtool cases, for rules
 * whose description only needs the labels the alert keeps.
 */
import { formatDuration, minutesCovering } from "./duration";
import { type RunbookText, renderRunbook } from "./runbook";
import { type AlertRule, type InputSeries, seriesSelector } from "./types";

export interface CaseSpec {
  readonly name: string;
  readonly series: readonly InputSeries[];
  readonly evalTime: string;
  readonly interval?: string;
}

export interface RuleSpec {
  readonly name: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: AlertRule["severity"];
  readonly condition: string;
  readonly summary: string;
  /** The description given each label's value (templates for the rule, values for the case). */
  readonly description: (labels: Readonly<Record<string, string>>) => string;
  /** Labels the alert keeps, and so the description may use. */
  readonly labels: readonly string[];
  readonly firing: CaseSpec & { readonly labels: Readonly<Record<string, string>> };
  readonly quiet: readonly CaseSpec[];
}

export function rule(spec: RuleSpec): AlertRule {
  const templates = Object.fromEntries(spec.labels.map((label) => [label, `{{ $labels.${label} }}`]));
  const testCase = (entry: CaseSpec, expected: AlertRule["cases"][number]["expectedAlerts"]) => ({
    name: entry.name,
    ...(entry.interval ? { interval: entry.interval } : {}),
    inputSeries: entry.series,
    evalTime: entry.evalTime,
    expectedAlerts: expected,
  });
  return {
    name: spec.name,
    expr: spec.expr,
    for: spec.for,
    severity: spec.severity,
    condition: spec.condition,
    summary: spec.summary,
    description: spec.description(templates),
    cases: [
      testCase(spec.firing, [
        { labels: spec.firing.labels, description: spec.description(spec.firing.labels) },
      ]),
      ...spec.quiet.map((entry) => testCase(entry, [])),
    ],
  };
}

export function series(
  metric: string,
  labels: Readonly<Record<string, string>>,
  values: string,
): InputSeries {
  return { series: seriesSelector(metric, labels), values };
}

/** Minute to evaluate at so a condition true from `start` has held for `forDuration`. */
export function after(forDuration: string, start = 5): string {
  return formatDuration((start + minutesCovering(forDuration) + 1) * 60);
}

/**
 * An optional exporter's symptom alert and its runbook, as a record lists it. The record's
 * service-down alert and ExporterDown mute it (./exporters.ts), so it keeps `job` and `instance`.
 */
export function exporterSymptom(spec: RuleSpec, runbook: RunbookText): { rule: AlertRule; runbook: string } {
  return { rule: rule(spec), runbook: renderRunbook(spec.name, runbook) };
}
