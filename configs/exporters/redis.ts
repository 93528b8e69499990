/** Redis, through redis_exporter; Redis authenticates by password only, and may have none. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
import { serviceDownAlert } from "../rules/service-down";
import { oneLineValueProblem } from "./credential-values";
import { SECRETS_DIR } from "./credentials";
import type { ExporterCredentialFile, ExporterRecord } from "./types";

/** The Redis the exporter scrapes (its REDIS_ADDR); the password file is keyed by it. */
const REDIS_URI = "redis://127.0.0.1:6379";

const PASSWORDS_FILE: ExporterCredentialFile = {
  name: "redis_exporter_passwords",
  path: `${SECRETS_DIR}/redis-exporter-passwords.json`,
  delivery: "compose-secret",
  // The user oliver006/redis_exporter's image runs as.
  ownerUid: 59000,
  mode: "0400",
  format: `\`{"${REDIS_URI}": "<password>"}\``,
};

const identity = { name: "redis", title: "Redis", upMetric: "redis_up" } as const;

export const redis: ExporterRecord = {
  ...identity,
  settings: {
    name: identity.name,
    credentials: {
      password: {
        key: "redisExporterPassword",
        required: false,
        description: "Redis `requirepass` password; optional (unset: Redis without a password).",
      },
      // The password file is JSON, which escapes anything else.
      passwordProblem: oneLineValueProblem,
    },
  },
  port: 9121,
  metricsPath: "/metrics",
  container: {
    image: "docker.io/oliver006/redis_exporter:v1.90.0",
    imageCheckedAgainst: "v1.90.0 tag",
    command: ({ listenAddress }) => [`--web.listen-address=${listenAddress}`],
    environment: () => ({
      REDIS_ADDR: REDIS_URI,
      REDIS_PASSWORD_FILE: composeSecretPath(PASSWORDS_FILE.name),
    }),
  },
  credentials: {
    files: [PASSWORDS_FILE],
    // No password (Redis without requirepass): an empty map, so the exporter sends no AUTH.
    render: (_user, password) => ({
      [PASSWORDS_FILE.name]: `${JSON.stringify(password === "" ? {} : { [REDIS_URI]: password })}\n`,
    }),
  },
  alerts: [
    serviceDownAlert(identity, {
      alert: "RedisDown",
      summary: "Redis is down.",
      severity: "critical",
      sampleInstance: "db-1",
      runbook: {
        meaning: "the Redis exporter runs but cannot reach Redis",
        impact: "The cache or queue is down; applications using it fail or slow down.",
        diagnosis: [
          "`redis-cli -h 127.0.0.1 ping` on the host; `docker logs redis-exporter` (NOAUTH means the password secret is wrong); Redis log for OOM or persistence errors.",
        ],
        mitigation: [
          "Restart Redis; fix its password secret (`pulumi config set --secret`, `pulumi up`); check `maxmemory` if it was killed for memory.",
        ],
      },
    }),
  ],
  dashboard: {
    description: "Redis through redis_exporter: clients, memory, commands, hit ratio.",
    answers: "Is Redis up, clients, memory, commands, hit ratio",
    statusQuestion: "can the exporter reach it?",
    panels: (s) => [
      {
        title: "Connected clients",
        question: "how many clients?",
        queries: [{ expr: `redis_connected_clients{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Memory used",
        question: "how much memory does it use?",
        unit: "bytes",
        queries: [{ expr: `redis_memory_used_bytes{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Commands",
        question: "how many commands per second?",
        unit: "ops",
        queries: [{ expr: summedRate("redis_commands_processed_total", s), legend: "{{instance}}" }],
      },
      {
        title: "Keyspace hit ratio",
        question: "how often is a key found (low = cache misses)?",
        unit: "percentunit",
        queries: [
          {
            expr: `${summedRate("redis_keyspace_hits_total", s)} / (${summedRate("redis_keyspace_hits_total", s)} + ${summedRate("redis_keyspace_misses_total", s)})`,
            legend: "{{instance}}",
          },
        ],
      },
    ],
  },
  processGroups: [{ name: "redis-server", comm: ["redis-server"] }],
  docs: {
    source: "redis_exporter",
    serviceNeeds: `Redis on \`${REDIS_URI}\` (password optional)`,
  },
};
