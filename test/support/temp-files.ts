/**
 * Rendered files written to disk for the real tools (promtool, amtool, ...) to read: fresh
 * temp directories that are removed once the test file's tests have run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";

/**
 * Call at the top of a test file: returns a function that makes a fresh temp dir named
 * `<prefix>XXXXXX`; every dir it made is removed after the file's tests.
 */
export function tempDirMaker(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** Writes each `relative path -> content` under `root`, creating subdirectories; returns the paths in order. */
export function writeFiles(root: string, files: Record<string, string>): string[] {
  return Object.entries(files).map(([name, content]) => {
    const path = join(root, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  });
}
