import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { DEFAULT_RUNBOOK_BASE_URL, OPTIONAL_EXPORTERS } from "../lib/catalog";
import { cidrContains, normaliseCidr, parseCidr } from "../lib/cidr";
import {
  CORE_SETTINGS,
  type ConfigProblem,
  INSTANCE_FAMILIES,
  instanceArchitecture,
  MAX_CLIENTS,
  missingSecrets as missingSecretsOf,
  parsePrometheusDuration,
  parseStackConfig,
  type ReadOptions,
  type SecretSetting,
  type StackConfig,
  StackConfigError,
} from "../lib/stack-config";
import { SECRET_SETTINGS } from "./support/stack-files";

type ParseOptions = Partial<ReadOptions>;
const SCALAR_SETTINGS = CORE_SETTINGS;
const missingSecrets = (config: StackConfig) => missingSecretsOf(config, EXPORTER_SETTINGS);

import { WITHOUT_SECRETS } from "./support/stack-files";

/** A small valid stack: the minimum a user must set, plus email alerting. */
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

const ALL_SECRETS: readonly SecretSetting[] = SECRET_SETTINGS;

function parse(
  overrides: Record<string, unknown> = {},
  secrets: readonly SecretSetting[] = ALL_SECRETS,
  options?: ParseOptions,
): StackConfig {
  const values = { ...validValues(), ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete values[key];
  return parseStackConfig(
    "dev",
    { values, secretsSet: new Set(secrets) },
    { exporters: EXPORTER_SETTINGS, ...options },
  );
}

function errorFor(
  overrides: Record<string, unknown>,
  secrets: readonly SecretSetting[] = ALL_SECRETS,
  options?: ParseOptions,
): StackConfigError {
  try {
    parse(overrides, secrets, options);
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error(`expected a StackConfigError for ${JSON.stringify(overrides)}`);
}

/**
 * Asserts that exactly one problem concerns `setting`, that it matches `problem`, that its fix is
 * the given command, and that the error message carries both.
 */
function expectProblem(
  error: StackConfigError,
  setting: string,
  problem: RegExp,
  fix: RegExp | string,
): ConfigProblem {
  const matching = error.problems.filter((p) => p.setting === setting);
  expect(matching, `problems: ${error.message}`).toHaveLength(1);
  const found = matching[0] as ConfigProblem;
  expect(found.problem).toMatch(problem);
  if (typeof fix === "string") expect(found.fix).toBe(fix);
  else expect(found.fix).toMatch(fix);
  expect(error.message).toContain(`${setting}: ${found.problem}`);
  expect(error.message).toContain(found.fix);
  return found;
}

describe("CIDR helper", () => {
  it("parses, normalises and tests containment", () => {
    const parsed = parseCidr("10.42.1.0/24");
    expect(parsed.ok && parsed.cidr.prefix).toBe(24);
    const outer = parseCidr("10.42.0.0/16");
    const outside = parseCidr("10.43.0.0/24");
    if (!parsed.ok || !outer.ok || !outside.ok) throw new Error("valid CIDRs refused");
    expect(cidrContains(outer.cidr, parsed.cidr)).toBe(true);
    expect(cidrContains(parsed.cidr, outer.cidr)).toBe(false);
    expect(cidrContains(outer.cidr, outside.cidr)).toBe(false);
    expect(normaliseCidr("10.0.0.1/16")).toBe("10.0.0.0/16");
    expect(normaliseCidr("192.168.7.200/30")).toBe("192.168.7.200/30");
    expect(normaliseCidr("192.168.7.201/30")).toBe("192.168.7.200/30");
  });

  it.each([
    ["256.1.1.1/32", /malformed IPv4/],
    ["10.0.0/24", /malformed IPv4/],
    ["010.0.0.0/8", /malformed IPv4/],
    ["10.0.0.0/33", /malformed prefix/],
    ["10.0.0.0/", /malformed prefix/],
    ["10.0.0.1/16", /host bits/],
    ["10.0.0.1", /no prefix length/],
    ["office", /not an IPv4 CIDR/],
  ])("refuses %s", (text, problem) => {
    const result = parseCidr(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});

describe("Prometheus durations and instance families", () => {
  it("reads durations with units largest first", () => {
    expect(parsePrometheusDuration("1h30m")).toBe(90 * 60 * 1000);
    expect(parsePrometheusDuration("15d")).toBe(15 * 24 * 3600 * 1000);
    expect(parsePrometheusDuration("1500ms")).toBe(1500);
    expect(parsePrometheusDuration("30m1h")).toBeUndefined();
    expect(parsePrometheusDuration("15 days")).toBeUndefined();
    expect(parsePrometheusDuration("")).toBeUndefined();
  });

  it("derives the architecture from the family", () => {
    expect(instanceArchitecture("t4g.small")).toBe("arm64");
    expect(instanceArchitecture("m7g.large")).toBe("arm64");
    expect(instanceArchitecture("m6i.large")).toBe("x86_64");
    expect(instanceArchitecture("t3a.medium")).toBe("x86_64");
    const config = parse({
      clients: [{ name: "db-1", instanceType: "c7g.xlarge" }],
      monitorInstanceType: "r7g.large",
    });
    expect(config.clients[0]?.architecture).toBe("arm64");
    expect(config.monitor.architecture).toBe("arm64");
  });
});

describe("parseStackConfig: valid input", () => {
  it("returns a deeply frozen config", () => {
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
      (config.clients as unknown as ClientList).push({ name: "x" });
    }).toThrow(TypeError);
    expect(() => {
      (config.access as { sshUser: string }).sshUser = "root";
    }).toThrow(TypeError);
  });

  it("is deterministic: the same input gives deep-equal output", () => {
    const overrides = { clients: [{ name: "a-1", exporters: ["redis", "nginx"] }], tags: { B: "2", A: "1" } };
    const first = parse(overrides);
    const second = parse(overrides);
    expect(second).toEqual(first);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it("accepts the string forms Pulumi stores for numbers, booleans, lists and maps", () => {
    const typed = parse({
      logRetentionDays: 14,
      protectData: true,
      clients: [{ name: "web-1", rootVolumeGb: 30, exporters: ["nginx"] }],
      sshAllowedCidrs: ["203.0.113.10/32"],
      alertThresholds: { cpuPercent: 70 },
      tags: { Team: "sre" },
    });
    const strings = parse({
      logRetentionDays: "14",
      protectData: "true",
      clients: JSON.stringify([{ name: "web-1", rootVolumeGb: "30", exporters: ["nginx"] }]),
      sshAllowedCidrs: '["203.0.113.10/32"]',
      alertThresholds: '{"cpuPercent":"70"}',
      tags: '{"Team":"sre"}',
    });
    expect(strings).toEqual(typed);
    expect(strings.logs.retentionDays).toBe(14);
    expect(strings.protectData).toBe(true);
    expect(strings.clients[0]?.rootVolumeGb).toBe(30);
    expect(strings.alerting.thresholds.cpuPercent).toBe(70);
  });

  it("turns receivers on exactly when their secrets are set", () => {
    const emailOnly = parse({}, ["grafanaAdminPassword", "sshPrivateKey", "smtpPassword"]);
    expect(emailOnly.alerting.slack).toBeUndefined();
    expect(emailOnly.alerting.pagerduty).toBe(false);
    expect(emailOnly.alerting.heartbeat).toBe(false);
    const all = parse({ slackChannel: "#ops" });
    expect(all.alerting.slack).toEqual({ channel: "#ops" });
    expect(all.alerting.pagerduty).toBe(true);
    expect(all.alerting.heartbeat).toBe(true);
    const slackOnly = parse({ alertEmailTo: [] }, [
      "grafanaAdminPassword",
      "sshPrivateKey",
      "slackWebhookUrl",
    ]);
    expect(slackOnly.alerting.email).toBeUndefined();
    expect(slackOnly.secretsSet.slackWebhookUrl).toBe(true);
    expect(slackOnly.secretsSet.smtpPassword).toBe(false);
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

  it("allows zero clients and the maximum number of clients", () => {
    expect(parse({ clients: [] }).clients).toEqual([]);
    const many = Array.from({ length: MAX_CLIENTS }, (_, i) => ({ name: `c-${i}` }));
    expect(parse({ clients: many }).clients).toHaveLength(MAX_CLIENTS);
  });
});

type ClientList = { name: string }[];

describe("parseStackConfig: one problem per kind of bad input", () => {
  it("malformed CIDR", () => {
    const error = errorFor({ sshAllowedCidrs: ["203.0.113.300/32"] });
    expectProblem(
      error,
      "observability:sshAllowedCidrs[0]",
      /malformed IPv4/,
      "pulumi config set --path 'observability:sshAllowedCidrs[0]' 203.0.113.10/32",
    );
  });

  it("CIDR without a prefix suggests the /32", () => {
    const error = errorFor({ grafanaAllowedCidrs: ["203.0.113.7"] });
    expectProblem(
      error,
      "observability:grafanaAllowedCidrs[0]",
      /no prefix length/,
      "pulumi config set --path 'observability:grafanaAllowedCidrs[0]' 203.0.113.7/32",
    );
  });

  it("CIDR with host bits set suggests the network", () => {
    const error = errorFor({ sshAllowedCidrs: ["203.0.113.10/32", "10.0.0.1/16"] });
    expectProblem(
      error,
      "observability:sshAllowedCidrs[1]",
      /host bits set.*10\.0\.0\.0\/16/,
      "pulumi config set --path 'observability:sshAllowedCidrs[1]' 10.0.0.0/16",
    );
  });

  it("0.0.0.0/0 for SSH suggests a /32 or SSM", () => {
    const error = errorFor({ sshAllowedCidrs: ["0.0.0.0/0"] });
    expectProblem(error, "observability:sshAllowedCidrs[0]", /whole internet.*\/32.*SSM/, /--path/);
  });

  it("0.0.0.0/0 for Grafana is refused because Grafana is plain HTTP", () => {
    const error = errorFor({ grafanaAllowedCidrs: ["0.0.0.0/0"] });
    expectProblem(error, "observability:grafanaAllowedCidrs[0]", /whole internet.*plain HTTP/, /--path/);
  });

  it("over-broad CIDRs: SSH needs /16 or longer, Grafana /8 or longer", () => {
    expectProblem(
      errorFor({ sshAllowedCidrs: ["10.0.0.0/15"] }),
      "observability:sshAllowedCidrs[0]",
      /too broad.*\/16/,
      /--path/,
    );
    expect(parse({ sshAllowedCidrs: ["10.0.0.0/16"] }).access.sshCidrs).toEqual(["10.0.0.0/16"]);
    expectProblem(
      errorFor({ grafanaAllowedCidrs: ["10.0.0.0/7"] }),
      "observability:grafanaAllowedCidrs[0]",
      /too broad.*\/8/,
      /--path/,
    );
    expect(parse({ grafanaAllowedCidrs: ["10.0.0.0/8"] }).access.grafanaCidrs).toEqual(["10.0.0.0/8"]);
  });

  it("missing or plain-string CIDR lists", () => {
    expectProblem(
      errorFor({ sshAllowedCidrs: undefined }),
      "observability:sshAllowedCidrs",
      /is required/,
      /--path 'observability:sshAllowedCidrs\[0\]'/,
    );
    expectProblem(
      errorFor({ sshAllowedCidrs: [] }),
      "observability:sshAllowedCidrs",
      /is required but empty/,
      /--path/,
    );
    expectProblem(
      errorFor({ grafanaAllowedCidrs: "203.0.113.0/24" }),
      "observability:grafanaAllowedCidrs",
      /must be a list/,
      /--path 'observability:grafanaAllowedCidrs\[0\]'/,
    );
  });

  it("duplicate CIDRs (AWS refuses duplicate rules)", () => {
    const error = errorFor({ sshAllowedCidrs: ["203.0.113.10/32", "203.0.113.10/32"] });
    expectProblem(
      error,
      "observability:sshAllowedCidrs[1]",
      /listed twice/,
      "pulumi config rm --path 'observability:sshAllowedCidrs[1]'",
    );
  });

  it("subnet outside the VPC, and a public VPC range", () => {
    expectProblem(
      errorFor({ vpcCidr: "10.42.0.0/16", subnetCidr: "10.43.1.0/24" }),
      "observability:subnetCidr",
      /not inside vpcCidr/,
      "pulumi config set observability:subnetCidr 10.42.0.0/24",
    );
    expectProblem(
      errorFor({ vpcCidr: "8.8.0.0/16", subnetCidr: "8.8.1.0/24" }),
      "observability:vpcCidr",
      /not a private range/,
      /vpcCidr/,
    );
  });

  it("client count out of range", () => {
    const clients = Array.from({ length: MAX_CLIENTS + 1 }, (_, i) => ({ name: `c-${i}` }));
    expectProblem(
      errorFor({ clients }),
      "observability:clients",
      new RegExp(`${MAX_CLIENTS + 1} clients; at most ${MAX_CLIENTS}`),
      /pulumi config rm --path/,
    );
  });

  it("unknown exporter, with the closest one suggested", () => {
    const error = errorFor({ clients: [{ name: "web-1", exporters: ["ngnix"] }] });
    const problem = expectProblem(
      error,
      "observability:clients[0].exporters[0]",
      /not an optional exporter \(did you mean "nginx"\?\)/,
      "pulumi config set --path 'observability:clients[0].exporters[0]' nginx",
    );
    for (const exporter of OPTIONAL_EXPORTERS) expect(problem.problem).toContain(exporter);
  });

  it("duplicate exporter on one host", () => {
    const error = errorFor({
      externalHosts: [
        { name: "db-9", address: "192.0.2.9", sshUser: "deploy", exporters: ["redis", "redis"] },
      ],
    });
    expectProblem(error, "observability:externalHosts[0].exporters[1]", /twice/, /pulumi config rm --path/);
  });

  it("unknown instance family names the allowed families", () => {
    const error = errorFor({ clientInstanceType: "x2idn.large" });
    const problem = expectProblem(
      error,
      "observability:clientInstanceType",
      /family "x2idn" is not supported/,
      "pulumi config set observability:clientInstanceType t3.small",
    );
    for (const family of Object.keys(INSTANCE_FAMILIES)) expect(problem.problem).toContain(family);
  });

  it("instance sizes that do not exist, and malformed types", () => {
    expectProblem(
      errorFor({ clients: [{ name: "a", instanceType: "m6i.nano" }] }),
      "observability:clients[0].instanceType",
      /does not exist/,
      /--path 'observability:clients\[0\].instanceType'/,
    );
    expectProblem(
      errorFor({ monitorInstanceType: "large" }),
      "observability:monitorInstanceType",
      /not an EC2 instance type/,
      /monitorInstanceType/,
    );
  });

  it("a nano, micro or small monitor is refused", () => {
    for (const size of ["nano", "micro", "small"]) {
      const error = errorFor({ monitorInstanceType: `t3.${size}` });
      expectProblem(
        error,
        "observability:monitorInstanceType",
        /too small/,
        "pulumi config set observability:monitorInstanceType t3.medium",
      );
    }
    const arm = errorFor({ monitorInstanceType: "t4g.micro" });
    expectProblem(
      arm,
      "observability:monitorInstanceType",
      /too small/,
      "pulumi config set observability:monitorInstanceType t4g.medium",
    );
  });

  it("email alerting without the SMTP password secret", () => {
    const error = errorFor({}, ["grafanaAdminPassword"]);
    expectProblem(
      error,
      "observability:smtpPassword",
      /required when alertEmailTo is set/,
      "pulumi config set --secret observability:smtpPassword <smtp-password>",
    );
    expect(parse({}, ["grafanaAdminPassword"], WITHOUT_SECRETS).alerting.email?.to).toEqual([
      "oncall@example.com",
    ]);
  });

  it("email alerting without smarthost, sender or user", () => {
    const error = errorFor({ smtpSmarthost: undefined, smtpFrom: undefined, smtpUsername: undefined });
    expectProblem(
      error,
      "observability:smtpSmarthost",
      /required when alertEmailTo is set/,
      /smtpSmarthost email-smtp\./,
    );
    expectProblem(error, "observability:smtpFrom", /required/, /smtpFrom/);
    expectProblem(error, "observability:smtpUsername", /required/, /smtpUsername/);
    expectProblem(
      errorFor({ smtpSmarthost: "smtp.example.com" }),
      "observability:smtpSmarthost",
      /host:port/,
      /smtpSmarthost/,
    );
  });

  it("refuses to send the SMTP password without TLS", () => {
    const error = errorFor({ smtpRequireTls: "false" });
    expectProblem(
      error,
      "observability:smtpRequireTls",
      /clear text/,
      "pulumi config set observability:smtpRequireTls true",
    );
    expect(
      parse({ smtpRequireTls: false, smtpSmarthost: "smtp.example.com:465" }).alerting.email?.requireTls,
    ).toBe(false);
  });

  it("alerts that go nowhere", () => {
    const error = errorFor({ alertEmailTo: [] }, ["grafanaAdminPassword"]);
    expectProblem(
      error,
      "observability:alertEmailTo",
      /no alert receiver/,
      /alertEmailTo\[0\].*slackWebhookUrl.*pagerdutyRoutingKey/,
    );
  });

  it("log retention below one day", () => {
    const error = errorFor({ logRetentionDays: 0 });
    expectProblem(
      error,
      "observability:logRetentionDays",
      /between 1 and 3650, got 0/,
      /pulumi config set observability:logRetentionDays \d+/,
    );
    expectProblem(
      errorFor({ logRetentionDays: "2.5" }),
      "observability:logRetentionDays",
      /whole number/,
      /logRetentionDays/,
    );
  });

  it("metrics retention below one day, and malformed durations", () => {
    expectProblem(
      errorFor({ metricsRetention: "23h" }),
      "observability:metricsRetention",
      /at least 1d/,
      "pulumi config set observability:metricsRetention 15d",
    );
    expect(parse({ metricsRetention: "1d" }).metrics.retentionTime).toBe("1d");
    expectProblem(
      errorFor({ metricsRetention: "15days" }),
      "observability:metricsRetention",
      /not a Prometheus duration/,
      /metricsRetention/,
    );
    expectProblem(
      errorFor({ scrapeInterval: "10m" }),
      "observability:scrapeInterval",
      /out of range/,
      /scrapeInterval/,
    );
  });

  it("a retention size that does not fit the data volume", () => {
    expectProblem(
      errorFor({ monitorDataVolumeGb: 50, metricsRetentionSize: "60GB" }),
      "observability:metricsRetentionSize",
      /does not fit the 50 GiB data volume/,
      "pulumi config set observability:metricsRetentionSize 40GB",
    );
    expectProblem(
      errorFor({ metricsRetentionSize: "40 gigs" }),
      "observability:metricsRetentionSize",
      /not a Prometheus size/,
      /40GB/,
    );
  });

  it("duplicate client names", () => {
    const error = errorFor({ clients: [{ name: "web-1" }, { name: "web-1" }] });
    expectProblem(
      error,
      "observability:clients[1].name",
      /already used by observability:clients\[0\]/,
      "pulumi config set --path 'observability:clients[1].name' web-1-2",
    );
  });

  it("duplicate names across clients and external hosts", () => {
    const error = errorFor({
      clients: [{ name: "db-1" }],
      externalHosts: [{ name: "db-1", address: "192.0.2.10", sshUser: "deploy" }],
    });
    expectProblem(
      error,
      "observability:externalHosts[0].name",
      /already used by observability:clients\[0\].*clients and externalHosts/,
      /externalHosts\[0\].name/,
    );
  });

  it("host names that are not DNS labels, or are reserved", () => {
    expectProblem(
      errorFor({ clients: [{ name: "Web_1" }] }),
      "observability:clients[0].name",
      /lowercase letters, digits or hyphens/,
      "pulumi config set --path 'observability:clients[0].name' web-1",
    );
    expectProblem(
      errorFor({ clients: [{ name: "monitor" }] }),
      "observability:clients[0].name",
      /monitor host's own name/,
      /clients\[0\].name/,
    );
    expectProblem(
      errorFor({ clients: [{ exporters: [] }] }),
      "observability:clients[0].name",
      /is required/,
      /clients\[0\].name/,
    );
  });

  it("external hosts need an address and a user", () => {
    const error = errorFor({
      externalHosts: [{ name: "edge-1", address: "not an address", sshUser: "Root!" }],
    });
    expectProblem(
      error,
      "observability:externalHosts[0].address",
      /"not an address" is not an IPv4 address/,
      "pulumi config set --path 'observability:externalHosts[0].address' <IPv4 address of the host>",
    );
    expectProblem(
      error,
      "observability:externalHosts[0].sshUser",
      /Linux user name/,
      /externalHosts\[0\].sshUser/,
    );
    expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      /is required.*IPv4/,
      /externalHosts\[0\].address/,
    );
  });

  it("an external host's DNS name is refused: Loki admits it by an ingress rule from <address>/32", () => {
    const error = errorFor({
      externalHosts: [
        { name: "edge-1", address: "192.0.2.10", sshUser: "deploy" },
        { name: "edge-2", address: "edge-2.example.com", sshUser: "deploy" },
      ],
    });
    expectProblem(
      error,
      "observability:externalHosts[1].address",
      /"edge-2.example.com" is a DNS name.*IPv4 address.*ingress rule from <address>\/32.*dig \+short A edge-2.example.com/,
      "pulumi config set --path 'observability:externalHosts[1].address' <IPv4 address of edge-2.example.com>",
    );
    expect(error.problems).toHaveLength(1);
  });

  it("an external host given as a CIDR gets its bare address suggested; IPv6 is refused", () => {
    expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", address: "198.51.100.7/32", sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      /is a CIDR/,
      "pulumi config set --path 'observability:externalHosts[0].address' 198.51.100.7",
    );
    expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", address: "2001:db8::5", sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      /not an IPv4 address.*IPv4/,
      /externalHosts\[0\].address/,
    );
  });

  it.each([
    ["127.0.0.1", "127.0.0.0/8", /loopback/],
    ["169.254.169.254", "169.254.0.0/16", /metadata service/],
    ["0.0.0.0", "0.0.0.0/8", /unspecified/],
    ["224.0.0.251", "224.0.0.0/4", /multicast/],
    ["255.255.255.255", "240.0.0.0/4", /broadcast/],
  ])("an external host at %s (%s) is refused", (address, range, why) => {
    const problem = expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", address, sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      new RegExp(`"${address.replace(/\./g, "\\.")}" is in ${range.replace(/\./g, "\\.")}`),
      /externalHosts\[0\].address/,
    );
    expect(problem.problem).toMatch(why);
  });

  it("an external host inside the stack's own VPC is refused; elsewhere, private addresses (VPN) are fine", () => {
    expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", address: "10.42.7.9", sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      /inside the stack's own VPC 10\.42\.0\.0\/16/,
      /externalHosts\[0\].address/,
    );
    const otherVpc = parse({
      vpcCidr: "10.50.0.0/16",
      subnetCidr: "10.50.1.0/24",
      externalHosts: [{ name: "edge-1", address: "10.42.7.9", sshUser: "deploy" }],
    });
    expect(otherVpc.externalHosts[0]?.address).toBe("10.42.7.9");
    // An existing VPC's range is unknown to the loader: the address is taken as given.
    const existing = parse({
      existingVpcId: "vpc-0123456789abcdef0",
      existingSubnetId: "subnet-0123456789abcdef0",
      externalHosts: [{ name: "edge-1", address: "10.42.7.9", sshUser: "deploy" }],
    });
    expect(existing.externalHosts[0]?.address).toBe("10.42.7.9");
    const publicAddress = parse({
      externalHosts: [{ name: "edge-1", address: " 198.51.100.7 ", sshUser: "deploy" }],
    });
    expect(publicAddress.externalHosts[0]?.address).toBe("198.51.100.7");
  });

  it("localhost is refused like any DNS name", () => {
    expectProblem(
      errorFor({ externalHosts: [{ name: "edge-1", address: "localhost", sshUser: "deploy" }] }),
      "observability:externalHosts[0].address",
      /DNS name/,
      /externalHosts\[0\].address/,
    );
  });

  it("unknown setting: suggests the closest known key", () => {
    const error = errorFor({ monitorInstanceTyp: "m6i.large" });
    expectProblem(
      error,
      "observability:monitorInstanceTyp",
      /not a known setting \(did you mean "monitorInstanceType"\?\)/,
      "pulumi config rm observability:monitorInstanceTyp && pulumi config set observability:monitorInstanceType m6i.large",
    );
    expectProblem(
      errorFor({ logretentiondays: 30 }),
      "observability:logretentiondays",
      /did you mean "logRetentionDays"/,
      /pulumi config rm observability:logretentiondays/,
    );
    expectProblem(
      errorFor({ zzzzzz: "1" }),
      "observability:zzzzzz",
      /see docs\/configuration.md/,
      "pulumi config rm observability:zzzzzz",
    );
  });

  it("unknown field inside a client suggests the closest field", () => {
    const error = errorFor({ clients: [{ name: "web-1", exporter: ["nginx"] }] });
    expectProblem(
      error,
      "observability:clients[0].exporter",
      /did you mean "exporters"/,
      /pulumi config rm --path 'observability:clients\[0\].exporter'/,
    );
  });

  it("both SSH key settings", () => {
    const error = errorFor({
      sshPublicKey:
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnNlcnZlci10ZXN0LWtleS1mb3ItY29uZmlnLXRlc3Q= ops@example.com",
    });
    expectProblem(
      error,
      "observability:sshPublicKey",
      /both sshPublicKey and sshKeyPairName/,
      /pulumi config rm observability:sshPublicKey/,
    );
  });

  it("neither SSH key setting", () => {
    const error = errorFor({ sshKeyPairName: undefined });
    expectProblem(
      error,
      "observability:sshPublicKey",
      /neither sshPublicKey nor sshKeyPairName/,
      /pulumi config set observability:sshKeyPairName/,
    );
  });

  it("a public key that is not one, or a pasted private key", () => {
    const bad = errorFor({
      sshKeyPairName: undefined,
      sshPublicKey: "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB ops",
    });
    expectProblem(bad, "observability:sshPublicKey", /does not encode a ssh-ed25519 key/, /id_ed25519.pub/);
    const secret = errorFor({
      sshKeyPairName: undefined,
      sshPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----",
    });
    expectProblem(secret, "observability:sshPublicKey", /PRIVATE key/, /\.pub/);
    const ok = parse({ sshKeyPairName: undefined, sshPublicKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB ops" });
    expect(ok.access.sshPublicKey).toBe("ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB ops");
    expect(ok.access.sshKeyPairName).toBeUndefined();
  });

  it("existing VPC without a subnet", () => {
    const error = errorFor({ existingVpcId: "vpc-0123456789abcdef0" });
    expectProblem(
      error,
      "observability:existingSubnetId",
      /required when existingVpcId is set/,
      /pulumi config set observability:existingSubnetId subnet-.*pulumi config rm observability:existingVpcId/,
    );
  });

  it("malformed VPC and subnet ids", () => {
    const error = errorFor({ existingVpcId: "vpc-xyz", existingSubnetId: "sn-0123456789abcdef0" });
    expectProblem(error, "observability:existingVpcId", /not a VPC id/, /existingVpcId vpc-/);
    expectProblem(error, "observability:existingSubnetId", /not a subnet id/, /existingSubnetId subnet-/);
  });

  it("bad alert thresholds", () => {
    const error = errorFor({
      alertThresholds: {
        cpuPercent: 100,
        memoryPercent: "0",
        diskFor: "5 minutes",
        cpuPercnt: "90",
        diskFillHours: 0,
      },
    });
    expectProblem(
      error,
      "observability:alertThresholds.cpuPercent",
      /above 0 and below 100, got 100/,
      "pulumi config set --path 'observability:alertThresholds.cpuPercent' 80",
    );
    expectProblem(
      error,
      "observability:alertThresholds.memoryPercent",
      /above 0 and below 100/,
      /memoryPercent/,
    );
    expectProblem(error, "observability:alertThresholds.diskFor", /Prometheus duration/, /diskFor' 5m/);
    expectProblem(
      error,
      "observability:alertThresholds.cpuPercnt",
      /not a known field \(did you mean "cpuPercent"\?\)/,
      /pulumi config rm --path .observability:alertThresholds.cpuPercnt. && pulumi config set --path .observability:alertThresholds.cpuPercent./,
    );
    expectProblem(error, "observability:alertThresholds.diskFillHours", /1 to 720/, /diskFillHours' 24/);
    expect(parse({ alertThresholds: { diskFillHours: 48 } }).alerting.thresholds.diskFillHours).toBe(48);
  });

  it("region missing or malformed", () => {
    expectProblem(
      errorFor({ "aws:region": undefined }),
      "aws:region",
      /is required/,
      "pulumi config set aws:region eu-west-1",
    );
    expectProblem(
      errorFor({ "aws:region": "Ireland" }),
      "aws:region",
      /not an AWS region/,
      "pulumi config set aws:region eu-west-1",
    );
  });

  it("a secret stored in plain text is reported once", () => {
    const error = errorFor({ smtpPassword: "hunter2" }, ["grafanaAdminPassword"]);
    expectProblem(
      error,
      "observability:smtpPassword",
      /plain text/,
      "pulumi config set --secret observability:smtpPassword <smtp-password>",
    );
    expect(error.message).not.toContain("hunter2");
  });

  it("missing Grafana admin password", () => {
    const error = errorFor({}, ["smtpPassword"]);
    expectProblem(
      error,
      "observability:grafanaAdminPassword",
      /required/,
      "pulumi config set --secret observability:grafanaAdminPassword <password>",
    );
  });

  it("tags that clash with the product's tags or break AWS limits", () => {
    const error = errorFor({
      tags: { Name: "x", "aws:owner": "me", Team: "a".repeat(257), environment: "dev" },
    });
    expectProblem(
      error,
      "observability:tags.Name",
      /set by the product itself/,
      "pulumi config rm --path 'observability:tags.Name'",
    );
    expectProblem(error, "observability:tags.environment", /set by the product itself/, /rm --path/);
    expectProblem(
      error,
      'observability:tags["aws:owner"]',
      /reserved aws: prefix/,
      /rm --path 'observability:tags\["aws:owner"\]'/,
    );
    expectProblem(error, "observability:tags.Team", /at most 256/, /tags.Team/);
  });

  it("one AMI for hosts of different architectures", () => {
    const error = errorFor({
      amiId: "ami-0123456789abcdef0",
      clients: [{ name: "arm-1", instanceType: "t4g.small" }],
    });
    expectProblem(
      error,
      "observability:amiId",
      /different architectures.*monitor: x86_64.*arm-1: arm64/,
      "pulumi config rm observability:amiId (the pinned Ubuntu image names cover both architectures)",
    );
  });

  it("image names must be exact and dated", () => {
    const error = errorFor({
      ubuntuImageNameX86: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
    });
    expectProblem(
      error,
      "observability:ubuntuImageNameX86",
      /exact, dated/,
      /ubuntuImageNameX86 ubuntu\/images\/hvm-ssd-gp3\/ubuntu-noble-24.04-amd64-server-\d{8}/,
    );
    const wrongArch = errorFor({
      ubuntuImageNameArm: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610",
    });
    expectProblem(
      wrongArch,
      "observability:ubuntuImageNameArm",
      /amd64 image; this setting needs arm64/,
      /ubuntuImageNameArm/,
    );
  });

  it("Grafana root URL must be http(s)", () => {
    expectProblem(
      errorFor({ grafanaRootUrl: "ftp://grafana.example.com" }),
      "observability:grafanaRootUrl",
      /http\(s\) URL/,
      /grafanaRootUrl https:/,
    );
    expect(parse({ grafanaRootUrl: "https://grafana.example.com/" }).grafana.rootUrl).toBe(
      "https://grafana.example.com/",
    );
  });
});

describe("runbook links", () => {
  it("default to the repository's runbooks, the same default Pulumi.yaml declares", () => {
    const spec = SCALAR_SETTINGS.find((candidate) => candidate.key === "runbookBaseUrl");
    expect(spec?.type === "string" ? spec.default : undefined).toBe(DEFAULT_RUNBOOK_BASE_URL);
    expect(parse().alerting.runbookBaseUrl).toBe(DEFAULT_RUNBOOK_BASE_URL);
  });

  it("take any https URL without a trailing slash", () => {
    const url = "https://git.example.com/sre/observability/-/blob/main/runbooks";
    expect(parse({ runbookBaseUrl: url }).alerting.runbookBaseUrl).toBe(url);
  });

  it("refuse a trailing slash, suggesting the URL without it", () => {
    expectProblem(
      errorFor({ runbookBaseUrl: "https://git.example.com/runbooks/" }),
      "observability:runbookBaseUrl",
      /ends with a slash/,
      "pulumi config set observability:runbookBaseUrl https://git.example.com/runbooks",
    );
  });

  it.each([
    "http://git.example.com/runbooks",
    "https://user:token@git.example.com/runbooks",
    "https://git.example.com/runbooks?ref=main",
    "runbooks",
  ])("refuse %s (https only, no credentials or query)", (url) => {
    expectProblem(
      errorFor({ runbookBaseUrl: url }),
      "observability:runbookBaseUrl",
      /not an https URL/,
      `pulumi config set observability:runbookBaseUrl ${DEFAULT_RUNBOOK_BASE_URL}`,
    );
  });
});

describe("exporter credentials", () => {
  /** The default stack's secrets, without any exporter password. */
  const BASE_SECRETS: readonly SecretSetting[] = ["grafanaAdminPassword", "sshPrivateKey", "smtpPassword"];

  it("use one login per exporter kind per stack, with defaults and overrides", () => {
    expect(parse().exporterUsers).toEqual({
      postgres: "postgres_exporter",
      mysql: "exporter",
      mongodb: "exporter",
    });
    const custom = parse({
      postgresExporterUser: "pg_monitor_user",
      mysqlExporterUser: "mysqld.exporter",
      mongodbExporterUser: "monitor@ops",
    });
    expect(custom.exporterUsers).toEqual({
      postgres: "pg_monitor_user",
      mysql: "mysqld.exporter",
      mongodb: "monitor@ops",
    });
  });

  it.each([
    ["postgres", "postgresExporterPassword", "postgres_exporter"],
    ["mysql", "mysqlExporterPassword", "exporter"],
    ["mongodb", "mongodbExporterPassword", "exporter"],
  ] as const)("a host enabling %s needs %s, naming every such host", (exporter, setting, user) => {
    const error = errorFor(
      {
        clients: [{ name: "db-1", exporters: [exporter] }, { name: "web-1" }],
        externalHosts: [
          { name: "onprem-db", address: "198.51.100.7", sshUser: "deploy", exporters: [exporter] },
        ],
      },
      BASE_SECRETS,
    );
    expectProblem(
      error,
      `observability:${setting}`,
      new RegExp(
        `required because db-1, onprem-db enable the ${exporter} exporter, which logs in as ${user}`,
      ),
      `pulumi config set --secret observability:${setting} <password>`,
    );
    expect(error.problems).toHaveLength(1);
    const withPassword = parse({ clients: [{ name: "db-1", exporters: [exporter] }] }, [
      ...BASE_SECRETS,
      setting,
    ]);
    expect(withPassword.secretsSet[setting]).toBe(true);
  });

  it("Redis may run without a password", () => {
    const config = parse({ clients: [{ name: "cache-1", exporters: ["redis"] }] }, BASE_SECRETS);
    expect(config.secretsSet.redisExporterPassword).toBe(false);
    expect(missingSecrets(config)).toEqual([]);
  });

  it("a password no host uses is fine, and stays unused", () => {
    const config = parse({ clients: [{ name: "web-1", exporters: ["nginx"] }] }, [
      ...BASE_SECRETS,
      "mysqlExporterPassword",
    ]);
    expect(config.secretsSet.mysqlExporterPassword).toBe(true);
    expect(missingSecrets(config)).toEqual([]);
  });

  it("without the stack's secrets the passwords are not required, and missingSecrets lists them", () => {
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
    expect(missingSecrets(config)).toEqual([
      "grafanaAdminPassword",
      "sshPrivateKey",
      "smtpPassword",
      "postgresExporterPassword",
      "mongodbExporterPassword",
    ]);
  });

  it.each([
    ["postgresExporterUser", "PgExporter", /lowercase/, "postgres_exporter"],
    ["postgresExporterUser", "1exporter", /not starting with a digit/, "postgres_exporter"],
    ["mysqlExporterUser", "e".repeat(33), /at most 32/, "exporter"],
    ["mysqlExporterUser", "exp$orter", /letters, digits/, "exporter"],
    ["mongodbExporterUser", "ex porter", /letters, digits/, "exporter"],
  ])("refuses %s %j", (setting, value, problem, fallback) => {
    expectProblem(
      errorFor({ [setting]: value }),
      `observability:${setting}`,
      problem,
      `pulumi config set observability:${setting} ${fallback}`,
    );
  });

  it("reports problems the Pulumi entry point found in password values, except for unused passwords", () => {
    const values = { ...validValues(), clients: [{ name: "db-1", exporters: ["mysql"] }] };
    const secretsSet = new Set<SecretSetting>([
      ...BASE_SECRETS,
      "mysqlExporterPassword",
      "mongodbExporterPassword",
    ]);
    let error: unknown;
    try {
      parseStackConfig(
        "dev",
        {
          values,
          secretsSet,
          secretValues: { mysqlExporterPassword: "a$b", mongodbExporterPassword: "a'b" },
        },
        { exporters: EXPORTER_SETTINGS },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expectProblem(
      error as StackConfigError,
      "observability:mysqlExporterPassword",
      /^contains \$; mysqld_exporter expands/,
      "pulumi config set --secret observability:mysqlExporterPassword",
    );
    // No host enables mongodb: its password is never written anywhere, so it is not a problem.
    expect((error as StackConfigError).problems).toHaveLength(1);
  });
});

describe("parseStackConfig: many problems at once", () => {
  it("reports every problem in one error, one line each", () => {
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
    const settings = error.problems.map((p) => p.setting);
    expect(settings).toEqual(
      expect.arrayContaining([
        "aws:region",
        "observability:sshAllowedCidrs[0]",
        "observability:grafanaAllowedCidrs[0]",
        "observability:monitorInstanceType",
        "observability:clients[0].exporters[1]",
        "observability:clients[1].name",
        "observability:logRetentionDays",
        "observability:metricsRetention",
        "observability:sshPublicKey",
        "observability:existingSubnetId",
        "observability:smtpPasword",
        "observability:smtpPassword",
        "observability:grafanaAdminPassword",
      ]),
    );
    const lines = error.message.split("\n");
    expect(lines[0]).toBe(`Stack "dev" has ${error.problems.length} configuration problems:`);
    expect(lines).toHaveLength(error.problems.length + 1);
    error.problems.forEach((problem, index) => {
      expect(lines[index + 1]).toContain(problem.setting);
      expect(lines[index + 1]).toContain(`Fix: ${problem.fix}`);
      expect(problem.fix).toMatch(/^pulumi config (set|rm) /);
    });
  });

  it("says 'problem' for a single one", () => {
    const error = errorFor({ logRetentionDays: -1 });
    expect(error.problems).toHaveLength(1);
    expect(error.message.split("\n")[0]).toBe('Stack "dev" has 1 configuration problem:');
    expect(error.stackName).toBe("dev");
  });
});

describe("SSH login, outside hosts' host keys and image digests", () => {
  const WITHOUT_SSH_KEY = ALL_SECRETS.filter((secret) => secret !== "sshPrivateKey");
  /** A well-formed ed25519 public key blob (the 32 key bytes are a fill byte). */
  const ed25519 = (fill: number) => {
    const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(Buffer.alloc(32, fill))]).toString("base64")}`;
  };
  const outsideHost = (extra: Record<string, unknown>) => ({
    externalHosts: [{ name: "onprem-1", address: "198.51.100.7", sshUser: "deploy", ...extra }],
  });

  it("logs in with the key secret by default, and refuses a stack without it, naming both ways out", () => {
    expect(parse().access.sshAuth).toBe("key");
    const error = errorFor({}, WITHOUT_SSH_KEY);
    const problem = expectProblem(
      error,
      "observability:sshPrivateKey",
      /is required/,
      /--secret observability:sshPrivateKey/,
    );
    expect(problem.fix).toContain("pulumi config set observability:sshAuth agent");
  });

  it("agent login needs no key secret, and missingSecrets does not ask for one", () => {
    const config = parse({ sshAuth: "agent" }, WITHOUT_SSH_KEY);
    expect(config.access.sshAuth).toBe("agent");
    const withoutSecrets = parse({ sshAuth: "agent" }, [], WITHOUT_SECRETS);
    expect(missingSecrets(withoutSecrets)).not.toContain("sshPrivateKey");
    expect(missingSecrets(parse({}, [], WITHOUT_SECRETS))).toContain("sshPrivateKey");
  });

  it("agent login with the key secret still set is refused: remove the secret, or log in with it", () => {
    const error = errorFor({ sshAuth: "agent" });
    const problem = expectProblem(
      error,
      "observability:sshPrivateKey",
      /sshAuth is agent/,
      /^pulumi config rm observability:sshPrivateKey/,
    );
    expect(problem.fix).toContain("pulumi config set observability:sshAuth key");
    // Even without the stack's secrets (render): the combination itself is wrong.
    expect(() => parse({ sshAuth: "agent" }, ALL_SECRETS, WITHOUT_SECRETS)).toThrow(StackConfigError);
  });

  it("an unknown login mode is refused with the closest mode suggested", () => {
    expectProblem(
      errorFor({ sshAuth: "agnet" }, WITHOUT_SSH_KEY),
      "observability:sshAuth",
      /"agnet" is not one of key, agent/,
      "pulumi config set observability:sshAuth agent",
    );
  });

  it("an outside host's host key is kept as type and key, its comment dropped; unset means trust on first use", () => {
    const key = ed25519(9);
    const config = parse(outsideHost({ hostKey: `  ${key} root@onprem-1 ` }));
    expect(config.externalHosts[0]?.hostKey).toBe(key);
    expect(parse(outsideHost({})).externalHosts[0]).not.toHaveProperty("hostKey");
    const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB";
    expect(parse(outsideHost({ hostKey: rsa })).externalHosts[0]?.hostKey).toBe(rsa);
  });

  it.each([
    ["not a key line", "onprem-1.example.com", /not an OpenSSH public key line/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["a truncated key", "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB", /does not encode a ssh-ed25519 key/],
    ["not a string", 42, /must be an OpenSSH public key line/],
  ])(
    "an outside host's host key that is %s is refused, the fix reading it on the host",
    (_label, hostKey, problem) => {
      expectProblem(
        errorFor(outsideHost({ hostKey })),
        "observability:externalHosts[0].hostKey",
        problem,
        "pulumi config set --path 'observability:externalHosts[0].hostKey' <contents of /etc/ssh/ssh_host_ecdsa_key.pub on the host>",
      );
    },
  );

  it("pins images by digest unless pinImageDigests is false; anything else is refused", () => {
    expect(parse().pinImageDigests).toBe(true);
    expect(parse({ pinImageDigests: "false" }).pinImageDigests).toBe(false);
    expect(parse({ pinImageDigests: false }).pinImageDigests).toBe(false);
    expectProblem(
      errorFor({ pinImageDigests: "no" }),
      "observability:pinImageDigests",
      /must be true or false/,
      "pulumi config set observability:pinImageDigests true",
    );
  });
});
