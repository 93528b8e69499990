/**
 * SLOs: the rendered recording rules and burn-rate alerts checked by promtool (their generated
 * cases fire at the right burn and stay quiet below it, and fail when the factors change), the
 * SLOs dashboard, and the real proof: Debian sid's Prometheus scrapes a loopback service whose
 * error ratio this test sets, evaluates the rendered rules (windows scaled by
 * test/support/loopback.ts, an hour of errors in a minute) and pages past the fast burn, never at
 * the budget rate.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { renderDashboards } from "../configs/dashboards";
import { renderRuleFiles } from "../configs/rules";
import { SLO_RECORDS } from "../configs/rules/slo";
import { BURN_RATE_WINDOWS } from "../lib/burn-rates";
import type { SloSettings } from "../lib/stack-config";
import { scaledRuleFile } from "./support/loopback";
import { freePort, getJson, ProcessGroup, pollUntil, startLocalPrometheus } from "./support/processes";
import { renderRuleTests } from "./support/rule-tests";
import { sampleStackConfig } from "./support/sample-config";
import { withReliability } from "./support/stacks";
import { tempDirMaker, writeFiles } from "./support/temp-files";
import { describeRun, requireTool, runTool, TOOLS } from "./support/tools";

const tempDir = tempDirMaker("slo-");
const config = withReliability(sampleStackConfig());

describe("SLO rules under promtool", () => {
  const rules = renderRuleFiles(config);
  const tests = renderRuleTests(config);

  it("are rendered only when the stack declares SLOs", () => {
    expect(Object.keys(renderRuleFiles(sampleStackConfig()))).not.toContain("slo.yml");
    expect(Object.keys(renderDashboards(sampleStackConfig()))).not.toContain("slos.json");
    expect(rules["slo.yml"]).toBeDefined();
  });

  it("record every burn-rate window for every SLO, with the slo label only", () => {
    const records = YAML.parse(rules["slo.yml"] ?? "").groups[0].rules.filter(
      (rule: { record?: string }) => rule.record,
    );
    for (const slo of config.slos) {
      const own = records.filter((rule: { labels: Record<string, string> }) => rule.labels.slo === slo.name);
      expect(own.map((rule: { record: string }) => rule.record)).toEqual([
        ...BURN_RATE_WINDOWS.map(SLO_RECORDS.errorRatio),
        SLO_RECORDS.objective,
        SLO_RECORDS.errorBudget,
        SLO_RECORDS.windowErrorRatio,
        SLO_RECORDS.budgetRemaining,
      ]);
      for (const rule of own) expect(Object.keys(rule.labels)).toEqual(["slo"]);
    }
    const api = records.find(
      (rule: { record: string; labels: Record<string, string> }) =>
        rule.record === SLO_RECORDS.errorRatio("1h") && rule.labels.slo === "api-availability",
    );
    expect(api.expr).toBe(
      '1 - (sum(sum(rate(http_requests_total{job="api",code!~"5.."}[1h]))) / sum(sum(rate(http_requests_total{job="api"}[1h]))))',
    );
    const budget = records.find(
      (rule: { record: string; labels: Record<string, string> }) =>
        rule.record === SLO_RECORDS.errorBudget && rule.labels.slo === "homepage-uptime",
    );
    expect(budget.expr).toBe("vector(0.005)");
  });

  it("pass check rules and every firing and quiet case", () => {
    const dir = tempDir();
    const paths = writeFiles(dir, {
      "slo.yml": rules["slo.yml"] ?? "",
      "tests/slo.yml": tests["tests/slo.yml"] ?? "",
    });
    const check = runTool(TOOLS.promtool, ["check", "rules", paths[0] as string]);
    expect(check.status, describeRun(TOOLS.promtool, ["check", "rules"], check)).toBe(0);
    const run = runTool(TOOLS.promtool, ["test", "rules", paths[1] as string]);
    expect(run.status, describeRun(TOOLS.promtool, ["test", "rules"], run)).toBe(0);
    const cases = YAML.parse(tests["tests/slo.yml"] ?? "").tests;
    expect(cases.length).toBe(config.slos.length * 2 * 5);
  });

  it.each([
    ["a slower page factor", "(14.4 * ", "(20 * ", "SloErrorBudgetBurnFast"],
    ["a faster ticket factor", "(1 * ", "(0.5 * ", "SloErrorBudgetBurnSlow"],
    [
      "a single-window page",
      ") and on(slo) (slo:sli_error:ratio_rate5m",
      ") or on(slo) (slo:sli_error:ratio_rate5m",
      "SloErrorBudgetBurnFast",
    ],
  ])("fail with %s", (_, from, to, alert) => {
    const broken = (rules["slo.yml"] ?? "").split(from).join(to);
    expect(broken).not.toBe(rules["slo.yml"]);
    const dir = tempDir();
    const paths = writeFiles(dir, { "slo.yml": broken, "tests/slo.yml": tests["tests/slo.yml"] ?? "" });
    const run = runTool(TOOLS.promtool, ["test", "rules", paths[1] as string]);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(`alertname: ${alert}`);
  });
});

describe("SLOs dashboard", () => {
  it("reads only recorded SLO series and draws each alert pair's threshold", () => {
    const dashboard = JSON.parse(renderDashboards(config)["slos.json"] ?? "{}");
    const exprs = dashboard.panels.flatMap((panel: { targets?: { expr: string }[] }) =>
      (panel.targets ?? []).map((target) => target.expr),
    );
    for (const expr of exprs) {
      for (const metric of expr.match(/[a-z_]+:[a-z_:]+[a-z0-9]*/g) ?? []) {
        expect(
          Object.values(SLO_RECORDS).some((record) => typeof record === "string" && record === metric) ||
            metric.startsWith("slo:sli_error:ratio_rate"),
          metric,
        ).toBe(true);
      }
    }
    const titles = dashboard.panels.map((panel: { title: string }) => panel.title);
    expect(titles).toContain("Error budget remaining");
    expect(titles).toContain("Burn rate over 1h and 5m (page above 14.4x)");
    expect(titles).toContain("Burn rate over 3d and 6h (ticket above 1x)");
  });
});

