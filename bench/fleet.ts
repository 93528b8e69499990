/**
 * A fleet of EC2 hosts found by discovery: the rendered prometheus.yml and rules run in Debian's
 * Prometheus 3 with its EC2 API pointed at the fake DescribeInstances server, which lists
 * `hosts` running instances tagged for the stack. Each instance's private address is its own
 * loopback address (127.1.x.y: all of 127/8 is loopback on Linux), where every agent port serves
 * a page captured from the real exporters (node and process exporter; cAdvisor and Alloy an empty
 * page), values moving on each scrape. Prometheus scrapes every 30 s as the stack renders it.
 *
 * Figures: time from Prometheus ready until every host's node target is up (discovery plus the
 * first scrape round), EC2 refresh duration, scrape durations, head series and resident memory
 * after a few scrape rounds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { renderFileSdTargets, renderPrometheusConfig } from "../configs/prometheus";
import { renderRuleFiles } from "../configs/rules";
import { AGENT_PORTS, DISCOVERY_TAGS } from "../lib/catalog";
import type { StackConfig } from "../lib/stack-config";
import { FAKE_VPC_ID, type FakeInstance, startFakeEc2 } from "../test/support/fake-ec2";
import { retentionForLocalPrometheus } from "../test/support/loopback";
import { freePort, getJson, ProcessGroup, pollUntil, startLocalPrometheus } from "../test/support/processes";
import { sampleStackConfig } from "../test/support/sample-config";
import { capturePages } from "./series";

export interface Ec2FleetFigures {
  readonly hosts: number;
  readonly scrapeInterval: string;
  /** Prometheus ready -> every node target up. */
  readonly allUpSeconds: number;
  readonly ec2RefreshSeconds: number;
  readonly scrapeDurationAvgSeconds: number;
  readonly scrapeDurationMaxSeconds: number;
  readonly headSeries: number;
  readonly residentBytes: number;
  /** How long samples accumulated after every host was up. */
  readonly observedSeconds: number;
}

/** The loopback address of fleet host `index` (0-based): 127.1.0.1, 127.1.0.2, ... */
function hostAddress(index: number): string {
  const n = index + 1;
  return `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** One server per address and port, all answering with the page of their port, values moving. */
async function startFleetPages(
  hosts: number,
  pages: Readonly<Record<number, string>>,
): Promise<{ close(): Promise<void> }> {
  const scrapes = new Map<number, number>();
  const servers: Server[] = [];
  const moved = (page: string, step: number) =>
    page
      .split("\n")
      .map((line) => {
        if (line === "" || line.startsWith("#")) return line;
        const cut = line.lastIndexOf(" ");
        const value = Number(line.slice(cut + 1));
        return Number.isFinite(value) ? `${line.slice(0, cut)} ${value + step * 0.25}` : line;
      })
      .join("\n");
  for (const [port, page] of Object.entries(pages)) {
    for (let index = 0; index < hosts; index += 1) {
      const server = createServer((_request, response) => {
        const step = (scrapes.get(Number(port)) ?? 0) + 1;
        scrapes.set(Number(port), step);
        response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        response.end(page === "" ? "" : moved(page, Math.floor(step / hosts)));
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(Number(port), hostAddress(index), () => resolve());
      });
      servers.push(server);
    }
  }
  return {
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        ),
      );
    },
  };
}

function fleetInstances(config: StackConfig, hosts: number): FakeInstance[] {
  return Array.from({ length: hosts }, (_, index) => ({
    instanceId: `i-${(index + 1).toString(16).padStart(17, "0")}`,
    privateIp: hostAddress(index),
    state: "running",
    availabilityZone: `${config.region}a`,
    vpcId: FAKE_VPC_ID,
    tags: {
      [DISCOVERY_TAGS.name]: `fleet-${String(index + 1).padStart(4, "0")}`,
      [DISCOVERY_TAGS.scrape]: "true",
      [DISCOVERY_TAGS.environment]: config.stack,
      [DISCOVERY_TAGS.exporters]: "",
    },
  }));
}

export async function measureEc2Fleet(hosts: number, observeSeconds: number): Promise<Ec2FleetFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-fleet-"));
  const group = new ProcessGroup();
  const config = sampleStackConfig({ clients: [], externalHosts: [] });
  let pages: { node: string; process: string };
  try {
    pages = await capturePages(group, dir);
  } finally {
    await group.stopAll();
  }
  const fleet = await startFleetPages(hosts, {
    [AGENT_PORTS.nodeExporter]: pages.node,
    [AGENT_PORTS.processExporter]: pages.process,
    [AGENT_PORTS.cadvisor]: "",
    [AGENT_PORTS.alloy]: "",
  });
  const ec2 = await startFakeEc2(fleetInstances(config, hosts), config.region);
  const prometheusGroup = new ProcessGroup();
  try {
    const port = await freePort();
    const self = `127.0.0.1:${port}`;
    const nowhere = "127.0.0.1:1";
    const rendered = renderPrometheusConfig(
      config,
      {
        prometheus: self,
        alertmanager: nowhere,
        loki: nowhere,
        grafana: nowhere,
        nodeExporter: nowhere,
        cadvisor: nowhere,
        alloy: nowhere,
        ruleFiles: join(dir, "rules", "*.yml"),
        fileSdDir: join(dir, "file_sd"),
        ec2Endpoint: ec2.url,
      },
      { vpcId: FAKE_VPC_ID },
    );
    const local = retentionForLocalPrometheus(rendered);
    for (const [folder, files] of [
      ["rules", renderRuleFiles(config)],
      ["file_sd", renderFileSdTargets(config)],
    ] as const) {
      mkdirSync(join(dir, folder), { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, folder, name), content);
    }
    writeFileSync(join(dir, "prometheus.yml"), local.prometheusYml);
    await startLocalPrometheus(prometheusGroup, {
      name: "prometheus",
      configFile: join(dir, "prometheus.yml"),
      dataDir: join(dir, "data"),
      port,
      extraArgs: local.flags,
      env: { AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench", AWS_EC2_METADATA_DISABLED: "true" },
    });
    const ready = performance.now();
    const query = async (promql: string) => {
      const body = await getJson<{ data: { result: { value: [number, string] }[] } }>(
        `http://${self}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      return Number(body.data.result[0]?.value[1] ?? Number.NaN);
    };
    await pollUntil(
      `all ${hosts} node targets up`,
      async () => ((await query('count(up{job="node"} == 1)')) === hosts ? true : undefined),
      { attempts: 600, intervalMs: 500 },
    );
    const allUpSeconds = (performance.now() - ready) / 1000;
    await new Promise((resolve) => setTimeout(resolve, observeSeconds * 1000));
    return {
      hosts,
      scrapeInterval: config.metrics.scrapeInterval,
      allUpSeconds,
      ec2RefreshSeconds: await query(
        'max(prometheus_sd_refresh_duration_seconds{mechanism="ec2", quantile="0.99"})',
      ),
      scrapeDurationAvgSeconds: await query('avg(scrape_duration_seconds{job=~"node|process"})'),
      scrapeDurationMaxSeconds: await query('max(scrape_duration_seconds{job=~"node|process"})'),
      headSeries: await query("prometheus_tsdb_head_series"),
      residentBytes: await query('process_resident_memory_bytes{job="prometheus"}'),
      observedSeconds: observeSeconds,
    };
  } finally {
    await prometheusGroup.stopAll();
    await ec2.close();
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
