/** The network section: the VPC and subnet, who may reach SSH and Grafana, and how the deploy logs in. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { type ConfigProblem, PROJECT, settingsTable } from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseAccess, parseNetwork } from "../../../lib/stack-config/sections/network";
import { pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJ";

/** What an access section needs besides the value under test. */
const ACCESS = {
  sshAllowedCidrs: ["203.0.113.10/32"],
  grafanaAllowedCidrs: ["203.0.113.0/24"],
  sshKeyPairName: "ops",
};

function run<T>(section: (reader: SettingsReader) => T, values: Record<string, unknown>) {
  const reader = new SettingsReader(values, TABLE);
  return { result: section(reader), problems: reader.problems };
}

/** The one problem about `setting`. */
function problemAt(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  const matching = problems.filter((p) => p.setting === setting);
  expect(matching, JSON.stringify(problems)).toHaveLength(1);
  return matching[0] as ConfigProblem;
}

const argv = (fix: string) => pulumiInvocations(fix);

describe("the stack's own VPC", () => {
  it("defaults to 10.42.0.0/16 with the subnet 10.42.1.0/24", () => {
    expect(run(parseNetwork, {})).toEqual({
      result: { mode: "create", vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24" },
      problems: [],
    });
  });

  it("takes any private range from /16 to /28 holding the subnet", () => {
    const { result } = run(parseNetwork, { vpcCidr: "172.20.0.0/20", subnetCidr: "172.20.15.0/28" });
    expect(result).toEqual({ mode: "create", vpcCidr: "172.20.0.0/20", subnetCidr: "172.20.15.0/28" });
    expect(run(parseNetwork, { vpcCidr: "100.64.0.0/16", subnetCidr: "100.64.0.0/24" }).problems).toEqual([]);
  });

  it("refuses a subnet outside the VPC, suggesting the VPC's first /24", () => {
    const { result, problems } = run(parseNetwork, { vpcCidr: "10.42.0.0/16", subnetCidr: "10.43.1.0/24" });
    expect(result).toBeUndefined();
    const problem = problemAt(problems, P("subnetCidr"));
    expect(problem.problem).toBe('"10.43.1.0/24" is not inside vpcCidr "10.42.0.0/16"');
    expect(argv(problem.fix)).toEqual([["config", "set", P("subnetCidr"), "10.42.0.0/24"]]);
  });

  it("refuses a subnet larger than the VPC it should sit in", () => {
    const { problems } = run(parseNetwork, { vpcCidr: "10.42.1.0/24", subnetCidr: "10.42.0.0/16" });
    expect(problemAt(problems, P("subnetCidr")).problem).toMatch(/is not inside vpcCidr/);
  });

  it.each([
    ["vpcCidr", "8.8.0.0/16", /"8\.8\.0\.0\/16" is not a private range \(10\.0\.0\.0\/8, 172\.16/],
    ["vpcCidr", "10.0.0.0/8", /must have a prefix from \/16 to \/28/],
    ["subnetCidr", "10.42.1.0/29", /must have a prefix from \/16 to \/28/],
    ["vpcCidr", "10.42.0.1/16", /host bits set/],
  ])("refuses %s %s, fixing with the table's example", (key, value, problem) => {
    const { result, problems } = run(parseNetwork, { [key]: value });
    expect(result).toBeUndefined();
    const found = problemAt(problems, P(key));
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toHaveLength(1);
    expect(argv(found.fix)[0]?.slice(0, 3)).toEqual(["config", "set", P(key)]);
  });
});

describe("an existing VPC", () => {
  it("is used when both ids are set, however the CIDRs read", () => {
    const { result, problems } = run(parseNetwork, {
      existingVpcId: "vpc-0123456789abcdef0",
      existingSubnetId: "subnet-01234567",
    });
    expect(problems).toEqual([]);
    expect(result).toEqual({ mode: "existing", vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-01234567" });
  });

  it.each([
    ["existingVpcId", "existingSubnetId", "vpc-0123456789abcdef0"],
    ["existingSubnetId", "existingVpcId", "subnet-0123456789abcdef0"],
  ])("needs the other id when %s is set, which the operator types", (present, missing, id) => {
    const { result, problems } = run(parseNetwork, { [present]: id });
    expect(result).toBeUndefined();
    const problem = problemAt(problems, P(missing));
    expect(problem.problem).toMatch(new RegExp(`^is required when ${present} is set`));
    expect(argv(problem.fix)).toEqual([["config", "set", P(missing)]]);
  });

  it("refuses malformed ids, each fixed by typing the right one", () => {
    const { result, problems } = run(parseNetwork, {
      existingVpcId: "vpc-xyz",
      existingSubnetId: "sn-0123456789abcdef0",
    });
    expect(result).toBeUndefined();
    expect(problemAt(problems, P("existingVpcId")).problem).toMatch(/is not a VPC id like vpc-/);
    expect(problemAt(problems, P("existingSubnetId")).problem).toMatch(/is not a subnet id like subnet-/);
    for (const problem of problems) expect(argv(problem.fix)).toEqual([["config", "set", problem.setting]]);
  });
});

describe("SSH and Grafana allow-lists", () => {
  it("keep the listed CIDRs in order", () => {
    const { result } = run(parseAccess, {
      ...ACCESS,
      sshAllowedCidrs: ["203.0.113.10/32", "10.0.0.0/16"],
      grafanaAllowedCidrs: ["10.0.0.0/8"],
    });
    expect(result?.sshCidrs).toEqual(["203.0.113.10/32", "10.0.0.0/16"]);
    expect(result?.grafanaCidrs).toEqual(["10.0.0.0/8"]);
  });

  it.each([
    ["256.1.1.1/32", /malformed IPv4 address/],
    ["10.0.0/24", /malformed IPv4 address/],
    ["010.0.0.0/8", /malformed IPv4 address/],
    ["10.0.0.0/33", /malformed prefix length/],
    ["10.0.0.0/", /malformed prefix length/],
    ["office", /is not an IPv4 CIDR like 203\.0\.113\.0\/24/],
    ["2001:db8::/32", /is an IPv6 CIDR; these rules take IPv4 CIDRs only/],
  ])("refuse %s, leaving the CIDR to the operator", (cidr, problem) => {
    const { result, problems } = run(parseAccess, { ...ACCESS, sshAllowedCidrs: [cidr] });
    expect(result).toBeUndefined();
    const found = problemAt(problems, P("sshAllowedCidrs[0]"));
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("sshAllowedCidrs[0]")]]);
  });

  it.each([
    ["203.0.113.7", "has no prefix length", "203.0.113.7/32"],
    ["10.0.0.1/16", "has host bits set", "10.0.0.0/16"],
    ["192.168.7.201/30", "has host bits set", "192.168.7.200/30"],
  ])("refuse %s, which %s, suggesting %s", (cidr, what, suggestion) => {
    const { problems } = run(parseAccess, { ...ACCESS, grafanaAllowedCidrs: [cidr] });
    const found = problemAt(problems, P("grafanaAllowedCidrs[0]"));
    expect(found.problem).toBe(`"${cidr}" ${what} (did you mean ${suggestion}?)`);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("grafanaAllowedCidrs[0]"), suggestion]]);
  });

  it("refuse the whole internet for SSH, pointing at a /32 or SSM", () => {
    const { problems } = run(parseAccess, { ...ACCESS, sshAllowedCidrs: ["0.0.0.0/0"] });
    const found = problemAt(problems, P("sshAllowedCidrs[0]"));
    expect(found.problem).toMatch(/opens SSH to the whole internet.*\/32.*SSM Session Manager/);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("sshAllowedCidrs[0]")]]);
  });

  it("refuse the whole internet for Grafana", () => {
    const { problems } = run(parseAccess, { ...ACCESS, grafanaAllowedCidrs: ["0.0.0.0/0"] });
    expect(problemAt(problems, P("grafanaAllowedCidrs[0]")).problem).toMatch(
      /opens Grafana to the whole internet.*tunnel over SSH/,
    );
  });

  it("take SSH from /16 or narrower and Grafana from /8 or narrower", () => {
    expect(run(parseAccess, { ...ACCESS, sshAllowedCidrs: ["10.0.0.0/16"] }).problems).toEqual([]);
    expect(run(parseAccess, { ...ACCESS, grafanaAllowedCidrs: ["10.0.0.0/8"] }).problems).toEqual([]);
    const ssh = run(parseAccess, { ...ACCESS, sshAllowedCidrs: ["10.0.0.0/15"] });
    expect(problemAt(ssh.problems, P("sshAllowedCidrs[0]")).problem).toMatch(/too broad for SSH.*\/16/);
    const grafana = run(parseAccess, { ...ACCESS, grafanaAllowedCidrs: ["10.0.0.0/7"] });
    expect(problemAt(grafana.problems, P("grafanaAllowedCidrs[0]")).problem).toMatch(
      /too broad for Grafana.*\/8/,
    );
  });

  it("refuse halves of the internet that add up to all of it", () => {
    const { problems } = run(parseAccess, { ...ACCESS, sshAllowedCidrs: ["0.0.0.0/1", "128.0.0.0/1"] });
    expect(problems.map((p) => p.setting).sort()).toEqual([P("sshAllowedCidrs[0]"), P("sshAllowedCidrs[1]")]);
  });

  it.each([[undefined], [[]], [null]])("require at least one CIDR (given %j)", (value) => {
    const values: Record<string, unknown> = { ...ACCESS, sshAllowedCidrs: value };
    if (value === undefined) delete values.sshAllowedCidrs;
    const found = problemAt(run(parseAccess, values).problems, P("sshAllowedCidrs"));
    expect(found.problem).toMatch(/^is required: list at least one CIDR allowed to reach SSH/);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("sshAllowedCidrs[0]")]]);
  });

  it("refuse a CIDR listed twice, as AWS refuses duplicate rules", () => {
    const { problems } = run(parseAccess, {
      ...ACCESS,
      sshAllowedCidrs: ["203.0.113.10/32", " 203.0.113.10/32 "],
    });
    const found = problemAt(problems, P("sshAllowedCidrs[1]"));
    expect(found.problem).toMatch(/listed twice/);
    expect(argv(found.fix)).toEqual([["config", "rm", "--path", P("sshAllowedCidrs[1]")]]);
  });
});

