/** MySQL or MariaDB, through mysqld_exporter reading a my.cnf. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
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

const identity = { name: "mysql", title: "MySQL", upMetric: "mysql_up" } as const;

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
  ],
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
  docs: {
    source: "mysqld_exporter",
    serviceNeeds: `a user with \`PROCESS, REPLICATION CLIENT, SELECT\` on \`${HOST}:${PORT}\``,
  },
};
