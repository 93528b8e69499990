/**
 * Runbooks, served by the stack's own Grafana: one markdown text panel per alert the stack runs,
 * a row per rule group, the text read from runbooks/<Alert>.md (hand-written, or generated from
 * the optional exporters' records). Each panel's id comes from its alert's name
 * (runbookPanelId), so an alert's default `runbook_url`, `<Grafana>/d/obs-runbooks?viewPanel=
 * panel-<id>`, opens that panel alone and keeps doing so when other alerts come and go.
 *
 * In a panel, the runbook's title is the panel's title; the pointer to the repository's alert
 * table becomes the alert's own severity, `for` and rule group; a link relative to the
 * repository (which Grafana could not open) keeps its text and loses its target.
 */
import type { Dashboard, Panel } from "@grafana/grafana-foundation-sdk/dashboard";
import { TextMode, PanelBuilder as TextPanelBuilder } from "@grafana/grafana-foundation-sdk/text";
import type { StackConfig } from "../../lib/stack-config";
import { buildRuleGroups } from "../rules";
import { RUNBOOKS_DASHBOARD_UID, readRunbook, runbookPanelId } from "../rules/runbook";
import type { AlertRule } from "../rules/types";
import { buildDashboard, panel, row } from "./common";

/** Grid units a panel grows by per line of markdown, and its bounds. */
const LINES_PER_GRID_UNIT = 1.4;
const MIN_PANEL_HEIGHT = 8;
const MAX_PANEL_HEIGHT = 30;

/** A markdown link whose target is not a web or mail address: relative to the repository. */
const RELATIVE_LINK = /\[([^\]]+)\]\((?!https?:\/\/|mailto:)[^)]*\)/g;

/** The runbook without its title line and its pointer to the alert table (the first paragraph). */
function runbookSections(markdown: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith("## "));
  return (start < 0 ? lines.slice(1) : lines.slice(start)).join("\n").trim();
}

/**
 * The panel's markdown: the alert's severity, `for` and rule group, then the runbook's sections.
 * Not its condition or expression: those name the stack's host count (TooFewTargets), and a
 * dashboard that changed with every host added would restart Grafana on each such deploy.
 */
function runbookMarkdown(rule: AlertRule, group: string): string {
  return [
    `**Severity** ${rule.severity} · **For** ${rule.for} · **Rule group** \`${group}\``,
    "",
    "The alert's expression: the **Query** link of its notification, or Prometheus' Alerts page.",
    "",
    runbookSections(readRunbook(rule.name)),
    "",
  ]
    .join("\n")
    .replace(RELATIVE_LINK, "$1");
}

function panelHeight(markdown: string): number {
  const lines = markdown.split("\n").length;
  return Math.min(MAX_PANEL_HEIGHT, Math.max(MIN_PANEL_HEIGHT, Math.ceil(lines / LINES_PER_GRID_UNIT)));
}

function runbookPanel(rule: AlertRule, group: string): TextPanelBuilder {
  const markdown = runbookMarkdown(rule, group);
  return new TextPanelBuilder()
    .title(rule.name)
    .description(rule.summary)
    .mode(TextMode.Markdown)
    .content(markdown)
    .span(24)
    .height(panelHeight(markdown));
}

export function runbooksDashboard(config: StackConfig): Dashboard {
  const groups = buildRuleGroups(config).filter((group) => group.rules.length > 0);
  const dashboard = buildDashboard({
    uid: RUNBOOKS_DASHBOARD_UID,
    title: "Runbooks",
    description:
      "What each alert of this stack means, its impact, how to diagnose it and how to mitigate it: one panel per alert, which the alert's runbook link opens.",
    variables: [],
    sections: groups.flatMap((group) => [
      row(group.name),
      ...group.rules.map((rule) => panel(runbookPanel(rule, group.name))),
    ]),
  });
  const alerts = new Set(groups.flatMap((group) => group.rules.map((rule) => rule.name)));
  for (const item of (dashboard.panels ?? []) as Panel[]) {
    if (item.type === "text" && item.title !== undefined && alerts.has(item.title)) {
      item.id = runbookPanelId(item.title);
    }
  }
  return dashboard;
}
