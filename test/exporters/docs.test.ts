/**
 * The docs the optional exporters' records generate: their table rows in docs/exporters.md,
 * docs/clients.md, docs/dashboards.md and docs/render.md, and the runbook of every exporter
 * alert. A record added, changed or removed shows here until the files are regenerated:
 * `UPDATE_DOCS=1 npx vitest run test/exporters/docs.test.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { EXPORTERS } from "../../configs/exporters";
import { blockMarkers, exporterDocBlocks, exporterRunbooks, withBlock } from "../support/exporter-docs";

const ROOT = resolve(__dirname, "..", "..");
const UPDATING = process.env.UPDATE_DOCS === "1";
const HINT = "regenerate: UPDATE_DOCS=1 npx vitest run test/exporters/docs.test.ts";

const read = (file: string) => (existsSync(join(ROOT, file)) ? readFileSync(join(ROOT, file), "utf8") : "");

describe.each(exporterDocBlocks().map((block) => [`${block.file} (${block.name})`, block] as const))(
  "%s",
  (_, block) => {
    it("holds the rows the records give", () => {
      const current = read(block.file);
      const expected = withBlock(current, block);
      expect(expected, `${block.file} needs the markers ${blockMarkers(block)}`).toBeDefined();
      if (UPDATING && expected !== undefined && expected !== current)
        writeFileSync(join(ROOT, block.file), expected);
      expect(read(block.file), `${block.file} is stale; ${HINT}`).toBe(expected);
    });

    it("fills every cell of every row", () => {
      const rows = block.lines.slice(2);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row, row).not.toMatch(/\|\s*\|/);
    });
  },
);

describe("runbooks of the exporter alerts", () => {
  const runbooks = exporterRunbooks();

  it("exist for every alert of every record", () => {
    const alerts = EXPORTERS.flatMap((record) => record.alerts.map((alert) => alert.rule.name));
    expect(Object.keys(runbooks).sort()).toEqual(alerts.map((name) => `runbooks/${name}.md`).sort());
  });

  it.each(Object.entries(runbooks))("%s is the record's runbook", (file, content) => {
    if (UPDATING && read(file) !== content) writeFileSync(join(ROOT, file), content);
    expect(read(file), `${file} is stale; ${HINT}`).toBe(content);
    expect(content).toMatch(/^# [A-Z]\w+\n/);
    for (const section of ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]) {
      expect(content).toContain(`\n${section}\n`);
    }
  });
});
