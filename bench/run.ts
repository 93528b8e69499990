/**
 * `npm run bench`: prints one table of what the program and the alerting pipeline cost.
 * Figures only; nothing here is asserted (tests never assert on time). bench/RESULTS.md keeps a
 * measured copy and explains what the figures mean for sizing the monitor.
 *
 * Sections (all by default; `npm run bench -- program pipeline` picks some):
 * - render:   config load and full render per stack (median / p95 of repeated runs);
 * - program:  index.ts under Pulumi mocks for 1, 20, 100, 200 and 500 clients, each in a fresh vitest
 *             worker (bench/program-scale.run.ts): wall time, peak memory, resources, longest
 *             dependency chain;
 * - pipeline: host stop -> FIRING mail minus `for`, recovery -> RESOLVED mail, with the real
 *             Prometheus and Alertmanager (bench/alert-pipeline.ts);
 * - series:   series per client host from the real exporters, Prometheus bytes per series, and
 *             the monitor's Prometheus memory at 10, 100 and 500 hosts (bench/series.ts);
 * - fleet:    1,000 EC2 hosts found through the fake EC2 API, scraped every 30 s by Prometheus 3
 *             with the rendered config: discovery, scrape durations, head series, memory
 *             (bench/fleet.ts);
 * - docker:   the deploy of a monitor and one client on test hosts with real Docker engines: first
 *             deploy, every step again with nothing changed, containers' memory at idle
 *             (bench/docker-deploy.ts; needs `bash .ci/docker-engine start`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { stackHostFiles } from "../configs/host-files";
import { listStackNames, loadStackConfigFromFiles } from "../lib/stack-files";
import { reportedVersion, TOOLS } from "../test/support/tools";
import { measureAlertPipeline } from "./alert-pipeline";
import { measureDockerDeploy } from "./docker-deploy";
import { measureEc2Fleet } from "./fleet";
import type { ProgramScaleFigures } from "./program-figures";
import { measureSeries } from "./series";

const ROOT = join(__dirname, "..");
const SECTIONS = ["render", "program", "pipeline", "series", "fleet", "docker"] as const;
type Section = (typeof SECTIONS)[number];

const CLIENT_COUNTS = [1, 20, 100, 200, 500];
const PIPELINE_RUNS = 4;
const FLEETS = { small: 5, large: 40 };
const FLEET_SCRAPE_SECONDS = 20;
const SIZING_HOSTS = [10, 100, 500];
const DOCKER_IDLE_SECONDS = 60;
const EC2_FLEET_HOSTS = 1000;
/** Scrape rounds (30 s each) observed after every host is up. */
const EC2_FLEET_OBSERVE_SECONDS = 90;

const WARMUP_RUNS = 5;
const MEASURED_RUNS = 50;

type Row = [benchmark: string, item: string, figure: string];
const rows: Row[] = [];
const add = (benchmark: string, item: string, figure: string) => rows.push([benchmark, item, figure]);

