/**
 * Alert rule files and the alert table in docs/alerts.md, rendered from the rule records in this
 * directory (whose promtool cases test/support/rule-tests.ts turns into test files).
 */
import { stringify } from "yaml";
import type { SloSettings, StackConfig } from "../../lib/stack-config";
import { GRAFANA_ROOT_URL_PLACEHOLDER } from "../grafana";
import { pushedHostLabels } from "../prometheus";
import { containerRuleGroup } from "./containers";
import { coverageCounts, REFERENCE_SETS } from "./coverage";
import { EXPORTER_GROUP_PREFIX, everyExporterRuleGroup, exporterRuleGroups } from "./exporters";
import { hostRuleGroup } from "./host";
import { managedStoreRuleGroup } from "./managed-store";
import { probeRuleGroups } from "./probes";
import { type RunbookLinks, runbookUrl } from "./runbook";
import { scrapeLimitRuleGroup } from "./scrape-limits";
import { selfMonitoringRuleGroup } from "./self-monitoring";
import { sloRuleGroups } from "./slo";
import { tempoRuleGroups } from "./tempo";
import type { AlertRule, RecordingRule, RuleGroup } from "./types";

export { type CoverageRow, coverageCounts, REFERENCE_SETS, type ReferenceSet } from "./coverage";
export type {
  AlertRule,
  AlertTestCase,
  ExpectedAlert,
  InputSeries,
  RecordingRule,
  RuleGroup,
  Severity,
} from "./types";
export { SEVERITIES } from "./types";

/** An SLO that stands for every SLO in the docs' alert table of a stack that declares none. */
const EXAMPLE_SLO: SloSettings = {
  name: "example",
  objective: 99.9,
  window: "30d",
  sli: { kind: "ratio", good: "sum(rate(good_total[$window]))", total: "sum(rate(all_total[$window]))" },
};

/** Every rule group this stack runs: exporter groups only for exporters some host enabled. */
export function buildRuleGroups(config: StackConfig): RuleGroup[] {
  return [
    hostRuleGroup(config.alerting.thresholds, {
      labels: config.externalHosts.map((host) => pushedHostLabels(config, host)),
      scrapeInterval: config.metrics.scrapeInterval,
    }),
    containerRuleGroup(config.metrics.scrapeInterval),
    selfMonitoringRuleGroup(config),
    scrapeLimitRuleGroup(config),
    ...(config.metrics.managedStore ? [managedStoreRuleGroup()] : []),
    ...exporterRuleGroups(config),
    ...probeRuleGroups(config.probes),
    ...sloRuleGroups(config.slos),
    ...tempoRuleGroups(config.traces !== undefined),
  ];
}

/** What the rule renderers need to know beyond the rules: where the runbook links point. */
export interface RuleRenderOptions {
  /** Grafana's root URL (stack setting, else the deployed one); unset: a placeholder. */
  readonly grafanaUrl?: string;
}

function runbookLinks(config: StackConfig, options: RuleRenderOptions): RunbookLinks {
  const runbookBaseUrl = config.alerting.runbookBaseUrl;
  return {
    grafanaUrl: options.grafanaUrl ?? GRAFANA_ROOT_URL_PLACEHOLDER,
    ...(runbookBaseUrl !== undefined ? { runbookBaseUrl } : {}),
  };
}

function ruleFileName(group: RuleGroup): string {
  return `${group.name}.yml`;
}

function staticLabels(rule: AlertRule): Record<string, string> {
  return { severity: rule.severity, ...(rule.labels ?? {}) };
}

function renderRule(links: RunbookLinks, rule: AlertRule): Record<string, unknown> {
  return {
    alert: rule.name,
    expr: rule.expr,
    for: rule.for,
    labels: staticLabels(rule),
    annotations: {
      summary: rule.summary,
      description: rule.description,
      runbook_url: runbookUrl(links, rule.name),
    },
  };
}

function renderRecord(rule: RecordingRule): Record<string, unknown> {
  return { record: rule.record, expr: rule.expr, ...(rule.labels ? { labels: { ...rule.labels } } : {}) };
}

