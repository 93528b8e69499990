/**
 * Alert rules: `promtool check rules` and `promtool test rules` (the generated firing and
 * non-firing cases) for the sample config, threshold variants and every real stack; the
 * conventions every alert must follow; the runbooks; and docs/alerts.md kept in step with the
 * rule data.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { HOST_UNREACHABLE_ALERT, SEVERITIES as ROUTED_SEVERITIES } from "../configs/alertmanager";
import { GRAFANA_ROOT_URL_PLACEHOLDER } from "../configs/grafana";
import { renderPrometheusConfig } from "../configs/prometheus";
import {
  type AlertRule,
  buildRuleGroups,
  coverageCounts,
  REFERENCE_SETS,
  renderAlertTable,
  renderRuleFiles,
  SEVERITIES,
} from "../configs/rules";
import { RUNBOOKS_DASHBOARD_UID, runbookPanelId } from "../configs/rules/runbook";
import type { AlertThresholds, StackConfig } from "../lib/stack-config";
import { WATCHDOG_ALERT } from "./support/alertmanager";
import { everyAlert } from "./support/every-alert";
import { renderRuleTests } from "./support/rule-tests";
import { sampleStackConfig } from "./support/sample-config";
import {
  loadRealStacks,
  type NamedConfig,
  sampleConfigs,
  withEveryExporter,
  withReliability,
} from "./support/stacks";
import { tempDirMaker, writeFiles } from "./support/temp-files";
import { describeRun, runTool, runToolAsync, TOOLS, type ToolResult } from "./support/tools";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

const REPO_ROOT = resolve(__dirname, "..");
const RUNBOOKS_DIR = join(REPO_ROOT, "runbooks");

const tempDir = tempDirMaker("alert-rules-");

/** Writes rule files and their tests (under tests/) to a fresh temp dir; returns the paths. */
function writeRules(ruleFiles: Record<string, string>, testFiles: Record<string, string>) {
  const dir = tempDir();
  return { rulePaths: writeFiles(dir, ruleFiles), testPaths: writeFiles(dir, testFiles) };
}

function withThresholds(config: StackConfig, thresholds: Partial<AlertThresholds>): StackConfig {
  return {
    ...config,
    alerting: { ...config.alerting, thresholds: { ...config.alerting.thresholds, ...thresholds } },
  };
}

const realStacks = loadRealStacks();

const configsToCheck: NamedConfig[] = [
  ...sampleConfigs(),
  {
    name: "other thresholds (fractional percentages, odd durations, 1m scrapes)",
    config: withThresholds(
      sampleStackConfig({
        metrics: { scrapeInterval: "1m", evaluationInterval: "1m", retentionTime: "15d" },
      }),
      {
        hostDownFor: "90s",
        cpuPercent: 72.5,
        cpuFor: "10m",
        memoryPercent: 99.5,
        memoryFor: "1m",
        diskPercent: 60,
        diskFor: "15m",
        diskFillHours: 6,
        inodePercent: 0.5,
      },
    ),
  },
  {
    name: "extreme thresholds (1% CPU, 99.99% inodes, 720h horizon, 1h host down, 5s scrapes)",
    config: withThresholds(
      sampleStackConfig({ metrics: { scrapeInterval: "5s", evaluationInterval: "5s", retentionTime: "1d" } }),
      {
        hostDownFor: "1h",
        cpuPercent: 1,
        cpuFor: "30m",
        memoryPercent: 1,
        memoryFor: "45s",
        diskPercent: 99.9,
        diskFor: "2h",
        diskFillHours: 720,
        inodePercent: 99.99,
      },
    ),
  },
  ...realStacks,
];

/**
 * `promtool test rules` of one rule file's generated tests, run once per distinct (rule file, test
 * file) pair: configs that render the same group (most share several) share the run, and its
 * result is asserted for each of them. Runs go at most one per core at a time; every config's runs
 * start before the first test, so they overlap.
 */
