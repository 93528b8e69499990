/**
 * prometheus.yml, file SD targets and flags: checked by Debian sid's promtool (3.5; the pinned
 * image is 3.14) for the sample config and every real stack, and structurally for what promtool
 * cannot know (the region is written in, discovery is scoped to this stack, one `instance` per
 * host, only fields the pinned version accepts and the tested one checks).
 *
 * One field is newer than the promtool here: `storage.tsdb.retention` (Prometheus 3.8). While the
 * promtool here predates it, promtool checks the file without it and the real Prometheus here
 * parses its values as the equivalent flags (retentionForLocalPrometheus); once the promtool here
 * is 3.8 or later, it checks the file exactly as rendered.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { EXPORTERS } from "../configs/exporters";
import {
  prometheusFlags,
  pushedScrapeJobs,
  renderFileSdTargets,
  renderPrometheusConfig,
} from "../configs/prometheus";
import { renderRuleFiles } from "../configs/rules";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import type { StackConfig } from "../lib/stack-config";
import {
  RETENTION_IN_CONFIG_SINCE,
  readsRetentionFromConfig,
  retentionForLocalPrometheus,
  retentionForPrometheus,
} from "./support/loopback";
import { sampleStackConfig } from "./support/sample-config";
import { loadRealStacks, type NamedConfig, sampleConfigs, withEveryExporter } from "./support/stacks";
import { tempDirMaker, writeFiles } from "./support/temp-files";
import { describeRun, runTool, TOOLS } from "./support/tools";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

const tempDir = tempDirMaker("prometheus-config-");

const realStacks = loadRealStacks();
const configsToCheck: NamedConfig[] = [...sampleConfigs(), ...realStacks];

it("finds the real stacks (dev and prod at least)", () => {
  expect(realStacks.map((stack) => stack.name)).toEqual(expect.arrayContaining(["dev", "prod"]));
});

/** A VPC id as `pulumi up` hands it to the renderer. */
const DEPLOYED_VPC_ID = "vpc-0a1b2c3d4e5f60718";
/** The discovery VPC of a stack that creates its VPC, rendered before `pulumi up`. */
const VPC_ID_PLACEHOLDER = "<vpc-id: known after pulumi up>";
/** Samples one scrape may return before it fails (global `sample_limit`). */
const SCRAPE_SAMPLE_LIMIT = 50_000;

/** Every EC2 SD block of a rendered prometheus.yml, with its job name. */
function ec2Blocks(rendered: string): { job: string; block: Parsed }[] {
  const document: Parsed = YAML.parse(rendered);
  return document.scrape_configs.flatMap((job: Parsed) =>
    (job.ec2_sd_configs ?? []).map((block: Parsed) => ({ job: job.job_name, block })),
  );
}

describe.each(configsToCheck)("EC2 discovery scoped to the stack's VPC: $name", ({ config }) => {
  it("filters every EC2 SD block on the deployed VPC, or the configured one before deploy", () => {
    const deployed = ec2Blocks(renderPrometheusConfig(config, {}, { vpcId: DEPLOYED_VPC_ID }));
    expect(deployed.length).toBeGreaterThanOrEqual(4);
    for (const { job, block } of deployed) {
      expect(block.filters, job).toContainEqual({ name: "vpc-id", values: [DEPLOYED_VPC_ID] });
    }
    const beforeDeploy = config.network.mode === "existing" ? config.network.vpcId : VPC_ID_PLACEHOLDER;
    for (const { job, block } of ec2Blocks(renderPrometheusConfig(config))) {
      expect(block.filters, job).toContainEqual({ name: "vpc-id", values: [beforeDeploy] });
    }
  });
});

