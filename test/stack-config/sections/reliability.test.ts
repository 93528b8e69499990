/** SLOs, uptime probes and traces: off by default; every bad field named, with a fix line. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { type ConfigProblem, PROJECT, settingsTable } from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseProbes, parseSlos, parseTraces } from "../../../lib/stack-config/sections/reliability";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

const GOOD = 'sum(rate(http_requests_total{code!~"5.."}[$window]))';
const TOTAL = "sum(rate(http_requests_total[$window]))";

function read(values: Record<string, unknown>) {
  const reader = new SettingsReader(values, TABLE);
  const probes = parseProbes(reader);
  const slos = parseSlos(reader, probes ? new Set(probes.targets.map((probe) => probe.name)) : undefined);
  const traces = parseTraces(reader);
  return { probes, slos, traces, problems: reader.problems };
}

function onlyProblem(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  expect(
    problems.map((problem) => problem.setting),
    JSON.stringify(problems),
  ).toEqual([P(setting)]);
  return problems[0] as ConfigProblem;
}

const slo = (fields: Record<string, unknown>) => ({
  slos: [{ name: "api", good: GOOD, total: TOTAL, ...fields }],
});

describe("off by default", () => {
  it("no SLOs, no probes, no traces", () => {
    const { probes, slos, traces, problems } = read({});
    expect(problems).toEqual([]);
    expect(slos).toEqual([]);
    expect(probes).toEqual({ targets: [], certExpiryDays: 14 });
    expect(traces).toEqual({ ok: true });
  });
});

describe("SLOs", () => {
  it("reads a ratio SLO with the default window and a probe SLO", () => {
    const { slos, problems } = read({
      slos: [
        { name: "api", objective: 99.9, good: GOOD, total: TOTAL },
        { name: "home", objective: "99.5", window: "28d", probe: "homepage" },
      ],
      probes: [{ name: "homepage", url: "https://www.example.com/" }],
    });
    expect(problems).toEqual([]);
    expect(slos).toEqual([
      { name: "api", objective: 99.9, window: "30d", sli: { kind: "ratio", good: GOOD, total: TOTAL } },
      { name: "home", objective: 99.5, window: "28d", sli: { kind: "probe", probe: "homepage" } },
    ]);
  });

  it.each([
    [100, /leaves no error budget/],
    [0, /promises nothing/],
    [-5, /promises nothing/],
    [0.999, /looks like a fraction.*percentages/],
    ["high", /must be a percentage/],
  ])("refuses objective %s with the setting named and a fix", (objective, message) => {
    const problem = onlyProblem(read(slo({ objective })).problems, "slos[0].objective");
    expect(problem.problem).toMatch(message);
    expect(problem.fix).toContain(`pulumi config set --path '${P("slos[0].objective")}'`);
  });

  it("refuses a window shorter than the slow ticket alert's 3d window", () => {
    const problem = onlyProblem(read(slo({ objective: 99, window: "2d" })).problems, "slos[0].window");
    expect(problem.problem).toMatch(/shorter than 3d, the long window of the slow-burn ticket alert/);
    expect(problem.fix).toBe(`pulumi config set --path '${P("slos[0].window")}' 30d`);
    expect(read(slo({ objective: 99, window: "3d" })).problems).toEqual([]);
  });

  it("warns when the window is longer than Prometheus keeps samples, with the fix", () => {
    const reader = new SettingsReader(slo({ objective: 99, window: "30d" }), TABLE);
    expect(parseSlos(reader, new Set(), "15d")).toHaveLength(1);
    expect(reader.problems).toEqual([]);
    expect(reader.warnings.map((warning) => [warning.setting, warning.fix])).toEqual([
      [P("slos[0].window"), `pulumi config set ${P("metricsRetention")} 30d`],
    ]);
    const longer = new SettingsReader(slo({ objective: 99, window: "30d" }), TABLE);
    parseSlos(longer, new Set(), "45d");
    expect(longer.warnings).toEqual([]);
  });

  it("refuses a query without [$window], an SLO with two SLIs or none, and an unknown probe", () => {
    expect(
      onlyProblem(read(slo({ objective: 99, good: "sum(rate(x[5m]))" })).problems, "slos[0].good").problem,
    ).toMatch(/must contain \[\$window\]/);
    expect(onlyProblem(read(slo({ objective: 99, probe: "home" })).problems, "slos[0]").problem).toMatch(
      /both good\/total and probe/,
    );
    expect(onlyProblem(read({ slos: [{ name: "api", objective: 99 }] }).problems, "slos[0]").problem).toMatch(
      /has no SLI/,
    );
    expect(
      onlyProblem(read({ slos: [{ name: "api", objective: 99, probe: "nope" }] }).problems, "slos[0].probe")
        .problem,
    ).toMatch(/not a probe of this stack/);
  });

  it("refuses duplicate and malformed names and unknown fields", () => {
    const twice = read({
      slos: [
        { name: "api", objective: 99, good: GOOD, total: TOTAL },
        { name: "api", objective: 99, good: GOOD, total: TOTAL },
      ],
    });
    expect(onlyProblem(twice.problems, "slos[1].name").problem).toMatch(/used twice/);
    expect(onlyProblem(read(slo({ name: "API", objective: 99 })).problems, "slos[0].name").problem).toMatch(
      /lowercase/,
    );
    const typo = onlyProblem(read(slo({ objective: 99, objectve: 99 })).problems, "slos[0].objectve");
    expect(typo.problem).toMatch(/did you mean "objective"/);
  });
});

describe("probes", () => {
  it("reads http and tcp probes with their defaults", () => {
    const { probes, problems } = read({
      probes: [
        { name: "home", url: "https://www.example.com/health", expectStatus: [200, 204], bodyMatch: "ok" },
        { name: "plain", url: "http://10.0.0.5:8080/" },
        { name: "db", tcp: "db.internal:5432" },
      ],
      probeCertExpiryDays: 21,
    });
    expect(problems).toEqual([]);
    expect(probes).toEqual({
      certExpiryDays: 21,
      targets: [
        {
          name: "home",
          kind: "http",
          url: "https://www.example.com/health",
          expectStatus: [200, 204],
          bodyMatch: "ok",
        },
        { name: "plain", kind: "http", url: "http://10.0.0.5:8080/", expectStatus: [200] },
        { name: "db", kind: "tcp", address: "db.internal:5432" },
      ],
    });
  });

  it.each([
    [{ name: "x" }, "probes[0]", /needs url or tcp/],
    [{ name: "x", url: "https://a.b/", tcp: "a:1" }, "probes[0]", /both url and tcp/],
    [{ name: "x", url: "ftp://a.b/" }, "probes[0].url", /not an http or https URL/],
    [{ name: "x", tcp: "a.b" }, "probes[0].tcp", /host:port/],
    [{ name: "x", tcp: "a.b:1", bodyMatch: "ok" }, "probes[0].bodyMatch", /url probes only/],
    [{ name: "x", url: "https://a.b/", expectStatus: [700] }, "probes[0].expectStatus", /100 to 599/],
    [{ name: "x", url: "https://a.b/", bodyMatch: "(" }, "probes[0].bodyMatch", /regular expression/],
  ])("refuses %j at %s", (probe, setting, message) => {
    expect(onlyProblem(read({ probes: [probe] }).problems, setting).problem).toMatch(message);
  });

  it("bounds the certificate warning", () => {
    expect(onlyProblem(read({ probeCertExpiryDays: 0 }).problems, "probeCertExpiryDays").fix).toBe(
      `pulumi config set ${P("probeCertExpiryDays")} 1`,
    );
  });
});

describe("traces", () => {
  it("turns on with a retention, bounded", () => {
    expect(read({ traces: true }).traces).toEqual({ ok: true, traces: { retention: "14d" } });
    expect(read({ traces: "true", traceRetention: "7d" }).traces).toEqual({
      ok: true,
      traces: { retention: "7d" },
    });
    expect(
      onlyProblem(read({ traces: true, traceRetention: "2h" }).problems, "traceRetention").problem,
    ).toMatch(/out of range/);
  });
});
