/**
 * Contents of the optional exporters' credential files (see `exporterSecretFiles` for where each
 * goes, its owner and mode). Pure and synchronous: the deploy calls it inside
 * `pulumi.all([...secrets]).apply(...)`, so the values stay Pulumi secrets end to end.
 *
 * Each format is written so the exporter reads back exactly the configured value. Characters a
 * format cannot carry are refused with a message naming the setting and the character class;
 * messages never repeat the value itself.
 */
import type { OptionalExporter } from "../../lib/catalog";
import { PROJECT } from "../../lib/stack-config";
import { exporterRecord } from "../exporters";
import { exporterSecretFiles } from "./optional-exporters";

/** Optional exporters that log in to their service, each with one monitoring account per stack. */
type CredentialedExporter = Extract<OptionalExporter, "postgres" | "mysql" | "mongodb" | "redis">;

function isCredentialedExporter(exporter: OptionalExporter): exporter is CredentialedExporter {
  return exporterRecord(exporter).settings.credentials !== undefined;
}

export interface ExporterCredentials {
  /** Login name (postgres, mysql, mongodb); Redis authenticates by password only and ignores it. */
  readonly user?: string;
  readonly password?: string;
}

/** Where mysqld_exporter connects: MySQL on the host's loopback (the exporter runs on the host network). */
export const MYSQL_HOST = "127.0.0.1";
export const MYSQL_PORT = 3306;

/** The Redis URI the exporter scrapes (its REDIS_ADDR); the password file is keyed by it. */
export const REDIS_URI = "redis://127.0.0.1:6379";

export type CredentialField = "user" | "password";

export class ExporterCredentialsError extends Error {
  readonly exporter: OptionalExporter;
  readonly problems: readonly string[];

  constructor(exporter: OptionalExporter, problems: readonly string[]) {
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

/**
 * Why `value` (a user or password) cannot go into `exporter`'s credential file, or undefined. The text
 * describes the value without repeating it, so it is safe in logs and error output.
 */
export function credentialValueProblem(exporter: CredentialedExporter, value: string): string | undefined {
  return exporterRecord(exporter).settings.credentials?.passwordProblem(value);
}

function settingName(exporter: CredentialedExporter, field: CredentialField): string {
  const credentials = exporterRecord(exporter).settings.credentials;
  const key = field === "user" ? credentials?.user?.key : credentials?.password.key;
  return `${PROJECT}:${key ?? credentials?.password.key}`;
}

/** Every problem with these credentials for this exporter (empty when they can be written). */
export function exporterCredentialProblems(
  exporter: OptionalExporter,
  credentials: ExporterCredentials,
): string[] {
  if (!isCredentialedExporter(exporter)) return [];
  const problems: string[] = [];
  const fields: CredentialField[] = exporter === "redis" ? ["password"] : ["user", "password"];
  for (const field of fields) {
    const value = credentials[field];
    const setting = settingName(exporter, field);
    if (value === undefined || value === "") {
      // Redis may run without requirepass; every other service needs both.
      if (exporter !== "redis")
        problems.push(`${setting} is not set; the ${exporter} exporter needs a ${field}`);
      continue;
    }
    const problem = credentialValueProblem(exporter, value);
    if (problem !== undefined) problems.push(`${setting} ${problem}`);
  }
  return problems;
}

/** A my.cnf value in backquotes: go-ini then takes everything up to the last backquote literally. */
function iniQuoted(value: string): string {
  return `\`${value}\``;
}

function myCnf(user: string, password: string): string {
  const client: ReadonlyArray<readonly [string, string]> = [
    ["user", iniQuoted(user)],
    ["password", iniQuoted(password)],
    ["host", MYSQL_HOST],
    ["port", String(MYSQL_PORT)],
  ];
  return `${["[client]", ...client.map(([key, value]) => `${key} = ${value}`)].join("\n")}\n`;
}

/**
 * An env-file line docker compose reads back literally: single-quoted values get no `$`
 * interpolation and no escape processing other than `\'`, and credentialValueProblem has refused
 * `'`, `\` and line breaks, so what is between the quotes is exactly the value.
 */
function envLine(name: string, value: string): string {
  return `${name}='${value}'`;
}

/** Content of each credential file, by compose secret name. */
function contentsBySecretName(
  exporter: CredentialedExporter,
  credentials: ExporterCredentials,
): Record<string, string> {
  const user = credentials.user ?? "";
  const password = credentials.password ?? "";
  switch (exporter) {
    case "postgres":
      return { postgres_exporter_user: `${user}\n`, postgres_exporter_password: `${password}\n` };
    case "mysql":
      return { mysqld_exporter_my_cnf: myCnf(user, password) };
    case "redis": {
      // No password (Redis without requirepass): an empty map, so the exporter sends no AUTH.
      const passwords: Record<string, string> = password === "" ? {} : { [REDIS_URI]: password };
      return { redis_exporter_passwords: `${JSON.stringify(passwords)}\n` };
    }
    case "mongodb":
      return {
        mongodb_exporter_env: `${[envLine("MONGODB_USER", user), envLine("MONGODB_PASSWORD", password)].join("\n")}\n`,
      };
  }
}

/**
 * The credential files a host running `exporter` needs, keyed by their path relative to the
 * agents' compose directory (`ExporterSecretFile.path`; owner and mode come from there too).
 * Exporters without credentials (nginx, jenkins) get none. Throws ExporterCredentialsError when a
 * value cannot be written safely; the message names the setting, never the value.
 */
export function renderExporterSecretFiles(
  exporter: OptionalExporter,
  credentials: ExporterCredentials,
): Record<string, string> {
  const files = exporterSecretFiles(exporter);
  if (files.length === 0 || !isCredentialedExporter(exporter)) return {};
  const problems = exporterCredentialProblems(exporter, credentials);
  if (problems.length > 0) throw new ExporterCredentialsError(exporter, problems);
  const contents = contentsBySecretName(exporter, credentials);
  const rendered: Record<string, string> = {};
  for (const file of files) {
    const content = contents[file.name];
    if (content === undefined) {
      throw new Error(`no renderer for the ${exporter} exporter's credential file ${file.name}`);
    }
    rendered[file.path] = content;
  }
  return rendered;
}
