/**
 * The services section: the AWS provider, machine images, metrics retention, Grafana's address,
 * the instance profile and resource tags.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import {
  type Architecture,
  CANONICAL_OWNER_ID,
  type ConfigProblem,
  DEFAULT_UBUNTU_IMAGE_NAMES,
  PROJECT,
  settingsTable,
} from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import {
  parseAwsProvider,
  parseGrafana,
  parseImages,
  parseInstanceProfile,
  parseMetrics,
  parseRegion,
  parseTags,
} from "../../../lib/stack-config/sections/services";
import { pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

function run<T>(section: (reader: SettingsReader) => T, values: Record<string, unknown>) {
  const reader = new SettingsReader(values, TABLE);
  return { result: section(reader), problems: reader.problems };
}

function problemAt(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  const matching = problems.filter((p) => p.setting === setting);
  expect(matching, JSON.stringify(problems)).toHaveLength(1);
  return matching[0] as ConfigProblem;
}

const argv = (fix: string) => pulumiInvocations(fix);

describe("the region", () => {
  it("is required, and typed by the operator", () => {
    const found = problemAt(run(parseRegion, {}).problems, "aws:region");
    expect(found.problem).toBe("is required (the AWS region to deploy into)");
    expect(argv(found.fix)).toEqual([["config", "set", "aws:region"]]);
    expect(run(parseRegion, { "aws:region": " eu-central-1 " }).result).toBe("eu-central-1");
  });

  it("must be one the AWS provider knows; a typo gets the closest one", () => {
    const typo = problemAt(run(parseRegion, { "aws:region": "eu-wset-1" }).problems, "aws:region");
    expect(typo.problem).toBe('"eu-wset-1" is not an AWS region (did you mean "eu-west-1"?)');
    expect(argv(typo.fix)).toEqual([["config", "set", "aws:region", "eu-west-1"]]);
    const far = problemAt(run(parseRegion, { "aws:region": "Ireland" }).problems, "aws:region");
    expect(far.problem).toBe('"Ireland" is not an AWS region');
    expect(argv(far.fix)).toEqual([["config", "set", "aws:region"]]);
  });
});

describe("the AWS provider", () => {
  it("takes a named profile and the accounts it may deploy into", () => {
    expect(run(parseAwsProvider, {})).toEqual({ result: {}, problems: [] });
    expect(
      run(parseAwsProvider, {
        "aws:profile": "observability-prod",
        "aws:allowedAccountIds": ["123456789012"],
      }).result,
    ).toEqual({ profile: "observability-prod", allowedAccountIds: ["123456789012"] });
  });

  it("refuses a profile name no AWS config file holds, and an account id that is not 12 digits", () => {
    const { result, problems } = run(parseAwsProvider, {
      "aws:profile": "my profile",
      "aws:allowedAccountIds": ["123456789012", "1234"],
    });
    expect(result).toBeUndefined();
    expect(problemAt(problems, "aws:profile").problem).toMatch(/is not a profile name/);
    const account = problemAt(problems, "aws:allowedAccountIds[1]");
    expect(account.problem).toBe('"1234" is not a 12-digit AWS account id');
    expect(argv(account.fix)).toEqual([["config", "set", "--path", "aws:allowedAccountIds[1]"]]);
  });
});

describe("machine images", () => {
  const X86 = new Map<string, Architecture>([["monitor", "x86_64"]]);
  const MIXED = new Map<string, Architecture>([
    ["monitor", "x86_64"],
    ["arm-1", "arm64"],
  ]);
  const images = (values: Record<string, unknown>, architectures = X86) =>
    run((reader) => parseImages(reader, architectures), values);

  it("default to the pinned, dated Ubuntu images from Canonical's account", () => {
    expect(images({}).result).toEqual({
      ubuntuImageNames: DEFAULT_UBUNTU_IMAGE_NAMES,
      ubuntuImageOwner: CANONICAL_OWNER_ID,
    });
    const name = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20240701.1";
    expect(images({ ubuntuImageNameArm: name }).result?.ubuntuImageNames.arm64).toBe(name);
  });

  it("take an explicit AMI when every host has one architecture", () => {
    expect(images({ amiId: "ami-0123456789abcdef0" }).result?.amiId).toBe("ami-0123456789abcdef0");
  });

  it("refuse one AMI for hosts of different architectures, removing it", () => {
    const found = problemAt(images({ amiId: "ami-0123456789abcdef0" }, MIXED).problems, P("amiId"));
    expect(found.problem).toMatch(/different architectures \(monitor: x86_64, arm-1: arm64\)/);
    expect(argv(found.fix)).toEqual([["config", "rm", P("amiId")]]);
  });

  it("refuse a malformed AMI id, which the operator types", () => {
    const found = problemAt(images({ amiId: "ami-xyz" }).problems, P("amiId"));
    expect(found.problem).toMatch(/is not an AMI id like ami-/);
    expect(argv(found.fix)).toEqual([["config", "set", P("amiId")]]);
  });

  it("refuse image names that are not exact and dated, or of the other architecture", () => {
    const wildcard = problemAt(
      images({ ubuntuImageNameX86: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" }).problems,
      P("ubuntuImageNameX86"),
    );
    expect(wildcard.problem).toMatch(/is not an exact, dated Canonical image name/);
    expect(argv(wildcard.fix)).toEqual([
      ["config", "set", P("ubuntuImageNameX86"), DEFAULT_UBUNTU_IMAGE_NAMES.x86_64],
    ]);
    const wrongArch = problemAt(
      images({ ubuntuImageNameArm: DEFAULT_UBUNTU_IMAGE_NAMES.x86_64 }).problems,
      P("ubuntuImageNameArm"),
    );
    expect(wrongArch.problem).toMatch(/is a amd64 image; this setting needs arm64/);
    expect(argv(wrongArch.fix)).toEqual([
      ["config", "set", P("ubuntuImageNameArm"), DEFAULT_UBUNTU_IMAGE_NAMES.arm64],
    ]);
  });
});

describe("the managed Prometheus store", () => {
  const WORKSPACE = "ws-b226cc2a-a446-46a9-933a-ac50479a5568";
  const store = (values: Record<string, unknown>) => {
    const reader = new SettingsReader(values, TABLE);
    const metrics = parseMetrics(reader, 50, 3);
    return {
      store: metrics?.managedStore,
      ok: metrics !== undefined,
      problems: reader.problems,
      warnings: reader.warnings,
    };
  };

  it("is off by default, and off leaves the metrics settings as they were", () => {
    expect(store({})).toEqual({ store: undefined, ok: true, problems: [], warnings: [] });
    expect(store({ managedPrometheus: "off", managedPrometheusWorkspaceId: "" }).store).toBeUndefined();
  });

  it("creates a workspace, or writes to an existing one by id", () => {
    expect(store({ managedPrometheus: "create" }).store).toEqual({ mode: "create" });
    expect(store({ managedPrometheus: "existing", managedPrometheusWorkspaceId: WORKSPACE }).store).toEqual({
      mode: "existing",
      workspaceId: WORKSPACE,
    });
  });

  it("refuses an existing workspace without an id, or with one that is not a workspace id", () => {
    const missing = store({ managedPrometheus: "existing" });
    expect(missing.ok).toBe(false);
    const found = problemAt(missing.problems, P("managedPrometheusWorkspaceId"));
    expect(found.problem).toBe('is required when managedPrometheus is "existing"');
    expect(argv(found.fix)).toEqual([["config", "set", P("managedPrometheusWorkspaceId")]]);
    for (const bad of [
      "b226cc2a-a446-46a9-933a-ac50479a5568",
      "ws-B226CC2A-A446-46A9-933A-AC50479A5568",
      "ws-123",
    ]) {
      const wrong = problemAt(
        store({ managedPrometheus: "existing", managedPrometheusWorkspaceId: bad }).problems,
        P("managedPrometheusWorkspaceId"),
      );
      expect(wrong.problem, bad).toMatch(/is not a workspace id \(ws- and a lowercase UUID/);
    }
  });

  it("refuses an id the mode would ignore, and a mode that is not one of the three", () => {
    for (const mode of ["off", "create"]) {
      const result = store({ managedPrometheus: mode, managedPrometheusWorkspaceId: WORKSPACE });
      expect(result.ok).toBe(false);
      const found = problemAt(result.problems, P("managedPrometheusWorkspaceId"));
      expect(found.problem).toBe(
        `is set while managedPrometheus is "${mode}", which ignores it: remove it, or write to that workspace`,
      );
      expect(argv(found.fix)).toEqual([["config", "rm", P("managedPrometheusWorkspaceId")]]);
    }
    const typo = problemAt(store({ managedPrometheus: "exisitng" }).problems, P("managedPrometheus"));
    expect(typo.problem).toMatch(/did you mean "existing"/);
    expect(argv(typo.fix)).toEqual([["config", "set", P("managedPrometheus"), "existing"]]);
  });

  it("warns that an existing instance profile needs the workspace permissions granted by hand", () => {
    const result = store({ managedPrometheus: "create", instanceProfileName: "ops-monitor" });
    expect(result.store).toEqual({ mode: "create" });
    expect(result.warnings.map((warning) => warning.warning)).toEqual([
      expect.stringMatching(/grant that profile's role aps:RemoteWrite/),
    ]);
    expect(store({ managedPrometheus: "off", instanceProfileName: "ops-monitor" }).warnings).toEqual([]);
  });
});

describe("metrics retention", () => {
  const metrics = (values: Record<string, unknown>, dataVolumeGb: number | undefined = 50, hosts = 3) =>
    run((reader) => parseMetrics(reader, dataVolumeGb, hosts), values);

  it("defaults to 30s scrapes and evaluations kept 15 days, without a size limit", () => {
    expect(metrics({})).toEqual({
      result: { scrapeInterval: "30s", evaluationInterval: "30s", retentionTime: "15d" },
      problems: [],
    });
    expect(metrics({ metricsRetentionSize: "40GB" }).result?.retentionSize).toBe("40GB");
  });

  it("refuses a scrape interval too long for the rules' rate windows", () => {
    const found = problemAt(metrics({ scrapeInterval: "2m" }).problems, P("scrapeInterval"));
    expect(found.problem).toMatch(/must be from 1s to 1m15s \(the alert rules take rates over 5m/);
    expect(argv(found.fix)).toEqual([["config", "set", P("scrapeInterval"), "1m15s"]]);
  });

  it("refuses a size limit that is not a size, or more than 80% of the data volume", () => {
    const malformed = problemAt(
      metrics({ metricsRetentionSize: "40 gigs" }).problems,
      P("metricsRetentionSize"),
    );
    expect(malformed.problem).toMatch(/is not a Prometheus size like 40GB/);
    expect(argv(malformed.fix)).toEqual([["config", "set", P("metricsRetentionSize"), "40GB"]]);
    const tooBig = problemAt(metrics({ metricsRetentionSize: "60GB" }).problems, P("metricsRetentionSize"));
    expect(tooBig.problem).toMatch(/"60GB" does not fit the 50 GiB data volume \(at most 80%, 40GB;/);
    expect(argv(tooBig.fix)).toEqual([["config", "set", P("metricsRetentionSize"), "40GB"]]);
    expect(metrics({ metricsRetentionSize: "40960MB" }).problems).toEqual([]);
  });

  it("refuses a time-only retention the data volume cannot hold, bounding the size", () => {
    const found = problemAt(metrics({ metricsRetention: "10y" }, 50, 3).problems, P("metricsRetentionSize"));
    expect(found.problem).toMatch(/^is unset while 10y of metrics from 3 hosts needs about \d+ GiB/);
    expect(found.problem).toMatch(/more than the 40 GiB the 50 GiB data volume leaves for Prometheus/);
    expect(argv(found.fix)).toEqual([["config", "set", P("metricsRetentionSize"), "40GB"]]);
    // The same retention fits fewer hosts, a larger volume, or a bounded size.
    expect(metrics({ metricsRetention: "10y" }, 50, 1).problems).toEqual([]);
    expect(metrics({ metricsRetention: "10y" }, 200, 3).problems).toEqual([]);
    expect(metrics({ metricsRetention: "10y", metricsRetentionSize: "40GB" }, 50, 3).problems).toEqual([]);
  });
});

const NETWORK = { mode: "create", vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24" } as const;
const grafana = (reader: SettingsReader) => parseGrafana(reader, NETWORK);

describe("Grafana's address and the instance profile", () => {
  it("take a public http(s) root URL, unset meaning derived from how Grafana is reached", () => {
    expect(run(grafana, {}).result).toEqual({ exposure: { mode: "tunnel" } });
    expect(run(grafana, { grafanaRootUrl: "https://grafana.example.com/" }).result).toEqual({
      rootUrl: "https://grafana.example.com/",
      exposure: { mode: "tunnel" },
    });
    const found = problemAt(
      run(grafana, { grafanaRootUrl: "ftp://grafana.example.com" }).problems,
      P("grafanaRootUrl"),
    );
    expect(found.problem).toBe('"ftp://grafana.example.com" is not an http or https URL');
    expect(argv(found.fix)).toEqual([["config", "set", P("grafanaRootUrl")]]);
  });

  it("take an IAM instance profile name", () => {
    expect(run(parseInstanceProfile, { instanceProfileName: "LabInstanceProfile" }).result).toEqual({
      ok: true,
      name: "LabInstanceProfile",
    });
    const { result, problems } = run(parseInstanceProfile, { instanceProfileName: "Lab Profile" });
    expect(result.ok).toBe(false);
    expect(problemAt(problems, P("instanceProfileName")).problem).toMatch(
      /is not an IAM instance profile name/,
    );
  });
});

describe("tags", () => {
  it("are sorted by key, numbers and booleans taken as text", () => {
    const { result } = run(parseTags, { tags: { Team: "sre", CostCenter: 1234, "app:tier": true } });
    expect(result).toEqual({ "app:tier": "true", CostCenter: "1234", Team: "sre" });
    expect(Object.keys(result ?? {})).toEqual(["CostCenter", "Team", "app:tier"]);
    expect(run(parseTags, {}).result).toEqual({});
  });

  it("may not override the product's own tags, in any case, nor use the aws: prefix", () => {
    const { problems } = run(parseTags, {
      tags: { Name: "x", environment: "dev", "AWS:owner": "me", " Team": "a" },
    });
    for (const path of ["tags.Name", "tags.environment"]) {
      const found = problemAt(problems, P(path));
      expect(found.problem).toMatch(/is set by the product itself/);
      expect(argv(found.fix)).toEqual([["config", "rm", "--path", P(path)]]);
    }
    const prefix = problemAt(problems, P('tags["AWS:owner"]'));
    expect(prefix.problem).toMatch(/uses the reserved aws: prefix/);
    expect(argv(prefix.fix)).toEqual([["config", "rm", "--path", P('tags["AWS:owner"]')]]);
    expect(problemAt(problems, P('tags[" Team"]')).problem).toMatch(/must be 1-128 letters/);
  });

  it("refuse values AWS would refuse, which the operator retypes", () => {
    const { problems } = run(parseTags, { tags: { Team: "a".repeat(257), Owner: "a;b", Nested: { a: 1 } } });
    for (const key of ["Team", "Owner", "Nested"]) {
      const found = problemAt(problems, P(`tags.${key}`));
      expect(found.problem).toMatch(/must be a string of at most 256 letters/);
      expect(argv(found.fix)).toEqual([["config", "set", "--path", P(`tags.${key}`)]]);
    }
  });

  it("are at most what AWS allows beside the product's own", () => {
    // AWS allows 50; the product sets Name, Environment, Scrape, Exporters and ManagedBy itself.
    const limit = 50 - 5;
    const tags = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${100 + i}`, "v"]));
    expect(run(parseTags, { tags: tags(limit) }).problems).toEqual([]);
    const found = problemAt(run(parseTags, { tags: tags(limit + 2) }).problems, P("tags"));
    expect(found.problem).toMatch(new RegExp(`has ${limit + 2} tags; .* so at most ${limit}`));
    expect(argv(found.fix)).toEqual([
      ["config", "rm", "--path", P(`tags.k${100 + limit}`)],
      ["config", "rm", "--path", P(`tags.k${101 + limit}`)],
    ]);
  });
});
