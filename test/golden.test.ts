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
import { runProgram } from "./support/pulumi-mocks";
import { loadRealStacks } from "./support/stacks";

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

describe.each(loadRealStacks())("stack $name", ({ name, config }) => {
  it("renders the same files as its golden copy", () => {
    const dir = join(GOLDEN_DIR, "render", name);
    const actual = renderedTree(config);
    if (UPDATING_GOLDEN) writeTree(dir, actual);
    const expected = readTree(dir);
    expect(Object.keys(expected).length, `no golden render in ${dir}. ${UPDATE_HINT}`).toBeGreaterThan(0);
    expect(changedPaths(expected, actual), `rendered files differ from ${dir}. ${UPDATE_HINT}`).toEqual([]);
  });

  it("registers the same resource graph as its golden copy", async () => {
    const file = join(GOLDEN_DIR, "graph", `${name}.json`);
    const actual = graphJson(await runProgram(name));
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
  });
});
