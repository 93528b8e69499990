/** The hosts section: the monitor, the EC2 clients, hosts outside AWS and their exporters. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { type Ipv4Cidr, parseCidr } from "../../../lib/cidr";
import {
  type ConfigProblem,
  INSTANCE_FAMILIES,
  MAX_CLIENTS,
  MAX_EXTERNAL_HOSTS,
  PROJECT,
  settingsTable,
} from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseClients, parseExternalHosts, parseMonitor } from "../../../lib/stack-config/sections/hosts";
import { pasteFix, pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJ";
const OWN_VPC = (() => {
  const parsed = parseCidr("10.42.0.0/16");
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.cidr;
})();

/**
 * Reads the monitor, the clients, then the outside hosts (sharing their names, as the reader
 * does); `ownVpc` is the VPC the stack creates, null when it uses an existing one.
 */
function hosts(values: Record<string, unknown>, ownVpc: Ipv4Cidr | null = OWN_VPC) {
  const reader = new SettingsReader(values, TABLE);
  const seen = new Map<string, string>();
  const monitor = parseMonitor(reader, values.production === true);
  const clients = parseClients(reader, EXPORTER_SETTINGS, seen);
  const external = parseExternalHosts(reader, EXPORTER_SETTINGS, seen, ownVpc ?? undefined);
  return { monitor, clients, external, problems: reader.problems };
}

function problemAt(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  const matching = problems.filter((p) => p.setting === setting);
  expect(matching, JSON.stringify(problems)).toHaveLength(1);
  return matching[0] as ConfigProblem;
}

const argv = (fix: string) => pulumiInvocations(fix);

const outside = (extra: Record<string, unknown>, name = "onprem-1") => ({
  externalHosts: [{ name, address: "198.51.100.7", sshUser: "deploy", ...extra }],
});

describe("the monitor", () => {
  it("defaults to a t3.medium with a 20 GiB root and a 50 GiB data volume", () => {
    expect(hosts({}).monitor).toEqual({
      instanceType: "t3.medium",
      architecture: "x86_64",
      rootVolumeGb: 20,
      dataVolumeGb: 50,
      snapshotRetainCount: 0,
    });
    expect(hosts({ monitorInstanceType: "r7g.large" }).monitor?.architecture).toBe("arm64");
  });

  it("keeps no snapshots by default, 14 on a production stack, and what is set either way", () => {
    expect(hosts({ production: true }).monitor?.snapshotRetainCount).toBe(14);
    expect(hosts({ production: true, dataSnapshotRetainCount: 0 }).monitor?.snapshotRetainCount).toBe(0);
    expect(hosts({ dataSnapshotRetainCount: 30 }).monitor?.snapshotRetainCount).toBe(30);
    expect(hosts({ dataSnapshotRetainCount: -1 }).problems.map((p) => p.setting)).toEqual([
      "observability:dataSnapshotRetainCount",
    ]);
  });

  it("creates the data volume from a snapshot id, and refuses what is not one", () => {
    expect(hosts({ dataVolumeSnapshotId: "snap-0123456789abcdef0" }).monitor?.restoreSnapshotId).toBe(
      "snap-0123456789abcdef0",
    );
    const refused = hosts({ dataVolumeSnapshotId: "vol-0123456789abcdef0" });
    expect(refused.monitor).toBeUndefined();
    expect(refused.problems.map((p) => [p.setting, p.fix])).toEqual([
      ["observability:dataVolumeSnapshotId", "pulumi config set observability:dataVolumeSnapshotId"],
    ]);
  });

  it.each([
    ["t3.nano", "t3.medium"],
    ["t3.micro", "t3.medium"],
    ["t3.small", "t3.medium"],
    ["t4g.micro", "t4g.medium"],
  ])("refuses %s as too small, suggesting %s", (type, suggestion) => {
    const found = problemAt(hosts({ monitorInstanceType: type }).problems, P("monitorInstanceType"));
    expect(found.problem).toMatch(/too small for Prometheus, Loki, Grafana and Alertmanager/);
    expect(argv(found.fix)).toEqual([["config", "set", P("monitorInstanceType"), suggestion]]);
  });

  it("refuses a malformed instance type", () => {
    const found = problemAt(hosts({ monitorInstanceType: "large" }).problems, P("monitorInstanceType"));
    expect(found.problem).toMatch(/is not an EC2 instance type/);
    expect(argv(found.fix)).toEqual([["config", "set", P("monitorInstanceType"), "t3.medium"]]);
  });

  it("refuses volumes outside the table's bounds", () => {
    const { problems } = hosts({ monitorRootVolumeGb: "7", monitorDataVolumeGb: 20_000 });
    expect(problemAt(problems, P("monitorRootVolumeGb")).problem).toBe("must be from 8 to 1024, got 7");
    expect(problemAt(problems, P("monitorDataVolumeGb")).problem).toBe("must be from 10 to 16384, got 20000");
  });
});