function percentile(sorted: readonly number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

function timeRuns(work: () => void): { median: number; p95: number } {
  for (let run = 0; run < WARMUP_RUNS; run += 1) work();
  const samples: number[] = [];
  for (let run = 0; run < MEASURED_RUNS; run += 1) {
    const start = performance.now();
    work();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds = (value: number) => `${value.toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const spread = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${seconds(sorted[0] ?? Number.NaN)}, median ${seconds(percentile(sorted, 0.5))}, max ${seconds(sorted.at(-1) ?? Number.NaN)} (${values.map((value) => value.toFixed(2)).join(", ")})`;
};

function benchRender(): void {
  for (const stack of listStackNames(ROOT)) {
    const load = () =>
      loadStackConfigFromFiles(stack, ROOT, { requireSecrets: false, exporters: EXPORTER_SETTINGS });
    const config = load();
    const loadTime = timeRuns(load);
    const renderTime = timeRuns(() => stackHostFiles(config));
    const hosts = stackHostFiles(config);
    const bytes = Object.values(hosts)
      .flatMap((files) => Object.values(files))
      .reduce((total, content) => total + Buffer.byteLength(content), 0);
    add("render", `${stack}: config load`, `median ${ms(loadTime.median)}, p95 ${ms(loadTime.p95)}`);
    add(
      "render",
      `${stack}: render every host's files`,
      `median ${ms(renderTime.median)}, p95 ${ms(renderTime.p95)}; ${Object.keys(hosts).length} hosts, ${bytes} bytes`,
    );
  }
}

function runProgramScale(clients: number): ProgramScaleFigures {
  const dir = mkdtempSync(join(tmpdir(), "bench-program-"));
  const out = join(dir, "figures.json");
  try {
    const result = spawnSync(
      process.execPath,
      [
        join(ROOT, "node_modules/vitest/vitest.mjs"),
        "run",
        "--config",
        join(ROOT, "bench/vitest.config.mts"),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_CLIENTS: String(clients), BENCH_OUT: out },
        encoding: "utf8",
        timeout: 900_000,
      },
    );
    if (result.status !== 0) {
      throw new Error(`program run with ${clients} clients failed:\n${result.stdout}\n${result.stderr}`);
    }
    return JSON.parse(readFileSync(out, "utf8")) as ProgramScaleFigures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchProgram(): void {
  const results = CLIENT_COUNTS.map(runProgramScale);
  for (const figures of results) {
    add(
      "program (mocks, prod stack)",
      `${figures.clients} clients`,
      `wall ${seconds(figures.wallMs / 1000)}; peak RSS ${figures.peakRssMb.toFixed(0)} MiB, peak heap ${figures.peakHeapMb.toFixed(0)} MiB; ${figures.resources} resources (${figures.customResources} custom); longest chain ${figures.longestChain}`,
    );
  }
  const first = results[0];
  const last = results.at(-1);
  if (first && last && results.length > 1) {
    const perClient = (value: (figures: ProgramScaleFigures) => number) =>
      (value(last) - value(first)) / (last.clients - first.clients);
    add(
      "program (mocks, prod stack)",
      `growth per client (${first.clients} -> ${last.clients})`,
      `${perClient((f) => f.wallMs).toFixed(0)} ms, ${perClient((f) => f.peakRssMb).toFixed(1)} MiB RSS, ${perClient((f) => f.resources).toFixed(1)} resources, ${perClient((f) => f.longestChain).toFixed(3)} chain links`,
    );
    add("program (mocks, prod stack)", `longest chain at ${last.clients} clients`, last.chain.join(" -> "));
  }
}

async function benchPipeline(): Promise<void> {
  const figures = await measureAlertPipeline(PIPELINE_RUNS);
  const timing = `scrape ${figures.scrapeSeconds}s, evaluation ${figures.evaluationSeconds}s, group_wait ${figures.groupWaitSeconds}s, group_interval ${figures.groupIntervalSeconds}s, for ${figures.forSeconds}s`;
  add("alert pipeline (real binaries)", "timing (rendered durations / 60)", timing);
  add(
    "alert pipeline (real binaries)",
    `host stop -> FIRING mail, minus for (${figures.runs} runs)`,
    spread(figures.detectionSeconds),
  );
  add(
    "alert pipeline (real binaries)",
    "  bound from config: scrape + evaluation + group_wait",
    seconds(figures.scrapeSeconds + figures.evaluationSeconds + figures.groupWaitSeconds),
  );
  add(
    "alert pipeline (real binaries)",
    `host back -> RESOLVED mail (${figures.runs} runs)`,
    spread(figures.recoverySeconds),
  );
  add(
    "alert pipeline (real binaries)",
    "  bound from config: scrape + evaluation + group_interval",
    seconds(figures.scrapeSeconds + figures.evaluationSeconds + figures.groupIntervalSeconds),
  );
}

async function benchSeries(): Promise<void> {
  const figures = await measureSeries(FLEETS.small, FLEETS.large, FLEET_SCRAPE_SECONDS);
  add("series", "node exporter (rendered flags), this machine", `${figures.nodeExporterSeries} series`);
  add(
    "series",
    "process exporter (rendered config), this machine",
    `${figures.processExporterSeries} series in ${figures.processGroups} process groups`,
  );
  add(
    "series",
    "per client host (node + process + 4 targets x 5 scrape series)",
    `${figures.seriesPerHost} series (cAdvisor and Alloy not counted: no binaries here)`,
  );
  for (const fleet of figures.fleets) {
    add(
      "series",
      `Prometheus ${reportedVersion(TOOLS.prometheus) ?? "(unknown version)"} scraping ${fleet.hosts} hosts (${fleet.scrapeInterval} scrape, ${figures.scrapeSeconds}s)`,
      `${fleet.headSeries} head series, ${mib(fleet.residentBytes)} resident`,
    );
  }
  add(
    "series",
    "Prometheus bytes per head series (difference of the two)",
    `${figures.bytesPerSeries.toFixed(0)} bytes (rule of thumb: ~3 kB)`,
  );
  for (const hosts of SIZING_HOSTS) {
    const series = hosts * figures.seriesPerHost;
    add(
      "series",
      `monitor Prometheus estimate, ${hosts} hosts`,
      `${series} series -> ${mib(figures.fixedBytes + series * figures.bytesPerSeries)} (fixed ${mib(figures.fixedBytes)} + series x bytes per series)`,
    );
  }
}

async function benchFleet(): Promise<void> {
  const figures = await measureEc2Fleet(EC2_FLEET_HOSTS, EC2_FLEET_OBSERVE_SECONDS);
  const section = `EC2 fleet, ${figures.hosts} hosts (Prometheus ${reportedVersion(TOOLS.prometheus) ?? "?"}, ${figures.scrapeInterval} scrape)`;
  add(section, "Prometheus ready -> every node target up", seconds(figures.allUpSeconds));
  add(section, "EC2 discovery refresh (p99)", seconds(figures.ec2RefreshSeconds));
  add(
    section,
    "scrape duration, node and process targets",
    `avg ${(figures.scrapeDurationAvgSeconds * 1000).toFixed(1)} ms, max ${(figures.scrapeDurationMaxSeconds * 1000).toFixed(1)} ms`,
  );
  add(
    section,
    `after ${figures.observedSeconds} s of scrapes`,
    `${figures.headSeries} head series, ${mib(figures.residentBytes)} resident`,
  );
}

async function benchDocker(): Promise<void> {
  const figures = await measureDockerDeploy(DOCKER_IDLE_SECONDS);
  const section = "deploy on real Docker (test hosts)";
  add(
    section,
    "first deploy, monitor + 1 client (every step, both hosts)",
    seconds(figures.firstDeploySeconds),
  );
  add(section, "every step again, nothing changed (no recreate)", seconds(figures.redeploySeconds));
  const byHost = new Map<string, number>();
  for (const entry of figures.memory) {
    add(
      section,
      `memory at idle (${figures.idleSeconds}s): ${entry.host} ${entry.container} (${entry.image})`,
      mib(entry.mebibytes * 1024 * 1024),
    );
    byHost.set(entry.host, (byHost.get(entry.host) ?? 0) + entry.mebibytes);
  }
  for (const [host, total] of byHost)
    add(section, `memory at idle: ${host}, all containers`, mib(total * 1024 * 1024));
}

function printTable(): void {
  const header: Row = ["benchmark", "case", "figure"];
  const widths = [0, 1].map((column) =>
    Math.max(...[header, ...rows].map((row) => row[column]?.length ?? 0)),
  );
  const line = (row: Row) =>
    `| ${row[0].padEnd(widths[0] ?? 0)} | ${row[1].padEnd(widths[1] ?? 0)} | ${row[2]} |`;
  console.log(line(header));
  console.log(`|${"-".repeat((widths[0] ?? 0) + 2)}|${"-".repeat((widths[1] ?? 0) + 2)}|---|`);
  for (const row of rows) console.log(line(row));
}

function describeMachine(): string {
  let commit = "unknown commit";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    // Not a git checkout: the figures still print.
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `commit ${commit}; node ${process.version}; ${cpus().length} x ${cpu}; ${mib(totalmem())} RAM`;
}

async function main(): Promise<void> {
  const requested = process.argv
    .slice(2)
    .filter((arg): arg is Section => (SECTIONS as readonly string[]).includes(arg));
  const sections: readonly Section[] = requested.length > 0 ? requested : SECTIONS;
  const started = performance.now();
  console.error(`bench: ${sections.join(", ")} (the full set takes 9 to 14 minutes)`);
  if (sections.includes("render")) benchRender();
  if (sections.includes("program")) benchProgram();
  if (sections.includes("pipeline")) await benchPipeline();
  if (sections.includes("series")) await benchSeries();
  if (sections.includes("fleet")) await benchFleet();
  if (sections.includes("docker")) await benchDocker();
  console.log(describeMachine());
  console.log("");
  printTable();
  console.log(`\nbench took ${seconds((performance.now() - started) / 1000)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
