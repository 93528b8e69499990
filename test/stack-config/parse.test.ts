/**
 * The reader's entry: raw settings in, a deeply frozen StackConfig out, or one StackConfigError
 * listing every problem. Sections are tested on their own (./sections); this file covers what
 * only the whole reading shows: defaults, the result's shape, values one section hands another,
 * secrets, and many problems at once.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import {
  CANONICAL_OWNER_ID,
  CORE_SETTINGS,
  DEFAULT_ALERT_THRESHOLDS,
  DEFAULT_UBUNTU_IMAGE_NAMES,
  missingSecrets,
  PROJECT,
  parseStackConfig,
  type ReadOptions,
  readStackConfig,
  type StackConfig,
  StackConfigError,
} from "../../lib/stack-config";
import { pulumiInvocations } from "../support/pulumi-config-cli";
import { SECRET_SETTINGS, WITH_SECRETS, WITHOUT_SECRETS } from "../support/stack-files";

/** A small valid stack: the least a user must set, plus email alerting. */
function validValues(): Record<string, unknown> {
  return {
    "aws:region": "eu-west-1",
    sshAllowedCidrs: ["203.0.113.10/32"],
    grafanaAllowedCidrs: ["203.0.113.0/24"],
    sshKeyPairName: "ops",
    alertEmailTo: ["oncall@example.com"],
    smtpSmarthost: "email-smtp.eu-west-1.amazonaws.com:587",
    smtpFrom: "alertmanager@example.com",
    smtpUsername: "smtp-user",
  };
}

/** Every secret except the SSH key, which agent login must not have. */
const WITHOUT_SSH_KEY = SECRET_SETTINGS.filter((secret) => secret !== "sshPrivateKey");

