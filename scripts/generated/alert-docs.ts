/**
 * The alert tables: docs/alerts.md (whole) and the README's copy of its table, both for the stack
 * whose thresholds the docs show, so the two can never tell different stories.
 */
import { renderAlertTable } from "../../configs/rules";
import type { StackConfig } from "../../lib/stack-config";

export const ALERTS_DOCS_FILE = "docs/alerts.md";
const README_START = "<!-- alert-table:start (generated from configs/rules by npm run generate) -->";
const README_END = "<!-- alert-table:end -->";

/** docs/alerts.md, whole. */
export function alertsDoc(config: StackConfig): string {
  return renderAlertTable(config);
}

/** The README's alert table: docs/alerts.md's rows, with links rebased to the repository root. */
export function readmeAlertTable(config: StackConfig): string {
  return renderAlertTable(config)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.replaceAll("](../runbooks/", "](runbooks/"))
    .join("\n");
}

/** The README with its alert table replaced. */
export function withReadmeAlertTable(readme: string, table: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) {
    throw new Error(`README.md lacks the alert table markers (${README_START} ... ${README_END})`);
  }
  return `${readme.slice(0, start + README_START.length)}\n${table}\n${readme.slice(end)}`;
}
