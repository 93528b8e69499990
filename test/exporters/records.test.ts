/**
 * Every exporter record is wired into every place docs/exporters.md says it is, so adding one is
 * the record and its registry entry: its scrape job renders on its port and path, its alerts'
 * promtool cases fire and stay quiet as stated (real promtool), its dashboard and process groups
 * are rendered, its container and credential files reach the compose file and the deploy's
 * secrets step, its port is opened on the clients to the monitor's security group only (the
 * program under mocks), and no code outside the records names an exporter.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { COMPOSE_FILE, renderClientFiles } from "../../configs/agents/client-compose";
import { exporterServiceName } from "../../configs/agents/optional-exporters";
import { renderProcessExporterConfig } from "../../configs/agents/process-exporter";
import { buildDashboards } from "../../configs/dashboards";
import { AGENTS_DEPLOY_DIR } from "../../configs/deploy-scripts";
import {
  EXPORTER_SETTINGS,
  EXPORTERS,
  type ExporterRecord,
  exporterCredentialFiles,
  exporterUser,
  renderExporterCredentialFiles,
} from "../../configs/exporters";
import { IMAGES } from "../../configs/images";
import { pushedScrapeJobs, renderFileSdTargets, renderPrometheusConfig } from "../../configs/prometheus";
import { renderRuleFiles } from "../../configs/rules";
import { AGENT_PORTS, MONITOR_PORTS, SSH_PORT } from "../../lib/catalog";
import type { SecretSetting } from "../../lib/stack-config";
import { metricNames } from "../support/grafana-queries";
import { isPinnedImage } from "../support/images";
import {
  type ProgramRun,
  resourcesOfType,
  runProgram,
  TEST_SECRET_VALUES,
  unwrapSecret,
} from "../support/pulumi-mocks";
import { renderRuleTests } from "../support/rule-tests";
import { sampleStackConfig } from "../support/sample-config";
import { SECRET_SETTINGS } from "../support/stack-files";
import { everyExporterStack, withEveryExporter } from "../support/stacks";
import { tempDirMaker, writeFiles } from "../support/temp-files";
import { describeRun, runTool, TOOLS } from "../support/tools";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

const ROOT = resolve(__dirname, "..", "..");
const tempDir = tempDirMaker("exporter-records-");

/** The sample stack with no other outside host, plus `lab-1` running every exporter. */
const CONFIG = withEveryExporter(sampleStackConfig({ externalHosts: [] }));
const LAB = CONFIG.externalHosts[0];
/** The sample stack with no exporter on any host. */
const NO_EXPORTERS = sampleStackConfig({
  clients: sampleStackConfig().clients.map((client) => ({ ...client, exporters: [] })),
  externalHosts: [],
});

const byName = (record: ExporterRecord) => [record.name, record] as const;

describe("the registry", () => {
  it("names each exporter once, as a plain lowercase word (job names, settings and files derive from it)", () => {
    const names = EXPORTERS.map((record) => record.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9]*$/);
    expect(EXPORTER_SETTINGS.map((settings) => settings.name)).toEqual(names);
  });

  it("gives every exporter a port of its own, clear of the agents, the monitor's services and SSH", () => {
    const ports = EXPORTERS.map((record) => record.port);
    expect(new Set(ports).size).toBe(ports.length);
    const taken = new Set<number>([...Object.values(AGENT_PORTS), ...Object.values(MONITOR_PORTS), SSH_PORT]);
    for (const record of EXPORTERS) expect(taken.has(record.port), record.name).toBe(false);
  });

  it("pins every exporter image to an exact release", () => {
    for (const record of EXPORTERS) {
      if (record.container) expect(isPinnedImage(record.container.image), record.name).toBe(true);
    }
  });

  it("keeps each password in a secret setting the deploy reads, and each login name in the stack config", () => {
    for (const record of EXPORTERS) {
      const credentials = record.settings.credentials;
      if (!credentials) continue;
      expect(SECRET_SETTINGS as readonly string[], record.name).toContain(credentials.password.key);
      if (credentials.user) expect(exporterUser(CONFIG, record), record.name).toBe(credentials.user.default);
      else expect(exporterUser(CONFIG, record), record.name).toBeUndefined();
    }
  });
});

