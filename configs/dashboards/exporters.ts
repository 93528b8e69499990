/**
 * One small dashboard per optional exporter some host enables, built from its record's dashboard
 * facet: is the service up (the gauge its alert uses) and the record's key series. Scrape jobs
 * are named after the exporter (configs/prometheus.ts), so `job="<exporter>"` selects them.
 *
 * Metric names come from each exporter's documentation for the pinned image (its record);
 * test/dashboards.test.ts holds every name to its DOCUMENTED_METRICS list, and
 * test/exporter-services.test.ts runs the nginx, PostgreSQL, MySQL and Redis dashboards' queries
 * against those exporters reading real services (MongoDB and Jenkins do not run here).
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { type ExporterRecord, enabledExporters } from "../exporters";
import {
  buildDashboard,
  environmentVariable,
  hostVariable,
  PROMETHEUS,
  panel,
  row,
  selectedHostsOf,
  timeseries,
  upDownStat,
} from "./common";

function exporterDashboardUid(record: ExporterRecord): string {
  return `obs-exporter-${record.name}`;
}

/** File name under the dashboards directory, and key of the `dashboards` output (without `.json`). */
function exporterDashboardFile(record: ExporterRecord): string {
  return `exporter-${record.name}.json`;
}

/** Title of the status panel: the service's own endpoint, or the exporter's view of the service. */
function exporterStatusPanelTitle(record: ExporterRecord): string {
  return record.upMetric === "up"
    ? `${record.title} (metrics endpoint)`
    : `${record.title} reachable by its exporter`;
}

function exporterDashboard(record: ExporterRecord): Dashboard {
  const selector = selectedHostsOf(record.name);
  return buildDashboard({
    uid: exporterDashboardUid(record),
    title: record.title,
    description: record.dashboard.description,
    variables: [environmentVariable(record.name), hostVariable(record.name)],
    sections: [
      row("Status"),
      panel(
        upDownStat(
          exporterStatusPanelTitle(record),
          [{ expr: `${record.upMetric}{${selector}}`, legend: "{{instance}}" }],
          { span: 24 },
        ),
      ),
      row("Key series"),
      ...record.dashboard.panels(selector).map((keySeries) =>
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

/** Dashboards of the exporters some host of the stack enables, by file name, in registry order. */
export function exporterDashboards(config: StackConfig): Record<string, Dashboard> {
  return Object.fromEntries(
    enabledExporters(config).map((record) => [exporterDashboardFile(record), exporterDashboard(record)]),
  );
}
