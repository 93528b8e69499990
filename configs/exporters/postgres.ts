/** PostgreSQL, through postgres_exporter logging in as a pg_monitor role. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
import { after, exporterSymptom, series } from "../rules/rule-spec";
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

/** postgres_exporter's sources at the pinned version, where its metrics are defined. */
const EXPORTER_SOURCE = "https://github.com/prometheus-community/postgres_exporter/blob/v0.20.1";
const DATABASE_LABELS = ["datid", "datname"];
const ACTIVITY_LABELS = ["datname", "state", "usename", "application_name", "backend_type"];

/** Metrics defined in one source file, with the same labels. */
function metricsOf(source: string, labels: readonly string[], names: readonly string[]) {
  return Object.fromEntries(names.map((name) => [name, { labels, source }]));
}
const identity = { name: "postgres", title: "PostgreSQL", upMetric: "pg_up" } as const;
const JOB = `job="${identity.name}"`;
const SAMPLE = { job: identity.name, instance: "db-1" };
export const CONNECTIONS_PERCENT = 80;
const LONG_TRANSACTION_SECONDS = 1800;
const REPLICATION_LAG_SECONDS = 300;

/** Backends in two states against max_connections 100. */
function connections(used: number) {
  return [
    series(
      "pg_stat_activity_count",
      { ...SAMPLE, datname: "shop", state: "active" },
      `${Math.ceil(used / 2)}x20`,
    ),
    series(
      "pg_stat_activity_count",
      { ...SAMPLE, datname: "shop", state: "idle" },
      `${Math.floor(used / 2)}x20`,
    ),
    series("pg_settings_max_connections", SAMPLE, "100x20"),
  ];
}

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
    exporterSymptom(
      {
        name: "PostgresqlTooManyConnections",
        expr:
          `100 * sum by (instance, job) (pg_stat_activity_count{${JOB}}) / on (instance, job) ` +
          `max by (instance, job) (pg_settings_max_connections{${JOB}}) > ${CONNECTIONS_PERCENT}`,
        for: "5m",
        severity: "warning",
        condition: `backends > ${CONNECTIONS_PERCENT}% of max_connections`,
        summary: "PostgreSQL is running out of connections.",
        labels: ["instance"],
        description: (l) =>
          `PostgreSQL on ${l.instance} has used more than ${CONNECTIONS_PERCENT}% of max_connections for 5m: at the ` +
          "limit new clients get `too many clients already`.",
        firing: {
          name: "fires at 90 of 100 connections",
          series: connections(90),
          evalTime: after("5m", 0),
          labels: SAMPLE,
        },
        quiet: [{ name: "stays quiet at 20 of 100", series: connections(20), evalTime: after("5m", 0) }],
      },
      {
        meaning: `Backends (\`pg_stat_activity_count\`) above ${CONNECTIONS_PERCENT}% of \`max_connections\` (\`pg_settings_max_connections\`) for 5 minutes.`,
        impact:
          "At the limit (less the superuser reserve) every new connection is refused: the application fails.",
        diagnosis: [
          "`SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC;`",
          "Many `idle` connections: a client pool too large or leaking; many `idle in transaction`: see PostgresqlLongTransaction.",
        ],
        mitigation: [
          "Fix or shrink the client pools; put a pooler (PgBouncer) in front.",
          "Raise `max_connections` (restart needed) only with memory to match.",
        ],
      },
    ),
    exporterSymptom(
      {
        name: "PostgresqlDeadlocks",
        expr: `sum by (instance, job, datname) (increase(pg_stat_database_deadlocks{${JOB}}[5m])) > 0`,
        for: "0s",
        severity: "warning",
        condition: "deadlocks in a database in the last 5m",
        summary: "PostgreSQL resolved deadlocks.",
        labels: ["instance", "datname"],
        description: (l) =>
          `PostgreSQL on ${l.instance} aborted transactions in database ${l.datname} to break deadlocks in the last 5m: ` +
          "the application takes locks in conflicting orders.",
        firing: {
          name: "fires after a deadlock",
          series: [
            series("pg_stat_database_deadlocks", { ...SAMPLE, datid: "16384", datname: "shop" }, "0x5 1x20"),
          ],
          evalTime: "8m",
          labels: { ...SAMPLE, datname: "shop" },
        },
        quiet: [
          {
            name: "stays quiet while the counter holds",
            series: [
              series("pg_stat_database_deadlocks", { ...SAMPLE, datid: "16384", datname: "shop" }, "4x25"),
            ],
            evalTime: "8m",
          },
        ],
      },
      {
        meaning:
          "`pg_stat_database_deadlocks` of a database (`datname`) grew in the last 5 minutes: PostgreSQL aborted a transaction to break a deadlock.",
        impact: "The aborted transactions failed with `deadlock detected`; the application must retry them.",
        diagnosis: [
          "The PostgreSQL log holds each `deadlock detected` with both statements (`log_lock_waits = on` helps).",
        ],
        mitigation: ["Make the application take locks in one order; keep transactions short."],
      },
    ),
    exporterSymptom(
      {
        name: "PostgresqlLongTransaction",
        expr: `max by (instance, job, datname) (pg_stat_activity_max_tx_duration{${JOB}, datname!=""}) > ${LONG_TRANSACTION_SECONDS}`,
        for: "5m",
        severity: "warning",
        condition: `a transaction open > ${LONG_TRANSACTION_SECONDS / 60}m`,
        summary: "A PostgreSQL transaction has been open for long.",
        labels: ["instance", "datname"],
        description: (l) =>
          `A transaction in database ${l.datname} on ${l.instance} has been open for more than ` +
          `${LONG_TRANSACTION_SECONDS / 60} minutes: it holds locks and keeps VACUUM from cleaning up.`,
        firing: {
          name: "fires for an hour-long transaction",
          series: [
            series(
              "pg_stat_activity_max_tx_duration",
              { ...SAMPLE, datname: "shop", state: "idle in transaction" },
              "3600x20",
            ),
          ],
          evalTime: after("5m", 0),
          labels: { ...SAMPLE, datname: "shop" },
        },
        quiet: [
          {
            name: "stays quiet for short transactions",
            series: [
              series(
                "pg_stat_activity_max_tx_duration",
                { ...SAMPLE, datname: "shop", state: "active" },
                "2x20",
              ),
            ],
            evalTime: after("5m", 0),
          },
        ],
      },
      {
        meaning: `The longest open transaction in a database (\`pg_stat_activity_max_tx_duration\`) has been older than ${LONG_TRANSACTION_SECONDS / 60} minutes for 5 minutes.`,
        impact:
          "It holds its locks (other writers wait) and the xmin horizon: dead rows pile up and tables bloat.",
        diagnosis: [
          "`SELECT pid, usename, state, now() - xact_start AS age, query FROM pg_stat_activity WHERE xact_start IS NOT NULL ORDER BY age DESC LIMIT 5;`",
        ],
        mitigation: [
          "`SELECT pg_terminate_backend(<pid>);` for a forgotten session; set `idle_in_transaction_session_timeout`.",
        ],
      },
    ),
    exporterSymptom(
      {
        name: "PostgresqlReplicationLag",
        expr:
          `max by (instance, job) (pg_replication_lag_seconds{${JOB}}) > ${REPLICATION_LAG_SECONDS} ` +
          `and on (instance, job) max by (instance, job) (pg_replication_is_replica{${JOB}}) == 1`,
        for: "5m",
        severity: "warning",
        condition: `a replica > ${REPLICATION_LAG_SECONDS / 60}m behind its primary`,
        summary: "A PostgreSQL replica lags behind.",
        labels: ["instance"],
        description: (l) =>
          `The PostgreSQL replica on ${l.instance} has been more than ${REPLICATION_LAG_SECONDS / 60} minutes behind its ` +
          "primary for 5m: reads from it are stale and a failover would lose that much.",
        firing: {
          name: "fires on a replica 10 minutes behind",
          series: [
            series("pg_replication_lag_seconds", SAMPLE, "600x20"),
            series("pg_replication_is_replica", SAMPLE, "1x20"),
          ],
          evalTime: after("5m", 0),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "ignores a primary",
            series: [
              series("pg_replication_lag_seconds", SAMPLE, "600x20"),
              series("pg_replication_is_replica", SAMPLE, "0x20"),
            ],
            evalTime: after("5m", 0),
          },
        ],
      },
      {
        meaning: `On a replica (\`pg_replication_is_replica == 1\`), the time since the last replayed transaction (\`pg_replication_lag_seconds\`) has exceeded ${REPLICATION_LAG_SECONDS / 60} minutes for 5 minutes. An idle primary also makes this grow: check the primary has writes.`,
        impact: "Reads from the replica are stale; a failover now would lose the unreplayed changes.",
        diagnosis: [
          "On the primary: `SELECT client_addr, state, write_lag, replay_lag FROM pg_stat_replication;`",
          "On the replica: `SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn();` and its log (network, disk I/O, conflicts).",
        ],
        mitigation: ["Fix the network or disk bottleneck; re-seed the replica if it lost its WAL position."],
      },
    ),
  ],
  alertCoverage: {
    name: "PostgreSQL (postgres_exporter's postgres_mixin)",
    source:
      "prometheus-community/postgres_exporter postgres_mixin/alerts/postgres.libsonnet (main, commit 1a2bb63)",
    rows: [
      { mode: "PostgreSQL down", reference: "PostgreSQLDown", ours: ["PostgresqlDown"] },
      {
        mode: "connections at max_connections",
        reference: "PostgreSQLMaxConnectionsReached",
        ours: ["PostgresqlTooManyConnections"],
        note: "one level at 80%",
      },
      {
        mode: "connections near max_connections",
        reference: "PostgreSQLHighConnections",
        ours: ["PostgresqlTooManyConnections"],
      },
      { mode: "long transactions", reference: "PostgreSQLSlowQueries", ours: ["PostgresqlLongTransaction"] },
      { mode: "deadlocks", reference: "PostgresHasHighDeadLocks", ours: ["PostgresqlDeadlocks"] },
      {
        mode: "replication lag",
        reference: "PostgresReplicationLaggingMore1Hour",
        ours: ["PostgresqlReplicationLag"],
        note: "5 minutes, not an hour",
      },
      {
        mode: "replication stopped / lag in bytes",
        reference: "PostgresReplicationStopped, PostgresReplicationLagBytesAreTooLarge",
        ours: ["PostgresqlReplicationLag"],
        note: "a stopped replica's lag grows past the threshold",
      },
      {
        mode: "queries per second high",
        reference: "PostgreSQLQPS",
        ours: [],
        note: "a load figure, not a failure: the dashboard's transactions panel",
      },
      {
        mode: "cache hit ratio low",
        reference: "PostgreSQLCacheHitRatio",
        ours: [],
        note: "a tuning signal, not a failure; not paged",
      },
      {
        mode: "too many rollbacks",
        reference: "PostgresHasTooManyRollbacks",
        ours: [],
        note: "application errors show in the application; the dashboard plots rollbacks",
      },
      {
        mode: "too many locks",
        reference: "PostgresAcquiredTooManyLocks",
        ours: [],
        note: "needs the locks collector, not enabled; lock waits show as long transactions",
      },
      {
        mode: "WAL consumption very low / very high",
        reference: "PostgresXLOGConsumptionVeryLow, PostgresXLOGConsumptionVeryHigh",
        ours: [],
        note: "`pg_xlog_position_bytes` is not exported by postgres_exporter's default collectors",
      },
      {
        mode: "inactive or stale replication slots",
        reference: "PostgresHasReplicationSlotUsed, PostgresReplicationIsStale",
        ours: [],
        note: "slot metrics need the replication_slot collector, off by default; an unused slot then fills the disk (HostDiskWillFillSoon)",
      },
      {
        mode: "replication role changed",
        reference: "PostgresReplicationRoleChanged",
        ours: [],
        note: "the stack manages no failover; a changed role is a planned operation",
      },
      {
        mode: "exporter errors",
        reference: "PostgresHasExporterErrors",
        ours: ["ExporterDown", "PostgresqlDown"],
      },
      {
        mode: "dead tuples / tables not vacuumed",
        reference: "PostgresHasTooManyDeadTuples, PostgresTablesNotVaccumed",
        ours: [],
        note: "per-table statistics (stat_user_tables collector) are not collected: their series count grows with the schema",
      },
      {
        mode: "too many requested checkpoints",
        reference: "PostgresTooManyCheckpointsRequested",
        ours: [],
        note: "a tuning signal (max_wal_size), not paged",
      },
    ],
  },
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
  metrics: {
    pg_up: { labels: [], source: `${EXPORTER_SOURCE}/collector/pg_database.go (and README)` },
    pg_database_size_bytes: { labels: ["datname"], source: `${EXPORTER_SOURCE}/collector/pg_database.go` },
    pg_settings_max_connections: {
      labels: [],
      source: `${EXPORTER_SOURCE}/cmd/postgres_exporter/pg_setting.go (pg_settings_<name>)`,
    },
    ...metricsOf(`${EXPORTER_SOURCE}/collector/pg_stat_database.go`, DATABASE_LABELS, [
      "pg_stat_database_numbackends",
      "pg_stat_database_xact_commit",
      "pg_stat_database_xact_rollback",
      "pg_stat_database_deadlocks",
    ]),
    ...metricsOf(`${EXPORTER_SOURCE}/collector/pg_stat_activity.go`, ACTIVITY_LABELS, [
      "pg_stat_activity_count",
      "pg_stat_activity_max_tx_duration",
    ]),
    ...metricsOf(
      `${EXPORTER_SOURCE}/collector/pg_replication.go`,
      [],
      ["pg_replication_lag_seconds", "pg_replication_is_replica"],
    ),
  },
  docs: {
    source: "postgres_exporter",
    serviceNeeds: `a login role with \`pg_monitor\` on \`${ADDRESS}\``,
  },
};