describe.each(EXPORTERS.map(byName))("the %s record", (name, record) => {
  it("lists exactly the series its alerts and dashboard panels read, besides its up gauge", () => {
    const expressions = [
      ...record.alerts.map((alert) => alert.rule.expr),
      ...record.dashboard
        .panels(`job="${name}"`)
        .flatMap((panel) => panel.queries.map((query) => query.expr)),
    ];
    const read = new Set(
      expressions.flatMap((expr) => metricNames(expr.replaceAll("$__rate_interval", "5m"))),
    );
    read.delete(record.upMetric);
    expect([...read].sort()).toEqual(
      Object.keys(record.metrics)
        .filter((metric) => metric !== record.upMetric)
        .sort(),
    );
    for (const [metric, documented] of Object.entries(record.metrics)) {
      expect(documented.source, metric).toMatch(/^https:\/\//);
    }
  });

  it("renders its scrape job on its port and metrics path, for the hosts that enable it", () => {
    const prometheus = YAML.parse(renderPrometheusConfig(CONFIG)) as Parsed;
    const job = prometheus.scrape_configs.find((entry: Parsed) => entry.job_name === name);
    expect(job, name).toBeDefined();
    expect(job.ec2_sd_configs[0].port).toBe(record.port);
    expect(job.metrics_path ?? "/metrics").toBe(record.metricsPath);
    // Hosts outside AWS are not in file SD: their Alloy scrapes the record's port on loopback
    // (with its metrics path) and pushes, labelled like a pulled host.
    expect(renderFileSdTargets(CONFIG)[`${name}.json`]).toBe("[]\n");
    const pushed = pushedScrapeJobs(CONFIG, LAB as NonNullable<typeof LAB>).find(
      (entry) => entry.job === name,
    );
    expect(pushed).toMatchObject({
      address: `127.0.0.1:${record.port}`,
      labels: { instance: LAB?.name, host_type: "external", environment: CONFIG.stack },
    });
    expect(pushed?.metricsPath ?? "/metrics").toBe(record.metricsPath);
    const without = YAML.parse(renderPrometheusConfig(NO_EXPORTERS)) as Parsed;
    expect(without.scrape_configs.map((entry: Parsed) => entry.job_name)).not.toContain(name);
  });

  it("renders its alert group, whose promtool cases fire and stay quiet as stated", () => {
    const group = `exporter-${name}.yml`;
    const rules = renderRuleFiles(CONFIG)[group];
    const tests = renderRuleTests(CONFIG)[`tests/${group}`];
    expect(rules, group).toBeDefined();
    expect(renderRuleFiles(NO_EXPORTERS)[group]).toBeUndefined();
    const alerts = (YAML.parse(rules ?? "") as Parsed).groups[0].rules.map((rule: Parsed) => rule.alert);
    expect(alerts).toEqual(record.alerts.map((alert) => alert.rule.name));
    for (const { rule } of record.alerts) {
      expect(
        rule.cases.some((entry) => entry.expectedAlerts.length > 0),
        rule.name,
      ).toBe(true);
      expect(
        rule.cases.some((entry) => entry.expectedAlerts.length === 0),
        rule.name,
      ).toBe(true);
    }

    const run = (testFile: string) => {
      const dir = tempDir();
      const [, testPath] = writeFiles(dir, { [group]: rules ?? "", [`tests/${group}`]: testFile });
      const args = ["test", "rules", testPath as string];
      return { args, result: runTool(TOOLS.promtool, args) };
    };
    const passing = run(tests ?? "");
    expect(passing.result.status, describeRun(TOOLS.promtool, passing.args, passing.result)).toBe(0);
    // The same cases with every expectation emptied must fail: the firing cases really fire.
    const emptied = YAML.parse(tests ?? "") as Parsed;
    for (const test of emptied.tests) for (const check of test.alert_rule_test) check.exp_alerts = [];
    expect(run(YAML.stringify(emptied)).result.status).not.toBe(0);
  });

  it("renders its dashboard, its status panel on the record's up gauge", () => {
    const dashboard = buildDashboards(CONFIG)[`exporter-${name}.json`];
    expect(dashboard?.title).toBe(record.title);
    expect(dashboard?.uid).toBe(`obs-exporter-${name}`);
    const status = (dashboard?.panels ?? []).find((panel) => panel.type === "stat") as Parsed;
    expect(status.targets[0].expr).toMatch(new RegExp(`^${record.upMetric}\\{job="${name}"`));
    const keySeries = (dashboard?.panels ?? []).filter((panel) => panel.type === "timeseries");
    expect(keySeries.map((panel) => panel.title)).toEqual(
      record.dashboard.panels("").map((panel) => panel.title),
    );
    expect(buildDashboards(NO_EXPORTERS)[`exporter-${name}.json`]).toBeUndefined();
  });

  it("puts its process groups in every host's process-exporter config, narrower groups first", () => {
    const names = (YAML.parse(renderProcessExporterConfig()) as Parsed).process_names.map(
      (rule: Parsed) => rule.name,
    );
    for (const group of record.processGroups) {
      expect(names).toContain(group.name);
      if (group.beforeGeneralGroups) {
        const general = names.findIndex((other: string) => group.comm?.includes(other));
        expect(general, group.name).toBeGreaterThan(names.indexOf(group.name));
      }
    }
  });

  it("runs its container, reading its credential files, on the hosts that enable it", () => {
    const compose = YAML.parse(
      renderClientFiles(CONFIG, LAB as NonNullable<typeof LAB>)[COMPOSE_FILE] as string,
    ) as Parsed;
    const service = compose.services[exporterServiceName(record)];
    if (!record.container) {
      expect(service).toBeUndefined();
      expect(exporterCredentialFiles(record)).toEqual([]);
      return;
    }
    expect(service.image).toBe(record.container.image);
    for (const file of exporterCredentialFiles(record)) {
      if (file.delivery === "compose-secret") {
        expect(service.secrets).toContain(file.name);
        expect(compose.secrets[file.name]).toEqual({ file: `./${file.path}` });
      } else {
        expect(service.env_file).toContain(`./${file.path}`);
      }
    }
  });
});

describe("the program under mocks, with every exporter on one client and one outside host", () => {
  let run: ProgramRun;
  let dev: ProgramRun;

  beforeAll(async () => {
    const { stack, configOverrides } = everyExporterStack();
    run = await runProgram(stack, { configOverrides });
    dev = await runProgram("dev");
  });

  /** `port from <referenced group name>` for every ingress rule on the clients' security group. */
  function clientIngress(program: ProgramRun): string[] {
    const groups = resourcesOfType(program, "aws:ec2/securityGroup:SecurityGroup");
    const nameOf = (id: unknown) => groups.find((group) => group.id === id)?.name ?? `cidr`;
    const clients = groups.find((group) => group.name.endsWith("-clients"));
    return resourcesOfType(program, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((rule) => rule.inputs.securityGroupId === clients?.id)
      .map((rule) => {
        const { fromPort, toPort, cidrIpv4, referencedSecurityGroupId } = rule.inputs as Parsed;
        expect(toPort).toBe(fromPort);
        return `${fromPort} from ${cidrIpv4 !== undefined ? `cidr ${cidrIpv4}` : nameOf(referencedSecurityGroupId)}`;
      });
  }

  it.each(EXPORTERS.map(byName))("opens %s's port on the clients to the monitor only", (_, record) => {
    const rules = clientIngress(run).filter((rule) => rule.startsWith(`${record.port} `));
    expect(rules).toEqual([`${record.port} from dev-network-monitor`]);
    const enabledInDev =
      run.stackConfig &&
      dev.stackConfig.clients.some((client) => (client.exporters as readonly string[]).includes(record.name));
    expect(clientIngress(dev).some((rule) => rule.startsWith(`${record.port} `))).toBe(enabledInDev);
  });

  it.each(EXPORTERS.filter((record) => record.credentials).map(byName))(
    "writes %s's credential files on the client, with their owner, mode and content",
    (_, record) => {
      const step = resourcesOfType(run, "command:remote:Command").find((command) =>
        command.name.endsWith("-deploy-app-1-secrets"),
      );
      const script = String(unwrapSecret(step?.inputs.stdin));
      const passwordKey = record.settings.credentials?.password.key as SecretSetting;
      const contents = renderExporterCredentialFiles(record, {
        user: exporterUser(run.stackConfig, record),
        password: TEST_SECRET_VALUES[passwordKey],
      });
      for (const file of exporterCredentialFiles(record)) {
        const head = `put_secret ${AGENTS_DEPLOY_DIR}/${file.path} ${file.ownerUid}:${file.ownerUid} ${file.mode} <<'`;
        const at = script.indexOf(head);
        expect(at, head).toBeGreaterThanOrEqual(0);
        const body = script.slice(script.indexOf("\n", at) + 1);
        expect(body.startsWith(contents[file.path] ?? "<none>"), file.path).toBe(true);
      }
    },
  );
});

// -- No code outside the records names an exporter ----------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every string literal (template pieces included) and property name in a TypeScript file. */
function literalsOf(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) found.push(node.text);
    else if (ts.isPropertyAssignment(node) || ts.isPropertyAccessExpression(node))
      found.push(node.name.getText(source));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("code outside the records", () => {
  const files = [
    ...["configs", "components", "lib", "scripts"].flatMap((dir) => sourceFiles(join(ROOT, dir))),
    join(ROOT, "index.ts"),
  ]
    .map((path) => relative(ROOT, path))
    .filter((path) => !EXPORTERS.some((record) => path === `configs/exporters/${record.name}.ts`))
    // The registry imports each record by its file name.
    .filter((path) => path !== "configs/exporters/index.ts")
    // The push gateway is nginx the web server (its config syntax, binary and files), which no
    // exporter record is about; its image is allowed in images.ts below.
    .filter((path) => path !== "configs/gateway.ts" && path !== "configs/nginx-syntax.ts");

  it("covers the layers (and the scan finds names where they are)", () => {
    expect(files).toContain("configs/prometheus.ts");
    expect(files).toContain("components/network.ts");
    expect(literalsOf(join(ROOT, "configs/exporters/nginx.ts"))).toContain("nginx");
  });

  it.each(files)("%s names no exporter", (path) => {
    const names = EXPORTERS.map((record) => record.name);
    const pattern = new RegExp(`(^|[^a-z])(${names.join("|")})($|[^a-z])`);
    expect(
      literalsOf(join(ROOT, path)).filter((text) => pattern.test(text) && text !== IMAGES.gateway),
    ).toEqual([]);
  });
});
