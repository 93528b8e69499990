/**
 * SLOs as rules: per objective, recording rules for its error ratio over every burn-rate window
 * (lib/burn-rates.ts), its error budget and what is left of it; then two alerts over every SLO,
 * the multiwindow, multi-burn-rate page and ticket of the SRE workbook. Every recorded series
 * carries only the `slo` label, so the alerts match the ratios to their budget on it.
 */
import { BURN_RATE_ALERTS, BURN_RATE_WINDOWS, type BurnRateAlert } from "../../lib/burn-rates";
import { SLI_WINDOW_PLACEHOLDER, type SloSettings } from "../../lib/stack-config";
import { PROBE_SUCCESS_METRIC } from "./probes";
import type { AlertRule, AlertTestCase, RecordingRule, RuleGroup } from "./types";
import { seriesSelector } from "./types";

const SLO_GROUP = "slo";

/** Recorded series, by what they hold. */
export const SLO_RECORDS = {
  /** Fraction of failed events over a window: `slo:sli_error:ratio_rate<window>`. */
  errorRatio: (window: string) => `slo:sli_error:ratio_rate${window}`,
  /** The objective as a fraction (0.999). */
  objective: "slo:objective:ratio",
  /** The error budget as a fraction of events (0.001). */
  errorBudget: "slo:error_budget:ratio",
  /** Error ratio over the SLO's whole window (the mean of the 5m ratios). */
  windowErrorRatio: "slo:sli_error:ratio_window",
  /** Share of the window's budget not yet spent: 1 whole, 0 spent, below 0 overspent. */
  budgetRemaining: "slo:error_budget:remaining_ratio",
} as const;

const SLO_ALERTS: Readonly<Record<BurnRateAlert["kind"], string>> = {
  page: "SloErrorBudgetBurnFast",
  ticket: "SloErrorBudgetBurnSlow",
};

const ALERT_FOR: Readonly<Record<BurnRateAlert["kind"], string>> = { page: "2m", ticket: "15m" };
const SEVERITY: Readonly<Record<BurnRateAlert["kind"], AlertRule["severity"]>> = {
  page: "critical",
  ticket: "warning",
};

/** 1 - objective% as a fraction, without float noise: 99.9 -> 0.001. */
export function errorBudget(objective: number): number {
  return Number((100 - objective).toFixed(10)) / 100;
}

function quoted(value: string): string {
  return JSON.stringify(value);
}

/** Good and total events per second of an SLI over `window`. */
function sliQueries(slo: SloSettings, window: string): { good: string; total: string } {
  if (slo.sli.kind === "probe") {
    const selector = `${PROBE_SUCCESS_METRIC}{probe=${quoted(slo.sli.probe)}}`;
    return {
      good: `sum_over_time(${selector}[${window}])`,
      total: `count_over_time(${selector}[${window}])`,
    };
  }
  const range = `[${SLI_WINDOW_PLACEHOLDER}]`;
  return {
    good: slo.sli.good.split(range).join(`[${window}]`),
    total: slo.sli.total.split(range).join(`[${window}]`),
  };
}

function sloRecords(slo: SloSettings): RecordingRule[] {
  const labels = { slo: slo.name };
  const select = `{slo=${quoted(slo.name)}}`;
  const ratios = BURN_RATE_WINDOWS.map((window) => {
    const { good, total } = sliQueries(slo, window);
    return { record: SLO_RECORDS.errorRatio(window), expr: `1 - (sum(${good}) / sum(${total}))`, labels };
  });
  return [
    ...ratios,
    { record: SLO_RECORDS.objective, expr: `vector(${Number((slo.objective / 100).toFixed(12))})`, labels },
    { record: SLO_RECORDS.errorBudget, expr: `vector(${errorBudget(slo.objective)})`, labels },
    {
      record: SLO_RECORDS.windowErrorRatio,
      expr: `avg_over_time(${SLO_RECORDS.errorRatio("5m")}${select}[${slo.window}])`,
      labels,
    },
    {
      record: SLO_RECORDS.budgetRemaining,
      expr: `1 - (${SLO_RECORDS.windowErrorRatio}${select} / on(slo) ${SLO_RECORDS.errorBudget}${select})`,
      labels,
    },
  ];
}