describe("EC2 clients", () => {
  it("default to one client-1 of the client defaults; an explicit empty list means none", () => {
    expect(hosts({}).clients).toEqual([
      {
        name: "client-1",
        exporters: [],
        exporterSettings: {},
        instanceType: "t3.small",
        architecture: "x86_64",
        rootVolumeGb: 16,
      },
    ]);
    for (const empty of [[], "[]", "", null]) expect(hosts({ clients: empty }).clients).toEqual([]);
  });

  it("take their own type and volume over the stack-wide defaults", () => {
    const { clients, problems } = hosts({
      clientInstanceType: "t3a.large",
      clientRootVolumeGb: 30,
      clients: [{ name: "db-1", instanceType: "c7g.xlarge", rootVolumeGb: "40" }, { name: "web-1" }],
    });
    expect(problems).toEqual([]);
    expect(clients?.map((c) => [c.name, c.instanceType, c.architecture, c.rootVolumeGb])).toEqual([
      ["db-1", "c7g.xlarge", "arm64", 40],
      ["web-1", "t3a.large", "x86_64", 30],
    ]);
  });

  it(`take up to ${MAX_CLIENTS}; more are refused, the fix removing the last ones`, () => {
    const list = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `c-${i}` }));
    expect(hosts({ clients: list(MAX_CLIENTS) }).clients).toHaveLength(MAX_CLIENTS);
    const { clients, problems } = hosts({ clients: list(MAX_CLIENTS + 2) });
    expect(clients).toBeUndefined();
    const found = problemAt(problems, P("clients"));
    expect(found.problem).toBe(
      `lists ${MAX_CLIENTS + 2} hosts; at most ${MAX_CLIENTS} are supported (remove the last 2)`,
    );
    const state = pasteFix(
      { values: { [P("clients")]: list(MAX_CLIENTS + 2) }, secrets: new Set() },
      found.fix,
      () => {
        throw new Error("no prompt expected");
      },
    );
    expect(state.values[P("clients")]).toEqual(list(MAX_CLIENTS));
  });

  it("refuse an unknown instance family, naming every allowed one", () => {
    const found = problemAt(hosts({ clientInstanceType: "x2idn.large" }).problems, P("clientInstanceType"));
    expect(found.problem).toMatch(/family "x2idn" is not supported/);
    for (const family of Object.keys(INSTANCE_FAMILIES)) expect(found.problem).toContain(family);
    expect(argv(found.fix)).toEqual([["config", "set", P("clientInstanceType"), "t3.small"]]);
  });

  it.each([
    [{ instanceType: "m6i.nano" }, "clients[0].instanceType", /does not exist/, "t3.small"],
    [{ instanceType: 5 }, "clients[0].instanceType", /^must be a string, got 5$/, "t3.small"],
    [{ rootVolumeGb: "7" }, "clients[0].rootVolumeGb", /from 8 to 16384, got "7"/, "8"],
    [{ rootVolumeGb: 20_000 }, "clients[0].rootVolumeGb", /from 8 to 16384, got 20000/, "16384"],
    [{ rootVolumeGb: "abc" }, "clients[0].rootVolumeGb", /whole number of GiB/, "16"],
    [{ rootVolumeGb: 30.5 }, "clients[0].rootVolumeGb", /whole number of GiB/, "31"],
  ])("refuse the client field %j", (field, setting, problem, value) => {
    const { clients, problems } = hosts({ clients: [{ name: "web-1", ...field }] });
    expect(clients).toBeUndefined();
    const found = problemAt(problems, P(setting));
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P(setting), value]]);
  });

  it("refuse an entry that is not a map, turning a name into one", () => {
    const found = problemAt(hosts({ clients: ["Web 1"] }).problems, P("clients[0]"));
    expect(found.problem).toBe('must be a map like { name: web-1 }, got "Web 1"');
    expect(argv(found.fix)).toEqual([
      ["config", "rm", "--path", P("clients[0]")],
      ["config", "set", "--path", P("clients[0].name"), "web-1"],
    ]);
  });

  it("refuse an unknown field, keeping its value under the field it was meant to be", () => {
    const found = problemAt(
      hosts({ clients: [{ name: "web-1", exporter: ["nginx"] }] }).problems,
      P("clients[0].exporter"),
    );
    expect(found.problem).toMatch(/^is not a known field \(did you mean "exporters"\?\)/);
    expect(argv(found.fix)).toEqual([
      ["config", "rm", "--path", P("clients[0].exporter")],
      ["config", "set", "--path", P("clients[0].exporters[0]"), "nginx"],
    ]);
  });
});

