/** MySQL or MariaDB, through mysqld_exporter reading a my.cnf. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
import { after, exporterSymptom, series } from "../rules/rule-spec";
import { serviceDownAlert } from "../rules/service-down";
import { oneLineValueProblem } from "./credential-values";
import { SECRETS_DIR } from "./credentials";
import type { ExporterCredentialFile, ExporterRecord } from "./types";

/** Where mysqld_exporter connects: MySQL on the host's loopback (the exporter runs on the host network). */
const HOST = "127.0.0.1";
const PORT = 3306;

/** go-ini replaces `%(name)s` in a value with the value of key `name` (its "recursive values"). */
const INI_VALUE_REFERENCE = /%\([^)]+\)s/;

const MY_CNF: ExporterCredentialFile = {
  name: "mysqld_exporter_my_cnf",
  path: `${SECRETS_DIR}/mysqld-exporter.my.cnf`,
  delivery: "compose-secret",
  // `nobody`, as the prom/ images run.
  ownerUid: 65534,
  mode: "0400",
  format: `\`[client]\` with \`user=\`, \`password=\`, \`host=${HOST}\`, \`port=${PORT}\``,
};

/** Why the my.cnf cannot carry a value (user or password). */
function valueProblem(value: string): string | undefined {
  const line = oneLineValueProblem(value);
  if (line !== undefined) return line;
  // mysqld_exporter maps every my.cnf value through os.ExpandEnv, which has no escape for `$`.
  if (value.includes("$")) {
    return "contains $; mysqld_exporter expands $NAME in every my.cnf value as an environment variable, with no way to escape it";
  }
  if (INI_VALUE_REFERENCE.test(value)) {
    return "contains %(...)s; mysqld_exporter's INI reader replaces it with another key's value";
  }
  return undefined;
}

/** A my.cnf value in backquotes: go-ini then takes everything up to the last backquote literally. */
function iniQuoted(value: string): string {
  return `\`${value}\``;
}

function myCnf(user: string, password: string): string {
  const client: ReadonlyArray<readonly [string, string]> = [
    ["user", iniQuoted(user)],
    ["password", iniQuoted(password)],
    ["host", HOST],
    ["port", String(PORT)],
  ];
  return `${["[client]", ...client.map(([key, value]) => `${key} = ${value}`)].join("\n")}\n`;
}

/** mysqld_exporter's collectors at the pinned version, where its metrics are defined. */
const GLOBAL_STATUS_SOURCE =
  "https://github.com/prometheus/mysqld_exporter/blob/v0.20.0/collector/global_status.go (and exporter.go for mysql_up)";
const REPLICA_STATUS_SOURCE =
  "https://github.com/prometheus/mysqld_exporter/blob/v0.20.0/collector/slave_status.go (lowercased SHOW REPLICA STATUS columns)";
const identity = { name: "mysql", title: "MySQL", upMetric: "mysql_up" } as const;
const JOB = `job="${identity.name}"`;
const SAMPLE = { job: identity.name, instance: "db-2" };
export const CONNECTIONS_PERCENT = 80;
const REPLICATION_LAG_SECONDS = 300;
const REPLICA = {
  ...SAMPLE,
  channel_name: "",
  connection_name: "",
  master_host: "db-1",
  master_uuid: "3e11fa47",
};