/** Rule files keyed by file name (`host.yml`, ...), for Prometheus' rules directory. */
export function renderRuleFiles(
  config: StackConfig,
  options: RuleRenderOptions = {},
): Record<string, string> {
  const links = runbookLinks(config, options);
  const files: Record<string, string> = {};
  for (const group of buildRuleGroups(config)) {
    const document = {
      groups: [
        {
          name: group.name,
          rules: [
            ...(group.records ?? []).map(renderRecord),
            ...group.rules.map((rule) => renderRule(links, rule)),
          ],
        },
      ],
    };
    files[ruleFileName(group)] = stringify(document, { lineWidth: 0 });
  }
  return files;
}

/**
 * Every alert rule that can exist with this config's thresholds, the groups of all optional
 * exporters included whether or not a host enabled them (for the docs and the convention tests).
 */
function allAlertRules(config: StackConfig): { group: string; rule: AlertRule }[] {
  const groups = [
    ...buildRuleGroups({
      ...config,
      metrics: { ...config.metrics, managedStore: { mode: "create" } },
    }).filter((group) => !group.name.startsWith(EXPORTER_GROUP_PREFIX)),
    ...everyExporterRuleGroup(),
    ...(config.probes.targets.length === 0 ? probeRuleGroups(config.probes, true) : []),
    ...(config.slos.length === 0 ? sloRuleGroups([EXAMPLE_SLO]) : []),
    ...tempoRuleGroups(config.traces === undefined),
  ];
  return groups.flatMap((group) => group.rules.map((rule) => ({ group: group.name, rule })));
}

function tableCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A Markdown table with padded, aligned columns (the layout Biome's formatter keeps). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [header, ...rows].map((row) => row.map(tableCell));
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => (row[column] ?? "").length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const [head, ...body] = cells;
  return [line(head ?? []), line(widths.map((width) => "-".repeat(width))), ...body.map(line)];
}

/** docs/alerts.md: the alert table (alert, condition, for, severity) with runbook links. */
export function renderAlertTable(config: StackConfig): string {
  const rows = allAlertRules(config).map(({ group, rule }) => [
    `[${rule.name}](../runbooks/${rule.name}.md)`,
    rule.condition,
    rule.for,
    rule.severity,
    group,
  ]);
  return [
    "# Alerts",
    "",
    "<!-- Generated from configs/rules by `npm run generate`; `npm test` fails when this file is out of date. -->",
    "",
    `Thresholds and \`for\` durations shown are the \`${config.stack}\` stack's; each stack sets its own`,
    "(`observability:alertThresholds` in `Pulumi.<stack>.yaml`). Exporter groups (`exporter-*`) are loaded",
    "only when some host enables that exporter, and `managed-prometheus` only when `managedPrometheus`",
    "is on. Every alert carries `severity`, a static `summary`, a templated `description` and a",
    "`runbook_url`: its runbook (linked below) as a panel of Grafana's provisioned Runbooks dashboard,",
    "`<Grafana>/d/obs-runbooks?viewPanel=panel-<id>`, unless the stack sets `runbookBaseUrl`",
    "(then `<runbookBaseUrl>/<Alert>.md`). Per-host alerts keep the `instance` label that inhibition",
    "matches on. Each alert has `promtool test rules` cases that fire and that must not fire (its",
    "`cases`, run by `npm test`).",
    "",
    ...markdownTable(["Alert", "Condition", "For", "Severity", "Group"], rows),
    "",
    ...renderCoverage(),
  ].join("\n");
}

/** The coverage section: every failure mode of the reference rule sets, answered. */
function renderCoverage(): string[] {
  const { covered, total } = coverageCounts();
  return [
    "## Coverage against the reference rule sets",
    "",
    `${covered} of the ${total} failure modes the reference rule sets page on have an alert here; each of the`,
    "others says why this stack leaves it out. The rules are this stack's own, written from the metrics;",
    "the reference alert is what each mode was compared with.",
    "",
    ...REFERENCE_SETS.flatMap((set) => [
      `### ${set.name}`,
      "",
      `Read at: ${set.source}.`,
      "",
      ...markdownTable(
        ["Failure mode", "Reference alert", "Alert here", "Note or reason left out"],
        set.rows.map((row) => [
          row.mode,
          row.reference,
          row.ours.length > 0
            ? row.ours.map((name) => `[${name}](../runbooks/${name}.md)`).join(", ")
            : "left out",
          row.note ?? "",
        ]),
      ),
      "",
    ]),
  ];
}
