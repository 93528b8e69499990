/**
 * `npm run generate`, run as users and CI run it: the checked-in generated files are exactly what
 * it writes, and `--check` names every stale file without writing, in a copy of the project.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..");
/** What the generated files are rendered from and into, in a project copy. */
const PROJECT_FILES = [
  "Pulumi.yaml",
  "README.md",
  "Pulumi.dev.yaml",
  "Pulumi.prod.yaml",
  "docs",
  "runbooks",
  "policy/config",
];
/** An exporter alert's runbook, generated from its record. */
const RUNBOOK = "runbooks/PostgresqlDown.md";

function generate(...args: string[]) {
  const cli = join(ROOT, "node_modules/tsx/dist/cli.mjs");
  return spawnSync(process.execPath, [cli, join(ROOT, "scripts/generate.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
}

it("finds every generated file of the repository up to date (else: npm run generate)", () => {
  const result = generate("--check");
  expect(result.stderr + result.stdout).toBe("");
  expect(result.status).toBe(0);
});

describe("in a copy of the project", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function copyProject(): string {
    dir = mkdtempSync(join(tmpdir(), "generate-"));
    for (const file of PROJECT_FILES) cpSync(join(ROOT, file), join(dir, file), { recursive: true });
    return dir;
  }
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(dir, file), change(read(file)));

  it("--check names each stale file, writes nothing and fails; a plain run rewrites them, hand-written text kept", () => {
    copyProject();
    edit("Pulumi.yaml", (text) => text.replace(/(\n {4}description: )[^\n]*/, "$1stale"));
    edit("docs/configuration.md", (text) => text.replace(/\| `scrapeInterval` \|[^\n]*/, "| stale |"));
    edit("docs/alerts.md", (text) => text.replace(/\| \[HostUnreachable\][^\n]*/, "| stale |"));
    edit(
      "README.md",
      (text) => `${text.replace(/\| \[HostUnreachable\][^\n]*/, "| stale |")}\nHand-written.\n`,
    );
    edit("docs/exporters.md", (text) => text.replace(/^\| `postgres` \|[^\n]*/m, "| stale |"));
    unlinkSync(join(dir, RUNBOOK));
    const before = ["Pulumi.yaml", "README.md", "docs/alerts.md"].map(read);

    const checked = generate("--check", "--root", dir);
    expect(checked.status).toBe(1);
    const stale = /stale: (.*)/.exec(checked.stderr)?.[1]?.split(", ") ?? [];
    expect(stale.sort()).toEqual(
      [
        "Pulumi.yaml",
        "docs/configuration.md",
        "docs/alerts.md",
        "README.md",
        "docs/exporters.md",
        RUNBOOK,
      ].sort(),
    );
    expect(checked.stderr).toContain("Run `npm run generate`");
    expect(["Pulumi.yaml", "README.md", "docs/alerts.md"].map(read)).toEqual(before);

    const written = generate("--root", dir);
    expect(written.status, written.stderr).toBe(0);
    expect(generate("--check", "--root", dir).status).toBe(0);
    for (const file of [
      "Pulumi.yaml",
      "docs/configuration.md",
      "docs/alerts.md",
      "docs/exporters.md",
      RUNBOOK,
    ]) {
      expect(read(file), file).toBe(readFileSync(join(ROOT, file), "utf8"));
    }
    expect(read("README.md")).toBe(`${readFileSync(join(ROOT, "README.md"), "utf8")}\nHand-written.\n`);
  });

  it("refuses a docs file that lost its generated part's markers, naming the file", () => {
    copyProject();
    edit("docs/configuration.md", (text) => text.replace("<!-- END GENERATED -->", ""));
    const result = generate("--check", "--root", dir);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^generate: docs\/configuration\.md lacks the generated-section markers/);
  });
});

it("refuses an unknown argument with its usage", () => {
  const result = generate("--chek");
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(
    /^generate: unknown argument "--chek"; usage: npm run generate -- \[--check\]/,
  );
});

it("docs/alerts.md's real-data proofs name alerts that exist and tests that exist", () => {
  const doc = readFileSync(join(ROOT, "docs/alerts.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Proven with real data"));
  const rows = section.split("\n").filter((line) => line.startsWith("| ["));
  expect(rows.length).toBeGreaterThan(5);
  for (const row of rows) {
    const [alerts = "", , test = ""] = row.split(" | ");
    const names = [...alerts.matchAll(/\[(\w+)\]\(\.\.\/runbooks\/\1\.md\)/g)].map((match) => match[1]);
    expect(names.length, row).toBeGreaterThan(0);
    for (const name of names) expect(existsSync(join(ROOT, "runbooks", `${name}.md`)), name).toBe(true);
    const file = /\]\(\.\.\/(test\/[\w.-]+\.test\.ts)\)/.exec(test)?.[1];
    expect(file && existsSync(join(ROOT, file)), row).toBe(true);
  }
});