describe("host names", () => {
  it.each([
    ["Web_1", /must be a string of 1-32 lowercase letters, digits or hyphens/, "web-1"],
    ["x".repeat(33), /must be a string of 1-32/, "x".repeat(32)],
    [123, /^123 must be a string/, "123"],
  ])("refuse %j, suggesting %s", (name, problem, suggestion) => {
    const found = problemAt(hosts({ clients: [{ name }] }).problems, P("clients[0].name"));
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("clients[0].name"), suggestion]]);
  });

  it.each([[{}], [{ name: "" }], [{ name: null }]])(
    "are required (entry %j); the operator types one",
    (entry) => {
      const found = problemAt(hosts({ clients: [entry] }).problems, P("clients[0].name"));
      expect(found.problem).toBe("is required (a host name like web-1)");
      expect(argv(found.fix)).toEqual([["config", "set", "--path", P("clients[0].name")]]);
    },
  );

  it.each([
    ["monitor", /"monitor" is reserved: it is the monitor host's own name/],
    ["clients", /"clients" is reserved: it names the rule that admits every EC2 client to the push gateway/],
  ])("refuse the reserved name %s", (name, problem) => {
    const found = problemAt(hosts({ clients: [{ name }] }).problems, P("clients[0].name"));
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("clients[0].name"), `${name}-1`]]);
  });

  it("are unique across clients and outside hosts", () => {
    const twice = hosts({ clients: [{ name: "web-1" }, { name: "web-1" }] });
    const found = problemAt(twice.problems, P("clients[1].name"));
    expect(found.problem).toMatch(/"web-1" is already used by clients\[0\]; host names must be unique/);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("clients[1].name"), "web-1-2"]]);

    const across = hosts({ clients: [{ name: "db-1" }], ...outside({}, "db-1") });
    expect(problemAt(across.problems, P("externalHosts[0].name")).problem).toMatch(
      /"db-1" is already used by clients\[0\]; host names must be unique across clients and externalHosts/,
    );
  });
});