const ruleTestRuns = new Map<string, Promise<ToolResult & { readonly args: string[] }>>();
const waiting: (() => void)[] = [];
let running = 0;
const RULE_TEST_SLOTS = Math.max(2, availableParallelism());

async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= RULE_TEST_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

function ruleTestRun(ruleFile: string, ruleContent: string, testFile: string, testContent: string) {
  const key = createHash("sha256")
    .update(JSON.stringify([ruleFile, ruleContent, testFile, testContent]))
    .digest("hex");
  let run = ruleTestRuns.get(key);
  if (run === undefined) {
    run = inSlot(async () => {
      const { testPaths } = writeRules({ [ruleFile]: ruleContent }, { [testFile]: testContent });
      const args = ["test", "rules", ...testPaths];
      return { ...(await runToolAsync(TOOLS.promtool, args)), args };
    });
    ruleTestRuns.set(key, run);
  }
  return run;
}

/** Each test file of the config with the rule file it loads (`tests/<name>` tests `<name>`). */
function ruleTestPairs(config: StackConfig) {
  const ruleFiles = renderRuleFiles(config);
  return Object.entries(renderRuleTests(config)).map(([testFile, testContent]) => {
    const ruleFile = testFile.replace(/^tests\//, "");
    return { ruleFile, ruleContent: ruleFiles[ruleFile], testFile, testContent };
  });
}

beforeAll(() => {
  for (const { config } of configsToCheck) {
    for (const pair of ruleTestPairs(config)) {
      if (pair.ruleContent !== undefined) {
        void ruleTestRun(pair.ruleFile, pair.ruleContent, pair.testFile, pair.testContent);
      }
    }
  }
});

describe.each(configsToCheck)("promtool on the rules for $name", ({ config }) => {
  const ruleFiles = renderRuleFiles(config);
  const testFiles = renderRuleTests(config);

  it("check rules accepts every rule file", () => {
    const { rulePaths } = writeRules(ruleFiles, testFiles);
    const args = ["check", "rules", ...rulePaths];
    const result = runTool(TOOLS.promtool, args);
    expect(result.status, describeRun(TOOLS.promtool, args, result)).toBe(0);
    const ruleCount = buildRuleGroups(config).reduce(
      (sum, group) => sum + group.rules.length + (group.records?.length ?? 0),
      0,
    );
    const reported = [...result.stdout.matchAll(/SUCCESS: (\d+) rules found/g)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
    expect(reported).toBe(ruleCount);
  });

  it("test rules passes every firing and non-firing case", async () => {
    const pairs = ruleTestPairs(config);
    // One test file per rule file, and each tests a rule file that exists.
    expect(pairs.map((pair) => pair.ruleFile).sort()).toEqual(Object.keys(ruleFiles).sort());
    const results = await Promise.all(
      pairs.map((pair) =>
        ruleTestRun(pair.ruleFile, pair.ruleContent ?? "", pair.testFile, pair.testContent),
      ),
    );
    for (const result of results) {
      expect(result.status, describeRun(TOOLS.promtool, result.args, result)).toBe(0);
      expect(result.stdout + result.stderr).not.toContain("FAILED");
    }
  });
});

describe("the generated tests are sensitive to the rules", () => {
  it("fail when the rules use other thresholds than the tests expect", () => {
    const base = sampleStackConfig();
    const stricter = withThresholds(base, { cpuPercent: 90, hostDownFor: "5m" });
    const { testPaths } = writeRules(renderRuleFiles(base), {
      "tests/host.yml": renderRuleTests(stricter)["tests/host.yml"] ?? "",
    });
    const result = runTool(TOOLS.promtool, ["test", "rules", ...testPaths]);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("alertname: HostHighCpu");
    expect(result.stdout + result.stderr).toContain("alertname: HostUnreachable");
  });

  it("fail when a rule loses a label its case expects", () => {
    const config = sampleStackConfig();
    const broken = (renderRuleFiles(config)["host.yml"] ?? "").replace(
      "avg by (instance) (rate(node_cpu_seconds_total",
      "avg(rate(node_cpu_seconds_total",
    );
    const { testPaths } = writeRules(
      { "host.yml": broken },
      { "tests/host.yml": renderRuleTests(config)["tests/host.yml"] ?? "" },
    );
    const result = runTool(TOOLS.promtool, ["test", "rules", ...testPaths]);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("alertname: HostHighCpu");
  });
});

describe("thresholds from config", () => {
  const base = sampleStackConfig();
  const changed = withThresholds(base, { cpuPercent: 90, diskFillHours: 6, hostDownFor: "7m" });
  const rule = (config: StackConfig, name: string): AlertRule => {
    const found = buildRuleGroups(config)
      .flatMap((group) => group.rules)
      .find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found;
  };

  it("change the rendered expressions and `for` durations", () => {
    expect(rule(changed, "HostHighCpu").expr).toMatch(/> 90$/);
    expect(rule(base, "HostHighCpu").expr).toMatch(/> 80$/);
    expect(rule(changed, "HostDiskWillFillSoon").expr).toContain(`, ${6 * 3600})`);
    expect(rule(changed, "HostUnreachable").for).toBe("7m");
    expect(rule(changed, "TooFewTargets").for).toBe("7m");
    const rendered = YAML.parse(renderRuleFiles(changed)["host.yml"] ?? "");
    const cpu = rendered.groups[0].rules.find((entry: Parsed) => entry.alert === "HostHighCpu");
    expect(cpu.expr).toMatch(/> 90$/);
    expect(cpu.annotations.description).toContain("above 90%");
  });

  it("move the firing and quiet cases with the threshold", () => {
    const cases = rule(changed, "HostHighCpu").cases;
    const firing = cases.filter((entry) => entry.expectedAlerts.length > 0);
    expect(firing.flatMap((entry) => entry.expectedAlerts.map((alert) => alert.description))).toEqual([
      "CPU on web-1 has been 91% busy (averaged over all cores) for 5m, above 90%.",
    ]);
  });

  it("size TooFewTargets from the hosts in config", () => {
    for (const { config } of configsToCheck) {
      const expected = config.clients.length + config.externalHosts.length + 1;
      expect(rule(config, "TooFewTargets").expr).toMatch(new RegExp(`< ${expected}$`));
    }
  });
});

describe.each([{ name: "sample", config: sampleStackConfig() }, ...realStacks])(
  "every alert that can exist ($name)",
  ({ config }) => {
    const rules = everyAlert(config);

    it("has a unique CamelCase name", () => {
      const names = rules.map((rule) => rule.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name).toMatch(/^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$/);
    });

    it("has a routed severity (none only for the Watchdog)", () => {
      for (const rule of rules) {
        expect(SEVERITIES).toContain(rule.severity);
        if (rule.name === WATCHDOG_ALERT) expect(rule.severity).toBe("none");
        else expect(ROUTED_SEVERITIES as readonly string[], rule.name).toContain(rule.severity);
      }
    });

    it("has a static summary sentence and a templated description", () => {
      for (const rule of rules) {
        expect(rule.summary, rule.name).toMatch(/^[A-Z].*\.$/);
        expect(rule.summary, rule.name).not.toContain("{{");
        if (rule.alwaysFires) continue;
        expect(rule.description, rule.name).toMatch(/\{\{ \$(labels\.[a-z_]+|value)[^}]*\}\}/);
      }
    });

    it("has a runbook in runbooks/<Name>.md", () => {
      for (const rule of rules) {
        expect(existsSync(join(RUNBOOKS_DIR, `${rule.name}.md`)), `runbooks/${rule.name}.md`).toBe(true);
        const runbook = readFileSync(join(RUNBOOKS_DIR, `${rule.name}.md`), "utf8");
        expect(runbook.startsWith(`# ${rule.name}\n`), rule.name).toBe(true);
      }
    });

    it("has at least one firing and one non-firing case (Watchdog: constant, always fires)", () => {
      for (const rule of rules) {
        const firing = rule.cases.filter((entry) => entry.expectedAlerts.length > 0);
        const quiet = rule.cases.filter((entry) => entry.expectedAlerts.length === 0);
        expect(firing.length, rule.name).toBeGreaterThan(0);
        if (rule.alwaysFires) {
          expect(rule.name).toBe(WATCHDOG_ALERT);
          expect(rule.expr).toBe("vector(1)");
        } else {
          expect(quiet.length, rule.name).toBeGreaterThan(0);
        }
      }
    });

    it("keeps the instance label on per-host alerts, which inhibition matches on", () => {
      const fleetWide = new Set([
        "TooFewTargets",
        WATCHDOG_ALERT,
        "PrometheusConfigReloadFailed",
        "PrometheusSDFailing",
        "PrometheusRuleEvaluationFailures",
        "AlertmanagerNotificationsFailing",
        "SloErrorBudgetBurnFast",
        "SloErrorBudgetBurnSlow",
      ]);
      for (const rule of rules) {
        for (const entry of rule.cases) {
          for (const alert of entry.expectedAlerts) {
            if (fleetWide.has(rule.name)) continue;
            expect(alert.labels.instance, `${rule.name}: ${entry.name}`).toBeTruthy();
          }
        }
      }
      expect(rules.map((rule) => rule.name)).toContain(HOST_UNREACHABLE_ALERT);
    });

    it("selects only jobs that prometheus.yml defines", () => {
      const jobs = new Set(
        YAML.parse(renderPrometheusConfig(withReliability(withEveryExporter(config)))).scrape_configs.map(
          (job: Parsed) => job.job_name,
        ),
      );
      for (const rule of rules) {
        for (const match of rule.expr.matchAll(/job(=~?)"([^"]+)"/g)) {
          const names = match[1] === "=~" ? (match[2] ?? "").split("|") : [match[2] ?? ""];
          for (const name of names) expect(jobs.has(name), `${rule.name} selects job ${name}`).toBe(true);
        }
      }
    });
  },
);

