/**
 * Discovery end to end: Debian's real Prometheus loads the rendered prometheus.yml, with the EC2
 * API endpoint pointed at a fake DescribeInstances server on loopback, and must find exactly the
 * instances tagged for this stack (Scrape=true, Environment=<stack>, running), each agent on its
 * port and each optional exporter only where the host's Exporters tag names it, labelled with the
 * Name tag as `instance`. Hosts outside AWS come in through the rendered file SD files.
 *
 * Instances get 127.0.0.x private addresses: Prometheus scrapes what it discovers, and tests send
 * traffic to loopback only (those scrapes simply fail).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exporterRecord } from "../configs/exporters";
import { renderFileSdTargets, renderPrometheusConfig } from "../configs/prometheus";
import { AGENT_PORTS, DISCOVERY_TAGS } from "../lib/catalog";
import type { StackConfig } from "../lib/stack-config";
import {
  FAKE_VPC_ID,
  type FakeEc2,
  type FakeInstance,
  matchesFilters,
  parseFilters,
  startFakeEc2,
} from "./support/fake-ec2";
import { retentionForLocalPrometheus } from "./support/loopback";
import { freePort, getJson, ProcessGroup, pollUntil } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { TOOLS } from "./support/tools";

const STACK = "test";
const REGION = "eu-west-1";

function tags(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [DISCOVERY_TAGS.name]: name,
    [DISCOVERY_TAGS.scrape]: "true",
    [DISCOVERY_TAGS.environment]: STACK,
    ...extra,
  };
}

/** What the account holds: this stack's hosts and the ones discovery must leave alone. */
const INSTANCES: readonly FakeInstance[] = [
  {
    instanceId: "i-0000000000000web1",
    privateIp: "127.0.0.11",
    state: "running",
    availabilityZone: "eu-west-1a",
    tags: tags("web-1", { [DISCOVERY_TAGS.exporters]: "nginx" }),
  },
  {
    instanceId: "i-00000000000000db1",
    privateIp: "127.0.0.12",
    state: "running",
    availabilityZone: "eu-west-1b",
    tags: tags("db-1", { [DISCOVERY_TAGS.exporters]: "postgres,redis" }),
  },
  {
    instanceId: "i-0000000000000web2",
    privateIp: "127.0.0.13",
    state: "running",
    availabilityZone: "eu-west-1a",
    tags: tags("web-2", { [DISCOVERY_TAGS.exporters]: "" }),
  },
  // Dropped: no Scrape tag, Scrape=false, stopped, another environment.
  {
    instanceId: "i-000000000untagged",
    privateIp: "127.0.0.14",
    state: "running",
    availabilityZone: "eu-west-1a",
    tags: { [DISCOVERY_TAGS.name]: "bastion", [DISCOVERY_TAGS.environment]: STACK },
  },
  {
    instanceId: "i-00000000scrapeoff",
    privateIp: "127.0.0.15",
    state: "running",
    availabilityZone: "eu-west-1a",
    tags: tags("batch-1", { [DISCOVERY_TAGS.scrape]: "false" }),
  },
  {
    instanceId: "i-0000000000stopped",
    privateIp: "127.0.0.16",
    state: "stopped",
    availabilityZone: "eu-west-1b",
    tags: tags("web-old", { [DISCOVERY_TAGS.exporters]: "nginx" }),
  },
  {
    instanceId: "i-0000000000prodweb",
    privateIp: "127.0.0.17",
    state: "running",
    availabilityZone: "eu-west-1a",
    tags: tags("prod-web-1", { [DISCOVERY_TAGS.environment]: "prod", [DISCOVERY_TAGS.exporters]: "nginx" }),
  },
  // Another VPC of the same region, tagged exactly like this stack's hosts and one named like a
  // real host: neither may be scraped, nor carry web-1's instance label (which would let it mute
  // web-1's alerts by inhibition).
  {
    instanceId: "i-00000000roguevpc1",
    privateIp: "127.0.0.18",
    state: "running",
    availabilityZone: "eu-west-1a",
    vpcId: "vpc-0other",
    tags: tags("web-1", { [DISCOVERY_TAGS.exporters]: "nginx" }),
  },
  {
    instanceId: "i-00000000roguevpc2",
    privateIp: "127.0.0.19",
    state: "running",
    availabilityZone: "eu-west-1b",
    vpcId: "vpc-0other",
    tags: tags("stray-1"),
  },
];

const DISCOVERED = ["web-1", "db-1", "web-2"];

const EXTERNAL_ADDRESS = "127.0.0.21";

function stackConfig(): StackConfig {
  const base = sampleStackConfig({ stack: STACK, region: REGION });
  return {
    ...base,
    externalHosts: [
      {
        name: "onprem-1",
        address: EXTERNAL_ADDRESS,
        sshUser: "deploy",
        exporters: ["redis"],
        exporterSettings: {},
      },
    ],
  };
}

