/** MongoDB, through Percona's mongodb_exporter, which reads its credentials from the environment only. */
import { summedRate } from "../dashboards/exporter-panels";
import { serviceDownAlert } from "../rules/service-down";
import { oneLineValueProblem } from "./credential-values";
import { SECRETS_DIR } from "./credentials";
import type { ExporterCredentialFile, ExporterRecord } from "./types";

const ADDRESS = "127.0.0.1:27017";

const ENV_FILE: ExporterCredentialFile = {
  name: "mongodb_exporter_env",
  path: `${SECRETS_DIR}/mongodb-exporter.env`,
  delivery: "env-file",
  ownerUid: 0,
  mode: "0600",
  format: "`MONGODB_USER=...` and `MONGODB_PASSWORD=...` lines",
};

/** Why the env file cannot carry a value (user or password). */
function valueProblem(value: string): string | undefined {
  return (
    oneLineValueProblem(value) ??
    // Compose reads single-quoted env-file values literally except for `\'`, and older
    // releases differ on backslashes: with neither character the value reads back unchanged.
    (value.includes("'") || value.includes("\\")
      ? "contains ' or \\; the env file docker compose reads for the mongodb exporter cannot carry them literally"
      : undefined)
  );
}

/**
 * An env-file line docker compose reads back literally: single-quoted values get no `$`
 * interpolation and no escape processing other than `\'`, and valueProblem has refused `'`, `\`
 * and line breaks, so what is between the quotes is exactly the value.
 */
function envLine(name: string, value: string): string {
  return `${name}='${value}'`;
}

/** Where mongodb_exporter documents its metrics, at the pinned version. */
const METRICS_DOC =
  "https://github.com/percona/mongodb_exporter/blob/v0.48.0/REFERENCE.md (--compatible-mode)";
const identity = { name: "mongodb", title: "MongoDB", upMetric: "mongodb_up" } as const;

export const mongodb: ExporterRecord = {
  ...identity,
  settings: {
    name: identity.name,
    credentials: {
      user: {
        key: "mongodbExporterUser",
        default: "exporter",
        description:
          "MongoDB user the mongodb exporter logs in as (one per stack; password: mongodbExporterPassword).",
        pattern: /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/,
        rule: "1-64 letters, digits, _ . @ or -",
      },
      password: {
        key: "mongodbExporterPassword",
        required: true,
        description: "Password of mongodbExporterUser; required when a host enables the mongodb exporter.",
      },
      passwordProblem: valueProblem,
    },
  },
  port: 9216,
  metricsPath: "/metrics",
  container: {
    image: "docker.io/percona/mongodb_exporter:0.48.0",
    imageCheckedAgainst: "v0.48.0 release",
    command: ({ listenAddress }) => [`--web.listen-address=${listenAddress}`, "--compatible-mode"],
    // The credentials arrive through the env file; the URI carries none.
    environment: () => ({ MONGODB_URI: `mongodb://${ADDRESS}/admin` }),
  },
  credentials: {
    files: [ENV_FILE],
    render: (user, password) => ({
      [ENV_FILE.name]: `${[envLine("MONGODB_USER", user), envLine("MONGODB_PASSWORD", password)].join("\n")}\n`,
    }),
  },
  alerts: [
    serviceDownAlert(identity, {
      alert: "MongodbDown",
      summary: "MongoDB is down.",
      severity: "critical",
      sampleInstance: "db-1",
      runbook: {
        meaning: "the MongoDB exporter runs but cannot connect to MongoDB",
        impact: "The database is down or refuses the exporter's login.",
        diagnosis: [
          "`systemctl status mongod` or the container's logs; `docker logs mongodb-exporter` for the connection error (authentication failed vs connection refused).",
        ],
        mitigation: [
          "Restart MongoDB; if authentication fails, the exporter's credentials secret is out of date: set it again with `pulumi config set --secret` and `pulumi up`.",
        ],
      },
    }),
  ],
  dashboard: {
    description:
      "MongoDB through percona/mongodb_exporter (--compatible-mode names): connections and operations.",
    answers: "Is MongoDB up, connections, operations by type",
    statusQuestion: "can the exporter reach it?",
    panels: (s) => [
      {
        title: "Connections",
        question: "how many client connections?",
        queries: [{ expr: `mongodb_connections{${s}, state="current"}`, legend: "{{instance}}" }],
      },
      {
        title: "Operations",
        question: "how many inserts, queries, updates, deletes per second?",
        unit: "ops",
        queries: [
          {
            expr: summedRate("mongodb_op_counters_total", s, "instance, type"),
            legend: "{{instance}} {{type}}",
          },
        ],
      },
    ],
  },
  processGroups: [{ name: "mongod", comm: ["mongod"] }],
  metrics: {
    mongodb_up: { labels: [], source: METRICS_DOC },
    mongodb_connections: { labels: ["state"], source: METRICS_DOC },
    mongodb_op_counters_total: { labels: ["type"], source: METRICS_DOC },
  },
  docs: {
    source: "percona mongodb_exporter (`--compatible-mode` names)",
    serviceNeeds: `a user with \`clusterMonitor\` (and \`read\` on \`local\`) on \`${ADDRESS}\``,
  },
};
