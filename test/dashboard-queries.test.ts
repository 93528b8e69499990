/**
 * Every PromQL query of the hosts overview, host detail, processes, alerts and stack-health
 * dashboards, run the way Grafana would run it against real data:
 *
 * - Debian sid's Prometheus (test/support/tools.ts) runs on 127.0.0.1 with OUR rendered
 *   prometheus.yml, rule files and file SD targets (only the addresses are pointed at loopback,
 *   and retention handed over as test/support/loopback.ts does; EC2 discovery asks a fake EC2 API
 *   that has no instances), so every series carries the job/instance/environment/host_type labels
 *   our relabelling gives it. It scrapes the node exporter (as the monitor's static target and
 *   as the outside host `onprem-1` from file SD), the process exporter with our rendered config
 *   (file SD), a real Alertmanager and itself. Loki, Grafana, cAdvisor and Alloy targets point at a
 *   closed port: their `up` is 0, as it would be if they were down.
 * - Each dashboard's variables are resolved and its targets run as Grafana does
 *   (test/support/grafana-queries.ts), with the provisioned datasource's scrape interval; each
 *   target must return at least one series. The few that cannot here by nature are listed in NO_DATA_HERE with the reason; each
 *   must read a metric that no program here produces and that the documented-metrics list names
 *   with its source (test/dashboards.test.ts holds those names and labels).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { renderProcessExporterConfig } from "../configs/agents/process-exporter";
import { alertmanagerFlags } from "../configs/alertmanager";
import { renderDashboards } from "../configs/dashboards";
import { pushedScrapeJobs, renderFileSdTargets, renderPrometheusConfig } from "../configs/prometheus";
import { renderRuleFiles } from "../configs/rules";
import { asAuthLogLines, sshdLogFor } from "./support/auth-log";
import { CADVISOR_METRICS, DOCUMENTED_METRICS } from "./support/documented-metrics";
import { startNodeExporter, startProcessExporter } from "./support/exporters";
import { FAKE_VPC_ID, type FakeEc2, startFakeEc2 } from "./support/fake-ec2";
import {
  type DashboardJson,
  datasourceScrapeSeconds,
  GrafanaQueries,
  metricNames,
  type PromQuery,
  promQueries,
  substitute,
} from "./support/grafana-queries";
import { runLogPipeline } from "./support/logql-pipeline";
import { retentionForLocalPrometheus } from "./support/loopback";
import { freePort, ProcessGroup, pollUntil, startLocalPrometheus } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { requireTool, TOOLS } from "./support/tools";

/** The dashboards whose every PromQL query must return data here. */
const DASHBOARDS_UNDER_TEST = [
  "hosts.json",
  "host-detail.json",
  "processes.json",
  "alerts.json",
  "stack-health.json",
] as const;

/**
 * Queries that return nothing here by nature, keyed `<file> / <panel title> / <refId>`. No Loki,
 * Alloy or Grafana binary exists here (docs/dashboards.md), so their self-metrics never reach
 * this Prometheus.
 */
const NO_DATA_HERE: Readonly<Record<string, string>> = {
  "stack-health.json / Loki ingestion / A": "Loki's own metrics: no Loki binary here",
  "stack-health.json / Loki lines received and discarded / A": "Loki's own metrics: no Loki binary here",
  "stack-health.json / Loki lines received and discarded / B": "Loki's own metrics: no Loki binary here",
  "stack-health.json / Alloy: bytes sent to Loki and entries dropped / A":
    "Alloy's own metrics: no Alloy binary here",
  "stack-health.json / Alloy: bytes sent to Loki and entries dropped / B":
    "Alloy's own metrics: no Alloy binary here",
  "stack-health.json / Alloy components by health / A": "Alloy's own metrics: no Alloy binary here",
  "stack-health.json / Grafana API responses by code / A": "Grafana's own metrics: no Grafana binary here",
  "stack-health.json / Grafana datasource requests / A": "Grafana's own metrics: no Grafana binary here",
};