interface ApiTarget {
  readonly discoveredLabels: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
}
interface TargetsResponse {
  readonly data: { readonly activeTargets: ApiTarget[]; readonly droppedTargets: ApiTarget[] };
}

const AGENT_JOBS: Record<string, number> = {
  node: AGENT_PORTS.nodeExporter,
  process: AGENT_PORTS.processExporter,
  cadvisor: AGENT_PORTS.cadvisor,
  alloy: AGENT_PORTS.alloy,
};

/** `job instance address` for every target the instances above should produce, derived from their tags. */
function expectedEc2Targets(enabled: readonly string[]): string[] {
  const expected: string[] = [];
  for (const instance of INSTANCES.filter(
    (i) => DISCOVERED.includes(i.tags[DISCOVERY_TAGS.name] ?? "") && i.vpcId === undefined,
  )) {
    const name = instance.tags[DISCOVERY_TAGS.name];
    for (const [job, port] of Object.entries(AGENT_JOBS))
      expected.push(`${job} ${name} ${instance.privateIp}:${port}`);
    const listed = (instance.tags[DISCOVERY_TAGS.exporters] ?? "").split(",").filter(Boolean);
    for (const exporter of enabled.filter((e) => listed.includes(e))) {
      expected.push(`${exporter} ${name} ${instance.privateIp}:${exporterRecord(exporter).port}`);
    }
  }
  return expected.sort();
}

describe("fake EC2 filters behave like EC2's", () => {
  const instance = INSTANCES[0] as FakeInstance;

  it("parses Filter.N.Name / Filter.N.Value.M pairs in order", () => {
    const params = new URLSearchParams(
      "Action=DescribeInstances&Filter.2.Name=instance-state-name&Filter.2.Value.1=running&Filter.1.Name=tag%3AScrape&Filter.1.Value.1=true&Filter.1.Value.2=yes",
    );
    expect(parseFilters(params)).toEqual([
      { name: "tag:Scrape", values: ["true", "yes"] },
      { name: "instance-state-name", values: ["running"] },
    ]);
  });

  it("ANDs filters, ORs values, and supports wildcards", () => {
    expect(matchesFilters(instance, [{ name: "tag:Name", values: ["web-*"] }])).toBe(true);
    expect(matchesFilters(instance, [{ name: "tag:Name", values: ["db-1", "web-?"] }])).toBe(true);
    expect(
      matchesFilters(instance, [
        { name: "tag:Name", values: ["web-1"] },
        { name: "instance-state-name", values: ["stopped"] },
      ]),
    ).toBe(false);
    expect(matchesFilters(instance, [{ name: "tag:Missing", values: ["*"] }])).toBe(false);
    expect(matchesFilters(instance, [{ name: "tag-key", values: ["Exporters"] }])).toBe(true);
    expect(matchesFilters(instance, [{ name: "vpc-id", values: [FAKE_VPC_ID] }])).toBe(true);
    expect(matchesFilters(instance, [{ name: "vpc-id", values: ["vpc-0other"] }])).toBe(false);
  });

  it("refuses filters EC2 would refuse", () => {
    expect(() => matchesFilters(instance, [{ name: "no-such-filter", values: ["x"] }])).toThrow(/invalid/);
    expect(() => matchesFilters(instance, [{ name: "tag:Name", values: [] }])).toThrow(/no values/);
  });
});