describe("rendered rule files", () => {
  const config = sampleStackConfig();
  const files = renderRuleFiles(config);

  it("carry severity, summary, description and a runbook_url for every alert", () => {
    for (const [file, text] of Object.entries(files)) {
      for (const group of YAML.parse(text).groups) {
        expect(`${group.name}.yml`).toBe(file);
        for (const rule of group.rules) {
          // Recording rules (a job's scrape limit, an SLO's ratios) carry a series name instead.
          if (rule.record !== undefined) {
            const keys = rule.labels === undefined ? ["expr", "record"] : ["expr", "labels", "record"];
            expect(Object.keys(rule).sort(), rule.record).toEqual(keys);
            continue;
          }
          expect(Object.keys(rule).sort(), rule.alert).toEqual([
            "alert",
            "annotations",
            "expr",
            "for",
            "labels",
          ]);
          expect(rule.labels.severity).toBeTruthy();
          expect(Object.keys(rule.annotations).sort()).toEqual(["description", "runbook_url", "summary"]);
          // No runbookBaseUrl: the alert's panel on Grafana's Runbooks dashboard (placeholder URL here).
          expect(rule.annotations.runbook_url).toBe(
            `${GRAFANA_ROOT_URL_PLACEHOLDER}/d/${RUNBOOKS_DASHBOARD_UID}?viewPanel=panel-${runbookPanelId(rule.alert)}`,
          );
        }
      }
    }
  });

  it("link to the Runbooks dashboard of the Grafana URL they are given, a sub-path kept", () => {
    const withGrafana = renderRuleFiles(config, { grafanaUrl: "https://ops.example.net/grafana/" });
    expect(withGrafana["host.yml"]).toContain(
      `runbook_url: https://ops.example.net/grafana/d/${RUNBOOKS_DASHBOARD_UID}?viewPanel=panel-${runbookPanelId("HostUnreachable")}\n`,
    );
  });

  it("take the runbook base URL from the stack's runbookBaseUrl, over any Grafana URL", () => {
    const other = renderRuleFiles(
      { ...config, alerting: { ...config.alerting, runbookBaseUrl: "https://git.example.org/obs/runbooks" } },
      { grafanaUrl: "https://ops.example.net/" },
    );
    expect(other["host.yml"]).toContain(
      "runbook_url: https://git.example.org/obs/runbooks/HostUnreachable.md",
    );
  });

  it("load exporter groups only for exporters some host enabled", () => {
    expect(Object.keys(files).sort()).toEqual([
      "containers.yml",
      "exporter-nginx.yml",
      "exporter-postgres.yml",
      "exporter-redis.yml",
      "host.yml",
      "scrape-limits.yml",
      "self-monitoring.yml",
    ]);
    const bare = sampleStackConfig({
      clients: [
        {
          name: "app-1",
          instanceType: "t3.micro",
          architecture: "x86_64",
          rootVolumeGb: 16,
          exporters: [],
          exporterSettings: {},
        },
      ],
      externalHosts: [],
    });
    expect(Object.keys(renderRuleFiles(bare)).filter((name) => name.startsWith("exporter-"))).toEqual([]);
    const exporterDown = buildRuleGroups(bare)
      .flatMap((group) => group.rules)
      .find((rule) => rule.name === "ExporterDown");
    expect(exporterDown?.expr).toBe('up{job=~"process|cadvisor"} == 0');
  });

  it("are deterministic, tests included", () => {
    expect(renderRuleFiles(config)).toEqual(files);
    expect(JSON.stringify(renderRuleTests(config))).toBe(JSON.stringify(renderRuleTests(config)));
  });

  it("keep their tests out of the rules glob", () => {
    for (const name of Object.keys(renderRuleTests(config))) expect(name).toMatch(/^tests\/[^/]+\.yml$/);
    for (const name of Object.keys(files)) expect(name).not.toContain("/");
  });
});

