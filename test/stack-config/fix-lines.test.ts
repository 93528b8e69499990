/**
 * Every fix line the reader prints is pasted into a real shell and applied the way the Pulumi
 * CLI applies it; the stack must then lose that problem, and pasting fix after fix must end in a
 * stack the reader accepts, with nothing the operator typed lost on the way.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import {
  CLIENT_FIELDS,
  type ConfigProblem,
  EXTERNAL_HOST_FIELDS,
  PROJECT,
  readStackConfig,
  type StackConfig,
  StackConfigError,
  settingsTable,
} from "../../lib/stack-config";
import { pasteFix, type StackConfigState } from "../support/pulumi-config-cli";

const P = (key: string) => `${PROJECT}:${key}`;

/** The least a stack must set, with every secret it could need. */
function baseState(): StackConfigState {
  return {
    values: {
      "aws:region": "eu-west-1",
      [P("sshAllowedCidrs")]: ["203.0.113.10/32"],
      [P("grafanaAllowedCidrs")]: ["203.0.113.0/24"],
      [P("sshKeyPairName")]: "ops",
      [P("alertEmailTo")]: ["oncall@example.com"],
      [P("smtpSmarthost")]: "email-smtp.eu-west-1.amazonaws.com:587",
      [P("smtpFrom")]: "alertmanager@example.com",
      [P("smtpUsername")]: "smtp-user",
    },
    secrets: new Set(["grafanaAdminPassword", "sshPrivateKey", "smtpPassword"].map(P)),
  };
}

function withValues(values: Record<string, unknown>, secrets: readonly string[] = []): StackConfigState {
  const state = baseState();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete state.values[key];
    else state.values[key] = value;
  }
  for (const secret of secrets) state.secrets.add(P(secret));
  return state;
}

type Reading = { ok: true; config: StackConfig } | { ok: false; problems: readonly ConfigProblem[] };

function read(state: StackConfigState): Reading {
  const secretsSet = new Set([...state.secrets].map((key) => key.slice(PROJECT.length + 1)));
  try {
    const { config } = readStackConfig(
      "dev",
      { values: state.values, secretsSet },
      { exporters: EXPORTER_SETTINGS },
    );
    return { ok: true, config };
  } catch (error) {
    if (error instanceof StackConfigError) return { ok: false, problems: error.problems };
    throw error;
  }
}

const table = settingsTable(EXPORTER_SETTINGS);
let typed = 0;

/** What an operator types at the CLI's prompt: a valid value for that key, never the same twice where it must be unique. */
function answer(key: string): string {
  typed += 1;
  const field = /\.([A-Za-z]+)$/.exec(key)?.[1];
  if (field === "address") return `198.51.100.${100 + typed}`;
  if (field === "name") return `typed-${typed}`;
  if (field === "hostKey")
    return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOiKtyEdHostKeyForPasteTestsOnly0000000000000";
  if (field === "sshUser") return "deploy";
  if (/sshAllowedCidrs|grafanaAllowedCidrs/.test(key)) return `198.51.100.${typed}/32`;
  if (/alertEmailTo/.test(key)) return `typed-${typed}@example.com`;
  if (/allowedAccountIds/.test(key)) return "123456789012";
  if (/tags/.test(key)) return "typed";
  const fieldSpec = [...CLIENT_FIELDS, ...EXTERNAL_HOST_FIELDS].find((spec) => spec.key === field);
  if (fieldSpec?.example) return fieldSpec.example;
  const name = key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : key;
  const spec = table.find((candidate) => candidate.key === name);
  if (spec) return spec.type === "secret" ? "typed-secret-value" : spec.example;
  throw new Error(`the test does not know what an operator would type for ${key}`);
}

interface BadInput {
  readonly title: string;
  readonly state: StackConfigState;
  /** The problem the reader must report (setting and text). */
  readonly setting: string;
  readonly problem: RegExp;
  /** What the stack must hold once every fix is pasted. */
  readonly afterFixes?: (config: StackConfig) => void;
}

