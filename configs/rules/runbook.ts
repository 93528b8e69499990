/**
 * Runbooks: the page every alert's `runbook_url` opens. The text of each is runbooks/<Alert>.md
 * (written by hand, or generated from the optional exporters' records by `npm run generate`);
 * Grafana serves them on the provisioned Runbooks dashboard (configs/dashboards/runbooks.ts),
 * one panel per alert, so the default link always resolves on the stack's own Grafana. A stack
 * that sets runbookBaseUrl links to `<runbookBaseUrl>/<Alert>.md` instead.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface RunbookText {
  /** What the alert says happened. */
  readonly meaning: string;
  readonly impact: string;
  /** Steps, in order. */
  readonly diagnosis: readonly string[];
  readonly mitigation: readonly string[];
}

/** runbooks/<alert>.md in the layout every runbook of the repository follows. */
export function renderRunbook(alert: string, text: RunbookText): string {
  return [
    `# ${alert}`,
    "",
    "See [the alert table](../docs/alerts.md) for its condition, `for` and severity.",
    "",
    "## Meaning",
    "",
    text.meaning,
    "",
    "## Impact",
    "",
    text.impact,
    "",
    "## Diagnosis",
    "",
    ...text.diagnosis.map((step) => `1. ${step}`),
    "",
    "## Mitigation",
    "",
    ...text.mitigation.map((step) => `- ${step}`),
    "",
  ].join("\n");
}

/** The repository's runbooks/ directory (read at render time, like the host scripts: still pure). */
const RUNBOOKS_DIR = join(__dirname, "..", "..", "runbooks");

/** runbooks/<alert>.md as written; a missing runbook fails the render, naming the file. */
export function readRunbook(alert: string): string {
  const path = join(RUNBOOKS_DIR, `${alert}.md`);
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`alert ${alert} has no runbook at ${path}: ${(error as Error).message}`);
  }
}

/** The provisioned Runbooks dashboard's fixed uid: every default runbook link names it. */
export const RUNBOOKS_DASHBOARD_UID = "obs-runbooks";

/** Panel ids below this are left to the dashboard's rows (numbered 1..n in layout order). */
const FIRST_RUNBOOK_PANEL_ID = 1000;
const RUNBOOK_PANEL_ID_SPAN = 1_000_000_000;

/**
 * The runbook panel's id, from the alert's name alone (32-bit FNV-1a): a link in a mail sent
 * before a deploy still opens the same runbook after alerts were added or removed. Stays inside
 * a 32-bit signed integer, as Grafana's panel ids do.
 */
export function runbookPanelId(alert: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < alert.length; index++) {
    hash ^= alert.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return FIRST_RUNBOOK_PANEL_ID + (hash % RUNBOOK_PANEL_ID_SPAN);
}

/**
 * Path (below Grafana's root URL) that opens the alert's runbook panel on its own: Grafana 12's
 * dashboard view puts `viewPanel=panel-<id>` in the URL for "View" and resolves it by panel key.
 */
export function runbookPanelPath(alert: string): string {
  return `/d/${RUNBOOKS_DASHBOARD_UID}?viewPanel=panel-${runbookPanelId(alert)}`;
}

/** Where an alert's runbook link points: the slice of the stack's settings it depends on. */
export interface RunbookLinks {
  /** Grafana's root URL (a sub-path is kept): the Runbooks dashboard's panels. */
  readonly grafanaUrl: string;
  /** Set: `<runbookBaseUrl>/<Alert>.md` instead (https, no trailing slash). */
  readonly runbookBaseUrl?: string;
}

/** The alert's `runbook_url`. */
export function runbookUrl(links: RunbookLinks, alert: string): string {
  if (links.runbookBaseUrl !== undefined) return `${links.runbookBaseUrl}/${alert}.md`;
  return `${links.grafanaUrl.replace(/\/+$/, "")}${runbookPanelPath(alert)}`;
}
