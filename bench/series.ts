/**
 * Series per client host and what they cost the monitor's Prometheus.
 *
 * 1. Debian's node exporter (with the flags we render) and process exporter (with the config we
 *    render) run on this machine; each /metrics page is counted (one series per sample line),
 *    plus the 5 series Prometheus adds per target (up, scrape_duration_seconds, ...).
 * 2. Bytes per series: the rendered prometheus.yml and rules (through pointAtLoopback) run in
 *    Debian's Prometheus, scraping a small and a large fleet of simulated hosts. Each simulated
 *    host serves the pages captured in step 1 (values moving every scrape, so samples compress as
 *    real ones do) under its own `instance` label. The difference in resident memory
 *    (process_resident_memory_bytes) over the difference in head series
 *    (prometheus_tsdb_head_series) is the cost of one more series; the small fleet's memory is
 *    the fixed cost.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { renderProcessExporterConfig } from "../configs/agents/process-exporter";
import { monitorFiles } from "../configs/host-files";
import { JOB_NAMES } from "../configs/prometheus";
import type { ExternalHost, StackConfig } from "../lib/stack-config";
import { e2eStackConfig, GRAFANA_URL } from "../test/support/e2e-stack";
import { nodeExporterSpec, processExporterSpec } from "../test/support/exporters";
import { pointAtLoopback } from "../test/support/loopback";
import { freePort, getJson, getText, ProcessGroup, pollUntil } from "../test/support/processes";
import { TOOLS } from "../test/support/tools";

/** Series Prometheus itself adds for every target it scrapes. */
export const SERIES_PER_TARGET_FROM_PROMETHEUS = 5;

export interface SeriesFigures {
  readonly nodeExporterSeries: number;
  readonly processExporterSeries: number;
  /** Process groups the catch-all rule made of this machine's processes. */
  readonly processGroups: number;
  readonly seriesPerHost: number;
  readonly fleets: FleetFigures[];
  readonly bytesPerSeries: number;
  readonly fixedBytes: number;
  /** How long each fleet was scraped, and at what interval. */
  readonly scrapeSeconds: number;
  readonly scrapeInterval: string;
}

