/**
 * The optional exporters' credential files: where each goes, its owner and mode, and its content
 * from the monitoring account's user and password. Pure and synchronous: the deploy calls
 * renderExporterCredentialFiles inside `pulumi.all([...secrets]).apply(...)`, so the values stay
 * Pulumi secrets end to end.
 *
 * Each record's format is written so the exporter reads back exactly the configured value;
 * values its format cannot carry are refused with a message naming the setting and what is wrong,
 * never the value itself.
 */
import { PROJECT } from "../../lib/stack-config";
import type { ExporterCredentialFile, ExporterRecord } from "./types";

/** Directory (relative to the agents' compose file) of credential files; only the deploy writes them. */
export const SECRETS_DIR = "secrets";

/** The credential files the deploy writes on a host running this exporter (none without credentials). */
export function exporterCredentialFiles(record: ExporterRecord): readonly ExporterCredentialFile[] {
  return record.credentials?.files ?? [];
}

export interface CredentialValues {
  /** Login name; unused by a service that authenticates by password only (Redis). */
  readonly user?: string;
  readonly password?: string;
}

export class ExporterCredentialsError extends Error {
  readonly exporter: string;
  readonly problems: readonly string[];

  constructor(exporter: string, problems: readonly string[]) {
    super(
      [`Cannot write the ${exporter} exporter's credential files:`, ...problems.map((p) => `  - ${p}`)].join(
        "\n",
      ),
    );
    this.name = "ExporterCredentialsError";
    this.exporter = exporter;
    this.problems = problems;
  }
}

/** Every problem with these values for this exporter's files (empty when they can be written). */
function exporterCredentialProblems(record: ExporterRecord, values: CredentialValues): string[] {
  const spec = record.settings.credentials;
  if (!spec) return [];
  const fields: { field: keyof CredentialValues; setting: string; required: boolean }[] = [
    ...(spec.user ? [{ field: "user" as const, setting: spec.user.key, required: true }] : []),
    { field: "password", setting: spec.password.key, required: spec.password.required },
  ];
  const problems: string[] = [];
  for (const { field, setting, required } of fields) {
    const value = values[field];
    if (value === undefined || value === "") {
      if (required) {
        problems.push(`${PROJECT}:${setting} is not set; the ${record.name} exporter needs a ${field}`);
      }
      continue;
    }
    // The format's limits apply to every value it carries, the user's name included.
    const problem = spec.passwordProblem(value);
    if (problem !== undefined) problems.push(`${PROJECT}:${setting} ${problem}`);
  }
  return problems;
}

/**
 * The credential files a host running this exporter needs, keyed by their path relative to the
 * agents' compose directory (owner and mode: exporterCredentialFiles). None for an exporter
 * without credentials. Throws ExporterCredentialsError when a value cannot be written safely.
 */
export function renderExporterCredentialFiles(
  record: ExporterRecord,
  values: CredentialValues,
): Record<string, string> {
  const credentials = record.credentials;
  if (!credentials || !record.settings.credentials) return {};
  const problems = exporterCredentialProblems(record, values);
  if (problems.length > 0) throw new ExporterCredentialsError(record.name, problems);
  const user = record.settings.credentials.user ? (values.user ?? "") : "";
  const contents = credentials.render(user, values.password ?? "");
  const rendered: Record<string, string> = {};
  for (const file of credentials.files) {
    const content = contents[file.name];
    if (content === undefined) {
      throw new Error(`no content rendered for the ${record.name} exporter's credential file ${file.name}`);
    }
    rendered[file.path] = content;
  }
  return rendered;
}