/** Short on purpose: a few scrapes make every rate() answer, and the test waits for no more. */
const SCRAPE_INTERVAL = "1s";
describe("dashboard queries against a real Prometheus scraping real exporters", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "dashboard-queries-"));
  const config = sampleStackConfig({
    metrics: { scrapeInterval: SCRAPE_INTERVAL, evaluationInterval: SCRAPE_INTERVAL, retentionTime: "1d" },
  });
  const dashboards = Object.fromEntries(
    Object.entries(renderDashboards(config)).map(([file, text]) => [file, JSON.parse(text) as DashboardJson]),
  );
  let prometheusUrl = "";
  let grafana: GrafanaQueries | undefined;
  let fakeEc2: FakeEc2 | undefined;
  let zombieParent: ChildProcess | undefined;
  /** Variable values per dashboard, as Grafana resolves them on load. */
  const resolved = new Map<string, Record<string, string>>();

  const queries = (): GrafanaQueries => {
    if (grafana === undefined) throw new Error("Prometheus did not start");
    return grafana;
  };
  const instantQuery = (expr: string) => queries().instantQuery(expr);

  beforeAll(async () => {
    for (const tool of [TOOLS.prometheus, TOOLS.alertmanager, TOOLS.nodeExporter, TOOLS.processExporter]) {
      requireTool(tool);
    }
    // A process whose child exits unreaped: a zombie for the zombie panel. `sleep` replaces the
    // shell and never waits for its child.
    zombieParent = spawn("sh", ["-c", "sleep 0 & exec sleep 300"], { stdio: "ignore" });

    const nodeExporter = await startNodeExporter(group);
    const processConfig = join(workDir, "process-exporter.yml");
    writeFileSync(processConfig, renderProcessExporterConfig());
    const processPort = await startProcessExporter(group, processConfig);

    const alertmanagerPort = await freePort();
    const alertmanagerDir = join(workDir, "alertmanager");
    mkdirSync(alertmanagerDir);
    writeFileSync(
      join(alertmanagerDir, "alertmanager.yml"),
      YAML.stringify({ route: { receiver: "none" }, receivers: [{ name: "none" }] }),
    );
    await group.start({
      name: "alertmanager",
      tool: TOOLS.alertmanager,
      args: alertmanagerFlags(config, {
        configFile: join(alertmanagerDir, "alertmanager.yml"),
        storagePath: join(alertmanagerDir, "data"),
        listenAddress: `127.0.0.1:${alertmanagerPort}`,
      }),
      readyUrl: `http://127.0.0.1:${alertmanagerPort}/-/ready`,
    });

    // Our prometheus.yml, rules and file SD files; only addresses move to loopback.
    fakeEc2 = await startFakeEc2([], config.region);
    const prometheusPort = await freePort();
    const closed = `127.0.0.1:${await freePort()}`;
    const prometheusDir = join(workDir, "prometheus");
    const rulesDir = join(prometheusDir, "rules");
    const fileSdDir = join(prometheusDir, "file_sd");
    mkdirSync(rulesDir, { recursive: true });
    mkdirSync(fileSdDir, { recursive: true });
    const local = retentionForLocalPrometheus(
      renderPrometheusConfig(
        config,
        {
          prometheus: `127.0.0.1:${prometheusPort}`,
          alertmanager: `127.0.0.1:${alertmanagerPort}`,
          nodeExporter: `127.0.0.1:${nodeExporter.port}`,
          processExporter: `127.0.0.1:${processPort}`,
          loki: closed,
          grafana: closed,
          cadvisor: closed,
          alloy: closed,
          ruleFiles: `${rulesDir}/*.yml`,
          fileSdDir,
          ec2Endpoint: fakeEc2.url,
        },
        { vpcId: FAKE_VPC_ID },
      ),
    );
    writeFileSync(join(prometheusDir, "prometheus.yml"), local.prometheusYml);
    for (const [name, content] of Object.entries(renderRuleFiles(config))) {
      writeFileSync(join(rulesDir, name), content);
    }
    // Hosts outside AWS push (their rendered file SD is empty). Here each job's file stands in for
    // their Alloy: every job it pushes, with the labels it gives, at the local exporters (node,
    // process) or the closed port (the rest).
    const localTarget: Record<string, string> = {
      node: `127.0.0.1:${nodeExporter.port}`,
      process: `127.0.0.1:${processPort}`,
    };
    for (const [name, content] of Object.entries(renderFileSdTargets(config))) {
      expect(JSON.parse(content), name).toEqual([]);
      const groups = config.externalHosts.flatMap((host) =>
        pushedScrapeJobs(config, host)
          .filter((job) => `${job.job}.json` === name)
          .map((job) => ({ targets: [localTarget[job.job] ?? closed], labels: job.labels })),
      );
      writeFileSync(join(fileSdDir, name), JSON.stringify(groups));
    }
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    grafana = new GrafanaQueries(prometheusUrl, datasourceScrapeSeconds(config));
    await startLocalPrometheus(group, {
      name: "prometheus",
      configFile: join(prometheusDir, "prometheus.yml"),
      dataDir: join(prometheusDir, "data"),
      port: prometheusPort,
      extraArgs: local.flags,
      // EC2 SD must never reach for instance metadata or AWS from a test.
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" },
    });

    // Enough scrapes of every local target for rate() over $__rate_interval, the zombie seen,
    // and the rules evaluated (ALERTS exists once the alerting rules' state is restored).
    const ready = [
      `count(count_over_time(up{job="node"}[30s]) >= 8) == 2`,
      `count_over_time(up{job="process", instance="onprem-1"}[30s]) >= 8`,
      `count_over_time(up{job="alertmanager"}[30s]) >= 8`,
      `count_over_time(up{job="prometheus"}[30s]) >= 8`,
      `sum(namedprocess_namegroup_states{state="Zombie"}) > 0`,
      `ALERTS_FOR_STATE`,
      `ALERTS{alertname="Watchdog", alertstate="firing"}`,
    ];
    await pollUntil(
      "a few scrapes of every local target, the zombie and the first alerts",
      async () => {
        for (const expr of ready) {
          if ((await instantQuery(expr)).result.length === 0) return undefined;
        }
        return true;
      },
      { attempts: 120, intervalMs: 500 },
    );

    // Variables, in order, as Grafana resolves them when the dashboard opens.
    for (const file of DASHBOARDS_UNDER_TEST) {
      resolved.set(file, await queries().resolveVariables(file, dashboards[file] as DashboardJson));
    }
  }, 90_000);

  afterAll(async () => {
    zombieParent?.kill("SIGKILL");
    await group.stopAll();
    await fakeEc2?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  function promQueriesOf(file: string): PromQuery[] {
    const dashboard = dashboards[file];
    if (!dashboard) throw new Error(`${file} is not rendered`);
    return promQueries(file, dashboard);
  }

  const seriesOf = (file: string, query: PromQuery) => queries().seriesOf(query, resolved.get(file) ?? {});

  it("resolves every variable of the dashboards to values Prometheus has", () => {
    expect(resolved.get("host-detail.json")?.instance).toMatch(/^(monitor|onprem-1)$/);
    expect(resolved.get("processes.json")?.instance).toBe(".+");
    expect(resolved.get("alerts.json")?.severity).toBe(".+");
  });

  it.each(DASHBOARDS_UNDER_TEST)("%s: every PromQL query returns at least one series", async (file) => {
    const fileQueries = promQueriesOf(file);
    expect(fileQueries.length).toBeGreaterThan(0);
    const empty: string[] = [];
    for (const query of fileQueries) {
      if (NO_DATA_HERE[query.key] !== undefined) continue;
      if ((await seriesOf(file, query)) === 0) empty.push(`${query.key}: ${query.expr}`);
    }
    expect(empty, "queries that returned no series").toEqual([]);
  });

  it("merge table queries into rows: every query of a merged table returns the same labels", async () => {
    let merged = 0;
    for (const file of DASHBOARDS_UNDER_TEST) {
      const values = resolved.get(file) ?? {};
      for (const panel of dashboards[file]?.panels ?? []) {
        if (!panel.transformations?.some((transformation) => transformation.id === "merge")) continue;
        if ((panel.datasource?.uid ?? "") !== "prometheus") continue;
        merged += 1;
        const labelSets = new Set<string>();
        for (const target of panel.targets ?? []) {
          const result = (await instantQuery(substitute(target.expr, values))).result;
          for (const series of result) {
            labelSets.add(
              // __name__ included: Grafana makes it a column, and rows with different names never join.
              Object.keys(series.metric).sort().join(","),
            );
          }
        }
        // Grafana's merge joins rows on equal label values: one label set means one row per key.
        expect([...labelSets], `${file} / ${panel.title}`).toHaveLength(1);
      }
    }
    expect(merged).toBeGreaterThanOrEqual(4);
  });

  it("lists as no-data-here only existing queries that read a documented metric nothing here produces", async () => {
    const byKey = new Map(
      DASHBOARDS_UNDER_TEST.flatMap((file) => promQueriesOf(file).map((query) => [query.key, query])),
    );
    const produced = new Set(await queries().api<string[]>("/api/v1/label/__name__/values", {}));
    expect(produced.has("node_cpu_seconds_total")).toBe(true);
    for (const [key, reason] of Object.entries(NO_DATA_HERE)) {
      const query = byKey.get(key);
      expect(query, `${key} (${reason}) is no dashboard query`).toBeDefined();
      const absent = metricNames(query?.expr ?? "").filter((metric) => !produced.has(metric));
      expect(
        absent.length,
        `${key}: every metric it reads exists here, so it must return data`,
      ).toBeGreaterThan(0);
      for (const metric of absent) {
        const documented = DOCUMENTED_METRICS[metric] ?? CADVISOR_METRICS[metric];
        expect(documented?.source, `${key}: ${metric} has no documented source`).toBeTruthy();
      }
    }
  });

  it("runs the excepted queries too, and they parse and answer (empty) without error", async () => {
    for (const file of DASHBOARDS_UNDER_TEST) {
      for (const query of promQueriesOf(file).filter(
        (candidate) => NO_DATA_HERE[candidate.key] !== undefined,
      )) {
        expect(await seriesOf(file, query), query.key).toBe(0);
      }
    }
  });
});

