/**
 * The provisioned Grafana dashboards, checked as Grafana and the datasources will read them
 * (Grafana itself is not available here, so its loading of the JSON is checked structurally):
 * - JSON shape: fixed unique uids, tag, refresh, time range, unique panel ids and refIds, a grid
 *   without overlaps, every `$variable` defined, datasources that the provisioning defines;
 * - every PromQL expression parses with Prometheus' grammar and every LogQL one with Loki's,
 *   after Grafana's variables are replaced by values of the same shape;
 * - every metric exists: node_* against Debian's real node exporter run with our flags,
 *   namedprocess_* against the real process exporter run with our rendered config, prometheus_*
 *   and alertmanager_* against the real Prometheus and Alertmanager, the rest against the
 *   documented lists below; every label is one our configs or the exporter produce;
 * - optional-exporter dashboards exist exactly for the exporters some host enables;
 * - the same config gives the same bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { ALLOY_STREAM_LABELS } from "../configs/agents/alloy";
import { cadvisorService } from "../configs/agents/cadvisor";
import { renderProcessExporterConfig, WATCHED_DAEMONS } from "../configs/agents/process-exporter";
import { alertmanagerFlags } from "../configs/alertmanager";
import { buildDashboards, dashboardUrls, renderDashboards } from "../configs/dashboards";
import { EXPORTERS, enabledExporters } from "../configs/exporters";
import { renderPrometheusConfig } from "../configs/prometheus";
import type { StackConfig } from "../lib/stack-config";
import { CADVISOR_METRICS, DOCUMENTED_METRICS } from "./support/documented-metrics";
import { startNodeExporter, startProcessExporter } from "./support/exporters";
import { dashboardProvider, provisionedDatasources } from "./support/grafana-provisioning";
import { freePort, getText, ProcessGroup, pollUntil } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { loadRealStacks, withEveryExporter } from "./support/stacks";
import { requireTool, TOOLS } from "./support/tools";

const REPO_ROOT = join(__dirname, "..");

// -- Reading the dashboards as Grafana sees them ----------------------------------------------------

interface Target {
  readonly expr: string;
  readonly refId: string;
  readonly legendFormat?: string;
  readonly datasource?: { type: string; uid: string };
}
interface PanelJson {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly datasource?: { type: string; uid: string };
  readonly targets?: Target[];
  readonly panels?: PanelJson[];
  readonly options?: Record<string, unknown>;
  readonly fieldConfig?: {
    defaults?: {
      thresholds?: { steps: { value: number | null }[] };
      links?: { title: string; url: string }[];
    };
  };
}
interface VariableJson {
  readonly name: string;
  readonly type: string;
  readonly multi?: boolean;
  readonly query?: unknown;
  readonly datasource?: { type: string; uid: string };
}
interface DashboardJson {
  readonly uid: string;
  readonly title: string;
  readonly tags: string[];
  readonly refresh: string;
  readonly time: { from: string; to: string };
  readonly panels: PanelJson[];
  readonly templating: { list: VariableJson[] };
  readonly links?: { type: string; tags?: string[]; includeVars?: boolean; keepTime?: boolean }[];
}

function parseDashboards(config: StackConfig): Record<string, DashboardJson> {
  return Object.fromEntries(
    Object.entries(renderDashboards(config)).map(([file, text]) => [file, JSON.parse(text) as DashboardJson]),
  );
}

/** Every panel, rows' nested panels included. */
function allPanels(dashboard: DashboardJson): PanelJson[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

interface Expression {
  readonly where: string;
  readonly language: "promql" | "logql";
  readonly expr: string;
  readonly legend?: string;
}

/** `label_values(<selector>, <label>)` split into its parts. */
function labelValuesQuery(query: string): { selector: string; label: string } {
  const match = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(query);
  if (!match?.[1] || !match[2]) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return { selector: match[1], label: match[2] };
}

/** Every query of a dashboard: panel targets and the selectors of label_values variables. */
function expressions(file: string, dashboard: DashboardJson): Expression[] {
  const found: Expression[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      found.push({
        where: `${file} / ${panel.title} / ${target.refId}`,
        language: uid === "loki" ? "logql" : "promql",
        expr: target.expr,
        ...(target.legendFormat !== undefined ? { legend: target.legendFormat } : {}),
      });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query" || typeof variable.query !== "string") continue;
    const { selector } = labelValuesQuery(variable.query);
    found.push({
      where: `${file} / $${variable.name}`,
      language: variable.datasource?.uid === "loki" ? "logql" : "promql",
      expr: selector,
    });
  }
  return found;
}

/**
 * Grafana's variables replaced by values of the same shape: durations for the interval and
 * range variables, a plain word for template variables (they sit inside quoted matchers).
 */
function withStandIns(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|auto)\b/g, "1m")
    .replace(/\$__range\b/g, "6h")
    .replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, "standin");
}