describe("Prometheus EC2 and file discovery with the rendered scrape config", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "ec2-discovery-"));
  const config = stackConfig();
  let fake: FakeEc2;
  let prometheusUrl = "";
  let targets: TargetsResponse["data"];

  beforeAll(async () => {
    fake = await startFakeEc2(INSTANCES, REGION);
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    // Every monitor-side address on loopback ports nothing listens on: no DNS, no outside traffic.
    const unused = await freePort();
    const fileSdDir = join(workDir, "file_sd");
    mkdirSync(fileSdDir);
    mkdirSync(join(workDir, "rules"));
    for (const [file, content] of Object.entries(renderFileSdTargets(config))) {
      writeFileSync(join(fileSdDir, file), content);
    }
    const configPath = join(workDir, "prometheus.yml");
    const local = retentionForLocalPrometheus(
      renderPrometheusConfig(
        config,
        {
          ec2Endpoint: fake.url,
          prometheus: `127.0.0.1:${port}`,
          alertmanager: `127.0.0.1:${unused}`,
          loki: `127.0.0.1:${unused}`,
          grafana: `127.0.0.1:${unused}`,
          nodeExporter: `127.0.0.1:${unused}`,
          cadvisor: `127.0.0.1:${unused}`,
          alloy: `127.0.0.1:${unused}`,
          ruleFiles: join(workDir, "rules", "*.yml"),
          fileSdDir,
        },
        { vpcId: FAKE_VPC_ID },
      ),
    );
    writeFileSync(configPath, local.prometheusYml);
    await group.start({
      name: "prometheus",
      tool: TOOLS.prometheus,
      args: [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(workDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...local.flags,
      ],
      readyUrl: `${prometheusUrl}/-/ready`,
      env: {
        // The SDK signs requests, so it needs some credentials; these are fake. No instance
        // metadata lookups, no shared config, no CA bundle from the surrounding environment.
        AWS_ACCESS_KEY_ID: "AKIAFAKEFAKEFAKEFAKE",
        AWS_SECRET_ACCESS_KEY: "fake-secret-for-a-fake-endpoint",
        AWS_SESSION_TOKEN: "",
        AWS_PROFILE: "",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_SHARED_CREDENTIALS_FILE: join(workDir, "no-credentials"),
        AWS_CONFIG_FILE: join(workDir, "no-config"),
        AWS_CA_BUNDLE: "",
        NO_PROXY: "127.0.0.1",
      },
    });
    const expectedCount = expectedEc2Targets(["nginx", "postgres", "redis"]).length;
    targets = await pollUntil(
      "EC2 targets in Prometheus",
      async () => {
        const response = await getJson<TargetsResponse>(`${prometheusUrl}/api/v1/targets`);
        const fromEc2 = response.data.activeTargets.filter((t) => t.discoveredLabels.__meta_ec2_instance_id);
        return fromEc2.length >= expectedCount ? response.data : undefined;
      },
      { attempts: 120, intervalMs: 500 },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}\nfake EC2 calls: ${JSON.stringify(fake.requests)}\n${group.find("prometheus").logs}`,
      );
    });
  });

  afterAll(async () => {
    await group.stopAll();
    await fake?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("asks EC2 only for running instances tagged Scrape=true in this environment, in the stack's VPC", () => {
    const describes = fake.requests.filter((request) => request.action === "DescribeInstances");
    expect(describes.length).toBeGreaterThan(0);
    for (const request of describes) {
      const byName = Object.fromEntries(request.filters.map((f) => [f.name, f.values]));
      expect(byName[`tag:${DISCOVERY_TAGS.scrape}`]).toEqual(["true"]);
      expect(byName[`tag:${DISCOVERY_TAGS.environment}`]).toEqual([STACK]);
      expect(byName["instance-state-name"]).toEqual(["running"]);
      expect(byName["vpc-id"]).toEqual([FAKE_VPC_ID]);
    }
  });

  it("discovers exactly the stack's instances, each job on its port, exporters only where tagged", () => {
    const found = targets.activeTargets
      .filter((t) => t.discoveredLabels.__meta_ec2_instance_id)
      .map((t) => `${t.labels.job} ${t.labels.instance} ${t.labels.__address__ ?? new URL(t.scrapeUrl).host}`)
      .sort();
    expect(found).toEqual(expectedEc2Targets(["nginx", "postgres", "redis"]));
  });

  it("labels every discovered target with the stack's environment and the Name tag as instance", () => {
    for (const target of targets.activeTargets.filter((t) => t.discoveredLabels.__meta_ec2_instance_id)) {
      expect(target.labels.environment).toBe(STACK);
      const nameTag = target.discoveredLabels[`__meta_ec2_tag_${DISCOVERY_TAGS.name}`];
      expect(target.labels.instance).toBe(nameTag);
      expect(new URL(target.scrapeUrl).hostname).toBe(target.discoveredLabels.__meta_ec2_private_ip);
    }
  });

  it("never scrapes untagged, stopped, other-environment or other-VPC instances", () => {
    const wanted = new Set(DISCOVERED);
    const unwantedIps = INSTANCES.filter(
      (i) => !wanted.has(i.tags[DISCOVERY_TAGS.name] ?? "") || i.vpcId !== undefined,
    ).map((i) => i.privateIp);
    expect(unwantedIps).toContain("127.0.0.18");
    const web1 = targets.activeTargets.filter((t) => t.labels.instance === "web-1");
    expect(web1.length).toBeGreaterThan(0);
    expect(new Set(web1.map((t) => new URL(t.scrapeUrl).hostname))).toEqual(new Set(["127.0.0.11"]));
    const scraped = targets.activeTargets.map((t) => new URL(t.scrapeUrl).hostname);
    expect(scraped.filter((ip) => unwantedIps.includes(ip))).toEqual([]);
  });

  it("drops a host's optional exporter jobs when its Exporters tag does not list them", () => {
    const web2 = targets.activeTargets.filter((t) => t.labels.instance === "web-2").map((t) => t.labels.job);
    expect(web2.sort()).toEqual(Object.keys(AGENT_JOBS).sort());
    const droppedWeb2 = targets.droppedTargets.filter(
      (t) => t.discoveredLabels[`__meta_ec2_tag_${DISCOVERY_TAGS.name}`] === "web-2",
    );
    // web-2 was discovered by the nginx, postgres and redis jobs and dropped by each.
    expect(droppedWeb2.length).toBe(3);
  });

  it("never scrapes a host outside AWS: its Alloy pushes instead", () => {
    expect(targets.activeTargets.filter((t) => t.labels.instance === "onprem-1")).toEqual([]);
  });
});