describe("the discovery VPC", () => {
  /** The VPC every EC2 SD block of the rendered config filters on (one for all of them). */
  const discoveryVpcId = (config: StackConfig, deployed: { vpcId?: string } = {}): string => {
    const vpcIds = ec2Blocks(renderPrometheusConfig(config, {}, deployed)).map(
      ({ block }) => block.filters.find((filter: Parsed) => filter.name === "vpc-id").values[0],
    );
    expect(new Set(vpcIds).size).toBe(1);
    return vpcIds[0];
  };

  it("prefers the deployed VPC, then the existing VPC of the config, then a placeholder", () => {
    const created = sampleStackConfig({
      network: { mode: "create", vpcCidr: "10.0.0.0/16", subnetCidr: "10.0.1.0/24" },
    });
    const existing = sampleStackConfig({
      network: { mode: "existing", vpcId: "vpc-0existing0000000", subnetId: "subnet-0existing000000" },
    });
    expect(discoveryVpcId(created)).toBe(VPC_ID_PLACEHOLDER);
    expect(discoveryVpcId(created, { vpcId: DEPLOYED_VPC_ID })).toBe(DEPLOYED_VPC_ID);
    expect(discoveryVpcId(existing)).toBe("vpc-0existing0000000");
    expect(discoveryVpcId(existing, { vpcId: DEPLOYED_VPC_ID })).toBe(DEPLOYED_VPC_ID);
  });
});

