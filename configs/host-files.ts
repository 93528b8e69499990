/**
 * Per host, the complete set of files it receives, keyed by path relative to the directory the
 * deploy copies them to (the compose file's directory: compose mounts `./prometheus`, ...).
 * Used by the `render` command and by the deploy, so what reviewers read is what hosts run.
 *
 * Values known only after `pulumi up` (bucket name, monitor private IP, Grafana URL, data volume
 * id) come in `DeployInfo`; without it every such value is a clear placeholder. Secret values are
 * never here: the deploy writes them separately (monitorSecretFiles, exporterCredentialFiles).
 */
import { FLEET_PUSH_USER } from "../lib/catalog";
import type { ClientHost, ExternalHost, StackConfig } from "../lib/stack-config";
import { MONITOR_LOCAL_LOKI_PUSH_URL, renderAlloyConfig } from "./agents/alloy";
import { COMPOSE_FILE, clientComposeFile, renderClientFiles } from "./agents/client-compose";
import { PROCESS_EXPORTER_CONFIG_FILE, renderProcessExporterConfig } from "./agents/process-exporter";
import { renderAlertmanagerFiles } from "./alertmanager";
import { renderBlackboxConfig } from "./blackbox";
import { DATA_VOLUME_ID_PLACEHOLDER, renderClientUserData, renderMonitorUserData } from "./cloud-init";
import { renderDashboards } from "./dashboards";
import { fleetBundleFiles } from "./fleet-bundle";
import { GATEWAY_CONFIG_FILE, renderGatewayConfig } from "./gateway";
import { renderGrafanaProvisioning } from "./grafana";
import {
  LOKI_RUNTIME_FILE_NAME,
  LOKI_RUNTIME_SUBDIR,
  renderLokiConfig,
  renderLokiRuntimeConfig,
} from "./loki";
import {
  CONTAINER_SECRETS_DIR,
  type DeployInfo,
  MONITOR_PROMETHEUS_ADDRESSES,
  monitorComposeData,
  renderMonitorCompose,
} from "./monitor-compose";
import { MONITOR_INSTANCE, renderFileSdTargets, renderPrometheusConfig } from "./prometheus";
import { renderRuleFiles } from "./rules";
import { renderTempoConfig, TEMPO_PORTS, TEMPO_SERVICE } from "./tempo";

export type { DeployInfo } from "./monitor-compose";

/** Relative path -> file content. */
export type HostFiles = Record<string, string>;

/** The directory name the monitor's files are grouped under in `render` output. */
const MONITOR_HOST = "monitor";

/** Cloud-init user data, included so reviewers see exactly what boots each EC2 host. */
export const CLOUD_INIT_FILE = "cloud-init.yaml";

/**
 * Loki's runtime overrides on the monitor (under `loki/`, which compose mounts at /etc/loki): a
 * directory of its own, so the deploy installs it as its own step, without a Loki restart.
 */
export const MONITOR_LOKI_RUNTIME_DIR = `loki/${LOKI_RUNTIME_SUBDIR}`;

function prefixed(prefix: string, files: Record<string, string>): HostFiles {
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [`${prefix}/${path}`, content]));
}

