/**
 * What the program produces for every stack file, compared with the checked-in copies under
 * test/golden/: each host's files (as `npm run render` writes them) and the mocked resource graph.
 * A difference fails with the paths that changed; after an intended change, `npm run golden`
 * rewrites the copies and the diff goes into review with the code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stackHostFiles } from "../configs/host-files";
import { GOLDEN_DIR, graphJson, readTree, UPDATING_GOLDEN, writeTree } from "./support/golden";
import { type MockedRun, runProgram } from "./support/pulumi-mocks";
import { EVERY_EXPORTER, everyExporterStack, loadRealStacks, reliabilityStack } from "./support/stacks";

const UPDATE_HINT = "If the change is intended, run `npm run golden` and commit test/golden/.";

function renderedTree(config: Parameters<typeof stackHostFiles>[0]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [host, hostFiles] of Object.entries(stackHostFiles(config))) {
    for (const [path, content] of Object.entries(hostFiles)) files[`${host}/${path}`] = content;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function changedPaths(expected: Record<string, string>, actual: Record<string, string>): string[] {
  const paths = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...paths].filter((path) => expected[path] !== actual[path]).sort();
}

function expectSameRender(name: string, config: Parameters<typeof stackHostFiles>[0]): void {
  const dir = join(GOLDEN_DIR, "render", name);
  const actual = renderedTree(config);
  if (UPDATING_GOLDEN) writeTree(dir, actual);
  const expected = readTree(dir);
  expect(Object.keys(expected).length, `no golden render in ${dir}. ${UPDATE_HINT}`).toBeGreaterThan(0);
  expect(changedPaths(expected, actual), `rendered files differ from ${dir}. ${UPDATE_HINT}`).toEqual([]);
}

function expectSameGraph(name: string, run: MockedRun): void {
  const file = join(GOLDEN_DIR, "graph", `${name}.json`);
  const actual = graphJson(run);
  if (UPDATING_GOLDEN) {
    mkdirSync(join(GOLDEN_DIR, "graph"), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(existsSync(file), `no golden graph at ${file}. ${UPDATE_HINT}`).toBe(true);
  const expected = readFileSync(file, "utf8");
  // Compared as parsed data first, so a failure names the resources that differ.
  const byKey = (json: string) =>
    Object.fromEntries(
      (JSON.parse(json).resources as { type: string; name: string }[]).map((r) => [
        `${r.type}::${r.name}`,
        JSON.stringify(r),
      ]),
    );
  expect(
    changedPaths(byKey(expected), byKey(actual)),
    `resources differ from ${file}. ${UPDATE_HINT}`,
  ).toEqual([]);
  expect(actual === expected, `outputs differ from ${file}. ${UPDATE_HINT}`).toBe(true);
}

describe.each(loadRealStacks())("stack $name", ({ name, config }) => {
  it("renders the same files as its golden copy", () => {
    expectSameRender(name, config);
  });

  it("registers the same resource graph as its golden copy", async () => {
    expectSameGraph(name, await runProgram(name));
  });
});

// The shipped stacks leave some exporters off; this one turns every exporter on for one client
// and one host outside AWS, so each exporter's files and resources are held byte for byte too.
describe("every exporter on", () => {
  const { name, stack, configOverrides } = everyExporterStack();

  it("renders and registers the same as its golden copies", async () => {
    const run = await runProgram(stack, { configOverrides });
    const enabled = [...run.stackConfig.clients, ...run.stackConfig.externalHosts].flatMap(
      (host) => host.exporters,
    );
    expect(new Set(enabled)).toEqual(new Set(EVERY_EXPORTER));
    expectSameRender(name, run.stackConfig);
    expectSameGraph(name, run);
  });
});

// SLOs, uptime probes and traces are off in the shipped stacks (whose golden copies above hold
// that they add nothing then); this stack turns all three on, so every file and resource they
// add is held byte for byte too.
describe("SLOs, probes and traces on", () => {
  const { name, stack, configOverrides } = reliabilityStack();

  it("renders and registers the same as its golden copies", async () => {
    const run = await runProgram(stack, { configOverrides });
    expect(run.stackConfig.slos.map((slo) => slo.name)).toEqual(["api-availability", "homepage-uptime"]);
    expect(run.stackConfig.probes.targets).toHaveLength(3);
    expect(run.stackConfig.traces).toEqual({ retention: "7d" });
    expectSameRender(name, run.stackConfig);
    expectSameGraph(name, run);
  });
});
