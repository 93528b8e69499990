/**
 * Every alert expression parses with Prometheus' own PromQL grammar (@prometheus-io/lezer-promql,
 * the parser behind the Prometheus UI). promtool checks the same on the rendered files; this
 * test runs without Debian's tools and points at the exact rule and position of an error.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { buildRuleGroups, renderRuleFiles } from "../configs/rules";
import type { StackConfig } from "../lib/stack-config";
import { CADVISOR_METRICS, DOCUMENTED_METRICS } from "./support/documented-metrics";
import { everyAlert } from "./support/every-alert";
import { SYSTEMD_COLLECTOR_SERIES } from "./support/exporters";
import { freePort, getText, ProcessGroup } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { TOOLS } from "./support/tools";

interface ParseProblem {
  readonly from: number;
  readonly text: string;
}

/** Error nodes lezer inserted while parsing; empty for valid PromQL. */
function parseProblems(expr: string): ParseProblem[] {
  const problems: ParseProblem[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) problems.push({ from: node.from, text: expr.slice(node.from, node.to + 10) });
    },
  });
  return problems;
}

/** Metric names in the expression's vector selectors. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name === "VectorSelector") {
        const identifier = node.node.getChild("Identifier");
        if (identifier) names.push(expr.slice(identifier.from, identifier.to));
      }
    },
  });
  return names;
}

const thresholdsVariant: StackConfig = (() => {
  const base = sampleStackConfig();
  return {
    ...base,
    alerting: {
      ...base.alerting,
      thresholds: { ...base.alerting.thresholds, cpuPercent: 72.5, diskFillHours: 6, hostDownFor: "90s" },
    },
  };
})();

describe("the PromQL checker", () => {
  it("finds the metric names of vector selectors", () => {
    expect(metricNames('100 * rate(node_cpu_seconds_total{mode="idle"}[5m]) / on (instance) up > 1')).toEqual(
      ["node_cpu_seconds_total", "up"],
    );
  });

  it("reports broken expressions (so a clean result means something)", () => {
    expect(parseProblems('up{job="node"} == 0')).toEqual([]);
    expect(parseProblems('up{job="node" == 0').length).toBeGreaterThan(0);
    expect(parseProblems("sum by (instance (rate(x[5m]))").length).toBeGreaterThan(0);
    expect(parseProblems("rate(x[5m]) >").length).toBeGreaterThan(0);
  });
});

describe.each([
  { name: "sample", config: sampleStackConfig() },
  { name: "other thresholds", config: thresholdsVariant },
])("alert expressions ($name)", ({ config }) => {
  const rules = everyAlert(config);
  const built = buildRuleGroups(config).flatMap((group) => group.rules);

  it("all parse without error", () => {
    for (const rule of rules) {
      expect(parseProblems(rule.expr), `${rule.name}: ${rule.expr}`).toEqual([]);
    }
  });

  it("parse the same after the YAML round trip into the rule files", () => {
    const rendered = Object.values(renderRuleFiles(config)).flatMap((text) =>
      YAML.parse(text).groups.flatMap((group: { rules: { alert?: string; expr: string }[] }) =>
        // Recording rules (a job's scrape limit, an SLO's ratios) are checked with their groups.
        group.rules.filter((rule) => rule.alert !== undefined),
      ),
    );
    expect(rendered.length).toBeGreaterThan(0);
    for (const rule of rendered) {
      expect(parseProblems(rule.expr), rule.alert).toEqual([]);
      expect(rule.expr).toBe(built.find((candidate) => candidate.name === rule.alert)?.expr);
    }
  });

  it("select only metrics their sources are known to expose", () => {
    // Prometheus / Alertmanager self-metrics (present in Prometheus 3.x and Alertmanager 0.3x)
    // and the optional exporters' health gauges. A misspelt name would give a rule that
    // never fires, which promtool cannot see. node_* names are checked against the real node
    // exporter below.
    const known = new Set([
      "prometheus_sd_file_read_errors_total",
      ...Object.keys(DOCUMENTED_METRICS),
      ...Object.keys(CADVISOR_METRICS),
    ]);
    const names = rules.flatMap((rule) => metricNames(rule.expr).map((name) => ({ rule: rule.name, name })));
    expect(names.length).toBeGreaterThan(rules.length);
    for (const { rule, name } of names) {
      // level:metric:operation names are this stack's own recording rules, not a source's metrics.
      if (!name.startsWith("node_") && !name.includes(":"))
        expect(known.has(name), `${rule}: ${name}`).toBe(true);
    }
  });
});

describe("node exporter metrics the rules use", () => {
  const group = new ProcessGroup();
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    await group.start({
      name: "node-exporter",
      tool: TOOLS.nodeExporter,
      args: [`--web.listen-address=127.0.0.1:${port}`],
      readyUrl: `http://127.0.0.1:${port}/metrics`,
    });
  });

  afterAll(async () => {
    await group.stopAll();
  });

  it("are all exposed by Debian's node exporter", async () => {
    const response = await getText(`http://127.0.0.1:${port}/metrics`);
    expect(response?.status).toBe(200);
    const exposed = new Set(
      [...(response?.body ?? "").matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] as string),
    );
    const used = new Set(
      everyAlert(sampleStackConfig()).flatMap((rule) =>
        metricNames(rule.expr).filter((name) => name.startsWith("node_")),
      ),
    );
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) {
      if (SYSTEMD_COLLECTOR_SERIES.has(name)) continue;
      expect(exposed.has(name), name).toBe(true);
    }
    // Not exposed here only because this machine runs no systemd: the exporter does list them.
    expect([...SYSTEMD_COLLECTOR_SERIES].filter((name) => used.has(name))).toEqual([
      ...SYSTEMD_COLLECTOR_SERIES,
    ]);
  });
});