describe("optional exporters", () => {
  it("are listed per host, each known and at most once", () => {
    const { clients } = hosts({ clients: [{ name: "a-1", exporters: ["redis", "nginx"] }] });
    expect(clients?.[0]?.exporters).toEqual(["redis", "nginx"]);
  });

  it("refuse an unknown one, naming every exporter and suggesting the closest", () => {
    const found = problemAt(
      hosts({ clients: [{ name: "web-1", exporters: ["ngnix"] }] }).problems,
      P("clients[0].exporters[0]"),
    );
    expect(found.problem).toMatch(/^"ngnix" is not an optional exporter \(did you mean "nginx"\?\)/);
    for (const exporter of EXPORTER_SETTINGS) expect(found.problem).toContain(exporter.name);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("clients[0].exporters[0]"), "nginx"]]);

    const far = hosts({ clients: [{ name: "web-1", exporters: ["nginx", "elasticsearch"] }] });
    expect(argv(problemAt(far.problems, P("clients[0].exporters[1]")).fix)).toEqual([
      ["config", "rm", "--path", P("clients[0].exporters[1]")],
    ]);
  });

  it("refuse one listed twice, and a value that is not a list", () => {
    const twice = hosts(outside({ exporters: ["redis", "redis"] }));
    const found = problemAt(twice.problems, P("externalHosts[0].exporters[1]"));
    expect(found.problem).toBe('lists "redis" twice');
    expect(argv(found.fix)).toEqual([["config", "rm", "--path", P("externalHosts[0].exporters[1]")]]);

    const map = hosts({ clients: [{ name: "web-1", exporters: { nginx: true } }] });
    expect(problemAt(map.problems, P("clients[0].exporters")).problem).toMatch(
      /^must be a list of exporters/,
    );
  });

  it("fill in their per-host settings' defaults, and keep what a host sets", () => {
    const nginx = EXPORTER_SETTINGS.find((exporter) => exporter.name === "nginx");
    const field = nginx?.hostFields?.[0];
    if (!field) throw new Error("the nginx record has no per-host field");
    const { clients, problems } = hosts({
      clients: [
        { name: "web-1", exporters: ["nginx"] },
        { name: "web-2", exporters: ["nginx"], [field.key]: ` ${field.example} ` },
        { name: "app-1" },
      ],
    });
    expect(problems).toEqual([]);
    expect(clients?.map((c) => c.exporterSettings)).toEqual([
      { [field.key]: field.default },
      { [field.key]: field.example },
      {},
    ]);
  });

  it("refuse a per-host setting its exporter refuses, or on a host without that exporter", () => {
    const bad = hosts({ clients: [{ name: "web-1", exporters: ["nginx"], nginxStatusUrl: "ftp://x" }] });
    const found = problemAt(bad.problems, P("clients[0].nginxStatusUrl"));
    expect(found.problem).toMatch(/http\(s\) URL/);
    expect(argv(found.fix)[0]?.slice(0, 4)).toEqual([
      "config",
      "set",
      "--path",
      P("clients[0].nginxStatusUrl"),
    ]);

    const without = hosts({
      clients: [{ name: "ci-1", nginxStatusUrl: "http://127.0.0.1:8081/stub_status" }],
    });
    const stray = problemAt(without.problems, P("clients[0].nginxStatusUrl"));
    expect(stray.problem).toMatch(/is a setting of the nginx exporter, which this host does not enable/);
    expect(argv(stray.fix)).toEqual([["config", "rm", "--path", P("clients[0].nginxStatusUrl")]]);
  });
});

