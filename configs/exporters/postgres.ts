/** PostgreSQL, through postgres_exporter logging in as a pg_monitor role. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
import { serviceDownAlert } from "../rules/service-down";
import { oneLineValueProblem } from "./credential-values";
import { SECRETS_DIR } from "./credentials";
import type { ExporterCredentialFile, ExporterRecord } from "./types";

const ADDRESS = "127.0.0.1:5432";
/** `nobody`, as the prometheus-community images run. */
const IMAGE_UID = 65534;

const USER_FILE: ExporterCredentialFile = {
  name: "postgres_exporter_user",
  path: `${SECRETS_DIR}/postgres-exporter-user`,
  delivery: "compose-secret",
  ownerUid: IMAGE_UID,
  mode: "0400",
  format: "role name",
};

const PASSWORD_FILE: ExporterCredentialFile = {
  name: "postgres_exporter_password",
  path: `${SECRETS_DIR}/postgres-exporter-password`,
  delivery: "compose-secret",
  ownerUid: IMAGE_UID,
  mode: "0400",
  format: "its password",
};

const identity = { name: "postgres", title: "PostgreSQL", upMetric: "pg_up" } as const;

export const postgres: ExporterRecord = {
  ...identity,
  settings: {
    name: identity.name,
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
  port: 9187,
  metricsPath: "/metrics",
  container: {
    image: "docker.io/prometheuscommunity/postgres-exporter:v0.20.1",
    imageCheckedAgainst: "v0.20.1 tag",
    command: ({ listenAddress }) => [`--web.listen-address=${listenAddress}`],
    // The URI carries no credentials: the exporter reads them from the two mounted files.
    environment: () => ({
      DATA_SOURCE_URI: `${ADDRESS}/postgres?sslmode=disable`,
      DATA_SOURCE_USER_FILE: composeSecretPath(USER_FILE.name),
      DATA_SOURCE_PASS_FILE: composeSecretPath(PASSWORD_FILE.name),
    }),
  },
  credentials: {
    files: [USER_FILE, PASSWORD_FILE],
    render: (user, password) => ({ [USER_FILE.name]: `${user}\n`, [PASSWORD_FILE.name]: `${password}\n` }),
  },
  alerts: [
    serviceDownAlert(identity, {
      alert: "PostgresqlDown",
      summary: "PostgreSQL is down.",
      severity: "critical",
      sampleInstance: "db-1",
      runbook: {
        meaning: "the PostgreSQL exporter runs but cannot connect to PostgreSQL",
        impact: "The database is down or refuses the exporter's connection.",
        diagnosis: [
          "`systemctl status postgresql` or the container's logs; `docker logs postgres-exporter` for the error; `pg_isready -h 127.0.0.1` on the host; too many connections shows in the PostgreSQL log.",
        ],
        mitigation: [
          "Restart PostgreSQL; fix `pg_hba.conf` or the exporter's credentials secret (`pulumi config set --secret`, `pulumi up`).",
        ],
      },
    }),
  ],
  dashboard: {
    description: "PostgreSQL through postgres_exporter: backends, transactions, database size.",
    answers: "Is PostgreSQL up, backends, commits/rollbacks, database size",
    statusQuestion: "can the exporter reach it?",
    panels: (s) => [
      {
        title: "Backends by database",
        question: "how many connections per database?",
        queries: [
          {
            expr: `sum by (instance, datname) (pg_stat_database_numbackends{${s}})`,
            legend: "{{instance}} {{datname}}",
          },
        ],
      },
      {
        title: "Transactions",
        question: "commits and rollbacks per second (a rise in rollbacks is errors)?",
        unit: "ops",
        queries: [
          { expr: summedRate("pg_stat_database_xact_commit", s), legend: "{{instance}} commit" },
          { expr: summedRate("pg_stat_database_xact_rollback", s), legend: "{{instance}} rollback" },
        ],
      },
      {
        title: "Database size",
        question: "how big is each database?",
        unit: "bytes",
        queries: [{ expr: `pg_database_size_bytes{${s}}`, legend: "{{instance}} {{datname}}" }],
      },
    ],
  },
  processGroups: [{ name: "postgres", comm: ["postgres", "postmaster"] }],
  docs: {
    source: "postgres_exporter",
    serviceNeeds: `a login role with \`pg_monitor\` on \`${ADDRESS}\``,
  },
};