function errorNodes(language: "promql" | "logql", expr: string): string[] {
  const parser = language === "promql" ? promqlParser : logqlParser;
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`error at ${node.from}: ...${expr.slice(node.from, node.from + 30)}`);
    },
  });
  return errors;
}

/** Metric names and label names (matchers, by/on/ignoring lists) of a PromQL expression. */
function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const metrics: string[] = [];
  const labels: string[] = [];
  promqlParser.parse(expr).iterate({
    enter: (node) => {
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") {
        metrics.push(expr.slice(node.from, node.to));
      }
      if (node.name === "LabelName") labels.push(expr.slice(node.from, node.to));
    },
  });
  return { metrics, labels };
}

/** Stream labels (selector matchers) and grouping labels of a LogQL expression. */
function logqlLabels(expr: string): { selector: string[]; grouping: string[]; extracted: string[] } {
  const selector: string[] = [];
  const grouping: string[] = [];
  logqlParser.parse(expr).iterate({
    enter: (node) => {
      if (node.name !== "Identifier") return;
      const parent = node.node.parent;
      if (parent?.name === "Matcher" && parent.parent?.parent?.name === "Selector") {
        selector.push(expr.slice(node.from, node.to));
      } else if (parent?.name === "Labels" && parent.parent?.name === "Grouping") {
        grouping.push(expr.slice(node.from, node.to));
      }
    },
  });
  // Labels a `regexp` stage extracts with named groups, and a `pattern` stage with its `<name>`
  // captures (`<_>` captures nothing).
  const extracted = [
    ...[...expr.matchAll(/\?P<([a-zA-Z_][a-zA-Z0-9_]*)>/g)].map((match) => match[1] ?? ""),
    ...[...expr.matchAll(/\| pattern "([^"]*)"/g)].flatMap((match) =>
      [...(match[1] ?? "").matchAll(/<([a-zA-Z_][a-zA-Z0-9_]*)>/g)]
        .map((capture) => capture[1] ?? "")
        .filter((name) => name !== "_"),
    ),
  ];
  return { selector, grouping, extracted };
}

function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? "").matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map(
    (match) => match[1] ?? "",
  );
}

/** Labels every scraped series carries: job, instance, and what our scrape config adds. */
function targetLabels(config: StackConfig): Set<string> {
  const prometheus = YAML.parse(renderPrometheusConfig(config)) as {
    scrape_configs: {
      static_configs?: { labels?: Record<string, string> }[];
      relabel_configs?: { target_label?: string }[];
    }[];
  };
  const labels = new Set(["job", "instance"]);
  for (const job of prometheus.scrape_configs) {
    for (const group of job.static_configs ?? [])
      for (const label of Object.keys(group.labels ?? {})) labels.add(label);
    for (const rule of job.relabel_configs ?? []) {
      if (rule.target_label && !rule.target_label.startsWith("__")) labels.add(rule.target_label);
    }
  }
  return labels;
}

/** metric name -> label names, from a /metrics page. */
function exposition(metrics: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of metrics.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s/.exec(line);
    if (!match?.[1]) continue;
    const labels = series.get(match[1]) ?? new Set<string>();
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1] ?? "");
    series.set(match[1], labels);
  }
  return series;
}

// -- Configs under test ---------------------------------------------------------------------------

const ALL_EXPORTERS_CONFIG = withEveryExporter(sampleStackConfig({ externalHosts: [] }));
const NO_EXPORTERS_CONFIG = (() => {
  const base = sampleStackConfig();
  return {
    ...base,
    clients: base.clients.map((client) => ({ ...client, exporters: [] })),
    externalHosts: base.externalHosts.map((host) => ({ ...host, exporters: [] })),
  };
})();
const REAL_STACKS = loadRealStacks().map(({ name, config }) => ({ name: `stack ${name}`, config }));
const CONFIGS = [
  { name: "sample", config: sampleStackConfig() },
  { name: "every exporter", config: ALL_EXPORTERS_CONFIG },
  { name: "no exporter", config: NO_EXPORTERS_CONFIG },
  ...REAL_STACKS,
];

// -- Tests ------------------------------------------------------------------------------------------

/** The metric kinds the rendered cAdvisor container enables. */
function cadvisorEnabledKinds(): string[] {
  const flag = (cadvisorService().command ?? []).find((arg) => arg.startsWith("--enable_metrics="));
  return flag?.split("=")[1]?.split(",") ?? [];
}

