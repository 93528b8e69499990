/** Redis, through redis_exporter; Redis authenticates by password only, and may have none. */
import { composeSecretPath } from "../agents/compose-types";
import { summedRate } from "../dashboards/exporter-panels";
import { after, exporterSymptom, series } from "../rules/rule-spec";
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

/** Where redis_exporter defines its metrics, at the pinned version. */
const METRICS_SOURCE =
  "https://github.com/oliver006/redis_exporter/blob/v1.90.0/exporter/exporter.go (metric map)";
const identity = { name: "redis", title: "Redis", upMetric: "redis_up" } as const;
const JOB = `job="${identity.name}"`;
const SAMPLE = { job: identity.name, instance: "cache-1" };
const MEMORY_PERCENT = 90;

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
    exporterSymptom(
      {
        name: "RedisMemoryNearMaxmemory",
        expr: `100 * redis_memory_used_bytes{${JOB}} / (redis_memory_max_bytes{${JOB}} > 0) > ${MEMORY_PERCENT}`,
        for: "5m",
        severity: "warning",
        condition: `used memory > ${MEMORY_PERCENT}% of maxmemory (when set)`,
        summary: "Redis is close to its maxmemory.",
        labels: ["instance"],
        description: (l) =>
          `Redis on ${l.instance} uses more than ${MEMORY_PERCENT}% of its maxmemory: at the limit it evicts keys ` +
          "or, with noeviction, refuses writes.",
        firing: {
          name: "fires at 95% of maxmemory",
          series: [
            series("redis_memory_used_bytes", SAMPLE, "950x20"),
            series("redis_memory_max_bytes", SAMPLE, "1000x20"),
          ],
          evalTime: after("5m", 0),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "ignores a Redis without maxmemory",
            series: [
              series("redis_memory_used_bytes", SAMPLE, "950x20"),
              series("redis_memory_max_bytes", SAMPLE, "0x20"),
            ],
            evalTime: after("5m", 0),
          },
          {
            name: "stays quiet at half of maxmemory",
            series: [
              series("redis_memory_used_bytes", SAMPLE, "500x20"),
              series("redis_memory_max_bytes", SAMPLE, "1000x20"),
            ],
            evalTime: after("5m", 0),
          },
        ],
      },
      {
        meaning: `\`used_memory\` (\`redis_memory_used_bytes\`) above ${MEMORY_PERCENT}% of \`maxmemory\` (\`redis_memory_max_bytes\`) for 5 minutes. Without maxmemory the alert stays quiet (HostHighMemory watches the host).`,
        impact:
          "At maxmemory Redis evicts keys per `maxmemory-policy` (RedisEvictingKeys) or, with `noeviction`, fails writes with OOM errors.",
        diagnosis: ["`redis-cli INFO memory`, `redis-cli --bigkeys`; keys without TTL that keep growing."],
        mitigation: [
          "Set TTLs, delete what is not needed, raise `maxmemory` (`CONFIG SET maxmemory`, and in redis.conf).",
        ],
      },
    ),
    exporterSymptom(
      {
        name: "RedisRejectedConnections",
        expr: `increase(redis_rejected_connections_total{${JOB}}[5m]) > 0`,
        for: "0s",
        severity: "warning",
        condition: "connections rejected (maxclients) in the last 5m",
        summary: "Redis rejects connections.",
        labels: ["instance"],
        description: (l) =>
          `Redis on ${l.instance} rejected client connections in the last 5m: it reached maxclients.`,
        firing: {
          name: "fires after a rejected connection",
          series: [series("redis_rejected_connections_total", SAMPLE, "0x5 3x20")],
          evalTime: "8m",
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet while the counter holds",
            series: [series("redis_rejected_connections_total", SAMPLE, "3x25")],
            evalTime: "8m",
          },
        ],
      },
      {
        meaning:
          "`redis_rejected_connections_total` grew in the last 5 minutes: Redis refused clients at `maxclients`.",
        impact: "Those clients failed to connect; the application errors.",
        diagnosis: ["`redis-cli INFO clients` and `CLIENT LIST`: which client holds many connections."],
        mitigation: ["Fix the leaking client or pool; raise `maxclients` (and the file descriptor limit)."],
      },
    ),
    exporterSymptom(
      {
        name: "RedisEvictingKeys",
        expr: `increase(redis_evicted_keys_total{${JOB}}[5m]) > 0`,
        for: "5m",
        severity: "warning",
        condition: "keys evicted at maxmemory in every 5m window for 5m",
        summary: "Redis evicts keys for lack of memory.",
        labels: ["instance"],
        description: (l) =>
          `Redis on ${l.instance} keeps evicting keys to stay under maxmemory: data the application stored is gone ` +
          "(expected only for a pure cache).",
        firing: {
          name: "fires while keys are evicted",
          series: [series("redis_evicted_keys_total", SAMPLE, "0+50x20")],
          evalTime: after("5m"),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet without evictions",
            series: [series("redis_evicted_keys_total", SAMPLE, "0x20")],
            evalTime: after("5m"),
          },
        ],
      },
      {
        meaning:
          "`redis_evicted_keys_total` grew in every 5-minute window for 5 minutes: Redis deletes keys per `maxmemory-policy` to stay under `maxmemory`.",
        impact: "Fine for a cache (misses rise); data loss for anything else.",
        diagnosis: [
          "`redis-cli INFO stats` (`evicted_keys`) and `INFO memory`; `CONFIG GET maxmemory-policy`.",
        ],
        mitigation: [
          "Raise `maxmemory`, shorten TTLs, or move non-cache data to a Redis that does not evict.",
        ],
      },
    ),
    exporterSymptom(
      {
        name: "RedisReplicationBroken",
        expr: `redis_master_link_up{${JOB}} == 0`,
        for: "2m",
        severity: "critical",
        condition: "a replica's link to its master down",
        summary: "A Redis replica lost its master.",
        labels: ["instance"],
        description: (l) =>
          `The Redis replica on ${l.instance} has lost its link to the master for 2m: it serves stale data and ` +
          "cannot take over.",
        firing: {
          name: "fires when the link is down",
          series: [series("redis_master_link_up", SAMPLE, "1x2 0x20")],
          evalTime: after("2m", 3),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet while linked",
            series: [series("redis_master_link_up", SAMPLE, "1x20")],
            evalTime: after("2m", 3),
          },
        ],
      },
      {
        meaning: "On a replica, `master_link_status` (`redis_master_link_up`) has been down for 2 minutes.",
        impact:
          "The replica serves stale data and is no failover candidate; a full resync follows when the link returns.",
        diagnosis: [
          "`redis-cli INFO replication` on the replica; its log (auth, network, the master's `repl-backlog-size`).",
        ],
        mitigation: [
          "Fix reachability or `masterauth`; raise `repl-backlog-size` if partial resyncs keep failing.",
        ],
      },
    ),
  ],
  alertCoverage: {
    name: "Redis (the common community set)",
    source: "oliver006/redis_exporter v1.90.0 metric map; modes as the community alert sets list them",
    rows: [
      { mode: "Redis down", reference: "RedisDown", ours: ["RedisDown"] },
      {
        mode: "memory near maxmemory",
        reference: "RedisOutOfConfiguredMaxmemory",
        ours: ["RedisMemoryNearMaxmemory"],
      },
      {
        mode: "rejected connections",
        reference: "RedisRejectedConnections",
        ours: ["RedisRejectedConnections"],
      },
      { mode: "keys evicted", reference: "(community) evictions", ours: ["RedisEvictingKeys"] },
      {
        mode: "replication broken",
        reference: "RedisReplicationBroken / RedisMissingMaster",
        ours: ["RedisReplicationBroken"],
      },
      {
        mode: "too many connections",
        reference: "RedisTooManyConnections",
        ours: ["RedisRejectedConnections"],
        note: "refusals at maxclients, rather than a count threshold",
      },
    ],
  },
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
  metrics: Object.fromEntries(
    [
      "redis_up",
      "redis_connected_clients",
      "redis_memory_used_bytes",
      "redis_memory_max_bytes",
      "redis_commands_processed_total",
      "redis_keyspace_hits_total",
      "redis_keyspace_misses_total",
      "redis_rejected_connections_total",
      "redis_evicted_keys_total",
      "redis_master_link_up",
    ].map((name) => [name, { labels: [], source: METRICS_SOURCE }]),
  ),
  docs: {
    source: "redis_exporter",
    serviceNeeds: `Redis on \`${REDIS_URI}\` (password optional)`,
  },
};
