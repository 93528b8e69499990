/**
 * Grafana provisioning for the monitor: datasources with fixed uids (dashboards and links refer
 * to them), a file dashboard provider, and the container environment as data.
 *
 * Secrets never appear here: the admin password and the secret key reach Grafana as files
 * mounted read-only under /run/secrets, named by the `__FILE` variants of Grafana's settings.
 */
import YAML from "yaml";
import { MONITOR_PORTS } from "../lib/catalog";
import { shellQuote } from "../lib/shell";
import type { StackConfig } from "../lib/stack-config";
import { TEMPO_PORTS, TEMPO_SERVICE } from "./tempo";

/** Fixed datasource uids: dashboards, alert links and the email template refer to these. */
export const GRAFANA_DATASOURCE_UIDS = {
  prometheus: "prometheus",
  loki: "loki",
  alertmanager: "alertmanager",
  managedPrometheus: "managed-prometheus",
} as const;

/**
 * Hostnames Grafana reaches the other monitor services by: the compose service names on the
 * monitor's network (test/monitor-compose.test.ts holds the two together).
 */
const GRAFANA_DATASOURCE_URLS = {
  prometheus: `http://prometheus:${MONITOR_PORTS.prometheus}`,
  loki: `http://loki:${MONITOR_PORTS.loki}`,
  alertmanager: `http://alertmanager:${MONITOR_PORTS.alertmanager}`,
} as const;

/** Where provisioning and dashboards are mounted (read-only) inside the Grafana container. */
export const GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_DIR = "/etc/grafana/dashboards";
/** Grafana's database, plugins and sessions: the data volume. */
export const GRAFANA_DATA_DIR = "/var/lib/grafana";

/** Secret files inside the container (compose mounts them from the host, read-only). */
export const GRAFANA_SECRET_FILES = {
  adminPassword: "/run/secrets/grafana_admin_password",
  secretKey: "/run/secrets/grafana_secret_key",
} as const;

const GRAFANA_ADMIN_USER = "admin";

/** Shown when the public URL is only known once the Elastic IP exists. */
export const GRAFANA_ROOT_URL_PLACEHOLDER = "<grafana-root-url: known after pulumi up>";

export interface GrafanaOptions {
  /** The URL derived at deploy time (Elastic IP); stack config's `grafana.rootUrl` wins over it. */
  readonly rootUrl?: string;
  /** The managed store's query endpoint (the workspace URL), once it exists. */
  readonly managedStoreQueryUrl?: string;
}

/** Shown as the managed store's query endpoint before `pulumi up` has created the workspace. */
const MANAGED_STORE_QUERY_URL_PLACEHOLDER =
  "https://aps-workspaces.REGION.amazonaws.com/workspaces/KNOWN-AFTER-DEPLOY/";

/**
 * The managed store, queried with SigV4 by the AWS SDK's default credentials: on the monitor,
 * its instance role through IMDSv2 (hop limit 2 lets the container reach it).
 */
function managedStoreDatasource(config: StackConfig, queryUrl: string | undefined) {
  return {
    name: "Amazon Managed Prometheus",
    type: "prometheus",
    uid: GRAFANA_DATASOURCE_UIDS.managedPrometheus,
    access: "proxy",
    url: queryUrl ?? MANAGED_STORE_QUERY_URL_PLACEHOLDER.replace("REGION", config.region),
    isDefault: false,
    editable: false,
    jsonData: {
      timeInterval: config.metrics.scrapeInterval,
      httpMethod: "POST",
      sigV4Auth: true,
      sigV4AuthType: "default",
      sigV4Region: config.region,
    },
  };
}

export interface GrafanaProvisioning {
  /** `provisioning/datasources/datasources.yml` */
  readonly datasources: string;
  /** `provisioning/dashboards/provider.yml` */
  readonly dashboardProvider: string;
  /** Container environment for compose; values are paths and switches, never secrets. */
  readonly environment: Readonly<Record<string, string>>;
}

function yamlFile(data: unknown, comment: string): string {
  const document = new YAML.Document(data);
  document.commentBefore = ` ${comment} Rendered by configs/grafana.ts; edit the code, not this file.`;
  return document.toString({ lineWidth: 0 });
}

