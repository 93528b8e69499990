/**
 * The Grafana dashboards the monitor provisions, as files for the file dashboard provider
 * (configs/grafana.ts: provider path GRAFANA_DASHBOARDS_DIR). The monitor's host files carry
 * them under `grafana/dashboards/`, which compose mounts read-only at that path.
 *
 * Each dashboard has a fixed uid (links and bookmarks survive re-deploys), the tag
 * `observability`, Prometheus/Loki datasources by uid, refresh 1m and a 6h time range.
 * Exporter dashboards exist only for the optional exporters some host enables.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { dashboardJson } from "./common";
import { containersDashboard } from "./containers";
import { exporterDashboards } from "./exporters";
import { hostsDashboard } from "./hosts";
import { logsDashboard } from "./logs";
import { processesDashboard } from "./processes";
import { stackHealthDashboard } from "./stack-health";

export { DASHBOARD_TAG } from "./common";
export { exporterDashboardUid } from "./exporters";

/** Every dashboard of the stack keyed by file name (`hosts.json`, `exporter-nginx.json`, ...). */
export function buildDashboards(config: StackConfig): Record<string, Dashboard> {
  const dashboards: Record<string, Dashboard> = {
    "hosts.json": hostsDashboard(config),
    "containers.json": containersDashboard(config),
    "processes.json": processesDashboard(config),
    "logs.json": logsDashboard(config),
    "stack-health.json": stackHealthDashboard(config),
  };
  for (const { exporter, dashboard } of exporterDashboards(config)) {
    dashboards[`exporter-${exporter}.json`] = dashboard;
  }
  return dashboards;
}

/** File name -> dashboard JSON (keys sorted at every level: same config, same bytes). */
export function renderDashboards(config: StackConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(buildDashboards(config))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([file, dashboard]) => [file, dashboardJson(dashboard)]),
  );
}
