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
import {
  type CredentialedExporter,
  EXPORTER_PASSWORD_SETTINGS,
  isCredentialedExporter,
  PROJECT,
} from "../../lib/stack-config";
import { exporterSecretFiles } from "./optional-exporters";

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

/** Settings that hold each exporter's login name (Redis has none). */
const USER_SETTINGS: Readonly<Record<Exclude<CredentialedExporter, "redis">, string>> = {
  postgres: "postgresExporterUser",
  mysql: "mysqlExporterUser",
  mongodb: "mongodbExporterUser",
};

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/** go-ini replaces `%(name)s` in a value with the value of key `name` (its "recursive values"). */
const INI_VALUE_REFERENCE = /%\([^)]+\)s/;

/**
 * Why `value` (a user or password) cannot go into `exporter`'s credential file, or undefined. The text
 * describes the value without repeating it, so it is safe in logs and error output.
 */
export function credentialValueProblem(exporter: CredentialedExporter, value: string): string | undefined {
  if (CONTROL_CHARACTERS.test(value)) {
    return "contains a line break or another control character; the credential file holds one value per line";
  }
  switch (exporter) {
    case "postgres":
      // postgres_exporter trims its credential files, and splits the connection string it builds
      // from them on spaces (exporter/util.go parseFingerprint, 0.19 to 0.20.1): with a space
      // anywhere every scrape fails and pg_up stays 0 while PostgreSQL runs.
      if (/\s/.test(value)) {
        return "contains a space; postgres_exporter splits its connection string on spaces and then never connects";
      }
      return undefined;
    case "mysql":
      // mysqld_exporter maps every my.cnf value through os.ExpandEnv, which has no escape for `$`.
      if (value.includes("$")) {
        return "contains $; mysqld_exporter expands $NAME in every my.cnf value as an environment variable, with no way to escape it";
      }
      if (INI_VALUE_REFERENCE.test(value)) {
        return "contains %(...)s; mysqld_exporter's INI reader replaces it with another key's value";
      }
      return undefined;
    case "mongodb":
      // Compose reads single-quoted env-file values literally except for `\'`, and older
      // releases differ on backslashes: with neither character the value reads back unchanged.
      if (value.includes("'") || value.includes("\\")) {
        return "contains ' or \\; the env file docker compose reads for the mongodb exporter cannot carry them literally";
      }
      return undefined;
    case "redis":
      // JSON.stringify escapes anything; only control characters (refused above) are left out.
      return undefined;
  }
}

function settingName(exporter: CredentialedExporter, field: CredentialField): string {
  const key =
    field === "password" || exporter === "redis"
      ? EXPORTER_PASSWORD_SETTINGS[exporter]
      : USER_SETTINGS[exporter];
  return `${PROJECT}:${key}`;
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
