/**
 * The optional exporters against the real services they watch: nginx, PostgreSQL, MySQL (as
 * MariaDB) and Redis, each started by the test on 127.0.0.1 and set up exactly as
 * docs/clients.md says (test/support/services.ts), each read by Debian sid's build of its exporter
 * run with the rendered flags, environment and credential files of one host's compose file (only
 * addresses, ports and paths moved, by test/support/loopback.ts). A real Prometheus scrapes them
 * with the rendered prometheus.yml and evaluates the rendered rules (durations / 60).
 *
 * Proved for each: the exporter reads its service with those settings and logs no error; the
 * exporter's alert rules stay quiet while the service runs; its service-down alert alone fires when
 * it stops and resolves when it is back; every query of the exporter's dashboard returns data. MongoDB and Jenkins have no
 * Debian package here and keep structural tests only (docs/clients.md).
 *
 * Symptoms driven for real: Redis filled close to a small maxmemory; PostgreSQL and MariaDB, started
 * with a low connection limit, taken past 80% of it by idle sessions of their own clients. Each
 * symptom alert goes pending, fires, and resolves once the condition is gone.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMPOSE_FILE, renderClientFiles } from "../configs/agents/client-compose";
import { exporterRecord, renderExporterCredentialFiles } from "../configs/exporters";
import { monitorFiles } from "../configs/host-files";
import type { ExternalHost } from "../lib/stack-config";
import { FAKE_VPC_ID, type FakeEc2, startFakeEc2 } from "./support/fake-ec2";
import { type FakeExporter, startFakeExporter } from "./support/fake-exporter";
import { type DashboardJson, GrafanaQueries, promQueries } from "./support/grafana-queries";
import { pointExporterAtLoopback, type RenderedExporterService, scaledDuration } from "./support/loopback";
import { freePort, ProcessGroup, pollUntil, type RunningProcess } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import {
  type DatabaseService,
  type RealService,
  redisCommand,
  startMariadb,
  startNginx,
  startPostgres,
  startRedis,
} from "./support/services";
import { startStubbedMonitorPrometheus } from "./support/stubbed-monitor";
import { requireTool, SERVICE_HELPERS, SERVICES, TOOLS, type ToolSpec } from "./support/tools";

const EXPORTERS = ["nginx", "postgres", "mysql", "redis"] as const;
type ServiceExporter = (typeof EXPORTERS)[number];

const HOST: ExternalHost = {
  name: "svc-1",
  address: "192.0.2.30",
  sshUser: "deploy",
  exporters: [...EXPORTERS],
  exporterSettings: {},
};
/**
 * Scrapes every 2m (2s here, durations / 60): a scrape times out after its interval (at most 10s),
 * and the postgres exporter answers only after a second while PostgreSQL is down (one retry after
 * 1s, exporter/server.go GetServer in 0.19 and 0.20). With 1s here Prometheus would give up on that
 * scrape and see the exporter down instead of `pg_up 0`; with the stack's default 30s the timeout
 * is 10s.
 */
const config = sampleStackConfig({
  stack: "services",
  clients: [],
  externalHosts: [HOST],
  metrics: { scrapeInterval: "2m", evaluationInterval: "30s", retentionTime: "1d" },
});

/** Where docs/clients.md puts each service, and so where the rendered settings must point. */
const DOCUMENTED_ADDRESS: Readonly<Record<ServiceExporter, string>> = {
  nginx: "127.0.0.1:8080",
  postgres: "127.0.0.1:5432",
  mysql: "127.0.0.1:3306",
  redis: "127.0.0.1:6379",
};

/** Passwords with characters each credential format must carry (none its checks refuse). */
const PASSWORDS = {
  postgres: 'pg-Secret#1;"@%x\\y',
  mysql: 'my Secret#1;"@%x`y',
  redis: "redis#Secret;1@%x",
} as const;

const EXPORTER_TOOLS: Readonly<Record<ServiceExporter, ToolSpec>> = {
  nginx: TOOLS.nginxExporter,
  postgres: TOOLS.postgresExporter,
  mysql: TOOLS.mysqldExporter,
  redis: TOOLS.redisExporter,
};