function parse(
  overrides: Record<string, unknown> = {},
  secrets: readonly string[] = SECRET_SETTINGS,
  options: ReadOptions = WITH_SECRETS,
): StackConfig {
  const values = { ...validValues(), ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete values[key];
  return parseStackConfig("dev", { values, secretsSet: new Set(secrets) }, options);
}

function errorFor(
  overrides: Record<string, unknown>,
  secrets: readonly string[] = SECRET_SETTINGS,
  options: ReadOptions = WITH_SECRETS,
): StackConfigError {
  try {
    parse(overrides, secrets, options);
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error(`expected a StackConfigError for ${JSON.stringify(overrides)}`);
}

const settingsOf = (error: StackConfigError) => error.problems.map((problem) => problem.setting);

describe("defaults", () => {
  it("fill every setting a minimal stack leaves out", () => {
    const config = parse();
    expect(config).toMatchObject({
      project: PROJECT,
      stack: "dev",
      region: "eu-west-1",
      aws: {},
      tags: {},
      protectData: false,
      pinImageDigests: true,
      slos: [],
      probes: { targets: [], certExpiryDays: 14 },
      network: { mode: "create", vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24" },
      access: { sshUser: "ubuntu", sshAuth: "key", sshKeyPairName: "ops" },
      images: { ubuntuImageNames: DEFAULT_UBUNTU_IMAGE_NAMES, ubuntuImageOwner: CANONICAL_OWNER_ID },
      monitor: { instanceType: "t3.medium", architecture: "x86_64", rootVolumeGb: 20, dataVolumeGb: 50 },
      clients: [{ name: "client-1", instanceType: "t3.small", rootVolumeGb: 16, exporters: [] }],
      externalHosts: [],
      metrics: { scrapeInterval: "30s", evaluationInterval: "30s", retentionTime: "15d" },
      logs: { retentionDays: 30 },
      alerting: { thresholds: DEFAULT_ALERT_THRESHOLDS },
      grafana: {},
    });
    expect(config.metrics).not.toHaveProperty("retentionSize");
    expect(config).not.toHaveProperty("existingInstanceProfile");
    expect(config.images).not.toHaveProperty("amiId");
  });

  it("are the settings table's", () => {
    const config = parse();
    const fromTable = (key: string) => {
      const spec = CORE_SETTINGS.find((candidate) => candidate.key === key);
      return spec && "default" in spec ? spec.default : undefined;
    };
    expect(config.monitor.instanceType).toBe(fromTable("monitorInstanceType"));
    expect(config.clients[0]?.instanceType).toBe(fromTable("clientInstanceType"));
    expect(config.monitor.rootVolumeGb).toBe(fromTable("monitorRootVolumeGb"));
    expect(config.monitor.dataVolumeGb).toBe(fromTable("monitorDataVolumeGb"));
    expect(config.clients[0]?.rootVolumeGb).toBe(fromTable("clientRootVolumeGb"));
    expect(config.metrics.scrapeInterval).toBe(fromTable("scrapeInterval"));
    expect(config.metrics.retentionTime).toBe(fromTable("metricsRetention"));
    expect(config.logs.retentionDays).toBe(fromTable("logRetentionDays"));
    expect(config.alerting.runbookBaseUrl).toBe(fromTable("runbookBaseUrl"));
    expect(config.protectData).toBe(fromTable("protectData"));
    expect(config.pinImageDigests).toBe(fromTable("pinImageDigests"));
  });
});

describe("the result", () => {
  it("is deeply frozen", () => {
    const config = parse({
      clients: [{ name: "web-1", exporters: ["nginx"] }],
      externalHosts: [{ name: "onprem-1", address: "192.0.2.10", sshUser: "deploy" }],
      tags: { Team: "sre" },
    });
    const unfrozen: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (typeof value !== "object" || value === null) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
    };
    walk(config, "config");
    expect(unfrozen).toEqual([]);
    expect(() => {
      (config.clients as unknown as { name: string }[]).push({ name: "x" });
    }).toThrow(TypeError);
    expect(() => {
      (config.access as { sshUser: string }).sshUser = "root";
    }).toThrow(TypeError);
  });

  it("is deterministic: the same input gives deep-equal output, in the same order", () => {
    const overrides = { clients: [{ name: "a-1", exporters: ["redis", "nginx"] }], tags: { B: "2", A: "1" } };
    expect(JSON.stringify(parse(overrides))).toBe(JSON.stringify(parse(overrides)));
  });

  it("is the same from the strings Pulumi stores as from typed values, with or without the namespace", () => {
    const typed = parse({
      logRetentionDays: 14,
      protectData: true,
      clients: [{ name: "web-1", rootVolumeGb: 30, exporters: ["nginx"] }],
      alertThresholds: { cpuPercent: 70 },
      tags: { Team: "sre" },
    });
    const strings = parse({
      [`${PROJECT}:logRetentionDays`]: "14",
      protectData: "true",
      clients: JSON.stringify([{ name: "web-1", rootVolumeGb: "30", exporters: ["nginx"] }]),
      [`${PROJECT}:sshAllowedCidrs`]: '["203.0.113.10/32"]',
      sshAllowedCidrs: undefined,
      alertThresholds: '{"cpuPercent":"70"}',
      tags: '{"Team":"sre"}',
    });
    expect(strings).toEqual(typed);
    expect(strings.logs.retentionDays).toBe(14);
    expect(strings.clients[0]?.rootVolumeGb).toBe(30);
  });

  it("records which secrets are set, never their values", () => {
    const config = parse({ alertEmailTo: [] }, ["grafanaAdminPassword", "sshPrivateKey", "slackWebhookUrl"]);
    expect(Object.keys(config.secretsSet).sort()).toEqual([...SECRET_SETTINGS].sort());
    expect(config.secretsSet.slackWebhookUrl).toBe(true);
    expect(config.secretsSet.smtpPassword).toBe(false);
    expect(config.alerting.email).toBeUndefined();
    expect(config.alerting.slack).toEqual({ channel: "#alerts" });
  });

  it("uses an existing network and instance profile when configured", () => {
    const config = parse({
      existingVpcId: "vpc-0123456789abcdef0",
      existingSubnetId: "subnet-0123456789abcdef0",
      instanceProfileName: "LabInstanceProfile",
    });
    expect(config.network).toEqual({
      mode: "existing",
      vpcId: "vpc-0123456789abcdef0",
      subnetId: "subnet-0123456789abcdef0",
    });
    expect(config.existingInstanceProfile).toBe("LabInstanceProfile");
  });

  it("comes with the reading's warnings: documentation placeholders, each with a pasteable fix", () => {
    const reading = readStackConfig(
      "dev",
      { values: validValues(), secretsSet: new Set(SECRET_SETTINGS) },
      WITH_SECRETS,
    );
    expect(reading.config).toEqual(parse());
    expect(reading.warnings.map((w) => w.setting).sort()).toEqual(
      ["alertEmailTo[0]", "grafanaAllowedCidrs[0]", "smtpFrom", "sshAllowedCidrs[0]"].map(
        (key) => `${PROJECT}:${key}`,
      ),
    );
    for (const warning of reading.warnings) expect(warning.warning).toMatch(/documentation placeholder/);
    const real = readStackConfig(
      "dev",
      {
        values: {
          ...validValues(),
          sshAllowedCidrs: ["81.2.69.160/32"],
          grafanaAllowedCidrs: ["81.2.69.0/24"],
          alertEmailTo: ["oncall@acme.io"],
          smtpFrom: "alertmanager@acme.io",
          runbookBaseUrl: "https://git.acme.io/sre/runbooks",
        },
        secretsSet: new Set(SECRET_SETTINGS),
      },
      WITH_SECRETS,
    );
    expect(real.warnings).toEqual([]);
  });
});

describe("what one section hands another", () => {
  it("the stack's own VPC refuses outside hosts inside it; an existing VPC's range is unknown", () => {
    const inside = { externalHosts: [{ name: "edge-1", address: "10.42.7.9", sshUser: "deploy" }] };
    expect(settingsOf(errorFor(inside))).toEqual([`${PROJECT}:externalHosts[0].address`]);
    expect(
      parse({ ...inside, vpcCidr: "10.50.0.0/16", subnetCidr: "10.50.1.0/24" }).externalHosts,
    ).toHaveLength(1);
    const existing = parse({
      ...inside,
      existingVpcId: "vpc-0123456789abcdef0",
      existingSubnetId: "subnet-0123456789abcdef0",
    });
    expect(existing.externalHosts[0]?.address).toBe("10.42.7.9");
  });

  it("host names are unique across clients and outside hosts", () => {
    const error = errorFor({
      clients: [{ name: "db-1" }],
      externalHosts: [{ name: "db-1", address: "192.0.2.10", sshUser: "deploy" }],
    });
    expect(settingsOf(error)).toEqual([`${PROJECT}:externalHosts[0].name`]);
  });

  it("every EC2 host's architecture decides whether one AMI can serve them all", () => {
    const mixed = { amiId: "ami-0123456789abcdef0", clients: [{ name: "arm-1", instanceType: "t4g.small" }] };
    expect(errorFor(mixed).problems[0]?.problem).toMatch(/monitor: x86_64, arm-1: arm64/);
    expect(parse({ ...mixed, monitorInstanceType: "m7g.large" }).images.amiId).toBe("ami-0123456789abcdef0");
  });

  it("the scrape interval sets the shortest host-down delay", () => {
    const overrides = { scrapeInterval: "45s", alertThresholds: { hostDownFor: "1m" } };
    expect(settingsOf(errorFor(overrides))).toEqual([`${PROJECT}:alertThresholds.hostDownFor`]);
    expect(parse({ ...overrides, scrapeInterval: "30s" }).alerting.thresholds.hostDownFor).toBe("1m");
  });

  it("every host and the data volume size the metrics a time-only retention keeps", () => {
    // About 11 GiB per host over 5y: the monitor and one client fit the 40 GiB left, five hosts do not.
    const long = { metricsRetention: "5y", monitorDataVolumeGb: 50 };
    expect(parse(long).metrics.retentionTime).toBe("5y");
    const many = { ...long, clients: [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }] };
    expect(settingsOf(errorFor(many))).toEqual([`${PROJECT}:metricsRetentionSize`]);
    expect(parse({ ...many, monitorDataVolumeGb: 200 }).clients).toHaveLength(4);
  });

  it("hosts that enable an exporter need its password", () => {
    const secrets = SECRET_SETTINGS.filter((secret) => secret !== "postgresExporterPassword");
    const error = errorFor({ clients: [{ name: "db-1", exporters: ["postgres"] }] }, secrets);
    expect(settingsOf(error)).toEqual([`${PROJECT}:postgresExporterPassword`]);
  });
});

describe("secrets", () => {
  it("stored in plain text are reported once, never printed, and never enter the config", () => {
    const error = errorFor({ smtpPassword: "hunter2" }, ["grafanaAdminPassword", "sshPrivateKey"]);
    expect(settingsOf(error)).toEqual([`${PROJECT}:smtpPassword`]);
    expect(error.message).not.toContain("hunter2");
    expect(error.problems[0]?.problem).toMatch(/plain text/);
  });

  it("missing are problems, unless the reading is without the stack's secrets", () => {
    const error = errorFor({}, []);
    expect(settingsOf(error).sort()).toEqual(
      ["grafanaAdminPassword", "smtpPassword", "sshPrivateKey"].map((key) => `${PROJECT}:${key}`),
    );
    for (const problem of error.problems) {
      expect(pulumiInvocations(problem.fix)).toEqual([["config", "set", "--secret", problem.setting]]);
    }
    expect(parse({}, [], WITHOUT_SECRETS).alerting.email?.to).toEqual(["oncall@example.com"]);
  });

  it("a stack lacks are listed by missingSecrets, in the order the reader needs them", () => {
    const config = parse(
      {
        clients: [
          { name: "db-1", exporters: ["postgres", "redis"] },
          { name: "db-2", exporters: ["mongodb"] },
        ],
      },
      [],
      WITHOUT_SECRETS,
    );
    const missing = missingSecrets(config, EXPORTER_SETTINGS);
    expect(missing.slice(0, 3)).toEqual(["grafanaAdminPassword", "sshPrivateKey", "smtpPassword"]);
    expect([...missing.slice(3)].sort()).toEqual(["mongodbExporterPassword", "postgresExporterPassword"]);
    expect(missingSecrets(parse(), EXPORTER_SETTINGS)).toEqual([]);
  });

  it("follow the login mode: agent login needs no key, and must not have one", () => {
    expect(parse({ sshAuth: "agent" }, WITHOUT_SSH_KEY).access.sshAuth).toBe("agent");
    const agent = parse({ sshAuth: "agent" }, [], WITHOUT_SECRETS);
    expect(missingSecrets(agent, EXPORTER_SETTINGS)).not.toContain("sshPrivateKey");
    expect(missingSecrets(parse({}, [], WITHOUT_SECRETS), EXPORTER_SETTINGS)).toContain("sshPrivateKey");
    expect(settingsOf(errorFor({ sshAuth: "agent" }, SECRET_SETTINGS, WITHOUT_SECRETS))).toEqual([
      `${PROJECT}:sshPrivateKey`,
    ]);
  });

  it("a password no host uses is not checked, nor required", () => {
    const config = parseStackConfig(
      "dev",
      {
        values: { ...validValues(), clients: [{ name: "web-1", exporters: ["nginx"] }] },
        secretsSet: new Set(SECRET_SETTINGS),
        secretValues: { mysqlExporterPassword: "a$b", mongodbExporterPassword: "a\nb" },
      },
      WITH_SECRETS,
    );
    expect(config.secretsSet.mysqlExporterPassword).toBe(true);
  });
});

describe("many problems at once", () => {
  it("are reported in one error, one problem each with a pasteable fix", () => {
    const error = errorFor(
      {
        "aws:region": "nowhere",
        sshAllowedCidrs: ["0.0.0.0/0"],
        grafanaAllowedCidrs: ["10.0.0.1/8"],
        monitorInstanceType: "t3.micro",
        clients: [{ name: "web-1", exporters: ["nginx", "elastic"] }, { name: "web-1" }],
        logRetentionDays: 0,
        metricsRetention: "6h",
        sshKeyPairName: undefined,
        existingVpcId: "vpc-0123456789abcdef0",
        smtpPasword: "typo",
      },
      ["slackWebhookUrl"],
    );
    expect([...settingsOf(error)].sort()).toEqual(
      [
        "aws:region",
        "observability:sshAllowedCidrs[0]",
        "observability:grafanaAllowedCidrs[0]",
        "observability:monitorInstanceType",
        "observability:clients[0].exporters[1]",
        "observability:clients[1].name",
        "observability:logRetentionDays",
        "observability:metricsRetention",
        "observability:sshKeyPairName",
        "observability:existingSubnetId",
        "observability:smtpPasword",
        "observability:smtpPassword",
        "observability:grafanaAdminPassword",
      ].sort(),
    );
    const lines = error.message.split("\n");
    expect(lines[0]).toBe(`Stack "dev" has ${error.problems.length} configuration problems:`);
    expect(lines).toHaveLength(2 * error.problems.length + 1);
    error.problems.forEach((problem, index) => {
      expect(lines[2 * index + 1]).toBe(`  - ${problem.setting}: ${problem.problem}.`);
      expect(lines[2 * index + 2]).toBe(`    Fix: ${problem.fix}`);
      for (const command of pulumiInvocations(problem.fix)) {
        expect(command[0], problem.fix).toBe("config");
        expect(["set", "rm"], problem.fix).toContain(command[1]);
      }
    });
  });

  it("name the stack, and say 'problem' for a single one", () => {
    const error = errorFor({ logRetentionDays: -1 });
    expect(error.stackName).toBe("dev");
    expect(error.message.split("\n")[0]).toBe('Stack "dev" has 1 configuration problem:');
  });
});