/**
 * The log query a stat panel of the rendered SSH dashboard counts (inside `count_over_time`), with
 * its source-address filter open to every address.
 */
function sshPanelLogQuery(title: string): string {
  const dashboard = JSON.parse(renderDashboards(sampleStackConfig())["ssh.json"] ?? "{}") as DashboardJson;
  const expr = dashboard.panels.find((panel) => panel.title === title)?.targets?.[0]?.expr ?? "";
  const inner = /count_over_time\((.*) \[\$__range\]\)/.exec(expr)?.[1];
  if (inner === undefined) throw new Error(`ssh.json has no counting panel titled ${title}: ${expr}`);
  return inner.replaceAll("$address", "");
}

describe("the SSH audit dashboard's parsers on real sshd lines", () => {
  const ACCEPTED = sshPanelLogQuery("Successful logins");
  const FAILED = sshPanelLogQuery("Failed attempts");
  const INVALID_USER = sshPanelLogQuery("Unknown users tried");
  const workDir = mkdtempSync(join(tmpdir(), "dashboard-sshd-"));
  let authLog: string[] = [];

  beforeAll(async () => {
    // What the test does is what the parsers must find: one key login as root, two wrong
    // passwords for a user that does not exist, one wrong password for root.
    const messages = await sshdLogFor(workDir, [
      { kind: "key", user: "root" },
      { kind: "password", user: "nosuchuser", attempts: 2 },
      { kind: "password", user: "root", attempts: 1 },
    ]);
    authLog = asAuthLogLines(messages, "web-1");
  }, 120_000);

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  const extracted = (query: string, labels: readonly string[]) =>
    runLogPipeline(query, authLog).map((entry) =>
      Object.fromEntries(labels.map((label) => [label, entry.labels[label]])),
    );

  it("are read by a pipeline emulation that follows Loki's rules and refuses stages it does not know", () => {
    const lines = ["a x=1 b", "no match here"];
    expect(runLogPipeline('{a="b"} | pattern "a x=<v> <_>"', lines)).toEqual([
      { line: "a x=1 b", labels: { v: "1" } },
      // A line the pattern does not match flows on without labels, as in Loki.
      { line: "no match here", labels: {} },
    ]);
    expect(runLogPipeline('{a="b"} | regexp "x=(?P<v>\\\\d+)" | v=~"1"', lines)).toHaveLength(1);
    expect(() => runLogPipeline('{a="b"} | json', lines)).toThrow(/unsupported/);
  });

  it("find the one successful login with its user, source address and method (pattern parser)", () => {
    expect(extracted(ACCEPTED, ["method", "user", "address"])).toEqual([
      { method: "publickey", user: "root", address: "127.0.0.1" },
    ]);
  });

  it("count one failure per wrong password, with the user tried and the source (regexp parser)", () => {
    expect(extracted(FAILED, ["method", "user", "address"])).toEqual([
      { method: "password", user: "nosuchuser", address: "127.0.0.1" },
      { method: "password", user: "nosuchuser", address: "127.0.0.1" },
      { method: "password", user: "root", address: "127.0.0.1" },
    ]);
  });

  it("find the user name that does not exist, once per connection", () => {
    expect(extracted(INVALID_USER, ["user", "address"])).toEqual([
      { user: "nosuchuser", address: "127.0.0.1" },
    ]);
  });
});