describe("the expression checkers", () => {
  it("find parse errors, metric names and labels (so a clean result means something)", () => {
    expect(errorNodes("promql", withStandIns('rate(x{a=~"$instance"}[$__rate_interval])'))).toEqual([]);
    expect(errorNodes("promql", "sum by (a (rate(x[5m]))").length).toBeGreaterThan(0);
    expect(errorNodes("logql", withStandIns('sum(count_over_time({a="b"} [$__auto]))'))).toEqual([]);
    expect(errorNodes("logql", 'sum(count_over_time({a="b"} [$__auto]))').length).toBeGreaterThan(0);
    expect(errorNodes("logql", '{a="b" |= "x"').length).toBeGreaterThan(0);
    expect(
      promqlNames('sum by (mode) (rate(node_cpu_seconds_total{cpu="0"}[5m])) / on (instance) up'),
    ).toEqual({
      metrics: ["node_cpu_seconds_total", "up"],
      labels: ["mode", "cpu", "instance"],
    });
    expect(logqlLabels('sum by (host) (count_over_time({source="file"} | regexp "(?P<ip>x)" [5m]))')).toEqual(
      {
        selector: ["source"],
        grouping: ["host"],
        extracted: ["ip"],
      },
    );
  });
});

describe.each(CONFIGS)("dashboards ($name)", ({ config }) => {
  const dashboards = parseDashboards(config);
  const entries = Object.entries(dashboards);
  const datasources = provisionedDatasources(config);

  it("are the core nine plus one per enabled optional exporter", () => {
    const expected = [
      "alerts.json",
      "containers.json",
      "host-detail.json",
      "hosts.json",
      "logs.json",
      "processes.json",
      "runbooks.json",
      "ssh.json",
      "stack-health.json",
      ...enabledExporters(config).map((record) => `exporter-${record.name}.json`),
    ].sort();
    expect(Object.keys(dashboards).sort()).toEqual(expected);
  });

  it("have fixed, unique uids Grafana accepts, the tag, 1m refresh and a 6h range", () => {
    const uids = entries.map(([, dashboard]) => dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const [file, dashboard] of entries) {
      expect(dashboard.uid, file).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(dashboard.title.length, file).toBeGreaterThan(0);
      expect(dashboard.tags, file).toContain("observability");
      expect(dashboard.refresh, file).toBe("1m");
      expect(dashboard.time, file).toEqual({ from: "now-6h", to: "now" });
    }
    const titles = entries.map(([, dashboard]) => dashboard.title);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it("number panels uniquely and give each query of a panel its own refId", () => {
    for (const [file, dashboard] of entries) {
      const ids = allPanels(dashboard).map((panel) => panel.id);
      expect(
        ids.every((id) => Number.isInteger(id) && id > 0),
        file,
      ).toBe(true);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const panel of allPanels(dashboard)) {
        const refIds = (panel.targets ?? []).map((target) => target.refId);
        expect(
          refIds.every((refId) => /^[A-Z]$/.test(refId)),
          `${file} / ${panel.title}`,
        ).toBe(true);
        expect(new Set(refIds).size, `${file} / ${panel.title}`).toBe(refIds.length);
      }
    }
  });

  it("lay panels out on the 24-column grid without overlaps", () => {
    for (const [file, dashboard] of entries) {
      const boxes = dashboard.panels.map((panel) => ({ title: panel.title, ...panel.gridPos }));
      for (const box of boxes) {
        expect(box.x >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 24, `${file} / ${box.title}`).toBe(
          true,
        );
      }
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${file}: "${a.title}" overlaps "${b.title}"`).toBe(false);
        }
      }
    }
  });

  it("use only the provisioned datasources, by uid and matching type", () => {
    const byUid = new Map<string, string>(datasources.map((datasource) => [datasource.uid, datasource.type]));
    for (const [file, dashboard] of entries) {
      const refs = [
        ...allPanels(dashboard).flatMap((panel) => [
          panel.datasource,
          ...(panel.targets ?? []).map((target) => target.datasource),
        ]),
        ...dashboard.templating.list.map((variable) => variable.datasource),
      ].filter((ref) => ref !== undefined);
      // Text panels (the runbooks) query nothing; every other dashboard reads some datasource.
      const querying = allPanels(dashboard).filter((panel) => panel.type !== "row" && panel.type !== "text");
      if (querying.length > 0) expect(refs.length, file).toBeGreaterThan(0);
      for (const ref of refs) expect(byUid.get(ref.uid), `${file}: ${JSON.stringify(ref)}`).toBe(ref.type);
      for (const panel of querying) {
        if (panel.type === "alertlist") continue;
        expect(panel.targets?.length ?? 0, `${file} / ${panel.title} has no query`).toBeGreaterThan(0);
      }
    }
  });

  it("refer only to variables they define (or Grafana's own)", () => {
    for (const [file, dashboard] of entries) {
      const defined = new Set(dashboard.templating.list.map((variable) => variable.name));
      for (const expression of expressions(file, dashboard)) {
        for (const match of expression.expr.matchAll(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
          const name = match[1] ?? "";
          if (name.startsWith("__")) continue;
          expect(defined.has(name), `${expression.where}: $${name}`).toBe(true);
        }
      }
    }
  });

  it("have PromQL that Prometheus' grammar parses", () => {
    const promql = entries.flatMap(([file, dashboard]) =>
      expressions(file, dashboard).filter((expression) => expression.language === "promql"),
    );
    expect(promql.length).toBeGreaterThan(20);
    for (const expression of promql) {
      expect(
        errorNodes("promql", withStandIns(expression.expr)),
        `${expression.where}: ${expression.expr}`,
      ).toEqual([]);
    }
  });

  it("have LogQL that Loki's grammar parses, on the stream labels Alloy sets", () => {
    const streamLabels = new Set<string>(ALLOY_STREAM_LABELS);
    const logql = entries.flatMap(([file, dashboard]) =>
      expressions(file, dashboard).filter((expression) => expression.language === "logql"),
    );
    expect(logql.length).toBeGreaterThan(5);
    for (const expression of logql) {
      const expr = withStandIns(expression.expr);
      expect(errorNodes("logql", expr), `${expression.where}: ${expression.expr}`).toEqual([]);
      const { selector, grouping, extracted } = logqlLabels(expr);
      expect(selector.length, `${expression.where} selects no stream`).toBeGreaterThan(0);
      for (const label of selector)
        expect(streamLabels.has(label), `${expression.where}: ${label}`).toBe(true);
      const usable = new Set([...streamLabels, ...extracted]);
      for (const label of [...grouping, ...legendLabels(expression.legend)]) {
        expect(usable.has(label), `${expression.where}: ${label}`).toBe(true);
      }
    }
    for (const [file, dashboard] of entries) {
      for (const variable of dashboard.templating.list) {
        if (variable.datasource?.uid !== "loki" || typeof variable.query !== "string") continue;
        expect(streamLabels.has(labelValuesQuery(variable.query).label), `${file} $${variable.name}`).toBe(
          true,
        );
      }
    }
  });

  it("select cAdvisor and service metrics that are exported, with their labels", () => {
    const targets = targetLabels(config);
    for (const [file, dashboard] of entries) {
      for (const expression of expressions(file, dashboard).filter(
        (candidate) => candidate.language === "promql",
      )) {
        const { metrics, labels } = promqlNames(withStandIns(expression.expr));
        if (metrics.some((metric) => metric.startsWith("node_") || metric.startsWith("namedprocess_")))
          continue;
        const allowed = new Set(targets);
        for (const metric of metrics) {
          const cadvisor = CADVISOR_METRICS[metric];
          const documented = (cadvisor ?? DOCUMENTED_METRICS[metric])?.labels;
          expect(documented, `${expression.where}: unknown metric ${metric}`).toBeDefined();
          if (cadvisor?.kind) {
            expect(cadvisorEnabledKinds(), `${metric} needs ${cadvisor.kind}`).toContain(cadvisor.kind);
          }
          for (const label of documented ?? []) allowed.add(label);
        }
        for (const label of [...labels, ...legendLabels(expression.legend)]) {
          expect(allowed.has(label), `${expression.where}: label ${label}`).toBe(true);
        }
      }
    }
  });

  it("give the alert list the Prometheus datasource's name (its rules are data source-managed)", () => {
    const alertLists = entries.flatMap(([, dashboard]) =>
      allPanels(dashboard).filter((panel) => panel.type === "alertlist"),
    );
    expect(alertLists.length).toBe(1);
    const prometheus = datasources.find((datasource) => datasource.uid === "prometheus");
    expect(alertLists[0]?.options?.datasource).toBe(prometheus?.name);
  });
});

/** Grafana's own interpolations a data link may use (field and row values, the time range). */
const LINK_BUILTINS =
  /^__(url_time_range|field\.labels\.[a-zA-Z_][a-zA-Z0-9_]*|data\.fields\.[a-zA-Z_][a-zA-Z0-9_]*)$/;

describe("dashboard links", () => {
  const dashboards = Object.values(parseDashboards(ALL_EXPORTERS_CONFIG));
  const byUid = new Map(dashboards.map((dashboard) => [dashboard.uid, dashboard]));
  const dataLinks = dashboards.flatMap((dashboard) =>
    allPanels(dashboard).flatMap((panel) =>
      (panel.fieldConfig?.defaults?.links ?? []).map((link) => ({ dashboard, panel, link })),
    ),
  );

  it("give every dashboard a dropdown of all dashboards that keeps time and variables", () => {
    for (const dashboard of dashboards) {
      expect(dashboard.links, dashboard.uid).toEqual([
        expect.objectContaining({
          type: "dashboards",
          tags: ["observability"],
          includeVars: true,
          keepTime: true,
        }),
      ]);
    }
  });

  it("link the hosts overview (and the alerts) to the host detail, carrying the host", () => {
    const toDetail = dataLinks.filter(({ link }) => link.url.startsWith("/d/obs-host-detail?"));
    const sources = new Set(toDetail.map(({ dashboard }) => dashboard.uid));
    expect([...sources].sort()).toEqual(["obs-alerts", "obs-hosts"]);
    const overviewPanels = toDetail.filter(({ dashboard }) => dashboard.uid === "obs-hosts");
    expect(overviewPanels.length).toBeGreaterThanOrEqual(5);
    for (const { panel, link } of toDetail) {
      expect(link.url, panel.title).toMatch(
        /[?&]var-instance=\$\{__(field\.labels|data\.fields)\.instance(:percentencode)?\}/,
      );
    }
    // The detail picks exactly one host, so the carried one is the one shown.
    const instance = byUid
      .get("obs-host-detail")
      ?.templating.list.find((variable) => variable.name === "instance");
    expect(instance?.multi).toBe(false);
  });

  it("point only at dashboards that exist, with variables the target defines and values the source has", () => {
    expect(dataLinks.length).toBeGreaterThan(0);
    for (const { dashboard, panel, link } of dataLinks) {
      const where = `${dashboard.uid} / ${panel.title} / ${link.title}`;
      const url = new URL(link.url, "http://grafana.invalid");
      const target = byUid.get(/^\/d\/([^/]+)$/.exec(url.pathname)?.[1] ?? "");
      expect(target, `${where}: ${link.url}`).toBeDefined();
      const targetVariables = new Set(target?.templating.list.map((variable) => variable.name));
      for (const name of [...link.url.matchAll(/[?&]var-([a-zA-Z_][a-zA-Z0-9_]*)=/g)].map(
        (match) => match[1],
      )) {
        expect(targetVariables.has(name ?? ""), `${where}: var-${name}`).toBe(true);
      }
      const sourceVariables = new Set(dashboard.templating.list.map((variable) => variable.name));
      for (const match of link.url.matchAll(/\$\{([^}:]+)(?::[a-z]+)?\}/g)) {
        const name = match[1] ?? "";
        expect(sourceVariables.has(name) || LINK_BUILTINS.test(name), `${where}: \${${name}}`).toBe(true);
      }
    }
  });
});

describe("dashboardUrls", () => {
  const dashboards = buildDashboards(ALL_EXPORTERS_CONFIG);

  it("gives every rendered dashboard its /d/<uid> URL under Grafana's root, keyed by file name", () => {
    const urls = dashboardUrls("https://grafana.example.com/", dashboards);
    expect(Object.keys(urls).sort()).toEqual(
      Object.keys(renderDashboards(ALL_EXPORTERS_CONFIG))
        .map((file) => file.replace(/\.json$/, ""))
        .sort(),
    );
    for (const [file, dashboard] of Object.entries(dashboards)) {
      expect(urls[file.replace(/\.json$/, "")]).toBe(`https://grafana.example.com/d/${dashboard.uid}`);
    }
    expect(new Set(Object.values(urls)).size).toBe(Object.keys(urls).length);
  });

  it("keeps a sub-path and never doubles the slash", () => {
    expect(dashboardUrls("http://10.0.0.1:3000/grafana", dashboards).hosts).toBe(
      "http://10.0.0.1:3000/grafana/d/obs-hosts",
    );
    expect(dashboardUrls("http://10.0.0.1:3000/grafana//", dashboards)["host-detail"]).toBe(
      "http://10.0.0.1:3000/grafana/d/obs-host-detail",
    );
  });

  it("lists only the exporter dashboards the stack renders", () => {
    const urls = dashboardUrls("https://g.example", buildDashboards(NO_EXPORTERS_CONFIG));
    expect(Object.keys(urls).filter((key) => key.startsWith("exporter-"))).toEqual([]);
    expect(urls.ssh).toBe("https://g.example/d/obs-ssh");
  });
});

describe("dashboards follow the stack config", () => {
  it("draw the stack's own alert thresholds and disk-fill horizon", () => {
    const base = sampleStackConfig();
    const variant: StackConfig = {
      ...base,
      alerting: {
        ...base.alerting,
        thresholds: { ...base.alerting.thresholds, cpuPercent: 72.5, diskFillHours: 6 },
      },
    };
    const panelsOf = (config: StackConfig, file = "hosts.json") =>
      allPanels(parseDashboards(config)[file] as DashboardJson);
    const cpuThreshold = (config: StackConfig) =>
      panelsOf(config)
        .find((panel) => panel.title === "CPU busy")
        ?.fieldConfig?.defaults?.thresholds?.steps.map((step) => step.value);
    expect(cpuThreshold(base)).toEqual([null, base.alerting.thresholds.cpuPercent]);
    expect(cpuThreshold(variant)).toEqual([null, 72.5]);
    const fill = panelsOf(variant, "host-detail.json").find((panel) =>
      panel.title.startsWith("Free space predicted"),
    );
    expect(fill?.title).toBe("Free space predicted in 6h");
    expect(fill?.targets?.[0]?.expr).toContain(", 21600)");
  });

  it("render the same bytes for the same config, with keys sorted at every level", () => {
    const first = renderDashboards(sampleStackConfig());
    const second = renderDashboards(JSON.parse(JSON.stringify(sampleStackConfig())) as StackConfig);
    expect(second).toEqual(first);
    const sortedCopy = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(sortedCopy)
        : value !== null && typeof value === "object"
          ? Object.fromEntries(
              Object.keys(value)
                .sort()
                .map((key) => [key, sortedCopy((value as Record<string, unknown>)[key])]),
            )
          : value;
    for (const [file, text] of Object.entries(first)) {
      expect(text, file).toBe(`${JSON.stringify(sortedCopy(JSON.parse(text)), null, 2)}\n`);
    }
  });

  it("emit optional-exporter dashboards only for the exporters some host enables", () => {
    const files = (config: StackConfig) =>
      Object.keys(renderDashboards(config)).filter((file) => file.startsWith("exporter-"));
    expect(files(NO_EXPORTERS_CONFIG)).toEqual([]);
    expect(files(sampleStackConfig()).sort()).toEqual([
      "exporter-nginx.json",
      "exporter-postgres.json",
      "exporter-redis.json",
    ]);
    expect(files(ALL_EXPORTERS_CONFIG).sort()).toEqual(
      EXPORTERS.map((record) => `exporter-${record.name}.json`).sort(),
    );
  });

  it("list every panel in docs/dashboards.md, in the section of its dashboard, with a question", () => {
    const docs = readFileSync(join(REPO_ROOT, "docs", "dashboards.md"), "utf8");
    const sections = docs.split(/^### /m).slice(1);
    /** Section of a dashboard: its heading names the file (exporter dashboards share one). */
    const sectionOf = (file: string) =>
      sections.find((section) =>
        (section.split("\n")[0] ?? "").includes(
          file.startsWith("exporter-") ? "`exporter-<name>.json`" : `\`${file}\``,
        ),
      );
    for (const [file, dashboard] of Object.entries(parseDashboards(ALL_EXPORTERS_CONFIG))) {
      const section = sectionOf(file);
      expect(section, `docs/dashboards.md has no "### ... (\`${file}\`)" section`).toBeDefined();
      const rows = new Map(
        (section ?? "")
          .split("\n")
          .filter((line) => line.startsWith("| ") && !line.startsWith("| Panel |"))
          .map((line) => line.split(" | "))
          .map(([title = "", answer = ""]) => [title.slice(2), answer.replace(/ \|$/, "")]),
      );
      // A runbook panel answers "what to do about <its alert>": docs/alerts.md lists the alerts.
      for (const panel of allPanels(dashboard).filter(
        (candidate) => !["row", "text"].includes(candidate.type),
      )) {
        const answer = rows.get(panel.title);
        expect(answer, `${file}: panel "${panel.title}" is not in its docs table`).toBeDefined();
        expect(answer?.length ?? 0, `${file}: "${panel.title}" says what it answers`).toBeGreaterThan(10);
      }
    }
  });

  it("give each panel a title of its own within its dashboard (the docs and query keys use them)", () => {
    for (const [file, dashboard] of Object.entries(parseDashboards(ALL_EXPORTERS_CONFIG))) {
      const titles = allPanels(dashboard)
        .filter((panel) => panel.type !== "row")
        .map((panel) => panel.title);
      expect(
        titles.filter((title, index) => titles.indexOf(title) !== index),
        file,
      ).toEqual([]);
    }
  });

  it("are all listed in docs/dashboards.md with their file, uid and title", () => {
    const docs = readFileSync(join(REPO_ROOT, "docs", "dashboards.md"), "utf8");
    const rows = docs.split("\n").filter((line) => line.startsWith("| `"));
    const dashboards = parseDashboards(ALL_EXPORTERS_CONFIG);
    expect(rows.length).toBe(Object.keys(dashboards).length);
    for (const [file, dashboard] of Object.entries(dashboards)) {
      const row = rows.find((line) => line.startsWith(`| \`${file}\` |`));
      expect(row, file).toBeDefined();
      expect(row, file).toContain(`| \`${dashboard.uid}\` | ${dashboard.title} |`);
    }
  });

  it("are read by the provider from the directory the docs tell the deploy to fill", () => {
    // The monitor's files must put renderDashboards' output at grafana/dashboards/<file>, which
    // compose mounts at the provider's path.
    const provider = dashboardProvider(sampleStackConfig());
    expect(provider.options.path).toBe("/etc/grafana/dashboards");
    expect(provider.type).toBe("file");
  });
});

// -- Against the real exporters ---------------------------------------------------------------------

/**
 * Every dashboard query reading `<prefix>*` series reads only series the real exporter exposes,
 * with labels it exposes (or our target labels); other metrics in the same query must be known.
 */
function checkFamily(
  promql: readonly Expression[],
  targets: ReadonlySet<string>,
  prefix: string,
  series: ReadonlyMap<string, ReadonlySet<string>>,
  minimumQueries = 3,
): void {
  const used = promql.filter((expression) =>
    promqlNames(withStandIns(expression.expr)).metrics.some((metric) => metric.startsWith(prefix)),
  );
  expect(used.length, `dashboard queries reading ${prefix}* series`).toBeGreaterThanOrEqual(minimumQueries);
  for (const expression of used) {
    const { metrics, labels } = promqlNames(withStandIns(expression.expr));
    const allowed = new Set(targets);
    for (const metric of metrics) {
      const documented = DOCUMENTED_METRICS[metric]?.labels;
      const exported = metric.startsWith(prefix) ? series.get(metric) : documented && new Set(documented);
      expect(exported, `${expression.where}: ${metric} is not exported`).toBeDefined();
      for (const label of exported ?? []) allowed.add(label);
    }
    for (const label of [...labels, ...legendLabels(expression.legend)]) {
      expect(allowed.has(label), `${expression.where}: label ${label}`).toBe(true);
    }
  }
}

describe("dashboard metrics against Debian's node exporter and process exporter", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "dashboards-"));
  let nodeSeries = new Map<string, Set<string>>();
  let processSeries = new Map<string, Set<string>>();
  let processMetrics = "";

  const config = ALL_EXPORTERS_CONFIG;
  const dashboards = parseDashboards(config);
  const promql = Object.entries(dashboards).flatMap(([file, dashboard]) =>
    expressions(file, dashboard).filter((expression) => expression.language === "promql"),
  );
  const targets = targetLabels(config);

  beforeAll(async () => {
    // Both binaries are needed: say so before starting either.
    requireTool(TOOLS.nodeExporter);
    requireTool(TOOLS.processExporter);
    nodeSeries = exposition((await startNodeExporter(group)).metrics);

    const configPath = join(workDir, "process-exporter.yml");
    writeFileSync(configPath, renderProcessExporterConfig());
    const processPort = await startProcessExporter(group, configPath);
    // The node exporter started above is a watched daemon: wait until its group shows.
    processMetrics = await pollUntil("process exporter groups", async () => {
      const response = await getText(`http://127.0.0.1:${processPort}/metrics`);
      return response?.status === 200 && response.body.includes('groupname="node_exporter"')
        ? response.body
        : undefined;
    });
    processSeries = exposition(processMetrics);
  });

  afterAll(async () => {
    await group.stopAll();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("read only node_* series (and their labels) the node exporter with our flags exposes", () => {
    checkFamily(promql, targets, "node_", nodeSeries);
  });

  it("read only namedprocess_* series (and their labels) the process exporter with our config exposes", () => {
    checkFamily(promql, targets, "namedprocess_", processSeries);
  });

  it("pick exactly the watched daemons' groups in the watched-daemons panel", () => {
    const panel = allPanels(dashboards["processes.json"] as DashboardJson).find(
      (candidate) => candidate.title === "Watched daemons",
    );
    const quoted = /groupname=~("(?:[^"\\]|\\.)*")/.exec(panel?.targets?.[0]?.expr ?? "")?.[1];
    expect(quoted).toBeDefined();
    // PromQL regex matchers are anchored; its double-quoted strings escape like JSON here.
    const watched = new RegExp(`^(?:${JSON.parse(quoted ?? '""') as string})$`);
    const groups = [
      ...processMetrics.matchAll(/^namedprocess_namegroup_num_procs\{groupname="([^"]*)"\}/gm),
    ].map((match) => match[1] ?? "");
    const names = new Set(WATCHED_DAEMONS.map((daemon) => daemon.name));
    expect(groups).toContain("node_exporter");
    expect(
      groups.some((name) => !names.has(name)),
      "the catch-all made no group: nothing to tell apart",
    ).toBe(true);
    for (const name of groups) expect(watched.test(name), name).toBe(names.has(name));
  });
});

