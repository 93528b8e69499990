/**
 * Runbooks as data, for alerts whose runbook is generated from the code that defines them (the
 * optional exporters' records): runbooks/<Alert>.md, the page every alert's `runbook_url` opens.
 */

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