describe("the hosts' SSH key", () => {
  it("is an EC2 key pair or a public key, never both", () => {
    expect(run(parseAccess, ACCESS).result).toEqual({
      sshCidrs: ["203.0.113.10/32"],
      grafanaCidrs: ["203.0.113.0/24"],
      sshKeyPairName: "ops",
      sshUser: "ubuntu",
      sshAuth: "key",
    });
    const { result } = run(parseAccess, { ...ACCESS, sshKeyPairName: undefined, sshPublicKey: ED25519 });
    expect(result?.sshPublicKey).toBe(ED25519);
    expect(result).not.toHaveProperty("sshKeyPairName");
  });

  it("refuses both, keeping the key pair", () => {
    const { result, problems } = run(parseAccess, { ...ACCESS, sshPublicKey: ED25519 });
    expect(result).toBeUndefined();
    const found = problemAt(problems, P("sshPublicKey"));
    expect(found.problem).toMatch(/is set together with sshKeyPairName: choose exactly one/);
    expect(argv(found.fix)).toEqual([["config", "rm", P("sshPublicKey")]]);
  });

  it("refuses neither, naming both ways in the problem and prompting for the key pair", () => {
    const { problems } = run(parseAccess, { ...ACCESS, sshKeyPairName: undefined });
    const found = problemAt(problems, P("sshKeyPairName"));
    expect(found.problem).toMatch(/neither sshKeyPairName nor sshPublicKey is set/);
    expect(found.problem).toContain(`pulumi config set ${P("sshPublicKey")} "$(cat ~/.ssh/id_ed25519.pub)"`);
    expect(argv(found.fix)).toEqual([["config", "set", P("sshKeyPairName")]]);
  });

  it.each([
    ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB ops", /does not encode a ssh-ed25519 key/],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["ops@example.com", /is not an OpenSSH public key line/],
  ])("refuses the public key %j, asking for the .pub line", (key, problem) => {
    const { problems } = run(parseAccess, { ...ACCESS, sshKeyPairName: undefined, sshPublicKey: key });
    const found = problemAt(problems, P("sshPublicKey"));
    expect(found.problem).toMatch(problem);
    expect(found.problem).toMatch(/paste the \.pub file's line$/);
    expect(argv(found.fix)).toEqual([["config", "set", P("sshPublicKey")]]);
    expect(found.fix).not.toContain("PRIVATE");
  });

  it("refuses a key pair name AWS would not take", () => {
    const { problems } = run(parseAccess, { ...ACCESS, sshKeyPairName: "ops\tkey" });
    expect(problemAt(problems, P("sshKeyPairName")).problem).toMatch(/is not an EC2 key pair name/);
    expect(run(parseAccess, { ...ACCESS, sshKeyPairName: "ops key (2024)" }).problems).toEqual([]);
  });
});

describe("the deploy's login", () => {
  it("takes another login user, and the SSH agent instead of the key secret", () => {
    const { result } = run(parseAccess, { ...ACCESS, sshUser: "admin", sshAuth: "agent" });
    expect(result?.sshUser).toBe("admin");
    expect(result?.sshAuth).toBe("agent");
  });

  it("refuses a user that is not a Linux user name, fixing with ubuntu", () => {
    const { problems } = run(parseAccess, { ...ACCESS, sshUser: "Root!" });
    const found = problemAt(problems, P("sshUser"));
    expect(found.problem).toBe('"Root!" is not a Linux user name');
    expect(argv(found.fix)).toEqual([["config", "set", P("sshUser"), "ubuntu"]]);
  });

  it("refuses an unknown login mode with the closest one suggested", () => {
    const { result, problems } = run(parseAccess, { ...ACCESS, sshAuth: "agnet" });
    expect(result).toBeUndefined();
    const found = problemAt(problems, P("sshAuth"));
    expect(found.problem).toMatch(/"agnet" is not one of key, agent/);
    expect(argv(found.fix)).toEqual([["config", "set", P("sshAuth"), "agent"]]);
  });
});
