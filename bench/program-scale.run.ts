/**
 * One measurement of the whole program (index.ts) under Pulumi mocks, for BENCH_CLIENTS clients,
 * run by bench/run.ts in a fresh vitest worker per client count (so peak memory is this run's
 * alone); writes its figures as JSON to BENCH_OUT. Not part of the test suite.
 *
 * The prod stack file is loaded and validated as usual; its clients are then repeated (names
 * client-0001, ...) up to the count. lib/stack-config.ts caps a real stack at MAX_CLIENTS, so
 * the count is applied after validation, through a wrapper around loadStackConfig.
 */
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { it, vi } from "vitest";
import type { ClientHost, StackConfig } from "../lib/stack-config";
import { runProgram } from "../test/support/pulumi-mocks";
import { DependencyRecorder } from "./dependency-graph";
import type { ProgramScaleFigures } from "./program-figures";

const BENCH_STACK = "prod";

vi.mock("../lib/pulumi-config", async (importOriginal) => {
  const original = await importOriginal<typeof import("../lib/pulumi-config")>();
  const count = Number(process.env.BENCH_CLIENTS);
  const withClients = (config: StackConfig): StackConfig => {
    const templates = config.clients;
    const clients: ClientHost[] = Array.from({ length: count }, (_, index) => ({
      ...(templates[index % templates.length] as ClientHost),
      name: `client-${String(index + 1).padStart(4, "0")}`,
    }));
    return { ...config, clients };
  };
  return {
    ...original,
    loadStackConfig: (...args: Parameters<typeof original.loadStackConfig>) => {
      const loaded = original.loadStackConfig(...args);
      return { ...loaded, config: withClients(loaded.config) };
    },
  };
});

it(`runs the program with ${process.env.BENCH_CLIENTS} clients`, { timeout: 600_000 }, async () => {
  const clients = Number(process.env.BENCH_CLIENTS);
  const out = process.env.BENCH_OUT;
  if (!Number.isInteger(clients) || clients < 1 || !out) throw new Error("set BENCH_CLIENTS and BENCH_OUT");

  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 5);
  const recorder = new DependencyRecorder();
  recorder.start();
  try {
    const start = performance.now();
    const run = await runProgram(BENCH_STACK);
    const wallMs = performance.now() - start;
    if (run.stackConfig.clients.length !== clients) throw new Error("the client count did not apply");
    const chain = recorder.longestChain();
    const resources = recorder.resources;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);

    const figures: ProgramScaleFigures = {
      clients,
      wallMs,
      // maxRSS is in kilobytes: the peak of this worker process.
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      peakHeapMb: peakHeap / 1024 / 1024,
      resources: resources.length,
      customResources: run.resources.filter((resource) => resource.custom).length,
      longestChain: chain.length,
      chain: chain.map((node) => `${node.type}::${node.name}`),
    };
    writeFileSync(out, JSON.stringify(figures));
  } finally {
    clearInterval(sampler);
    recorder.stop();
  }
});
