/**
 * One small dashboard per optional exporter some host enables: is the service up (the metric
 * its alert uses, EXPORTER_UP_METRICS) and a few key series. Scrape jobs are named after the
 * exporter (configs/prometheus.ts), so `job="<exporter>"` selects them.
 *
 * Metric names come from each exporter's documentation for the pinned image (configs/images.ts);
 * test/dashboards.test.ts holds every name to its DOCUMENTED_METRICS list, and
 * test/exporter-services.test.ts runs the nginx, PostgreSQL, MySQL and Redis dashboards' queries
 * against those exporters reading real services (MongoDB and Jenkins do not run here).
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { OptionalExporter } from "../../lib/catalog";
import type { StackConfig } from "../../lib/stack-config";
import { EXPORTER_UP_METRICS } from "../agents/optional-exporters";
import { enabledExporters } from "../prometheus";
import {
  buildDashboard,
  environmentVariable,
  hostVariable,
  PROMETHEUS,
  panel,
  type Query,
  row,
  selectedHostsOf,
  timeseries,
  upDownStat,
} from "./common";

interface KeySeriesPanel {
  readonly title: string;
  readonly unit?: string;
  readonly queries: readonly Query[];
}

interface ExporterDashboardSpec {
  readonly title: string;
  readonly description: string;
  readonly panels: (selector: string) => readonly KeySeriesPanel[];
}

const rate = (metric: string, selector: string, by = "instance") =>
  `sum by (${by}) (rate(${metric}{${selector}}[$__rate_interval]))`;

const EXPORTER_DASHBOARDS: Readonly<Record<OptionalExporter, ExporterDashboardSpec>> = {
  nginx: {
    title: "nginx",
    description: "nginx stub_status through nginx-prometheus-exporter: requests and connections.",
    panels: (s) => [
      {
        title: "Requests",
        unit: "reqps",
        queries: [{ expr: rate("nginx_http_requests_total", s), legend: "{{instance}}" }],
      },
      {
        title: "Connections by state",
        queries: [
          { expr: `nginx_connections_active{${s}}`, legend: "{{instance}} active" },
          { expr: `nginx_connections_reading{${s}}`, legend: "{{instance}} reading" },
          { expr: `nginx_connections_writing{${s}}`, legend: "{{instance}} writing" },
          { expr: `nginx_connections_waiting{${s}}`, legend: "{{instance}} waiting" },
        ],
      },
      {
        title: "Connections accepted vs handled",
        unit: "cps",
        queries: [
          { expr: rate("nginx_connections_accepted", s), legend: "{{instance}} accepted" },
          { expr: rate("nginx_connections_handled", s), legend: "{{instance}} handled" },
        ],
      },
    ],
  },
  jenkins: {
    title: "Jenkins",
    description: "Jenkins through its Prometheus plugin (default namespace): executors and queue.",
    panels: (s) => [
      {
        title: "Executors",
        queries: [
          { expr: `default_jenkins_executors_busy{${s}}`, legend: "{{instance}} busy" },
          { expr: `default_jenkins_executors_available{${s}}`, legend: "{{instance}} available" },
        ],
      },
      {
        title: "Build queue",
        queries: [{ expr: `default_jenkins_executors_queue_length{${s}}`, legend: "{{instance}}" }],
      },
    ],
  },
  mongodb: {
    title: "MongoDB",
    description:
      "MongoDB through percona/mongodb_exporter (--compatible-mode names): connections and operations.",
    panels: (s) => [
      {
        title: "Connections",
        queries: [{ expr: `mongodb_connections{${s}, state="current"}`, legend: "{{instance}}" }],
      },
      {
        title: "Operations",
        unit: "ops",
        queries: [
          { expr: rate("mongodb_op_counters_total", s, "instance, type"), legend: "{{instance}} {{type}}" },
        ],
      },
    ],
  },
  postgres: {
    title: "PostgreSQL",
    description: "PostgreSQL through postgres_exporter: backends, transactions, database size.",
    panels: (s) => [
      {
        title: "Backends by database",
        queries: [
          {
            expr: `sum by (instance, datname) (pg_stat_database_numbackends{${s}})`,
            legend: "{{instance}} {{datname}}",
          },
        ],
      },
      {
        title: "Transactions",
        unit: "ops",
        queries: [
          { expr: rate("pg_stat_database_xact_commit", s), legend: "{{instance}} commit" },
          { expr: rate("pg_stat_database_xact_rollback", s), legend: "{{instance}} rollback" },
        ],
      },
      {
        title: "Database size",
        unit: "bytes",
        queries: [{ expr: `pg_database_size_bytes{${s}}`, legend: "{{instance}} {{datname}}" }],
      },
    ],
  },
  mysql: {
    title: "MySQL",
    description: "MySQL through mysqld_exporter: connections, queries, slow queries.",
    panels: (s) => [
      {
        title: "Threads connected",
        queries: [{ expr: `mysql_global_status_threads_connected{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Queries",
        unit: "ops",
        queries: [
          { expr: rate("mysql_global_status_queries", s), legend: "{{instance}} all" },
          { expr: rate("mysql_global_status_slow_queries", s), legend: "{{instance}} slow" },
        ],
      },
    ],
  },
  redis: {
    title: "Redis",
    description: "Redis through redis_exporter: clients, memory, commands, hit ratio.",
    panels: (s) => [
      {
        title: "Connected clients",
        queries: [{ expr: `redis_connected_clients{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Memory used",
        unit: "bytes",
        queries: [{ expr: `redis_memory_used_bytes{${s}}`, legend: "{{instance}}" }],
      },
      {
        title: "Commands",
        unit: "ops",
        queries: [{ expr: rate("redis_commands_processed_total", s), legend: "{{instance}}" }],
      },
      {
        title: "Keyspace hit ratio",
        unit: "percentunit",
        queries: [
          {
            expr: `${rate("redis_keyspace_hits_total", s)} / (${rate("redis_keyspace_hits_total", s)} + ${rate("redis_keyspace_misses_total", s)})`,
            legend: "{{instance}}",
          },
        ],
      },
    ],
  },
};

export function exporterDashboardUid(exporter: OptionalExporter): string {
  return `obs-exporter-${exporter}`;
}

export function exporterDashboard(exporter: OptionalExporter): Dashboard {
  const spec = EXPORTER_DASHBOARDS[exporter];
  const selector = selectedHostsOf(exporter);
  const upMetric = EXPORTER_UP_METRICS[exporter];
  return buildDashboard({
    uid: exporterDashboardUid(exporter),
    title: spec.title,
    description: spec.description,
    variables: [environmentVariable(exporter), hostVariable(exporter)],
    sections: [
      row("Status"),
      panel(
        upDownStat(
          upMetric === "up" ? `${spec.title} (metrics endpoint)` : `${spec.title} reachable by its exporter`,
          [{ expr: `${upMetric}{${selector}}`, legend: "{{instance}}" }],
          { span: 24 },
        ),
      ),
      row("Key series"),
      ...spec.panels(selector).map((keySeries) =>
        panel(
          timeseries(keySeries.title, PROMETHEUS, keySeries.queries, {
            min: 0,
            ...(keySeries.unit ? { unit: keySeries.unit } : {}),
          }),
        ),
      ),
    ],
  });
}

/** Dashboards of the exporters some host of the stack enables, in catalogue order. */
export function exporterDashboards(
  config: StackConfig,
): { exporter: OptionalExporter; dashboard: Dashboard }[] {
  return enabledExporters(config).map((exporter) => ({ exporter, dashboard: exporterDashboard(exporter) }));
}