/** The metric each exporter sets to 1 while it reaches its service. */
const UP_METRICS: Readonly<Record<ServiceExporter, string>> = {
  nginx: "nginx_up",
  postgres: "pg_up",
  mysql: "mysql_up",
  redis: "redis_up",
};

/**
 * Each database runs with a low connection limit (the only setting beyond docs/clients.md's), so a
 * few held sessions take it past its connections alert's 80%. PostgreSQL's count
 * (`pg_stat_activity_count`) leaves the exporter's own session out: 17 held of 20 is 85%, and the
 * 3 slots PostgreSQL keeps for superusers (the held sessions are superuser sessions, the
 * exporter's is not) still leave the exporter a slot. MariaDB's `Threads_connected` counts the
 * exporter's session too: 8 held + 1 of 10 is 90%.
 */
const CONNECTION_LIMITS = {
  postgres: {
    setting: "max_connections",
    limit: 20,
    held: 17,
    alert: "PostgresqlTooManyConnections",
    limitMetric: "pg_settings_max_connections",
    connections: (selector: string) => `sum(pg_stat_activity_count{${selector}})`,
  },
  mysql: {
    setting: "max-connections",
    limit: 10,
    held: 8,
    alert: "MysqlTooManyConnections",
    limitMetric: "mysql_global_variables_max_connections",
    connections: (selector: string) => `max(mysql_global_status_threads_connected{${selector}})`,
  },
} as const;
type DatabaseExporter = keyof typeof CONNECTION_LIMITS;

type Yaml = Record<string, unknown>;

interface RuleJson {
  readonly name: string;
  readonly type: string;
  readonly state?: string;
  readonly health: string;
  readonly lastError?: string;
}

