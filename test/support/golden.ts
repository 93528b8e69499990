/**
 * Golden copies of what the program produces: every file each host of a stack receives, and the
 * mocked resource graph. Checked in under test/golden/, so a review shows exactly what a change
 * does to the hosts and to AWS; `npm run golden` rewrites them after an intended change.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { MockedRun } from "./pulumi-mocks";
import { isSecretValue, unwrapSecret } from "./pulumi-mocks";

export const GOLDEN_DIR = resolve(__dirname, "..", "golden");

/** Set to rewrite the golden copies instead of only comparing with them (`npm run golden`). */
export const UPDATING_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/** Every file under `dir`, by path relative to it (`/` separated), sorted. */
export function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (current: string) => {
    let entries: string[];
    try {
      entries = readdirSync(current);
    } catch {
      return;
    }
    for (const entry of entries.sort()) {
      const path = join(current, entry);
      try {
        files[relative(dir, path).split("\\").join("/")] = readFileSync(path, "utf8");
      } catch {
        walk(path);
      }
    }
  };
  walk(dir);
  return files;
}

/** Replaces `dir` with exactly `files`. */
export function writeTree(dir: string, files: Readonly<Record<string, string>>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/** Secrets as `{ "<secret>": value }`, so the golden graph shows which inputs are secret. */
function markSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return { "<secret>": markSecrets(unwrapSecret(value)) };
  if (Array.isArray(value)) return value.map(markSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, inner]) => [key, markSecrets(inner)]),
    );
  }
  return value;
}

/**
 * The resource graph as stable JSON: resources sorted by type and name (registration order
 * depends on when outputs resolve), each with its inputs and the options that decide safety.
 */
export function graphJson(run: MockedRun): string {
  const resources = [...run.resources]
    .sort((a, b) => {
      const left = `${a.type}::${a.name}`;
      const right = `${b.type}::${b.name}`;
      return left < right ? -1 : left > right ? 1 : 0;
    })
    .map((resource) => ({
      type: resource.type,
      name: resource.name,
      ...(resource.parent !== undefined ? { parent: resource.parent } : {}),
      ...(resource.provider !== undefined ? { provider: resource.provider } : {}),
      ...(resource.protect ? { protect: true } : {}),
      ...(resource.retainOnDelete ? { retainOnDelete: true } : {}),
      ...(resource.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      ...(resource.dependsOn && resource.dependsOn.length > 0 ? { dependsOn: resource.dependsOn } : {}),
      inputs: markSecrets(resource.inputs),
    }));
  return `${JSON.stringify({ resources, outputs: markSecrets(run.outputs) }, null, 1)}\n`;
}