/** A service whose requests fail at the share the test sets, counted as Prometheus counters. */
class ControlledService {
  errorShare = 0;
  private good = 0;
  private bad = 0;
  private last = Date.now();
  readonly server: Server;

  constructor(private readonly requestsPerSecond: number) {
    this.server = createServer((_, response) => {
      this.advance();
      response.setHeader("content-type", "text/plain; version=0.0.4");
      response.end(
        [
          "# TYPE http_requests_total counter",
          `http_requests_total{code="200"} ${this.good}`,
          `http_requests_total{code="500"} ${this.bad}`,
          "",
        ].join("\n"),
      );
    });
  }

  /** Counts the requests since the last scrape at the current error share. */
  advance(): void {
    const now = Date.now();
    const requests = ((now - this.last) / 1000) * this.requestsPerSecond;
    this.last = now;
    this.bad += requests * this.errorShare;
    this.good += requests * (1 - this.errorShare);
  }

  setErrorShare(share: number): void {
    this.advance();
    this.errorShare = share;
  }
}

interface AlertsResponse {
  data: { alerts: { labels: Record<string, string>; state: string }[] };
}
interface QueryResponse {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe("an SLO on real data (Prometheus 3.5, windows scaled 60x)", () => {
  const group = new ProcessGroup();
  const service = new ControlledService(200);
  const slo: SloSettings = {
    name: "checkout",
    objective: 99,
    window: "30d",
    sli: {
      kind: "ratio",
      good: 'sum(rate(http_requests_total{job="checkout",code!~"5.."}[$window]))',
      total: 'sum(rate(http_requests_total{job="checkout"}[$window]))',
    },
  };
  let prometheus = "";

  const query = async (expr: string) =>
    (await getJson<QueryResponse>(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)).data
      .result;
  const alertStates = async (name: string) =>
    (await getJson<AlertsResponse>(`${prometheus}/api/v1/alerts`)).data.alerts
      .filter((alert) => alert.labels.alertname === name)
      .map((alert) => `${alert.labels.slo}:${alert.state}`);

  beforeAll(async () => {
    requireTool(TOOLS.prometheus);
    const servicePort = await freePort();
    await new Promise<void>((resolve) => service.server.listen(servicePort, "127.0.0.1", resolve));
    const dir = tempDir();
    const ruleFile = scaledRuleFile(renderRuleFiles({ ...config, slos: [slo] })["slo.yml"] ?? "");
    writeFileSync(join(dir, "slo.yml"), ruleFile);
    writeFileSync(
      join(dir, "prometheus.yml"),
      YAML.stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [join(dir, "slo.yml")],
        scrape_configs: [
          { job_name: "checkout", static_configs: [{ targets: [`127.0.0.1:${servicePort}`] }] },
        ],
      }),
    );
    prometheus = await startLocalPrometheus(group, {
      name: "prometheus",
      configFile: join(dir, "prometheus.yml"),
      dataDir: join(dir, "data"),
    });
  }, 60_000);

  afterAll(async () => {
    await group.stopAll();
    await new Promise((resolve) => service.server.close(resolve));
  });

  it("stays silent at the budget rate and pages past the fast burn", async () => {
    // 1% of requests fail: exactly the budget of a 99% objective, a burn rate of 1.
    service.setErrorShare(0.01);
    const ratio = (window: string) => `${SLO_RECORDS.errorRatio(window)}{slo="checkout"}`;
    await pollUntil(
      "the 5m and 1h error ratios near 1%",
      async () => {
        const [short] = await query(ratio("5m"));
        const [long] = await query(ratio("1h"));
        const values = [short, long].map((sample) => Number(sample?.value[1] ?? Number.NaN));
        return values.every((value) => Math.abs(value - 0.01) < 0.003) ? values : undefined;
      },
      { attempts: 60, intervalMs: 500 },
    );
    // Several scaled "hours" of evaluations at the budget rate: the page never even goes pending.
    for (let check = 0; check < 10; check += 1) {
      expect(await alertStates("SloErrorBudgetBurnFast")).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const [budget] = await query(`${SLO_RECORDS.errorBudget}{slo="checkout"}`);
    expect(Number(budget?.value[1])).toBeCloseTo(0.01, 10);

    // Half the requests fail: 50 times the budget rate, past 14.4x over both 1h and 5m.
    service.setErrorShare(0.5);
    const firing = await pollUntil(
      "SloErrorBudgetBurnFast firing",
      async () => {
        const states = await alertStates("SloErrorBudgetBurnFast");
        return states.includes("checkout:firing") ? states : undefined;
      },
      { attempts: 90, intervalMs: 500 },
    );
    expect(firing).toEqual(["checkout:firing"]);
    // It fired because a whole pair burns past its factor: 14.4x over 1h and 5m, or 6x over 6h and 30m.
    const burn = async (window: string) =>
      Number((await query(`${ratio(window)} / on(slo) ${SLO_RECORDS.errorBudget}`))[0]?.value[1]);
    const fast = (await burn("1h")) > 14.4 && (await burn("5m")) > 14.4;
    const sustained = (await burn("6h")) > 6 && (await burn("30m")) > 6;
    expect(fast || sustained).toBe(true);
  }, 120_000);
});