describe("optional exporters against real services", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "exporter-services-"));
  const services = new Map<ServiceExporter, RealService>();
  const databases = new Map<DatabaseExporter, DatabaseService>();
  const exporters = new Map<ServiceExporter, RunningProcess>();
  const stubs: FakeExporter[] = [];
  let fakeEc2: FakeEc2 | undefined;
  let grafana: GrafanaQueries | undefined;
  const rendered = monitorFiles(config, { vpcId: FAKE_VPC_ID });

  const prometheus = (): GrafanaQueries => {
    if (grafana === undefined) throw new Error("Prometheus did not start");
    return grafana;
  };
  const seriesCount = async (expr: string) => (await prometheus().instantQuery(expr)).result.length;
  const selector = (exporter: ServiceExporter) => `job="${exporter}", instance="${HOST.name}"`;

  /** The alerting rules of the exporter's own group, as rendered. */
  function exporterAlerts(exporter: ServiceExporter): string[] {
    const names: string[] = [];
    for (const [path, content] of Object.entries(rendered)) {
      if (!path.startsWith("prometheus/rules/")) continue;
      const groups = (parse(content) as { groups: { name: string; rules: Yaml[] }[] }).groups;
      for (const ruleGroup of groups.filter((candidate) => candidate.name === `exporter-${exporter}`)) {
        names.push(...ruleGroup.rules.map((rule) => rule.alert as string).filter(Boolean));
      }
    }
    return names;
  }

  async function ruleStates(names: readonly string[]): Promise<RuleJson[]> {
    const body = await prometheus().api<{ groups: { rules: RuleJson[] }[] }>("/api/v1/rules", {});
    return body.groups.flatMap((ruleGroup) => ruleGroup.rules).filter((rule) => names.includes(rule.name));
  }

  /** The host's pending series of an alert in the last 2 minutes (present: it was pending). */
  const pendingSince = (name: string) =>
    `max_over_time(ALERTS{alertname="${name}", alertstate="pending", instance="${HOST.name}"}[2m])`;

  /** Sorted `alertname/alertstate` of the ALERTS series of these rules for the host. */
  async function alertStates(names: readonly string[]): Promise<string[]> {
    const result = await prometheus().instantQuery(
      `ALERTS{alertname=~"${names.join("|")}", instance="${HOST.name}"}`,
    );
    return result.result.map((series) => `${series.metric.alertname}/${series.metric.alertstate}`).sort();
  }

  beforeAll(async () => {
    // Every program first, so a missing one fails with the command that provides it.
    for (const tool of [TOOLS.prometheus, ...Object.values(EXPORTER_TOOLS), ...Object.values(SERVICES)]) {
      requireTool(tool);
    }
    for (const tool of Object.values(SERVICE_HELPERS)) requireTool(tool);
    chmodSync(workDir, 0o755);
    // The services, as docs/clients.md sets them up.
    const [nginx, postgres, mysql, redis] = await Promise.all([
      startNginx(group, join(workDir, "nginx")),
      startPostgres(group, join(workDir, "postgres"), PASSWORDS.postgres, {
        [CONNECTION_LIMITS.postgres.setting]: String(CONNECTION_LIMITS.postgres.limit),
      }),
      startMariadb(group, join(workDir, "mariadb"), PASSWORDS.mysql, {
        [CONNECTION_LIMITS.mysql.setting]: String(CONNECTION_LIMITS.mysql.limit),
      }),
      startRedis(group, join(workDir, "redis"), PASSWORDS.redis),
    ]);
    for (const [exporter, service] of [
      ["nginx", nginx],
      ["postgres", postgres],
      ["mysql", mysql],
      ["redis", redis],
    ] as const) {
      services.set(exporter, service);
    }
    databases.set("postgres", postgres);
    databases.set("mysql", mysql);

    // The exporters, with the host's rendered compose services and credential files.
    const compose = parse(renderClientFiles(config, HOST)[COMPOSE_FILE] as string) as {
      services: Record<string, RenderedExporterService>;
      secrets?: Record<string, { file: string }>;
    };
    const users = config.exporterUsers;
    const credentials = {
      nginx: {},
      postgres: { user: users.postgres, password: PASSWORDS.postgres },
      mysql: { user: users.mysql, password: PASSWORDS.mysql },
      redis: { password: PASSWORDS.redis },
    };
    const exporterTargets: Record<string, string> = {};
    for (const exporter of EXPORTERS) {
      const service = compose.services[`${exporter}-exporter`];
      if (service === undefined) throw new Error(`the host's compose file runs no ${exporter} exporter`);
      const byPath = renderExporterCredentialFiles(exporterRecord(exporter), credentials[exporter]);
      const secretContents = Object.fromEntries(
        Object.entries(compose.secrets ?? {}).flatMap(([name, secret]) => {
          const content = byPath[secret.file.replace(/^\.\//, "")];
          return content === undefined ? [] : [[name, content]];
        }),
      );
      const listen = `127.0.0.1:${await freePort()}`;
      const secretsDir = join(workDir, `${exporter}-exporter-secrets`);
      const local = pointExporterAtLoopback(service, secretContents, {
        listen,
        services: { [DOCUMENTED_ADDRESS[exporter]]: (services.get(exporter) as RealService).address },
        secretsDir,
      });
      mkdirSync(secretsDir, { recursive: true, mode: 0o755 });
      for (const [path, content] of Object.entries(local.secretFiles)) {
        // As compose's secrets are: read-only, readable by the exporter's user alone.
        writeFileSync(path, content, { mode: 0o400 });
      }
      exporters.set(
        exporter,
        await group.start({
          name: `${exporter} exporter`,
          tool: EXPORTER_TOOLS[exporter],
          args: local.args,
          env: local.env,
          cwd: dirname(secretsDir),
          readyUrl: `http://${listen}/metrics`,
        }),
      );
      exporterTargets[exporter] = listen;
    }

    // Prometheus with the rendered monitor files; the host's agents answer from a stub.
    const agents = await startFakeExporter();
    stubs.push(agents);
    fakeEc2 = await startFakeEc2([], config.region);
    const prometheusUrl = await startStubbedMonitorPrometheus(group, {
      rendered,
      dir: join(workDir, "monitor"),
      stubAddress: agents.address,
      hostName: HOST.name,
      hostTargets: exporterTargets,
      ec2Endpoint: fakeEc2.url,
    });
    // The scrape interval Prometheus runs with here: what Grafana's intervals must be based on.
    grafana = new GrafanaQueries(
      prometheusUrl,
      Number.parseInt(scaledDuration(config.metrics.scrapeInterval), 10),
    );

    // Every exporter scraped a few times with its service up, and the rules evaluated since.
    await pollUntil(
      "several scrapes of every exporter reaching its service",
      async () => {
        for (const exporter of EXPORTERS) {
          const up = `min_over_time(${UP_METRICS[exporter]}{${selector(exporter)}}[12s]) == 1`;
          const scrapes = `count_over_time(up{${selector(exporter)}}[12s]) >= 4`;
          if ((await seriesCount(up)) === 0 || (await seriesCount(scrapes)) === 0) {
            const targets = await prometheus().api<{
              activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
            }>("/api/v1/targets", { state: "active" });
            const target = targets.activeTargets.find((candidate) => candidate.labels.job === exporter);
            throw new Error(
              `${exporter} not scraped up yet: ${target?.health} ${target?.lastError}\n${exporters.get(exporter)?.logs.slice(-2000)}`,
            );
          }
        }
        return true;
      },
      { attempts: 120, intervalMs: 500 },
    );
  }, 120_000);

  afterAll(async () => {
    await group.stopAll();
    await Promise.allSettled([fakeEc2?.close(), ...stubs.map((stub) => stub.close())]);
    rmSync(workDir, { recursive: true, force: true });
  });

  it("docs/clients.md puts each service where the rendered settings look for it", () => {
    const docs = readFileSync(join(__dirname, "..", "docs", "clients.md"), "utf8");
    for (const address of Object.values(DOCUMENTED_ADDRESS)) expect(docs).toContain(address);
  });

  it.each(EXPORTERS)(
    "%s: the exporter reads its service with the rendered settings and logs no error",
    async (exporter) => {
      expect(await seriesCount(`${UP_METRICS[exporter]}{${selector(exporter)}} == 1`)).toBe(1);
      const logs = exporters.get(exporter)?.logs ?? "";
      expect(logs.split("\n").filter((line) => /level=(error|ERROR)\b/.test(line))).toEqual([]);
    },
  );

  it.each(EXPORTERS)("%s: every query of its dashboard returns data", async (exporter) => {
    const files = Object.entries(rendered).filter(([path]) => path.startsWith("grafana/dashboards/"));
    const dashboards = files
      .map(([path, text]) => [path, JSON.parse(text) as DashboardJson] as const)
      .filter(([, dashboard]) => dashboard.uid === `obs-exporter-${exporter}`);
    expect(dashboards.map(([path]) => path)).toHaveLength(1);
    const [file, dashboard] = dashboards[0] as readonly [string, DashboardJson];
    const values = await prometheus().resolveVariables(file, dashboard);
    const queries = promQueries(file, dashboard);
    expect(queries.length).toBeGreaterThan(1);
    const empty: string[] = [];
    for (const query of queries) {
      if ((await prometheus().seriesOf(query, values)) === 0) empty.push(`${query.key}: ${query.expr}`);
    }
    expect(empty, "queries that returned no series").toEqual([]);
  });

  it.each(EXPORTERS)("%s: its alerts stay quiet while the service runs", async (exporter) => {
    const names = exporterAlerts(exporter);
    expect(names.length).toBeGreaterThan(0);
    const rules = await ruleStates(names);
    expect(rules.map((rule) => rule.name).sort()).toEqual([...names].sort());
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ""}`).toBe("ok");
      expect(rule.state, rule.name).toBe("inactive");
    }
    // Never pending or firing since Prometheus started, not only inactive now.
    expect(await seriesCount(`max_over_time(ALERTS{alertname=~"${names.join("|")}"}[5m])`)).toBe(0);
  });

  it("redis: RedisMemoryNearMaxmemory fires for a Redis filled close to a small maxmemory, and clears", async () => {
    const port = (services.get("redis") as RealService).port;
    const redis = (...args: string[]) => redisCommand(port, PASSWORDS.redis, ...args);
    const alert = ["RedisMemoryNearMaxmemory/firing"];
    // About 4 MiB of data, then a maxmemory just above what Redis now uses (about 95% of it).
    await redis("SET", "filler", "x".repeat(4 * 1024 * 1024));
    const used = Number(/used_memory:(\d+)/.exec(await redis("INFO", "memory"))?.[1]);
    expect(used).toBeGreaterThan(4 * 1024 * 1024);
    await redis("CONFIG", "SET", "maxmemory", String(Math.ceil(used / 0.95)));
    try {
      await pollUntil("RedisMemoryNearMaxmemory firing", async () =>
        JSON.stringify(await alertStates(["RedisMemoryNearMaxmemory"])) === JSON.stringify(alert)
          ? true
          : undefined,
      );
      // Pending first (its `for`).
      expect(await seriesCount(pendingSince("RedisMemoryNearMaxmemory"))).toBe(1);
    } finally {
      await redis("CONFIG", "SET", "maxmemory", "0");
      await redis("DEL", "filler");
    }
    await pollUntil("RedisMemoryNearMaxmemory resolved", async () =>
      (await alertStates(["RedisMemoryNearMaxmemory"])).length === 0 ? true : undefined,
    );
  });

  it.each(Object.keys(CONNECTION_LIMITS) as DatabaseExporter[])(
    "%s: its connections alert goes pending and fires with real sessions held near a low max_connections, and resolves once they close",
    async (exporter) => {
      const { limit, held: count, alert, limitMetric, connections } = CONNECTION_LIMITS[exporter];
      const database = databases.get(exporter) as DatabaseService;
      // The exporter reads the low limit the server runs with; the healthy case stayed quiet above.
      expect(await seriesCount(`${limitMetric}{${selector(exporter)}} == ${limit}`)).toBe(1);
      const held = await database.holdConnections(count);
      try {
        await pollUntil(`${alert} firing`, async () => {
          const states = await alertStates([alert]);
          if (JSON.stringify(states) === JSON.stringify([`${alert}/firing`])) return true;
          const now = (await prometheus().instantQuery(connections(selector(exporter)))).result[0] as
            | { value?: [number, string] }
            | undefined;
          throw new Error(`${states.join(", ") || "inactive"} at ${now?.value?.[1]} connections`);
        });
        // Pending first (its \`for\`), and with the held sessions counted by the exporter.
        expect(await seriesCount(pendingSince(alert))).toBe(1);
        expect(await seriesCount(`${connections(selector(exporter))} >= ${count}`)).toBe(1);
      } finally {
        await held.close();
      }
      await pollUntil(`${alert} resolved`, async () =>
        (await alertStates([alert])).length === 0 ? true : undefined,
      );
    },
  );

  it.each(EXPORTERS)(
    "%s: its service-down alert (and no symptom) fires when the service stops and resolves when it is back",
    async (exporter) => {
      const names = exporterAlerts(exporter);
      const service = services.get(exporter) as RealService;
      await service.stop();
      // The record's first alert is its service-down alert; its symptoms' series vanish with the service.
      const firing = [`${exporterRecord(exporter).alerts[0]?.rule.name}/firing`];
      await pollUntil(`${names.join(", ")} firing for ${HOST.name}`, async () =>
        JSON.stringify(await alertStates(names)) === JSON.stringify(firing) ? true : undefined,
      );
      // The exporter itself still answers: the service alert fired, not ExporterDown's condition.
      expect(await seriesCount(`up{${selector(exporter)}} == 1`)).toBe(1);
      expect(await seriesCount(`${UP_METRICS[exporter]}{${selector(exporter)}} == 0`)).toBe(1);

      await service.start();
      await pollUntil(`${names.join(", ")} resolved for ${HOST.name}`, async () =>
        (await alertStates(names)).length === 0 ? true : undefined,
      );
      expect(await seriesCount(`${UP_METRICS[exporter]}{${selector(exporter)}} == 1`)).toBe(1);
    },
  );
});
