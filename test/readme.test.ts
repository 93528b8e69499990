/**
 * The README's alert table is the prod stack's rule table (docs/alerts.md), links rebased to the
 * repository root, so the two can never tell different stories.
 * Regenerate: UPDATE_DOCS=1 npx vitest run test/readme.test.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAlertTable } from "../configs/rules";
import { loadStackConfigFromFiles } from "../lib/stack-files";

const ROOT = join(__dirname, "..");
const README = join(ROOT, "README.md");
const START = "<!-- alert-table:start (generated from configs/rules; see test/readme.test.ts) -->";
const END = "<!-- alert-table:end -->";

function expectedTable(): string {
  const prod = loadStackConfigFromFiles("prod", ROOT, { requireSecrets: false });
  return renderAlertTable(prod)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.replaceAll("](../runbooks/", "](runbooks/"))
    .join("\n");
}

describe("README", () => {
  it("lists every alert with its condition, for and severity, as the rules define them", () => {
    const readme = readFileSync(README, "utf8");
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, `README.md needs the markers ${START} and ${END}`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const current = readme.slice(start + START.length, end).trim();
    const expected = expectedTable();
    if (process.env.UPDATE_DOCS === "1" && current !== expected) {
      writeFileSync(README, `${readme.slice(0, start + START.length)}\n${expected}\n${readme.slice(end)}`);
      return;
    }
    expect(current, "README alert table is stale: UPDATE_DOCS=1 npx vitest run test/readme.test.ts").toBe(
      expected,
    );
    expect(expected).toMatch(/\| \[HostUnreachable\]\(runbooks\/HostUnreachable\.md\)/);
  });
});