/** `(ratio_long > f * budget) and (ratio_short > f * budget)` per window pair, `or`-ed. */
function burnExpr(alert: BurnRateAlert): string {
  const over = (window: string, factor: number) =>
    `${SLO_RECORDS.errorRatio(window)} > on(slo) (${factor} * ${SLO_RECORDS.errorBudget})`;
  return alert.windows
    .map(({ factor, long, short }) => `((${over(long, factor)}) and on(slo) (${over(short, factor)}))`)
    .join(" or ");
}

function windowsInWords(alert: BurnRateAlert): string {
  return alert.windows.map(({ factor, long, short }) => `${factor}x over ${long} and ${short}`).join(", or ");
}

/** Input series: every recorded window at `factor` times the budget (overrides by window). */
function ratioSeries(
  slo: SloSettings,
  factor: number,
  overrides: Readonly<Record<string, number>> = {},
  minutes = 30,
): AlertTestCase["inputSeries"] {
  const budget = errorBudget(slo.objective);
  return BURN_RATE_WINDOWS.map((window) => {
    const value = Number(((overrides[window] ?? factor) * budget).toPrecision(6));
    return {
      series: seriesSelector(SLO_RECORDS.errorRatio(window), { slo: slo.name }),
      values: `${value}x${minutes}`,
    };
  });
}

function burnRule(alert: BurnRateAlert, slos: readonly SloSettings[]): AlertRule {
  const name = SLO_ALERTS[alert.kind];
  const forDuration = ALERT_FOR[alert.kind];
  const description = (slo: string) =>
    `SLO ${slo} is spending its error budget too fast (${windowsInWords(alert)} the rate that would use exactly all of it over the SLO window): see the SLOs dashboard for the burn rates and what is left.`;
  const fastest = alert.windows[0]?.factor ?? 1;
  const cases: AlertTestCase[] = slos.flatMap((slo) => {
    const fires = (caseName: string, series: AlertTestCase["inputSeries"]): AlertTestCase => ({
      name: `${slo.name}: ${caseName}`,
      inputSeries: series,
      evalTime: "20m",
      expectedAlerts: [{ labels: { slo: slo.name }, description: description(slo.name) }],
    });
    const quiet = (caseName: string, series: AlertTestCase["inputSeries"]): AlertTestCase => ({
      name: `${slo.name}: ${caseName}`,
      inputSeries: series,
      evalTime: "20m",
      expectedAlerts: [],
    });
    const lowest = Math.min(...alert.windows.map((window) => window.factor));
    const calm = lowest * 0.5;
    return [
      ...alert.windows.map(({ factor, long, short }) =>
        fires(
          `fires at ${factor * 1.05}x over ${long} and ${short} alone`,
          ratioSeries(slo, calm, { [long]: factor * 1.05, [short]: factor * 1.05 }),
        ),
      ),
      quiet(`stays quiet just below every burn rate (${lowest * 0.9}x)`, ratioSeries(slo, lowest * 0.9)),
      quiet(
        "stays quiet when only the short windows burn (a spike already over)",
        ratioSeries(
          slo,
          calm,
          Object.fromEntries(alert.windows.map((window) => [window.short, fastest * 2])),
        ),
      ),
      quiet(
        "stays quiet when only the long windows still burn (the burn has stopped)",
        ratioSeries(slo, calm, Object.fromEntries(alert.windows.map((window) => [window.long, fastest * 2]))),
      ),
    ];
  });
  return {
    name,
    expr: burnExpr(alert),
    for: forDuration,
    severity: SEVERITY[alert.kind],
    condition: `error ratio above ${windowsInWords(alert)} the error budget rate`,
    summary:
      alert.kind === "page"
        ? "An SLO is burning its error budget fast enough to exhaust it within days."
        : "An SLO is burning its error budget faster than it lasts.",
    description: description("{{ $labels.slo }}"),
    cases,
  };
}

/** The SLO group, or none when the stack declares no SLOs. */
export function sloRuleGroups(slos: readonly SloSettings[]): RuleGroup[] {
  if (slos.length === 0) return [];
  return [
    {
      name: SLO_GROUP,
      records: slos.flatMap(sloRecords),
      rules: BURN_RATE_ALERTS.map((alert) => burnRule(alert, slos)),
    },
  ];
}
