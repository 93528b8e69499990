/**
 * The docs the optional exporters' records generate: their table rows in docs/exporters.md,
 * docs/clients.md, docs/dashboards.md and docs/render.md, and the runbook of every exporter
 * alert. (test/generate.test.ts holds the checked-in files to what they generate.)
 */
import { describe, expect, it } from "vitest";
import { EXPORTERS } from "../../configs/exporters";
import {
  blockMarkers,
  exporterDocBlocks,
  exporterRunbooks,
  withBlock,
} from "../../scripts/generated/exporter-docs";
import { sampleStackConfig } from "../support/sample-config";

const BLOCKS = exporterDocBlocks(sampleStackConfig());
type DocBlock = (typeof BLOCKS)[number];

describe.each(BLOCKS.map((block) => [`${block.file} (${block.name})`, block] as const))("%s", (_, block) => {
  it("fills every cell of every row", () => {
    const rows = block.lines.slice(2);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row, row).not.toMatch(/\|\s*\|/);
  });
});

describe("a generated block in its file", () => {
  const block: DocBlock = BLOCKS[0] as DocBlock;
  const [start, end] = blockMarkers(block).split(" ... ") as [string, string];

  it("replaces what is between its markers, indented as the start marker is, and nothing else", () => {
    const text = ["# Title", "1. A list item:", `   ${start}`, "   | stale |", `   ${end}`, "after"].join(
      "\n",
    );
    const lines = (withBlock(text, block) ?? "").split("\n");
    expect(lines.slice(0, 3)).toEqual(["# Title", "1. A list item:", `   ${start}`]);
    expect(lines.slice(3, -2)).toEqual(block.lines.map((line) => `   ${line}`));
    expect(lines.slice(-2)).toEqual([`   ${end}`, "after"]);
  });

  it("is refused without its markers, or with them out of order", () => {
    expect(withBlock("no markers", block)).toBeUndefined();
    expect(withBlock(`${end}\n${start}`, block)).toBeUndefined();
  });
});

describe("runbooks of the exporter alerts", () => {
  const runbooks = exporterRunbooks();

  it("exist for every alert of every record", () => {
    const alerts = EXPORTERS.flatMap((record) => record.alerts.map((alert) => alert.rule.name));
    expect(Object.keys(runbooks).sort()).toEqual(alerts.map((name) => `runbooks/${name}.md`).sort());
  });

  it.each(Object.entries(runbooks))("%s has the sections every runbook has", (_, content) => {
    expect(content).toMatch(/^# [A-Z]\w+\n/);
    for (const section of ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]) {
      expect(content).toContain(`\n${section}\n`);
    }
  });
});
