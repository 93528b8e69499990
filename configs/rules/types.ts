/**
 * Alert rules as data: each rule carries the promtool test cases that prove it fires when it
 * should and stays quiet when it should not. Rule files and promtool test files are both
 * rendered from these records, so a rule cannot ship without its tests.
 */

export const SEVERITIES = ["critical", "warning", "info", "none"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One input series in promtool notation, e.g. `up{job="node", instance="web-1"}` / `1x5 0x10`. */
export interface InputSeries {
  readonly series: string;
  /** promtool expanding notation: `0+60x10`, `1x5`, `_` (missing), `stale`. */
  readonly values: string;
}

/**
 * An alert the case expects. The rule's own static labels (severity, ...) and static annotations
 * (summary, runbook_url) are added by the test renderer; the case states what depends on the
 * input: the series labels the alert keeps and the rendered description.
 */
export interface ExpectedAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly description: string;
}

export interface AlertTestCase {
  /** What the case shows, e.g. "fires when CPU stays above the threshold". */
  readonly name: string;
  /** Step between input samples; default 1m. */
  readonly interval?: string;
  readonly inputSeries: readonly InputSeries[];
  /** Prometheus duration after the start of the series. */
  readonly evalTime: string;
  /** Empty: the alert must not be firing at evalTime. */
  readonly expectedAlerts: readonly ExpectedAlert[];
}

export interface AlertRule {
  /** CamelCase, also the runbook's file name (`runbooks/<name>.md`). */
  readonly name: string;
  readonly expr: string;
  /** Prometheus duration the condition must hold before the alert fires. */
  readonly for: string;
  readonly severity: Severity;
  /** Human-readable condition for the alert table in docs/alerts.md. */
  readonly condition: string;
  /** Static sentence ending with a period: it is the notification's subject line. */
  readonly summary: string;
  /** Go template using `$labels` / `$value`: what happened, where, how bad. */
  readonly description: string;
  /** Extra static labels beyond severity. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * True only for an alert whose expression is constant (Watchdog): it has no non-firing case
   * by design. The rule test over all rules checks the expression really is constant.
   */
  readonly alwaysFires?: boolean;
  /**
   * Alerts this one makes redundant: while it fires, Alertmanager mutes them where the `equal`
   * labels (and the environment) match, e.g. a service-down alert mutes that service's symptoms.
   */
  readonly mutes?: { readonly alerts: readonly string[]; readonly equal: readonly string[] };
  readonly cases: readonly AlertTestCase[];
}

/** A recording rule: its series name, expression and static labels. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  /** Group name; also the rule file name (`<name>.yml`). */
  readonly name: string;
  /** Recording rules, evaluated before the alerts of the group (which may read them). */
  readonly records?: readonly RecordingRule[];
  readonly rules: readonly AlertRule[];
}

/** `name{a="x", b="y"}` for promtool input series. Label order is kept as given. */
export function seriesSelector(metric: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${metric}{${pairs.join(", ")}}`;
}