describe("hosts outside AWS", () => {
  it("need an address and a Linux user; the operator types both", () => {
    const { external, problems } = hosts({
      externalHosts: [{ name: "edge-1", address: "not an address", sshUser: "Root!" }],
    });
    expect(external).toBeUndefined();
    const address = problemAt(problems, P("externalHosts[0].address"));
    expect(address.problem).toBe('"not an address" is not an IPv4 address like 192.0.2.10');
    expect(argv(address.fix)).toEqual([["config", "set", "--path", P("externalHosts[0].address")]]);
    const user = problemAt(problems, P("externalHosts[0].sshUser"));
    expect(user.problem).toMatch(/must be a Linux user name \(e\.g\. deploy\), got "Root!"/);
    expect(argv(user.fix)).toEqual([["config", "set", "--path", P("externalHosts[0].sshUser")]]);

    const missing = hosts({ externalHosts: [{ name: "edge-1", sshUser: "deploy" }] });
    expect(problemAt(missing.problems, P("externalHosts[0].address")).problem).toMatch(/^is required.*IPv4/);
  });

  it("refuse a DNS name: Loki admits their pushes by an ingress rule from <address>/32", () => {
    for (const name of ["edge-2.example.com", "localhost"]) {
      const { problems } = hosts(outside({ address: name }));
      expect(problems).toHaveLength(1);
      const found = problemAt(problems, P("externalHosts[0].address"));
      expect(found.problem).toMatch(/is a DNS name.*IPv4 address.*ingress rule from <address>\/32/);
      expect(found.problem).toContain(`dig +short A ${name}`);
      expect(argv(found.fix)).toEqual([["config", "set", "--path", P("externalHosts[0].address")]]);
    }
  });

  it("suggest the bare address for a CIDR and refuse IPv6", () => {
    const cidr = problemAt(
      hosts(outside({ address: "198.51.100.7/32" })).problems,
      P("externalHosts[0].address"),
    );
    expect(cidr.problem).toMatch(/is a CIDR; give the host's single IPv4 address/);
    expect(argv(cidr.fix)).toEqual([
      ["config", "set", "--path", P("externalHosts[0].address"), "198.51.100.7"],
    ]);
    const ipv6 = problemAt(
      hosts(outside({ address: "2001:db8::5" })).problems,
      P("externalHosts[0].address"),
    );
    expect(ipv6.problem).toMatch(/is an IPv6 address; hosts outside AWS need an IPv4 address/);
  });

  it.each([
    ["127.0.0.1", "127.0.0.0/8", /loopback/],
    ["169.254.169.254", "169.254.0.0/16", /metadata service/],
    ["0.0.0.0", "0.0.0.0/8", /unspecified/],
    ["224.0.0.251", "224.0.0.0/4", /multicast/],
    ["255.255.255.255", "240.0.0.0/4", /broadcast/],
  ])("refuse %s (%s)", (address, range, why) => {
    const found = problemAt(hosts(outside({ address })).problems, P("externalHosts[0].address"));
    expect(found.problem.startsWith(`"${address}" is in ${range} (`)).toBe(true);
    expect(found.problem).toMatch(why);
  });

  it("refuse an address inside the stack's own VPC; elsewhere private addresses (VPN) are fine", () => {
    const inside = hosts(outside({ address: "10.42.7.9" }));
    expect(problemAt(inside.problems, P("externalHosts[0].address")).problem).toMatch(
      /inside the stack's own VPC 10\.42\.0\.0\/16/,
    );
    const otherVpc = parseCidr("10.50.0.0/16");
    if (!otherVpc.ok) throw new Error(otherVpc.problem);
    expect(hosts(outside({ address: "10.42.7.9" }), otherVpc.cidr).external?.[0]?.address).toBe("10.42.7.9");
    // An existing VPC's range is unknown to the reader: the address is taken as given.
    expect(hosts(outside({ address: "10.42.7.9" }), null).external?.[0]?.address).toBe("10.42.7.9");
    expect(hosts(outside({ address: " 198.51.100.7 " })).external?.[0]?.address).toBe("198.51.100.7");
  });

  it("refuse two hosts at one address", () => {
    const { problems } = hosts({
      externalHosts: [
        { name: "lab-1", address: "198.51.100.7", sshUser: "deploy" },
        { name: "lab-2", address: "198.51.100.7", sshUser: "deploy" },
      ],
    });
    const found = problemAt(problems, P("externalHosts[1].address"));
    expect(found.problem).toMatch(/"198\.51\.100\.7" is already the address of externalHosts\[0\]/);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("externalHosts[1].address")]]);
  });

  it("refuse an entry that is not a map, and more than the maximum", () => {
    const found = problemAt(hosts({ externalHosts: ["lab-1"] }).problems, P("externalHosts[0]"));
    expect(found.problem).toMatch(/^must be a map like \{ name, address, sshUser \}/);
    expect(argv(found.fix)).toEqual([["config", "rm", "--path", P("externalHosts[0]")]]);
    const many = Array.from({ length: MAX_EXTERNAL_HOSTS + 1 }, (_, i) => ({
      name: `h-${i}`,
      address: `198.51.100.${i + 1}`,
      sshUser: "deploy",
    }));
    expect(problemAt(hosts({ externalHosts: many }).problems, P("externalHosts")).problem).toMatch(
      new RegExp(`at most ${MAX_EXTERNAL_HOSTS} are supported`),
    );
  });

  it("keep a host key as type and key, its comment dropped; unset means trust on first use", () => {
    expect(hosts(outside({ hostKey: `  ${ED25519} root@onprem-1 ` })).external?.[0]?.hostKey).toBe(ED25519);
    expect(hosts(outside({})).external?.[0]).not.toHaveProperty("hostKey");
    expect(hosts(outside({ hostKey: "" })).external?.[0]).not.toHaveProperty("hostKey");
    const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB";
    expect(hosts(outside({ hostKey: rsa })).external?.[0]?.hostKey).toBe(rsa);
  });

  it.each([
    ["not a key line", "onprem-1.example.com", /not an OpenSSH public key line/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["a truncated key", "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB", /does not encode a ssh-ed25519 key/],
    ["not a string", 42, /must be an OpenSSH public key line, got 42/],
  ])(
    "refuse a host key that is %s; the operator types the one read on the host",
    (_label, hostKey, problem) => {
      const found = problemAt(hosts(outside({ hostKey })).problems, P("externalHosts[0].hostKey"));
      expect(found.problem).toMatch(problem);
      expect(found.problem).toMatch(/its \/etc\/ssh\/ssh_host_ecdsa_key\.pub/);
      expect(argv(found.fix)).toEqual([["config", "set", "--path", P("externalHosts[0].hostKey")]]);
    },
  );
});
