/**
 * The Runbooks dashboard (configs/dashboards/runbooks.ts) and the runbook links into it
 * (configs/rules/runbook.ts): every alert a stack runs has a panel, every alert's rendered
 * `runbook_url` opens that panel, and the panel carries the alert's runbook.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { renderDashboards } from "../configs/dashboards";
import { renderRuleFiles } from "../configs/rules";
import { RUNBOOKS_DASHBOARD_UID, runbookPanelId, runbookUrl } from "../configs/rules/runbook";
import type { StackConfig } from "../lib/stack-config";
import { everyAlert } from "./support/every-alert";
import { sampleStackConfig } from "./support/sample-config";
import {
  loadRealStacks,
  type NamedConfig,
  sampleConfigs,
  withEveryExporter,
  withReliability,
} from "./support/stacks";

const RUNBOOKS_DIR = resolve(__dirname, "..", "runbooks");
const GRAFANA = "https://grafana.example.net/ops/";
const FILE = "runbooks.json";

interface TextPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly options?: { readonly mode?: string; readonly content?: string };
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
}

function runbooksDashboard(config: StackConfig): { uid: string; title: string; panels: TextPanel[] } {
  const text = renderDashboards(config)[FILE];
  expect(text, `${FILE} is rendered`).toBeDefined();
  return JSON.parse(text ?? "{}");
}

/** alert name -> runbook_url, from the rendered rule files. */
function renderedLinks(config: StackConfig, grafanaUrl?: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const text of Object.values(renderRuleFiles(config, grafanaUrl === undefined ? {} : { grafanaUrl }))) {
    for (const group of YAML.parse(text).groups as {
      rules: { alert?: string; annotations?: Record<string, string> }[];
    }[]) {
      for (const rule of group.rules) {
        if (rule.alert !== undefined) links.set(rule.alert, rule.annotations?.runbook_url ?? "");
      }
    }
  }
  return links;
}

/** The panel a link opens: `<grafana>/d/<uid>?viewPanel=panel-<id>`, resolved against the dashboard. */
function panelOpenedBy(link: string, dashboard: { uid: string; panels: TextPanel[] }): TextPanel | undefined {
  if (!link.startsWith(GRAFANA)) return undefined;
  const url = new URL(link);
  if (url.pathname !== `/ops/d/${dashboard.uid}`) return undefined;
  const key = url.searchParams.get("viewPanel");
  return dashboard.panels.find((panel) => panel.type !== "row" && `panel-${panel.id}` === key);
}

const configs: NamedConfig[] = [
  ...sampleConfigs(),
  { name: "every exporter and reliability", config: withReliability(withEveryExporter(sampleStackConfig())) },
  ...loadRealStacks(),
];

describe.each(configs)("the Runbooks dashboard ($name)", ({ config }) => {
  const dashboard = runbooksDashboard(config);
  const links = renderedLinks(config, GRAFANA);
  const panels = dashboard.panels.filter((panel) => panel.type !== "row");

  it("has its fixed uid and one markdown text panel per alert the stack runs, titled with the alert", () => {
    expect(dashboard.uid).toBe(RUNBOOKS_DASHBOARD_UID);
    expect(dashboard.title).toBe("Runbooks");
    expect(links.size).toBeGreaterThan(0);
    expect(panels.map((panel) => panel.title).sort()).toEqual([...links.keys()].sort());
    for (const panel of panels) {
      expect(panel.type, panel.title).toBe("text");
      expect(panel.options?.mode, panel.title).toBe("markdown");
      expect(panel.gridPos.w, panel.title).toBe(24);
    }
  });

  it("is opened at each alert's own panel by that alert's runbook link", () => {
    for (const [alert, link] of links) {
      expect(link, alert).toBe(
        `https://grafana.example.net/ops/d/obs-runbooks?viewPanel=panel-${runbookPanelId(alert)}`,
      );
      expect(panelOpenedBy(link, dashboard)?.title, `${alert}: ${link}`).toBe(alert);
    }
  });

  it("shows each alert's runbook, its sections whole, and no link Grafana could not open", () => {
    for (const panel of panels) {
      const content = panel.options?.content ?? "";
      const runbook = readFileSync(join(RUNBOOKS_DIR, `${panel.title}.md`), "utf8");
      for (const heading of ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]) {
        expect(content, `${panel.title}: ${heading}`).toContain(heading);
      }
      // The runbook's text from its first section on, with repository-relative links unlinked.
      const body = runbook.slice(runbook.indexOf("## Meaning")).trim();
      const unlinked = body.replace(/\[([^\]]+)\]\((?!https?:\/\/|mailto:)[^)]*\)/g, "$1");
      expect(content, panel.title).toContain(unlinked);
      expect(content, panel.title).not.toContain(`# ${panel.title}\n`);
      for (const match of content.matchAll(/\]\(([^)]*)\)/g)) {
        expect(match[1], `${panel.title} links to ${match[1]}`).toMatch(/^(https?:\/\/|mailto:)/);
      }
    }
  });
});

describe("runbook links", () => {
  const config = sampleStackConfig();

  it("keep their panel when the stack's alerts change: the id comes from the alert's name alone", () => {
    // A link mailed before a deploy that added or removed alerts opens the same runbook after it.
    expect(runbookPanelId("HostUnreachable")).toBe(307651039);
    const few = runbooksDashboard({ ...config, clients: [], externalHosts: [] });
    const many = runbooksDashboard(withReliability(withEveryExporter(config)));
    const idOf = (dashboard: { panels: TextPanel[] }) =>
      dashboard.panels.find((panel) => panel.title === "HostUnreachable")?.id;
    expect(idOf(few)).toBe(307651039);
    expect(idOf(many)).toBe(307651039);
  });

  it("get ids no two alerts share, above the rows' and inside a 32-bit signed integer", () => {
    const names = [...new Set(everyAlert(withReliability(config)).map((alert) => alert.name))];
    const ids = names.map(runbookPanelId);
    expect(new Set(ids).size).toBe(names.length);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(1000);
      expect(id).toBeLessThan(2 ** 31);
    }
  });

  it("go to <runbookBaseUrl>/<Alert>.md when the stack sets runbookBaseUrl", () => {
    const base = "https://git.example.org/sre/observability/blob/main/runbooks";
    const links = renderedLinks(
      { ...config, alerting: { ...config.alerting, runbookBaseUrl: base } },
      GRAFANA,
    );
    for (const [alert, link] of links) expect(link, alert).toBe(`${base}/${alert}.md`);
    expect(runbookUrl({ grafanaUrl: GRAFANA, runbookBaseUrl: base }, "Watchdog")).toBe(`${base}/Watchdog.md`);
  });

  it("stay the same when hosts come and go (no Grafana restart for it): only exporters add panels", () => {
    const host = {
      name: "app-9",
      address: "192.0.2.99",
      sshUser: "ops",
      exporters: [],
      exporterSettings: {},
    };
    const oneMore = { ...config, externalHosts: [...config.externalHosts, host] };
    // The host count is in TooFewTargets' expression, which the rule file changes for.
    expect(renderRuleFiles(oneMore)["self-monitoring.yml"]).not.toBe(
      renderRuleFiles(config)["self-monitoring.yml"],
    );
    expect(renderDashboards(oneMore)[FILE]).toBe(renderDashboards(config)[FILE]);
  });

  it("read a placeholder Grafana URL before the deploy knows it, never a container name", () => {
    for (const link of renderedLinks(config).values()) {
      expect(link).toMatch(
        /^<grafana-root-url: known after pulumi up>\/d\/obs-runbooks\?viewPanel=panel-\d+$/,
      );
    }
  });
});
