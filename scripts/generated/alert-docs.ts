/**
 * The alert tables: docs/alerts.md (whole) and the README's copy of its table, both for the stack
 * whose thresholds the docs show, so the two can never tell different stories.
 */
import { markdownTable, renderAlertTable } from "../../configs/rules";
import type { StackConfig } from "../../lib/stack-config";

export const ALERTS_DOCS_FILE = "docs/alerts.md";
const README_START = "<!-- alert-table:start (generated from configs/rules by npm run generate) -->";
const README_END = "<!-- alert-table:end -->";

/**
 * Alerts proven against real data: the condition made for real, read by the real exporter,
 * evaluated by a real Prometheus with the rendered rules. Each row names the test that does it.
 */
const REAL_DATA_PROOFS: readonly { alerts: readonly string[]; made: string; test: string }[] = [
  {
    alerts: ["HostTextfileCollectorError"],
    made: "a malformed `.prom` file in the node exporter's textfile directory",
    test: "test/node-exporter-faults.test.ts",
  },
  {
    alerts: ["HostFilesystemReadOnly"],
    made: "an ext4 filesystem on a loop device remounted read-only",
    test: "test/node-exporter-faults.test.ts",
  },
  {
    alerts: ["HostDiskFull", "HostDiskWillFillSoon", "HostDiskWillFillImminently"],
    made: "a 32 MiB ext4 filesystem on a loop device filled to 92% within seconds",
    test: "test/node-exporter-faults.test.ts",
  },
  {
    alerts: ["HostInodesExhausted"],
    made: "an ext4 filesystem on a loop device made with 128 inodes, 92% of them taken by empty files",
    test: "test/node-exporter-faults.test.ts",
  },
  {
    alerts: ["PostgresqlTooManyConnections"],
    made: "PostgreSQL with `max_connections` 20 and 17 idle `psql` sessions",
    test: "test/exporter-services.test.ts",
  },
  {
    alerts: ["MysqlTooManyConnections"],
    made: "MariaDB with `max_connections` 10, 8 idle `mariadb` sessions and the exporter's",
    test: "test/exporter-services.test.ts",
  },
  {
    alerts: ["RedisMemoryNearMaxmemory"],
    made: "Redis holding 4 MiB with `maxmemory` set just above what it uses",
    test: "test/exporter-services.test.ts",
  },
  {
    alerts: ["NginxDown", "PostgresqlDown", "MysqlDown", "RedisDown"],
    made: "the service stopped while its exporter runs (its symptoms stay quiet)",
    test: "test/exporter-services.test.ts",
  },
  {
    alerts: ["HostUnreachable"],
    made: "a host's node and process exporters stopped (one FIRING and one RESOLVED mail)",
    test: "test/e2e-alerting.test.ts",
  },
  {
    alerts: ["ProbeFailing", "ProbeCertificateExpiring"],
    made: "a loopback HTTP server answering 500; a TLS server with a one-day certificate",
    test: "test/probes.test.ts",
  },
];

function realDataSection(): string[] {
  return [
    "## Proven with real data",
    "",
    "Besides its promtool cases, each alert below fires against the real thing: the condition is made",
    "for real on this machine, a real exporter (Debian sid's builds) reads it, and Debian sid's",
    "Prometheus evaluates the rendered rules with the rendered prometheus.yml. Only addresses, paths",
    "and durations change (`for` and intervals divided by 60: a `for: 1h` takes a minute). Each test",
    "makes the alert fire, then resolve by undoing the condition. The exporter-services and",
    "node-exporter-faults tests also check that the alerts stay quiet while the service or host is",
    "healthy, and their symptom proofs (filesystem, inodes, textfile, connections, Redis memory) that the",
    "alert was pending first.",
    "",
    ...markdownTable(
      ["Alert", "Condition made for real", "Test"],
      REAL_DATA_PROOFS.map((proof) => [
        proof.alerts.map((name) => `[${name}](../runbooks/${name}.md)`).join(", "),
        proof.made,
        `[${proof.test}](../${proof.test})`,
      ]),
    ),
    "",
  ];
}

/** docs/alerts.md, whole. */
export function alertsDoc(config: StackConfig): string {
  return `${renderAlertTable(config)}\n${realDataSection().join("\n")}`;
}

/** The README's alert table: docs/alerts.md's rows, with links rebased to the repository root. */
export function readmeAlertTable(config: StackConfig): string {
  return renderAlertTable(config)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.replaceAll("](../runbooks/", "](runbooks/"))
    .join("\n");
}

/** The README with its alert table replaced. */
export function withReadmeAlertTable(readme: string, table: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) {
    throw new Error(`README.md lacks the alert table markers (${README_START} ... ${README_END})`);
  }
  return `${readme.slice(0, start + README_START.length)}\n${table}\n${readme.slice(end)}`;
}