/** Tempo's datasource uid (traces on): the traces dashboard and Loki's trace links use it. */
const TEMPO_DATASOURCE_UID = "tempo";

/**
 * Tempo (traces on), linked both ways into what the stack already has: a span opens the logs of
 * its host (Loki's `host` label, from the `host.name` attribute Alloy sets) and compose service
 * around the span's time, and the request rate and latency of its service from the span metrics
 * Tempo's generator writes to Prometheus; the service graph reads those metrics too.
 */
function tempoDatasource() {
  const loki = GRAFANA_DATASOURCE_UIDS.loki;
  const prometheus = GRAFANA_DATASOURCE_UIDS.prometheus;
  return {
    name: "Tempo",
    type: "tempo",
    uid: TEMPO_DATASOURCE_UID,
    access: "proxy",
    url: `http://${TEMPO_SERVICE}:${TEMPO_PORTS.http}`,
    isDefault: false,
    editable: false,
    jsonData: {
      tracesToLogsV2: {
        datasourceUid: loki,
        spanStartTimeShift: "-5m",
        spanEndTimeShift: "5m",
        tags: [
          { key: "host.name", value: "host" },
          { key: "service.name", value: "compose_service" },
        ],
        filterByTraceID: false,
        filterBySpanID: false,
      },
      tracesToMetrics: {
        datasourceUid: prometheus,
        spanStartTimeShift: "-5m",
        spanEndTimeShift: "5m",
        tags: [{ key: "service.name", value: "service" }],
        queries: [
          {
            name: "Request rate",
            query: "sum by (span_name) (rate(traces_spanmetrics_calls_total{$__tags}[5m]))",
          },
          {
            name: "p95 latency",
            query:
              "histogram_quantile(0.95, sum by (le, span_name) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))",
          },
        ],
      },
      serviceMap: { datasourceUid: prometheus },
      nodeGraph: { enabled: true },
      lokiSearch: { datasourceUid: loki },
    },
  };
}

function grafanaDatasourcesData(config: StackConfig, options: GrafanaOptions = {}) {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        type: "prometheus",
        uid: GRAFANA_DATASOURCE_UIDS.prometheus,
        access: "proxy",
        url: GRAFANA_DATASOURCE_URLS.prometheus,
        isDefault: true,
        editable: false,
        jsonData: {
          // Keeps $__rate_interval at least one scrape apart; below that rate() returns nothing.
          timeInterval: config.metrics.scrapeInterval,
          httpMethod: "POST",
        },
      },
      {
        name: "Loki",
        type: "loki",
        uid: GRAFANA_DATASOURCE_UIDS.loki,
        access: "proxy",
        url: GRAFANA_DATASOURCE_URLS.loki,
        isDefault: false,
        editable: false,
        jsonData: { maxLines: 1000 },
      },
      {
        name: "Alertmanager",
        type: "alertmanager",
        uid: GRAFANA_DATASOURCE_UIDS.alertmanager,
        access: "proxy",
        url: GRAFANA_DATASOURCE_URLS.alertmanager,
        isDefault: false,
        editable: false,
        jsonData: {
          implementation: "prometheus",
          // Alerts are Prometheus rules; Grafana-managed alerting does not route through it.
          handleGrafanaManagedAlerts: false,
        },
      },
      ...(config.traces ? [tempoDatasource()] : []),
      ...(config.metrics.managedStore ? [managedStoreDatasource(config, options.managedStoreQueryUrl)] : []),
    ],
  };
}

function grafanaDashboardProviderData() {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "observability",
        orgId: 1,
        type: "file",
        // Dashboards are code in this repository: UI edits would be lost on the next deploy.
        allowUiUpdates: false,
        disableDeletion: true,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_DASHBOARDS_DIR, foldersFromFilesStructure: true },
      },
    ],
  };
}

