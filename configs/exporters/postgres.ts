/** PostgreSQL, through postgres_exporter logging in as a pg_monitor role. */
import { oneLineValueProblem } from "./credential-values";
import type { ExporterRecord } from "./types";

export const postgres: ExporterRecord = {
  name: "postgres",
  settings: {
    name: "postgres",
    credentials: {
      user: {
        key: "postgresExporterUser",
        default: "postgres_exporter",
        description:
          "PostgreSQL role the postgres exporter logs in as (one per stack; password: postgresExporterPassword).",
        pattern: /^[a-z_][a-z0-9_]{0,62}$/,
        rule: "1-63 lowercase letters, digits or _, not starting with a digit (PostgreSQL folds unquoted role names to lowercase)",
      },
      password: {
        key: "postgresExporterPassword",
        required: true,
        description: "Password of postgresExporterUser; required when a host enables the postgres exporter.",
      },
      passwordProblem: (value) =>
        oneLineValueProblem(value) ??
        // postgres_exporter trims its credential files, and splits the connection string it builds
        // from them on spaces (exporter/util.go parseFingerprint, 0.19 to 0.20.1): with a space
        // anywhere every scrape fails and pg_up stays 0 while PostgreSQL runs.
        (/\s/.test(value)
          ? "contains a space; postgres_exporter splits its connection string on spaces and then never connects"
          : undefined),
    },
  },
};