const BAD_INPUTS: readonly BadInput[] = [
  {
    title: "a misspelt namespace, which would otherwise fall back to one default client",
    state: withValues({
      "observabilty:clients": [{ name: "web-1" }, { name: "db-1", exporters: ["redis"] }],
    }),
    setting: "observabilty:clients",
    problem: /namespace "observabilty".*did you mean "observability:clients"/,
    afterFixes: (config) => {
      expect(config.clients.map((client) => client.name)).toEqual(["web-1", "db-1"]);
      expect(config.clients[1]?.exporters).toEqual(["redis"]);
    },
  },
  {
    title: "a capitalised namespace",
    state: withValues({ "Observability:scrapeInterval": "20s" }),
    setting: "Observability:scrapeInterval",
    problem: /namespace "Observability"/,
    afterFixes: (config) => expect(config.metrics.scrapeInterval).toBe("20s"),
  },
  {
    title: "a namespace nothing reads",
    state: withValues({ "grafana:adminUser": "root" }),
    setting: "grafana:adminUser",
    problem: /namespace "grafana", which this program does not read/,
  },
  {
    title: "an AWS provider key the explicit provider never reads",
    state: withValues({ "aws:accessKey": "AKIAEXAMPLE" }),
    setting: "aws:accessKey",
    problem: /does not read.*environment/,
  },
  {
    title: "a misspelt AWS key",
    state: withValues({ "aws:regoin": "eu-central-1", "aws:region": undefined }),
    setting: "aws:regoin",
    problem: /did you mean "aws:region"/,
    afterFixes: (config) => expect(config.region).toBe("eu-central-1"),
  },
  {
    title: "a misspelt setting keeps the typed value",
    state: withValues({ [P("monitorInstanceTyp")]: "m6i.large" }),
    setting: P("monitorInstanceTyp"),
    problem: /did you mean "monitorInstanceType"/,
    afterFixes: (config) => expect(config.monitor.instanceType).toBe("m6i.large"),
  },
  {
    title: "a misspelt client field keeps the typed value",
    state: withValues({ [P("clients")]: [{ name: "db-1", instanceType: "t3.small", rootVolumeGB: 40 }] }),
    setting: P("clients[0].rootVolumeGB"),
    problem: /did you mean "rootVolumeGb"/,
    afterFixes: (config) => {
      expect(config.clients[0]?.rootVolumeGb).toBe(40);
      expect(config.clients[0]?.instanceType).toBe("t3.small");
    },
  },
  {
    title: "a misspelt list field keeps the whole list",
    state: withValues({ [P("clients")]: [{ name: "web-1", exporter: ["nginx", "redis"] }] }),
    setting: P("clients[0].exporter"),
    problem: /did you mean "exporters"/,
    afterFixes: (config) => expect(config.clients[0]?.exporters).toEqual(["nginx", "redis"]),
  },
  {
    title: "an outside host named like a resource the stack already uses",
    state: withValues({
      [P("externalHosts")]: [{ name: "clients", address: "198.51.100.7", sshUser: "deploy" }],
    }),
    setting: P("externalHosts[0].name"),
    problem: /"clients" is reserved/,
  },
  {
    title: "two outside hosts with one address",
    state: withValues({
      [P("externalHosts")]: [
        { name: "lab-1", address: "198.51.100.7", sshUser: "deploy" },
        { name: "lab-2", address: "198.51.100.7", sshUser: "deploy" },
      ],
    }),
    setting: P("externalHosts[1].address"),
    problem: /already the address of externalHosts\[0\]/,
  },
  {
    title: "a Grafana root URL with a quote",
    state: withValues({ [P("grafanaRootUrl")]: "https://grafana.example.com/'x" }),
    setting: P("grafanaRootUrl"),
    problem: /quote/,
  },
  {
    title: "a retention beyond the upper bound, named as such",
    state: withValues({ [P("metricsRetention")]: "200y", [P("metricsRetentionSize")]: "40GB" }),
    setting: P("metricsRetention"),
    problem: /must be from 1d to 100y/,
  },
  {
    title: "a host name that is a number, not a missing one",
    state: withValues({ [P("clients")]: [{ name: 123 }] }),
    setting: P("clients[0].name"),
    problem: /^123 must be a string/,
    afterFixes: (config) => expect(config.clients[0]?.name).toBe("123"),
  },
  {
    title: "an IPv6 CIDR, called so",
    state: withValues({ [P("sshAllowedCidrs")]: ["2001:db8::/32"] }),
    setting: P("sshAllowedCidrs[0]"),
    problem: /is an IPv6 CIDR/,
  },
  {
    title: "a fraction where a percentage is meant",
    state: withValues({ [P("alertThresholds")]: { cpuPercent: 0.9 } }),
    setting: P("alertThresholds.cpuPercent"),
    problem: /looks like a fraction/,
    afterFixes: (config) => expect(config.alerting.thresholds.cpuPercent).toBe(90),
  },
  {
    title: "a host-down delay of zero",
    state: withValues({ [P("alertThresholds")]: { hostDownFor: "0s" } }),
    setting: P("alertThresholds.hostDownFor"),
    problem: /must be from 1m to 1d/,
  },
  {
    title: "a scrape interval longer than the rules' rate windows allow",
    state: withValues({ [P("scrapeInterval")]: "2m" }),
    setting: P("scrapeInterval"),
    problem: /from 1s to 1m15s \(the alert rules take rates over 5m/,
  },
  {
    title: "time-only metrics retention that outgrows the data volume",
    state: withValues({ [P("metricsRetention")]: "20y", [P("monitorDataVolumeGb")]: "20" }),
    setting: P("metricsRetentionSize"),
    problem: /needs about \d+ GiB/,
    afterFixes: (config) => expect(config.metrics.retentionSize).toBe("16GB"),
  },
  {
    title: "a region that does not exist",
    state: withValues({ "aws:region": "eu-wset-1" }),
    setting: "aws:region",
    problem: /is not an AWS region \(did you mean "eu-west-1"\?\)/,
    afterFixes: (config) => expect(config.region).toBe("eu-west-1"),
  },
  {
    title: "a missing secret, set without putting it on the command line",
    state: (() => {
      const state = withValues({});
      state.secrets.delete(P("grafanaAdminPassword"));
      return state;
    })(),
    setting: P("grafanaAdminPassword"),
    problem: /is required/,
  },
  {
    title: "a secret in plain text",
    state: withValues({ [P("smtpPassword")]: "hunter2" }),
    setting: P("smtpPassword"),
    problem: /plain text/,
  },
  {
    title: "too many clients",
    state: withValues({
      [P("clients")]: Array.from({ length: 102 }, (_, index) => ({ name: `c-${index}` })),
    }),
    setting: P("clients"),
    problem: /at most 100/,
  },
  {
    title: "an outside host with its address missing",
    state: withValues({ [P("externalHosts")]: [{ name: "lab-1", sshUser: "deploy" }] }),
    setting: P("externalHosts[0].address"),
    problem: /is required/,
  },
  {
    title: "an nginx status URL on a host without nginx",
    state: withValues({
      [P("clients")]: [{ name: "ci-1", nginxStatusUrl: "http://127.0.0.1:8081/stub_status" }],
    }),
    setting: P("clients[0].nginxStatusUrl"),
    problem: /does not enable/,
  },
  {
    title: "a misspelt key next to the default Pulumi.yaml gives every stack, keeping the typed value",
    state: withValues({ [P("scrapeIntervall")]: "15s", [P("scrapeInterval")]: "30s" }),
    setting: P("scrapeIntervall"),
    problem: /did you mean "scrapeInterval"/,
    afterFixes: (config) => expect(config.metrics.scrapeInterval).toBe("15s"),
  },
  {
    title: "a secret under a misspelt key, never written into the line",
    state: withValues({ [P("heartbeatUrI")]: "https://hb.acme.io/SECRET-TOKEN" }),
    setting: P("heartbeatUrI"),
    problem: /did you mean "heartbeatUrl"/,
    afterFixes: (config) => expect(config.alerting.heartbeat).toBe(true),
  },
  {
    title: "a client given as a bare name before a full host, which its fix must not overwrite",
    state: withValues({ [P("clients")]: ["web-2", { name: "db-1", exporters: ["redis"] }] }),
    setting: P("clients[0]"),
    problem: /must be a map/,
    afterFixes: (config) =>
      expect(config.clients.map((client) => [client.name, client.exporters])).toEqual([
        ["db-1", ["redis"]],
        ["web-2", []],
      ]),
  },
  {
    title: "a list where a Slack channel belongs",
    state: withValues({ [P("slackChannel")]: ["#alerts"] }),
    setting: P("slackChannel"),
    problem: /must be a string/,
  },
  {
    title: "a client field whose name holds a dot",
    state: withValues({ [P("clients")]: [{ name: "web-1", "nginx.statusUrl": "http://127.0.0.1:8081/x" }] }),
    setting: P('clients[0]["nginx.statusUrl"]'),
    problem: /is not a known field/,
  },
  {
    title: "a misspelt threshold holding a negative number",
    state: withValues({ [P("alertThresholds")]: { cpuPercnt: "-5" } }),
    setting: P("alertThresholds.cpuPercnt"),
    problem: /did you mean "cpuPercent"/,
  },
  {
    title: "one exporter listed three times",
    state: withValues({ [P("clients")]: [{ name: "web-1", exporters: ["nginx", "nginx", "nginx"] }] }),
    setting: P("clients[0].exporters[2]"),
    problem: /lists "nginx" twice/,
    afterFixes: (config) => expect(config.clients[0]?.exporters).toEqual(["nginx"]),
  },
];

describe.each(BAD_INPUTS)("$title", ({ state, setting, problem, afterFixes }) => {
  it("is refused with the setting and the reason", () => {
    const reading = read(state);
    expect(reading.ok, "the reader accepted it").toBe(false);
    if (reading.ok) return;
    expect(
      reading.problems.find((p) => p.setting === setting)?.problem,
      JSON.stringify(reading.problems),
    ).toMatch(problem);
  });

  it("loses each problem when that problem's fix line is pasted", () => {
    const reading = read(state);
    if (reading.ok) throw new Error("accepted");
    for (const each of reading.problems) {
      const after = read(pasteFix(state, each.fix, answer));
      const remaining = after.ok ? [] : after.problems;
      // Gone, or (for an item listed three times, whose next copy moves into its place) one fewer.
      const gone = !remaining.some((p) => p.setting === each.setting && p.problem === each.problem);
      expect(
        gone || remaining.length < reading.problems.length,
        `still there after pasting: ${each.fix}`,
      ).toBe(true);
    }
  });

  it("takes every printed fix line, pasted in the order printed", () => {
    const reading = read(state);
    if (reading.ok) throw new Error("accepted");
    let current = state;
    for (const each of reading.problems) current = pasteFix(current, each.fix, answer);
    const after = read(current);
    const left = after.ok ? [] : after.problems;
    // What is left can only be what the first fixes could not know about (a value the operator typed may be refused).
    expect(
      left.filter((p) => reading.problems.some((q) => q.setting === p.setting && q.problem === p.problem)),
    ).toEqual([]);
  });

  it("is accepted once fix after fix is pasted, with what was typed kept", () => {
    let current = state;
    for (let round = 0; round < 25; round += 1) {
      const reading = read(current);
      if (reading.ok) {
        afterFixes?.(reading.config);
        return;
      }
      current = pasteFix(current, (reading.problems[0] as ConfigProblem).fix, answer);
    }
    throw new Error(`still refused after 25 fixes: ${JSON.stringify(read(current))}`);
  });
});

describe("an explicit empty clients list", () => {
  it.each([null, "", [], "[]"])("%j means no EC2 clients, not the default one", (value) => {
    const reading = read(withValues({ [P("clients")]: value }));
    expect(reading.ok && reading.config.clients).toEqual([]);
  });

  it("while leaving the setting out gives the one default client", () => {
    const reading = read(withValues({}));
    expect(reading.ok && reading.config.clients.map((client) => client.name)).toEqual(["client-1"]);
  });
});