/** Sorted by path, so iteration order (and anything written from it) never depends on code order. */
function sortedByPath(files: HostFiles): HostFiles {
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function monitorFiles(config: StackConfig, deployInfo: DeployInfo = {}): HostFiles {
  const grafana = renderGrafanaProvisioning(config, {
    rootUrl: deployInfo.grafanaUrl,
    managedStoreQueryUrl: deployInfo.managedStore?.queryUrl,
  });
  const blackbox = renderBlackboxConfig(config);
  const tempo = renderTempoConfig(config, { bucketName: deployInfo.lokiBucketName });
  return sortedByPath({
    ...(tempo !== undefined ? { "tempo/tempo.yml": tempo } : {}),
    ...(blackbox !== undefined ? { "blackbox/blackbox.yml": blackbox } : {}),
    [COMPOSE_FILE]: renderMonitorCompose(config, { deployInfo }),
    [CLOUD_INIT_FILE]: renderMonitorUserData({
      dataVolumeId: deployInfo.dataVolumeId ?? DATA_VOLUME_ID_PLACEHOLDER,
    }),
    "prometheus/prometheus.yml": renderPrometheusConfig(config, MONITOR_PROMETHEUS_ADDRESSES, {
      vpcId: deployInfo.vpcId,
      managedStoreRemoteWriteUrl: deployInfo.managedStore?.remoteWriteUrl,
    }),
    // Runbook links open Grafana's Runbooks dashboard, at the same URL the alert links use.
    ...prefixed(
      "prometheus/rules",
      renderRuleFiles(config, { grafanaUrl: config.grafana.rootUrl ?? deployInfo.grafanaUrl }),
    ),
    ...prefixed("prometheus/file_sd", renderFileSdTargets(config)),
    ...prefixed(
      "alertmanager",
      renderAlertmanagerFiles(config, {
        secretsDir: CONTAINER_SECRETS_DIR,
        // Same precedence as Grafana's own root URL: stack config, then the deployed address.
        grafanaUrl: config.grafana.rootUrl ?? deployInfo.grafanaUrl,
      }),
    ),
    [GATEWAY_CONFIG_FILE]: renderGatewayConfig(),
    "loki/loki.yml": renderLokiConfig(config, { storage: "s3", bucketName: deployInfo.lokiBucketName }),
    [`${MONITOR_LOKI_RUNTIME_DIR}/${LOKI_RUNTIME_FILE_NAME}`]: renderLokiRuntimeConfig(config),
    "grafana/provisioning/datasources/datasources.yml": grafana.datasources,
    "grafana/provisioning/dashboards/provider.yml": grafana.dashboardProvider,
    // Read by the file provider from GRAFANA_DASHBOARDS_DIR, where compose mounts this directory.
    ...prefixed("grafana/dashboards", renderDashboards(config)),
    // The same process exporter config as every client's (its daemons, the stack's services).
    [PROCESS_EXPORTER_CONFIG_FILE]: renderProcessExporterConfig(),
    // The monitor's own Alloy, labelled like its metrics (`instance="monitor"`).
    "alloy/config.alloy": renderAlloyConfig({
      host: MONITOR_INSTANCE,
      environment: config.stack,
      lokiPushUrl: MONITOR_LOCAL_LOKI_PUSH_URL,
      ...(config.traces ? { tempoEndpoint: `${TEMPO_SERVICE}:${TEMPO_PORTS.otlpGrpc}` } : {}),
    }),
  });
}

function isClientHost(config: StackConfig, host: ClientHost | ExternalHost): host is ClientHost {
  return config.clients.some((client) => client.name === host.name);
}

/** Files of one client or outside host: its agents, plus user data for EC2 clients. */
export function clientFiles(
  config: StackConfig,
  host: ClientHost | ExternalHost,
  deployInfo: DeployInfo = {},
): HostFiles {
  const files: HostFiles = renderClientFiles(config, host, {
    monitorAddress: deployInfo.monitorPrivateIp,
    imageDigests: deployInfo.imageDigests,
    images: deployInfo.images,
  });
  if (isClientHost(config, host)) files[CLOUD_INIT_FILE] = renderClientUserData();
  return sortedByPath(files);
}

/**
 * Every host of the stack -> its files: the monitor, each client, each host outside AWS, and with
 * fleet enrolment the bundle every enrolled instance runs (under `fleet`).
 */
export function stackHostFiles(config: StackConfig, deployInfo: DeployInfo = {}): Record<string, HostFiles> {
  const hosts: Record<string, HostFiles> = { [MONITOR_HOST]: monitorFiles(config, deployInfo) };
  for (const host of [...config.clients, ...config.externalHosts]) {
    if (Object.hasOwn(hosts, host.name)) {
      throw new Error(
        `host name "${host.name}" is used twice (the monitor's files are under "${MONITOR_HOST}")`,
      );
    }
    hosts[host.name] = clientFiles(config, host, deployInfo);
  }
  // The bundle enrolled fleet hosts fetch from S3 (the config reader keeps the name free).
  if (config.fleetEnrolment) {
    hosts[FLEET_PUSH_USER] = fleetBundleFiles(config, {
      monitorAddress: deployInfo.monitorPrivateIp,
      imageDigests: deployInfo.imageDigests,
    });
  }
  return hosts;
}

/**
 * Every image some host of the stack runs, sorted and unique: read from the compose files
 * themselves (without digests), so the list the deploy resolves digests for cannot drift from
 * what the hosts run.
 */
export function stackImages(config: StackConfig): string[] {
  const images = new Set<string>();
  for (const service of Object.values(monitorComposeData(config).services)) images.add(service.image);
  for (const host of [...config.clients, ...config.externalHosts]) {
    for (const service of Object.values(clientComposeFile(config, host).services)) images.add(service.image);
  }
  return [...images].sort();
}
