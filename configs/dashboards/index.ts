/**
 * The Grafana dashboards the monitor provisions, as files for the file dashboard provider
 * (configs/grafana.ts: provider path GRAFANA_DASHBOARDS_DIR). The monitor's host files carry
 * them under `grafana/dashboards/`, which compose mounts read-only at that path.
 *
 * Each dashboard has a fixed uid (links and bookmarks survive re-deploys), the tag
 * `observability`, Prometheus/Loki datasources by uid, refresh 1m and a 6h time range.
 * Exporter dashboards exist only for the optional exporters some host enables; the SLOs, probes
 * and traces dashboards only when the stack turns those on.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { alertsDashboard } from "./alerts";
import { dashboardJson, dashboardPath } from "./common";
import { containersDashboard } from "./containers";
import { exporterDashboards } from "./exporters";
import { hostDetailDashboard } from "./host-detail";
import { hostsDashboard } from "./hosts";
import { logsDashboard } from "./logs";
import { probesDashboard } from "./probes";
import { processesDashboard } from "./processes";
import { runbooksDashboard } from "./runbooks";
import { slosDashboard } from "./slos";
import { sshDashboard } from "./ssh";
import { stackHealthDashboard } from "./stack-health";
import { tracesDashboard } from "./traces";

export { DASHBOARD_TAG } from "./common";

/** Every dashboard of the stack keyed by file name (`hosts.json`, `exporter-nginx.json`, ...). */
export function buildDashboards(config: StackConfig): Record<string, Dashboard> {
  return {
    "hosts.json": hostsDashboard(config),
    "host-detail.json": hostDetailDashboard(config),
    "containers.json": containersDashboard(config),
    "processes.json": processesDashboard(),
    "logs.json": logsDashboard(config),
    "ssh.json": sshDashboard(),
    "alerts.json": alertsDashboard(config),
    "stack-health.json": stackHealthDashboard(config),
    "runbooks.json": runbooksDashboard(config),
    ...exporterDashboards(config),
    ...(config.slos.length > 0 ? { "slos.json": slosDashboard(config.slos) } : {}),
    ...(config.probes.targets.length > 0
      ? { "probes.json": probesDashboard(config.probes.certExpiryDays) }
      : {}),
    ...(config.traces ? { "traces.json": tracesDashboard() } : {}),
  };
}

/** File name -> dashboard JSON (keys sorted at every level: same config, same bytes). */
export function renderDashboards(config: StackConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(buildDashboards(config))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([file, dashboard]) => [file, dashboardJson(dashboard)]),
  );
}

/** `https://grafana.example/` or `https://example.com/grafana` -> no trailing slash. */
function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * The URL of every dashboard, keyed by its file name without `.json` (`hosts`, `host-detail`,
 * `exporter-nginx`, ...): Grafana's `<root>/d/<uid>`, which keeps working when a title changes.
 * `grafanaBaseUrl` is Grafana's root URL (a sub-path is kept). Pure: a stack output.
 */
export function dashboardUrls(
  grafanaBaseUrl: string,
  dashboards: Readonly<Record<string, Dashboard>>,
): Record<string, string> {
  const base = withoutTrailingSlash(grafanaBaseUrl);
  return Object.fromEntries(
    Object.entries(dashboards)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([file, dashboard]) => {
        if (!dashboard.uid) throw new Error(`dashboard ${file} has no uid: it would have no stable URL`);
        return [file.replace(/\.json$/, ""), `${base}${dashboardPath(dashboard.uid)}`];
      }),
  );
}