describe.each(configsToCheck)("promtool check config: $name", ({ config }) => {
  it("accepts prometheus.yml with its rule files and file SD targets", () => {
    const dir = tempDir();
    const rendered = renderPrometheusConfig(
      config,
      { ruleFiles: join(dir, "rules", "*.yml"), fileSdDir: join(dir, "file_sd") },
      { vpcId: DEPLOYED_VPC_ID },
    );
    const ruleFiles = renderRuleFiles(config);
    const local = retentionForLocalPrometheus(rendered, TOOLS.promtool);
    writeFiles(dir, {
      "prometheus.yml": local.prometheusYml,
      ...Object.fromEntries(Object.entries(ruleFiles).map(([name, text]) => [`rules/${name}`, text])),
      ...Object.fromEntries(
        Object.entries(renderFileSdTargets(config)).map(([name, text]) => [`file_sd/${name}`, text]),
      ),
    });
    const args = ["check", "config", join(dir, "prometheus.yml")];
    const result = runTool(TOOLS.promtool, args);
    expect(result.status, describeRun(TOOLS.promtool, args, result)).toBe(0);
    // promtool loaded every rule file through the glob, not zero of them.
    expect(result.stdout).toContain(`SUCCESS: ${Object.keys(ruleFiles).length} rule files found`);
    // A file SD file that is missing only earns a warning: every job's file must exist.
    expect(result.stdout + result.stderr).not.toMatch(/WARNING/i);
  });

  it("keeps retention in prometheus.yml, in a form the real Prometheus here parses", () => {
    const rendered = renderPrometheusConfig(config);
    const local = retentionForLocalPrometheus(rendered);
    expect(local.retention).toEqual({
      time: config.metrics.retentionTime,
      ...(config.metrics.retentionSize ? { size: config.metrics.retentionSize } : {}),
    });
    if (readsRetentionFromConfig()) {
      // 3.8 or later: promtool checked the block above, as rendered.
      expect(local.prometheusYml).toBe(rendered);
      return;
    }
    // Older: the same values as the deprecated flags, parsed by the same types. Prometheus parses
    // every flag before it reads its config, so a missing config file is the first error when the
    // flags are valid (and nothing is started).
    const dir = tempDir();
    const args = [
      ...local.flags,
      `--config.file=${join(dir, "absent.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
    ];
    const result = runTool(TOOLS.prometheus, args);
    const output = result.stdout + result.stderr;
    expect(output, describeRun(TOOLS.prometheus, args, result)).toContain("Error loading config");
    expect(output).not.toContain("Error parsing command line arguments");
  });
});

describe("retention for the Prometheus here", () => {
  const rendered = renderPrometheusConfig(
    sampleStackConfig({
      metrics: {
        scrapeInterval: "30s",
        evaluationInterval: "30s",
        retentionTime: "30d",
        retentionSize: "150GB",
      },
    }),
  );

  it("stays in prometheus.yml for Prometheus 3.8 and later", () => {
    expect(retentionForPrometheus(rendered, RETENTION_IN_CONFIG_SINCE)).toEqual({
      prometheusYml: rendered,
      flags: [],
      retention: { time: "30d", size: "150GB" },
    });
  });

  it("moves to the equivalent flags for an older one, and nothing else changes", () => {
    const moved = retentionForPrometheus(rendered, "3.5.3");
    expect(moved.flags).toEqual(["--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=150GB"]);
    const { storage, ...rest } = YAML.parse(rendered);
    expect(storage).toEqual({ tsdb: { retention: { time: "30d", size: "150GB" } } });
    expect(YAML.parse(moved.prometheusYml)).toEqual(rest);
  });

  it("refuses a retention field an older Prometheus has no flag for, rather than dropping it", () => {
    const withPercentage = YAML.stringify({
      storage: { tsdb: { retention: { time: "1d", percentage: 80 } } },
    });
    expect(() => retentionForPrometheus(withPercentage, "3.5.3")).toThrow(/percentage has no flag/);
  });
});

describe("prometheusFlags", () => {
  it("are all known to the real Prometheus binary", () => {
    // `--help` after the flags: kingpin rejects an unknown flag before printing help.
    const args = [...prometheusFlags(), "--help"];
    const result = runTool(TOOLS.prometheus, args);
    expect(result.status, describeRun(TOOLS.prometheus, args, result)).toBe(0);
  });

  it("carry lifecycle reload and no retention (deprecated since 3.8: retention is in prometheus.yml)", () => {
    const withSize = sampleStackConfig({
      metrics: {
        scrapeInterval: "30s",
        evaluationInterval: "30s",
        retentionTime: "30d",
        retentionSize: "150GB",
      },
    });
    expect(prometheusFlags()).toContain("--web.enable-lifecycle");
    expect(prometheusFlags().filter((flag) => flag.includes("retention"))).toEqual([]);
    expect(YAML.parse(renderPrometheusConfig(withSize)).storage).toEqual({
      tsdb: { retention: { time: "30d", size: "150GB" } },
    });
    expect(YAML.parse(renderPrometheusConfig(sampleStackConfig())).storage).toEqual({
      tsdb: { retention: { time: "15d" } },
    });
  });

  it("give the SSH tunnel's address as the external URL, never a container name", () => {
    expect(prometheusFlags()).toContain("--web.external-url=http://localhost:9090");
  });

  it("leave the remote-write receiver off: every metric is pulled, nothing pushes into Prometheus", () => {
    expect(prometheusFlags()).not.toContain("--web.enable-remote-write-receiver");
  });

  it("use only flags that exist, undeprecated, in Prometheus 3.5 (tested here) and 3.14 (pinned)", () => {
    const bothVersions = new Set([
      "--config.file",
      "--storage.tsdb.path",
      "--web.enable-lifecycle",
      "--web.enable-remote-write-receiver",
      "--web.external-url",
    ]);
    for (const flag of prometheusFlags()) {
      expect(bothVersions.has(flag.split("=")[0] ?? ""), flag).toBe(true);
    }
  });
});

/** Walks a parsed YAML value and reports every key path whose key is not in the allow list. */
function unknownKeys(value: Parsed, allowed: Record<string, readonly string[]>, path: string): string[] {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap((item) => unknownKeys(item, allowed, `${path}[]`));
  const keys = allowed[path];
  if (keys === undefined) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    keys.includes(key) ? unknownKeys(child, allowed, `${path}.${key}`) : [`${path}.${key}`],
  );
}

/**
 * Fields the pinned Prometheus (3.14) accepts. Each is checked by the promtool here (3.5) but
 * `storage.tsdb.retention` (3.8; see retentionForLocalPrometheus). A new field must be added here
 * on purpose, after checking the pinned version's config structs, and the promtool here checks it
 * too unless it is newer than 3.5, in which case it needs the same handling as retention.
 */
const PORTABLE_FIELDS: Record<string, readonly string[]> = {
  "": ["global", "storage", "alerting", "rule_files", "scrape_configs"],
  ".global": ["scrape_interval", "evaluation_interval", "sample_limit", "external_labels"],
  ".storage": ["tsdb"],
  ".storage.tsdb": ["retention"],
  ".storage.tsdb.retention": ["time", "size"],
  ".alerting": ["alertmanagers"],
  ".alerting.alertmanagers[]": ["static_configs"],
  ".alerting.alertmanagers[].static_configs[]": ["targets"],
  ".scrape_configs[]": [
    "job_name",
    "metrics_path",
    "static_configs",
    "ec2_sd_configs",
    "file_sd_configs",
    "relabel_configs",
    "sample_limit",
    "target_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
  ],
  ".scrape_configs[].static_configs[]": ["targets", "labels"],
  ".scrape_configs[].ec2_sd_configs[]": ["region", "endpoint", "port", "refresh_interval", "filters"],
  ".scrape_configs[].ec2_sd_configs[].filters[]": ["name", "values"],
  ".scrape_configs[].file_sd_configs[]": ["files"],
  ".scrape_configs[].relabel_configs[]": [
    "source_labels",
    "separator",
    "regex",
    "target_label",
    "replacement",
    "action",
  ],
};

function jobByName(document: Parsed, name: string): Parsed {
  const job = document.scrape_configs.find((entry: Parsed) => entry.job_name === name);
  if (!job) throw new Error(`no scrape job ${name}`);
  return job;
}

/** Applies a relabel regex the way Prometheus does: fully anchored. */
function relabelMatches(regex: string, value: string): boolean {
  return new RegExp(`^(?:${regex})$`).test(value);
}

describe("renderPrometheusConfig structure", () => {
  const config = withEveryExporter(sampleStackConfig({ region: "ap-southeast-2", stack: "staging" }));
  const text = renderPrometheusConfig(config);
  const document: Parsed = YAML.parse(text);
  const hostJobs: [string, number][] = [
    ["node", AGENT_PORTS.nodeExporter],
    ["process", AGENT_PORTS.processExporter],
    ["cadvisor", AGENT_PORTS.cadvisor],
    ["alloy", AGENT_PORTS.alloy],
    ...EXPORTERS.map((record): [string, number] => [record.name, record.port]),
  ];

  it("uses only fields the pinned Prometheus accepts and the promtool here checks (retention aside)", () => {
    expect(unknownKeys(document, PORTABLE_FIELDS, "")).toEqual([]);
  });

  it("contains no environment-variable placeholders (Prometheus expands none)", () => {
    expect(text).not.toContain("${");
    expect(renderPrometheusConfig(sampleStackConfig())).not.toContain("${");
  });

  it("takes intervals from config and labels everything with the environment", () => {
    const other = YAML.parse(
      renderPrometheusConfig(
        sampleStackConfig({
          stack: "prod",
          metrics: { scrapeInterval: "15s", evaluationInterval: "20s", retentionTime: "30d" },
        }),
      ),
    );
    expect(other.global).toEqual({
      scrape_interval: "15s",
      evaluation_interval: "20s",
      sample_limit: SCRAPE_SAMPLE_LIMIT,
      external_labels: { environment: "prod" },
    });
    expect(document.global.external_labels).toEqual({ environment: "staging" });
  });

  it("sends alerts to Alertmanager and loads the rules glob", () => {
    expect(document.alerting.alertmanagers).toEqual([
      { static_configs: [{ targets: ["alertmanager:9093"] }] },
    ]);
    expect(document.rule_files).toEqual(["/etc/prometheus/rules/*.yml"]);
  });

  it("scrapes every monitor-side service as instance=monitor", () => {
    const monitorTargets: Record<string, string> = {
      prometheus: `prometheus:${MONITOR_PORTS.prometheus}`,
      alertmanager: `alertmanager:${MONITOR_PORTS.alertmanager}`,
      loki: `loki:${MONITOR_PORTS.loki}`,
      grafana: `grafana:${MONITOR_PORTS.grafana}`,
      node: `node-exporter:${AGENT_PORTS.nodeExporter}`,
      process: `process-exporter:${AGENT_PORTS.processExporter}`,
      cadvisor: `cadvisor:${AGENT_PORTS.cadvisor}`,
      alloy: `alloy:${AGENT_PORTS.alloy}`,
    };
    for (const [job, target] of Object.entries(monitorTargets)) {
      expect(jobByName(document, job).static_configs, job).toEqual([
        { targets: [target], labels: { instance: "monitor", host_type: "monitor" } },
      ]);
    }
  });

  it("lets a test point the monitor-side jobs and EC2 SD at loopback", () => {
    const loopback = YAML.parse(
      renderPrometheusConfig(config, {
        prometheus: "127.0.0.1:19090",
        alertmanager: "127.0.0.1:19093",
        nodeExporter: "127.0.0.1:19100",
        ec2Endpoint: "http://127.0.0.1:18080",
        fileSdDir: "/tmp/sd/",
        ruleFiles: "/tmp/rules/*.yml",
      }),
    );
    expect(jobByName(loopback, "prometheus").static_configs[0].targets).toEqual(["127.0.0.1:19090"]);
    expect(jobByName(loopback, "node").static_configs[0].targets).toEqual(["127.0.0.1:19100"]);
    expect(loopback.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["127.0.0.1:19093"]);
    expect(loopback.rule_files).toEqual(["/tmp/rules/*.yml"]);
    for (const [job] of hostJobs) {
      expect(jobByName(loopback, job).ec2_sd_configs[0].endpoint).toBe("http://127.0.0.1:18080");
      expect(jobByName(loopback, job).file_sd_configs).toEqual([{ files: [`/tmp/sd/${job}.json`] }]);
    }
    // Without an override there is no endpoint: the SDK's regional default applies.
    expect(jobByName(document, "node").ec2_sd_configs[0]).not.toHaveProperty("endpoint");
  });

  it("has one job per exporter port, discovered in this stack's region among its running, tagged hosts", () => {
    for (const [job, port] of hostJobs) {
      const scrape = jobByName(document, job);
      expect(scrape.ec2_sd_configs, job).toHaveLength(1);
      const ec2 = scrape.ec2_sd_configs[0];
      expect(ec2.region).toBe("ap-southeast-2");
      expect(ec2.port).toBe(port);
      expect(ec2.filters).toEqual([
        {
          name: "vpc-id",
          values: [config.network.mode === "existing" ? config.network.vpcId : VPC_ID_PLACEHOLDER],
        },
        { name: "tag:Scrape", values: ["true"] },
        { name: "tag:Environment", values: ["staging"] },
        { name: "instance-state-name", values: ["running"] },
      ]);
      const addressRule = scrape.relabel_configs.find((rule: Parsed) => rule.target_label === "__address__");
      expect(addressRule).toMatchObject({
        source_labels: ["__meta_ec2_private_ip"],
        replacement: `$1:${port}`,
      });
      const instanceRule = scrape.relabel_configs.find((rule: Parsed) => rule.target_label === "instance");
      expect(instanceRule).toMatchObject({ source_labels: ["__meta_ec2_tag_Name"], regex: "(.+)" });
    }
    const jobNames = document.scrape_configs.map((job: Parsed) => job.job_name);
    expect(new Set(jobNames).size).toBe(jobNames.length);
  });

  it("scrapes Jenkins on its plugin's /prometheus path and every other job on /metrics", () => {
    expect(jobByName(document, "jenkins").metrics_path).toBe("/prometheus");
    for (const job of document.scrape_configs.filter((entry: Parsed) => entry.job_name !== "jenkins")) {
      expect(job.metrics_path, job.job_name).toBeUndefined();
    }
    for (const record of EXPORTERS) {
      expect(jobByName(document, record.name).metrics_path ?? "/metrics", record.name).toBe(
        record.metricsPath,
      );
    }
  });

  it("scrapes an optional exporter only on EC2 hosts whose Exporters tag lists it", () => {
    for (const exporter of EXPORTERS.map((record) => record.name)) {
      const keep = jobByName(document, exporter).relabel_configs.find(
        (rule: Parsed) => rule.action === "keep",
      );
      expect(keep.source_labels).toEqual(["__meta_ec2_instance_id", "__meta_ec2_tag_Exporters"]);
      const joined = (tag: string) => `i-0abc;${tag}`;
      expect(relabelMatches(keep.regex, joined(exporter)), exporter).toBe(true);
      expect(relabelMatches(keep.regex, joined(`redis,${exporter},mysql`))).toBe(true);
      expect(relabelMatches(keep.regex, joined(`${exporter},x`))).toBe(true);
      expect(relabelMatches(keep.regex, joined(""))).toBe(false);
      expect(relabelMatches(keep.regex, joined(`${exporter}x`))).toBe(false);
      expect(relabelMatches(keep.regex, joined(`x${exporter}`))).toBe(false);
      // Static and file SD targets have no EC2 meta labels: kept (file SD lists only enabled hosts).
      expect(relabelMatches(keep.regex, ";")).toBe(true);
    }
    const redisKeep = jobByName(document, "redis").relabel_configs.find(
      (rule: Parsed) => rule.action === "keep",
    );
    expect(relabelMatches(redisKeep.regex, "i-0abc;nginx,redis")).toBe(true);
    for (const job of ["node", "process", "cadvisor", "alloy"]) {
      expect(jobByName(document, job).relabel_configs.some((rule: Parsed) => rule.action === "keep")).toBe(
        false,
      );
    }
  });

  it("renders jobs only for optional exporters some host enabled", () => {
    const plain = YAML.parse(renderPrometheusConfig(sampleStackConfig()));
    const jobNames: string[] = plain.scrape_configs.map((job: Parsed) => job.job_name);
    // Sample: web-1 nginx, db-1 postgres + redis.
    const exporterNames = EXPORTERS.map((record) => record.name);
    expect(jobNames.filter((job) => exporterNames.includes(job)).sort()).toEqual([
      "nginx",
      "postgres",
      "redis",
    ]);
  });

  it("is deterministic", () => {
    expect(renderPrometheusConfig(config)).toBe(text);
    expect(renderFileSdTargets(config)).toEqual(renderFileSdTargets(config));
    expect(JSON.stringify(renderFileSdTargets(config))).toBe(JSON.stringify(renderFileSdTargets(config)));
  });

  it("defaults the monitor addresses to the compose service names on catalogue ports", () => {
    const targets: string[] = YAML.parse(renderPrometheusConfig(sampleStackConfig())).scrape_configs.flatMap(
      (job: Parsed) => (job.static_configs ?? []).flatMap((group: Parsed) => group.targets as string[]),
    );
    expect(targets).toContain(`grafana:${MONITOR_PORTS.grafana}`);
    expect(targets).toContain(`loki:${MONITOR_PORTS.loki}`);
  });
});

describe("renderFileSdTargets", () => {
  const config = sampleStackConfig({
    externalHosts: [
      {
        name: "onprem-1",
        address: "192.0.2.10",
        sshUser: "deploy",
        exporters: ["mysql"],
        exporterSettings: {},
      },
      { name: "onprem-2", address: "2001:db8::5", sshUser: "deploy", exporters: [], exporterSettings: {} },
    ],
  });
  const files = renderFileSdTargets(config);

  it("lists no host: hosts outside AWS push their metrics instead", () => {
    for (const text of Object.values(files)) expect(JSON.parse(text)).toEqual([]);
  });

  it("gives each outside host's Alloy the jobs, loopback targets and labels of a pulled host", () => {
    const host = config.externalHosts[0] as (typeof config.externalHosts)[number];
    const jobs = pushedScrapeJobs(config, host);
    expect(jobs.map((job) => job.job)).toEqual(["node", "process", "cadvisor", "alloy", "mysql"]);
    for (const job of jobs) {
      expect(job.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(job.labels).toEqual({ instance: "onprem-1", host_type: "external", environment: config.stack });
    }
    expect(jobs.find((job) => job.job === "node")?.address).toBe(`127.0.0.1:${AGENT_PORTS.nodeExporter}`);
    const other = config.externalHosts[1] as (typeof config.externalHosts)[number];
    expect(pushedScrapeJobs(config, other).map((job) => job.job)).not.toContain("mysql");
  });

  it("writes a file for every file SD job in prometheus.yml, so removing the last host empties it", () => {
    const document = YAML.parse(renderPrometheusConfig(config, { fileSdDir: "/sd" }));
    const referenced = document.scrape_configs
      .flatMap((job: Parsed) => job.file_sd_configs ?? [])
      .flatMap((sd: Parsed) => sd.files)
      .map((path: string) => path.replace("/sd/", ""))
      .sort();
    expect(Object.keys(files).sort()).toEqual(referenced);
  });
});