function sampleLines(page: string): string[] {
  return page.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

/** Serves a captured page with every finite value moved up a little on each scrape. */
export function startReplay(page: string): Promise<{ address: string; close(): Promise<void> }> {
  let scrapes = 0;
  const server: Server = createServer((_request, response) => {
    scrapes += 1;
    const body = page
      .split("\n")
      .map((line) => {
        if (line === "" || line.startsWith("#")) return line;
        const cut = line.lastIndexOf(" ");
        const value = Number(line.slice(cut + 1));
        return Number.isFinite(value) ? `${line.slice(0, cut)} ${value + scrapes * 0.25}` : line;
      })
      .join("\n");
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    response.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export async function capturePages(
  group: ProcessGroup,
  dir: string,
): Promise<{ node: string; process: string }> {
  const configPath = join(dir, "process-exporter.yml");
  writeFileSync(configPath, renderProcessExporterConfig());
  const node = nodeExporterSpec("node exporter", await freePort());
  const processes = processExporterSpec("process exporter", configPath, await freePort());
  await group.start(node);
  await group.start(processes);
  const scrape = (url: string) =>
    pollUntil(`metrics at ${url}`, async () => {
      const response = await getText(url);
      return response?.status === 200 ? response.body : undefined;
    });
  // The second scrape: some collectors only report after a first pass.
  await scrape(node.readyUrl);
  await scrape(processes.readyUrl);
  return { node: await scrape(node.readyUrl), process: await scrape(processes.readyUrl) };
}

function fleetConfig(hosts: number): StackConfig {
  // No Alertmanager runs here, so no mail is sent: the SMTP port is never used.
  const base = e2eStackConfig(1);
  const externalHosts: ExternalHost[] = Array.from({ length: hosts }, (_, index) => ({
    name: `host-${String(index + 1).padStart(3, "0")}`,
    address: "192.0.2.10",
    sshUser: "deploy",
    exporters: [],
    exporterSettings: {},
  }));
  return { ...base, externalHosts };
}

async function measureFleet(
  hosts: number,
  pages: { node: string; process: string },
  scrapeSeconds: number,
): Promise<FleetFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-series-"));
  const group = new ProcessGroup();
  const replays = [await startReplay(pages.node), await startReplay(pages.process), await startReplay("")];
  const [node, processes, empty] = replays.map((replay) => replay.address) as [string, string, string];
  try {
    const config = fleetConfig(hosts);
    const prometheus = `127.0.0.1:${await freePort()}`;
    const hostTargets = Object.fromEntries(
      config.externalHosts.map((host) => [
        host.name,
        {
          [JOB_NAMES.node]: node,
          [JOB_NAMES.process]: processes,
          [JOB_NAMES.cadvisor]: empty,
          [JOB_NAMES.alloy]: empty,
        },
      ]),
    );
    const loopback = pointAtLoopback(monitorFiles(config, { grafanaUrl: GRAFANA_URL }), {
      dir,
      prometheus,
      alertmanager: empty,
      monitorTargets: {
        [JOB_NAMES.prometheus]: prometheus,
        [JOB_NAMES.alertmanager]: empty,
        [JOB_NAMES.loki]: empty,
        [JOB_NAMES.grafana]: empty,
        [JOB_NAMES.node]: empty,
        [JOB_NAMES.process]: empty,
        [JOB_NAMES.cadvisor]: empty,
        [JOB_NAMES.alloy]: empty,
      },
      hostTargets,
      ec2Endpoint: `http://${empty}`,
      smtpSmarthost: "127.0.0.1:1",
      pagerdutyUrl: `http://${empty}/`,
    });
    for (const [path, content] of Object.entries(loopback.files)) {
      const target = join(dir, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    await group.start({
      name: "prometheus",
      tool: TOOLS.prometheus,
      args: loopback.prometheusArgs,
      readyUrl: `http://${prometheus}/-/ready`,
      env: { AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench", AWS_EC2_METADATA_DISABLED: "true" },
    });
    const query = async (promql: string) => {
      const body = await getJson<{ data: { result: { value: [number, string] }[] } }>(
        `http://${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      return Number(body.data.result[0]?.value[1] ?? Number.NaN);
    };
    await pollUntil(
      `all ${hosts} hosts scraped`,
      async () => ((await query('count(up{job="process"} == 1)')) === hosts ? true : undefined),
      { attempts: 240 },
    );
    // Let samples accumulate, then read Prometheus' own view of itself.
    await new Promise((resolve) => setTimeout(resolve, scrapeSeconds * 1000));
    const headSeries = await query("prometheus_tsdb_head_series");
    const residentBytes = await query('process_resident_memory_bytes{job="prometheus"}');
    const scrapeInterval = /scrape_interval: (\S+)/.exec(
      loopback.files["prometheus/prometheus.yml"] ?? "",
    )?.[1];
    return { hosts, headSeries, residentBytes, scrapeInterval: scrapeInterval ?? "?" };
  } finally {
    await group.stopAll();
    await Promise.all(replays.map((replay) => replay.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

interface FleetFigures {
  readonly hosts: number;
  readonly headSeries: number;
  readonly residentBytes: number;
  readonly scrapeInterval: string;
}

export async function measureSeries(
  smallFleet: number,
  largeFleet: number,
  scrapeSeconds: number,
): Promise<SeriesFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-exporters-"));
  const group = new ProcessGroup();
  let pages: { node: string; process: string };
  try {
    pages = await capturePages(group, dir);
  } finally {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const nodeExporterSeries = sampleLines(pages.node).length;
  const processExporterSeries = sampleLines(pages.process).length;
  const processGroups = new Set(
    sampleLines(pages.process)
      .map((line) => /groupname="([^"]*)"/.exec(line)?.[1])
      .filter((name) => name !== undefined),
  ).size;
  // node, process, cadvisor and alloy targets per host; cAdvisor and Alloy series not counted here.
  const seriesPerHost = nodeExporterSeries + processExporterSeries + 4 * SERIES_PER_TARGET_FROM_PROMETHEUS;

  const small = await measureFleet(smallFleet, pages, scrapeSeconds);
  const large = await measureFleet(largeFleet, pages, scrapeSeconds);
  const bytesPerSeries = (large.residentBytes - small.residentBytes) / (large.headSeries - small.headSeries);
  return {
    nodeExporterSeries,
    processExporterSeries,
    processGroups,
    seriesPerHost,
    fleets: [small, large],
    bytesPerSeries,
    fixedBytes: small.residentBytes - small.headSeries * bytesPerSeries,
    scrapeSeconds,
    scrapeInterval: small.scrapeInterval,
  };
}