describe("stack-health metrics against Debian's Prometheus and Alertmanager", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "dashboards-monitor-"));
  let prometheusSeries = new Map<string, Set<string>>();
  let alertmanagerSeries = new Map<string, Set<string>>();

  const config = sampleStackConfig();
  const promql = Object.entries(parseDashboards(config)).flatMap(([file, dashboard]) =>
    expressions(file, dashboard).filter((expression) => expression.language === "promql"),
  );
  const targets = targetLabels(config);

  beforeAll(async () => {
    // One rule group (rule evaluation metrics exist per group) and one EC2 SD job (refresh
    // metrics exist per mechanism) whose API endpoint is a closed loopback port: it fails, and
    // with fake keys and metadata off the SDK never looks for credentials elsewhere.
    const closedPort = await freePort();
    writeFileSync(
      join(workDir, "rules.yml"),
      YAML.stringify({ groups: [{ name: "g", rules: [{ record: "r", expr: "vector(1)" }] }] }),
    );
    writeFileSync(
      join(workDir, "prometheus.yml"),
      YAML.stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [join(workDir, "rules.yml")],
        scrape_configs: [
          {
            job_name: "ec2",
            ec2_sd_configs: [
              { region: "eu-west-1", endpoint: `http://127.0.0.1:${closedPort}`, refresh_interval: "1s" },
            ],
          },
        ],
      }),
    );
    const prometheusPort = await freePort();
    await group.start({
      name: "prometheus",
      tool: TOOLS.prometheus,
      args: [
        `--config.file=${join(workDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(workDir, "prometheus-data")}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      readyUrl: `http://127.0.0.1:${prometheusPort}/-/ready`,
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" },
    });
    prometheusSeries = exposition(
      await pollUntil("Prometheus rule and SD metrics", async () => {
        const response = await getText(`http://127.0.0.1:${prometheusPort}/metrics`);
        const body = response?.status === 200 ? response.body : "";
        return body.includes("prometheus_rule_evaluation_failures_total{rule_group=") &&
          body.includes('prometheus_sd_refresh_failures_total{mechanism="ec2"}')
          ? body
          : undefined;
      }),
    );

    writeFileSync(
      join(workDir, "alertmanager.yml"),
      YAML.stringify({ route: { receiver: "none" }, receivers: [{ name: "none" }] }),
    );
    const alertmanagerPort = await freePort();
    await group.start({
      name: "alertmanager",
      tool: TOOLS.alertmanager,
      args: alertmanagerFlags(config, {
        configFile: join(workDir, "alertmanager.yml"),
        storagePath: join(workDir, "alertmanager-data"),
        listenAddress: `127.0.0.1:${alertmanagerPort}`,
      }),
      readyUrl: `http://127.0.0.1:${alertmanagerPort}/-/ready`,
    });
    const alertmanagerMetrics = await getText(`http://127.0.0.1:${alertmanagerPort}/metrics`);
    alertmanagerSeries = exposition(alertmanagerMetrics?.body ?? "");
  });

  afterAll(async () => {
    await group.stopAll();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("read only prometheus_* series (and their labels) Prometheus exposes", () => {
    checkFamily(promql, targets, "prometheus_", prometheusSeries);
  });

  it("read only alertmanager_* series (and their labels) Alertmanager exposes", () => {
    checkFamily(promql, targets, "alertmanager_", alertmanagerSeries, 2);
  });

  it("expose every prometheus_* and alertmanager_* series the documented list holds (the alert rules read them)", () => {
    // Series that appear only after an event (a first send, a first failure) name their source instead.
    const missing = Object.entries(DOCUMENTED_METRICS)
      .filter(([, metric]) => metric.source.includes("checked against Debian's binary"))
      .map(([name]) => name)
      .filter(
        (name) =>
          (name.startsWith("prometheus_") && !prometheusSeries.has(name)) ||
          (name.startsWith("alertmanager_") && !alertmanagerSeries.has(name)),
      );
    expect(missing).toEqual([]);
  });
});
