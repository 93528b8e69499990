/**
 * `npm run bench`: how long loading and rendering a stack takes, and how much lands on each host.
 * Prints figures only; nothing here is asserted (tests never assert on time).
 *
 * Figures: config load (stack files -> validated StackConfig) and full render (every host's files)
 * per stack, as the median and p95 of repeated runs after a warm-up, plus file count and bytes per host.
 */

import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { stackHostFiles } from "../configs/host-files";
import { listStackNames, loadStackConfigFromFiles } from "../lib/stack-files";

const ROOT = join(__dirname, "..");
const WARMUP_RUNS = 5;
const MEASURED_RUNS = 50;

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

const ms = (value: number) => `${value.toFixed(2)} ms`;

console.log(`node ${process.version}, ${MEASURED_RUNS} runs after ${WARMUP_RUNS} warm-up runs\n`);
for (const stack of listStackNames(ROOT)) {
  const load = () => loadStackConfigFromFiles(stack, ROOT, { requireSecrets: false });
  const config = load();
  const loadTime = timeRuns(load);
  const renderTime = timeRuns(() => stackHostFiles(config));
  console.log(`stack ${stack}`);
  console.log(`  config load   median ${ms(loadTime.median)}  p95 ${ms(loadTime.p95)}`);
  console.log(`  render all    median ${ms(renderTime.median)}  p95 ${ms(renderTime.p95)}`);
  for (const [host, files] of Object.entries(stackHostFiles(config))) {
    const bytes = Object.values(files).reduce((total, content) => total + Buffer.byteLength(content), 0);
    console.log(
      `  ${host.padEnd(12)} ${String(Object.keys(files).length).padStart(3)} files ${String(bytes).padStart(8)} bytes`,
    );
  }
  console.log("");
}