export const mysql: ExporterRecord = {
  ...identity,
  settings: {
    name: identity.name,
    credentials: {
      user: {
        key: "mysqlExporterUser",
        default: "exporter",
        description:
          "MySQL user the mysqld exporter logs in as (one per stack; password: mysqlExporterPassword).",
        pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/,
        rule: "1-32 letters, digits, _ . or - (MySQL user names are at most 32 characters)",
      },
      password: {
        key: "mysqlExporterPassword",
        required: true,
        description: "Password of mysqlExporterUser; required when a host enables the mysql exporter.",
      },
      passwordProblem: valueProblem,
    },
  },
  port: 9104,
  metricsPath: "/metrics",
  container: {
    image: "docker.io/prom/mysqld-exporter:v0.20.0",
    imageCheckedAgainst: "v0.20.0 release (2026-08-12)",
    command: ({ listenAddress }) => [
      `--config.my-cnf=${composeSecretPath(MY_CNF.name)}`,
      `--web.listen-address=${listenAddress}`,
    ],
  },
  credentials: {
    files: [MY_CNF],
    render: (user, password) => ({ [MY_CNF.name]: myCnf(user, password) }),
  },
  alerts: [
    serviceDownAlert(identity, {
      alert: "MysqlDown",
      summary: "MySQL is down.",
      severity: "critical",
      sampleInstance: "db-1",
      runbook: {
        meaning: "the MySQL exporter runs but cannot connect to MySQL",
        impact: "The database is down or refuses the exporter's connection.",
        diagnosis: [
          "`systemctl status mysql` or the container's logs; `docker logs mysql-exporter` for the error; `mysqladmin ping` on the host.",
        ],
        mitigation: [
          "Restart MySQL; fix the exporter user's grants or its credentials secret (`pulumi config set --secret`, `pulumi up`).",
        ],
      },
    }),
    exporterSymptom(
      {
        name: "MysqlTooManyConnections",
        expr:
          `100 * max by (instance, job) (mysql_global_status_threads_connected{${JOB}}) / ` +
          `max by (instance, job) (mysql_global_variables_max_connections{${JOB}}) > ${CONNECTIONS_PERCENT}`,
        for: "5m",
        severity: "warning",
        condition: `connected threads > ${CONNECTIONS_PERCENT}% of max_connections`,
        summary: "MySQL is running out of connections.",
        labels: ["instance"],
        description: (l) =>
          `MySQL on ${l.instance} has used more than ${CONNECTIONS_PERCENT}% of max_connections for 5m: at the limit ` +
          "new clients get `Too many connections`.",
        firing: {
          name: "fires at 135 of 151 connections",
          series: [
            series("mysql_global_status_threads_connected", SAMPLE, "135x20"),
            series("mysql_global_variables_max_connections", SAMPLE, "151x20"),
          ],
          evalTime: after("5m", 0),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet at 10 of 151",
            series: [
              series("mysql_global_status_threads_connected", SAMPLE, "10x20"),
              series("mysql_global_variables_max_connections", SAMPLE, "151x20"),
            ],
            evalTime: after("5m", 0),
          },
        ],
      },
      {
        meaning: `Connected threads (\`mysql_global_status_threads_connected\`) above ${CONNECTIONS_PERCENT}% of \`max_connections\` for 5 minutes.`,
        impact:
          "At the limit new connections are refused (one is kept for a SUPER user): the application fails.",
        diagnosis: [
          "`SHOW PROCESSLIST;` grouped by user and host; many `Sleep` threads mean oversized or leaking client pools.",
        ],
        mitigation: ["Fix or shrink the client pools; raise `max_connections` only with memory to match."],
      },
    ),
    exporterSymptom(
      {
        name: "MysqlSlowQueries",
        expr: `sum by (instance, job) (increase(mysql_global_status_slow_queries{${JOB}}[5m])) > 0`,
        for: "15m",
        severity: "warning",
        condition: "slow queries (over long_query_time) in every 5m window for 15m",
        summary: "MySQL keeps running slow queries.",
        labels: ["instance"],
        description: (l) =>
          `MySQL on ${l.instance} has logged slow queries (longer than long_query_time) in every 5m for 15m: ` +
          "something scans or waits on locks.",
        firing: {
          name: "fires while slow queries keep coming",
          series: [series("mysql_global_status_slow_queries", SAMPLE, "0+2x30")],
          evalTime: after("15m"),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet while the counter holds",
            series: [series("mysql_global_status_slow_queries", SAMPLE, "7x30")],
            evalTime: after("15m"),
          },
        ],
      },
      {
        meaning:
          "`mysql_global_status_slow_queries` grew in every 5-minute window for 15 minutes: queries ran longer than `long_query_time`.",
        impact: "Slow queries hold connections and locks: latency grows for everyone.",
        diagnosis: [
          "The slow query log (`slow_query_log = ON`), `EXPLAIN` the worst ones; `SHOW ENGINE INNODB STATUS` for lock waits.",
        ],
        mitigation: ["Add the missing index or rewrite the query; kill a runaway query with `KILL <id>`."],
      },
    ),
    exporterSymptom(
      {
        name: "MysqlReplicationStopped",
        expr:
          `min by (instance, job) (mysql_slave_status_slave_io_running{${JOB}} * ` +
          `mysql_slave_status_slave_sql_running{${JOB}}) == 0`,
        for: "2m",
        severity: "critical",
        condition: "a replica's IO or SQL thread not running",
        summary: "MySQL replication has stopped.",
        labels: ["instance"],
        description: (l) =>
          `Replication on the MySQL replica ${l.instance} has stopped (IO or SQL thread not running): the replica ` +
          "falls further behind every second.",
        firing: {
          name: "fires when the SQL thread stopped",
          series: [
            series("mysql_slave_status_slave_io_running", REPLICA, "1x20"),
            series("mysql_slave_status_slave_sql_running", REPLICA, "1x2 0x20"),
          ],
          evalTime: after("2m", 3),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet while both threads run",
            series: [
              series("mysql_slave_status_slave_io_running", REPLICA, "1x20"),
              series("mysql_slave_status_slave_sql_running", REPLICA, "1x20"),
            ],
            evalTime: after("2m", 3),
          },
        ],
      },
      {
        meaning:
          "On a replica, `Slave_IO_Running` or `Slave_SQL_Running` (`mysql_slave_status_slave_io_running`, `..._sql_running`) has been off for 2 minutes.",
        impact: "The replica no longer applies changes: its reads go stale and it is no failover candidate.",
        diagnosis: ["`SHOW REPLICA STATUS\\G` (or `SHOW SLAVE STATUS`): `Last_IO_Error`, `Last_SQL_Error`."],
        mitigation: [
          "Fix the error (network or credentials for IO; a conflicting row for SQL), then `START REPLICA;` or re-seed.",
        ],
      },
    ),
    exporterSymptom(
      {
        name: "MysqlReplicationLag",
        expr: `max by (instance, job) (mysql_slave_status_seconds_behind_master{${JOB}}) > ${REPLICATION_LAG_SECONDS}`,
        for: "5m",
        severity: "warning",
        condition: `a replica > ${REPLICATION_LAG_SECONDS / 60}m behind its source`,
        summary: "A MySQL replica lags behind.",
        labels: ["instance"],
        description: (l) =>
          `The MySQL replica ${l.instance} has been more than ${REPLICATION_LAG_SECONDS / 60} minutes behind its source ` +
          "for 5m: its reads are stale.",
        firing: {
          name: "fires 10 minutes behind",
          series: [series("mysql_slave_status_seconds_behind_master", REPLICA, "600x20")],
          evalTime: after("5m", 0),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet 5 seconds behind",
            series: [series("mysql_slave_status_seconds_behind_master", REPLICA, "5x20")],
            evalTime: after("5m", 0),
          },
        ],
      },
      {
        meaning: `\`Seconds_Behind_Master\` (\`mysql_slave_status_seconds_behind_master\`) above ${REPLICATION_LAG_SECONDS / 60} minutes for 5 minutes.`,
        impact: "Reads from the replica are stale; a failover would lose or delay that much.",
        diagnosis: ["`SHOW REPLICA STATUS\\G`; the replica's disk I/O and a long transaction on the source."],
        mitigation: ["Remove the bottleneck (I/O, single-threaded apply: `replica_parallel_workers`)."],
      },
    ),
  ],
  alertCoverage: {
    name: "MySQL (mysqld_exporter's mysqld-mixin and the common community set)",
    source:
      "prometheus/mysqld_exporter mysqld-mixin/alerts/general.yaml (main, commit 1bafd3e); Galera alerts not applicable",
    rows: [
      { mode: "MySQL down", reference: "MySQLDown", ours: ["MysqlDown"] },
      {
        mode: "connections near max_connections",
        reference: "(community) MysqlTooManyConnections",
        ours: ["MysqlTooManyConnections"],
      },
      { mode: "slow queries", reference: "(community) MysqlSlowQueries", ours: ["MysqlSlowQueries"] },
      {
        mode: "replication stopped",
        reference: "(community) MysqlSlaveIoThreadNotRunning / SqlThreadNotRunning",
        ours: ["MysqlReplicationStopped"],
      },
      {
        mode: "replication lagging",
        reference: "(community) MysqlSlaveReplicationLag",
        ours: ["MysqlReplicationLag"],
      },
    ],
  },
  dashboard: {
    description: "MySQL through mysqld_exporter: connections, queries, slow queries.",
    answers: "Is MySQL up, threads connected, queries and slow queries",
    statusQuestion: "can the exporter reach it?",
    panels: (s) => [
      {
        title: "Threads connected",
        question: "how many client connections?",
        queries: [{ expr: `mysql_global_status_threads_connected{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Queries",
        question: "how many queries and slow queries per second?",
        unit: "ops",
        queries: [
          { expr: summedRate("mysql_global_status_queries", s), legend: "{{instance}} all" },
          { expr: summedRate("mysql_global_status_slow_queries", s), legend: "{{instance}} slow" },
        ],
      },
    ],
  },
  processGroups: [{ name: "mysqld", comm: ["mysqld", "mariadbd"] }],
  metrics: {
    ...Object.fromEntries(
      [
        "mysql_up",
        "mysql_global_status_threads_connected",
        "mysql_global_status_queries",
        "mysql_global_status_slow_queries",
        "mysql_global_variables_max_connections",
      ].map((name) => [name, { labels: [], source: GLOBAL_STATUS_SOURCE }]),
    ),
    ...Object.fromEntries(
      [
        "mysql_slave_status_slave_io_running",
        "mysql_slave_status_slave_sql_running",
        "mysql_slave_status_seconds_behind_master",
      ].map((name) => [
        name,
        {
          labels: ["channel_name", "connection_name", "master_host", "master_uuid"],
          source: REPLICA_STATUS_SOURCE,
        },
      ]),
    ),
  },
  docs: {
    source: "mysqld_exporter",
    serviceNeeds: `a user with \`PROCESS, REPLICATION CLIENT, SELECT\` on \`${HOST}:${PORT}\``,
  },
};