/** Stack config's root URL, else the HTTPS domain's, else the deployed one, else a placeholder. */
export function grafanaRootUrl(config: StackConfig, options: GrafanaOptions = {}): string {
  const exposure = config.grafana.exposure;
  const domainUrl = exposure.mode === "https" ? `https://${exposure.domain}/` : undefined;
  return config.grafana.rootUrl ?? domainUrl ?? options.rootUrl ?? GRAFANA_ROOT_URL_PLACEHOLDER;
}

/** HSTS lifetime once Grafana is served over HTTPS: a year, as browsers' preload lists expect. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

export function grafanaEnvironment(
  config: StackConfig,
  options: GrafanaOptions = {},
): Record<string, string> {
  const rootUrl = grafanaRootUrl(config, options);
  // Behind HTTPS, cookies never travel in clear and browsers are told to use HTTPS only.
  const https: Record<string, string> = rootUrl.startsWith("https://")
    ? {
        GF_SECURITY_COOKIE_SECURE: "true",
        GF_SECURITY_STRICT_TRANSPORT_SECURITY: "true",
        GF_SECURITY_STRICT_TRANSPORT_SECURITY_MAX_AGE_SECONDS: String(HSTS_MAX_AGE_SECONDS),
      }
    : {};
  return {
    GF_SERVER_ROOT_URL: rootUrl,
    ...https,
    GF_SECURITY_ADMIN_USER: GRAFANA_ADMIN_USER,
    // Applied only when grafana.db is first created; see GRAFANA_ADMIN_PASSWORD_RESET.
    GF_SECURITY_ADMIN_PASSWORD__FILE: GRAFANA_SECRET_FILES.adminPassword,
    GF_SECURITY_SECRET_KEY__FILE: GRAFANA_SECRET_FILES.secretKey,
    GF_SECURITY_DISABLE_GRAVATAR: "true",
    GF_AUTH_ANONYMOUS_ENABLED: "false",
    GF_USERS_ALLOW_SIGN_UP: "false",
    GF_USERS_ALLOW_ORG_CREATE: "false",
    GF_SNAPSHOTS_EXTERNAL_ENABLED: "false",
    GF_ANALYTICS_REPORTING_ENABLED: "false",
    GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
    GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
    GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_DIR,
    GF_LOG_MODE: "console",
    // The Prometheus datasource signs requests with SigV4 only when this is on.
    ...(config.metrics.managedStore ? { GF_AUTH_SIGV4_AUTH_ENABLED: "true" } : {}),
  };
}

export function renderGrafanaProvisioning(
  config: StackConfig,
  options: GrafanaOptions = {},
): GrafanaProvisioning {
  return {
    datasources: yamlFile(
      grafanaDatasourcesData(config, options),
      `Grafana datasources for stack "${config.stack}".`,
    ),
    dashboardProvider: yamlFile(grafanaDashboardProviderData(), "Grafana dashboard provider."),
    environment: grafanaEnvironment(config, options),
  };
}

/**
 * Grafana reads GF_SECURITY_ADMIN_PASSWORD(__FILE) only when it creates its database. After the
 * first start, changing the secret does nothing unless the deploy resets the password inside
 * the running container. The deploy runs this command whenever the secret changes (the secret,
 * encrypted in state, is its trigger), after the new secret file is in place and Grafana is up.
 * The password travels from the mounted secret file on stdin: it is never on a command line, in
 * logs or in state. The argv runs inside the container (`docker compose exec -T grafana ...`).
 */
const GRAFANA_ADMIN_PASSWORD_RESET = {
  composeService: "grafana",
  containerArgs: [
    "sh",
    "-c",
    `grafana cli admin reset-admin-password --password-from-stdin < ${GRAFANA_SECRET_FILES.adminPassword}`,
  ],
} as const;

/** The host command for the deploy: run in the directory holding the monitor's compose.yaml. */
export function grafanaAdminPasswordResetCommand(composeFile = "compose.yaml"): string {
  const [shell, flag, script] = GRAFANA_ADMIN_PASSWORD_RESET.containerArgs;
  return `docker compose -f ${composeFile} exec -T ${GRAFANA_ADMIN_PASSWORD_RESET.composeService} ${shell} ${flag} ${shellQuote(script)}`;
}