describe("coverage against the reference rule sets", () => {
  const names = new Set(
    [sampleStackConfig(), ...realStacks.map((stack) => stack.config)].flatMap((config) =>
      everyAlert(config).map((alert) => alert.name),
    ),
  );

  it("answers every failure mode: an alert that exists, or the reason it is left out", () => {
    for (const set of REFERENCE_SETS) {
      expect(set.source, set.name).toMatch(/v\d+\.\d+\.\d+|commit [0-9a-f]{7}/);
      for (const row of set.rows) {
        for (const name of row.ours)
          expect(names.has(name), `${set.name}: ${row.mode} -> ${name}`).toBe(true);
        if (row.ours.length === 0) expect(row.note ?? "", `${set.name}: ${row.mode}`).not.toBe("");
      }
    }
  });

  it("is counted in the README's feature list", () => {
    const { covered, total } = coverageCounts();
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`${covered} of the ${total} failure modes`);
  });
});

describe("runbooks", () => {
  it("exist only for alerts that exist (no orphans)", () => {
    const names = new Set(everyAlert(sampleStackConfig()).map((alert) => alert.name));
    const runbooks = readdirSync(RUNBOOKS_DIR).filter((file) => file.endsWith(".md"));
    for (const file of runbooks) expect(names.has(file.replace(/\.md$/, "")), file).toBe(true);
  });
});

describe("the alert table (docs/alerts.md)", () => {
  it("lists every alert with its for and severity", () => {
    const config = sampleStackConfig();
    const table = renderAlertTable(config);
    for (const rule of everyAlert(config)) {
      const row = table.split("\n").find((line) => line.startsWith(`| [${rule.name}](`));
      expect(row, rule.name).toBeDefined();
      const cells = (row ?? "").split(" | ").map((cell) => cell.trim());
      expect(cells[2], rule.name).toBe(rule.for);
      expect(cells[3], rule.name).toBe(rule.severity);
    }
  });
});
