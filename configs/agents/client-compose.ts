/**
 * Everything one host runs besides its own workload: the compose file with node exporter,
 * process exporter, cAdvisor, Alloy and the host's optional exporters, plus the config files those
 * containers mount. The same for EC2 clients and hosts outside AWS.
 */
import { stringify } from "yaml";
import type { ExternalHost, ScrapedHost, StackConfig } from "../../lib/stack-config";
import { exporterCredentialFiles, exporterHostSettings, hostExporters } from "../exporters";
import { SECRETS_DIR } from "../exporters/credentials";
import { PUSH_PASSWORD_SECRET } from "../gateway";
import { type ImageDigests, type ImageMap, withMappedImages, withPinnedImages } from "../images";
import { pushedScrapeJobs } from "../prometheus";
import {
  ALLOY_CONFIG_FILE,
  ALLOY_DATA_VOLUME,
  alloyService,
  lokiPushUrl,
  metricsPushUrl,
  PUSH_PASSWORD_PATH,
  renderAlloyConfig,
  UNKNOWN_MONITOR_ADDRESS,
} from "./alloy";
import { OTLP_PORTS } from "./alloy-traces";
import { cadvisorService } from "./cadvisor";
import type { AgentListenOptions, ComposeFile, ComposeService } from "./compose-types";
import { SOCKET_PROXY_SERVICE, SOCKET_PROXY_VOLUME, socketProxyService } from "./docker-socket-proxy";
import { nodeExporterService } from "./node-exporter";
import { exporterService, exporterServiceName, runsContainer } from "./optional-exporters";
import {
  PROCESS_EXPORTER_CONFIG_FILE,
  processExporterService,
  renderProcessExporterConfig,
} from "./process-exporter";

/** Compose project name of the agents on every host. */
const AGENTS_COMPOSE_PROJECT = "observability-agents";
/** Suggested directory on the host for the files below (the deploy may choose another). */
export const AGENTS_DIR = "/opt/observability/agents";
export const COMPOSE_FILE = "compose.yaml";

export interface ClientComposeOptions extends AgentListenOptions {
  /** The monitor's private IP; a placeholder is rendered when unknown (before deployment). */
  readonly monitorAddress?: string;
  /** Registry digest of every image (image reference -> sha256:...); unset: tags only. */
  readonly imageDigests?: ImageDigests;
  /** Images to run instead of the pinned ones; see ImageMap. */
  readonly images?: ImageMap;
  /**
   * Alloy's `host` label from this variable of the compose project's `.env` (enrolled fleet
   * hosts share one bundle; each writes its instance id there, docs/fleet.md).
   */
  readonly hostFromEnvironment?: string;
}

/**
 * The host's push password, relative to the agents directory: written by the deploy (0400,
 * root, which Alloy runs as) from the password the program generated for this host.
 */
export const PUSH_PASSWORD_FILE = `${SECRETS_DIR}/${PUSH_PASSWORD_SECRET}`;

/** The agents every client and outside host runs, by compose service name. */
function agentServices(
  options: {
    readonly bindAddress?: string;
    readonly otlp?: boolean;
    readonly hostLoopback?: boolean;
    readonly hostFromEnvironment?: string;
  } = {},
): Record<string, ComposeService> {
  const listen = options.hostLoopback ? { bindAddress: OUTSIDE_HOST_BIND_ADDRESS } : options;
  return {
    "node-exporter": nodeExporterService(listen),
    "process-exporter": processExporterService(listen),
    cadvisor: cadvisorService(listen),
    alloy: alloyService({
      ...listen,
      otlp: options.otlp,
      hostLoopback: options.hostLoopback,
      secrets: [PUSH_PASSWORD_SECRET],
      ...(options.hostFromEnvironment !== undefined
        ? {
            environment: {
              [options.hostFromEnvironment]: composeRequiredVariable(options.hostFromEnvironment),
            },
          }
        : {}),
    }),
    [SOCKET_PROXY_SERVICE]: socketProxyService(),
  };
}

/** `${NAME:?...}`: compose interpolates the variable from the project's `.env`, and refuses to start without it. */
function composeRequiredVariable(name: string): string {
  return ["$", "{", name, ":?written by the fleet sync}"].join("");
}

/**
 * Where every agent and exporter listens on a host outside AWS: its loopback only. Its Alloy
 * scrapes them there and pushes (pushesMetrics); nothing is published on a routable address.
 */
export const OUTSIDE_HOST_BIND_ADDRESS = "127.0.0.1";

/** Hosts outside AWS push their metrics through the gateway; EC2 clients are pulled. */
export function pushesMetrics(host: ScrapedHost): host is ExternalHost {
  return "address" in host;
}

/** Traces go to Tempo inside the VPC only: EC2 clients forward them, hosts outside AWS do not. */
function forwardsTraces(config: StackConfig, host: ScrapedHost): boolean {
  return config.traces !== undefined && !("address" in host);
}

export function clientComposeFile(
  config: StackConfig,
  host: ScrapedHost,
  options: ClientComposeOptions = {},
): ComposeFile {
  const exporters = hostExporters(host).filter(runsContainer);
  const outside = pushesMetrics(host);
  const services: Record<string, ComposeService> = agentServices({
    ...options,
    otlp: forwardsTraces(config, host),
    hostLoopback: outside,
  });
  for (const record of exporters) {
    services[exporterServiceName(record)] = exporterService(record, {
      bindAddress: outside ? OUTSIDE_HOST_BIND_ADDRESS : options.bindAddress,
      hostSettings: exporterHostSettings(record, host),
    });
  }
  const secrets = Object.fromEntries([
    [PUSH_PASSWORD_SECRET, { file: `./${PUSH_PASSWORD_FILE}` }],
    ...exporters
      .flatMap(exporterCredentialFiles)
      .filter((file) => file.delivery === "compose-secret")
      .map((file) => [file.name, { file: `./${file.path}` }]),
  ]);
  return {
    name: AGENTS_COMPOSE_PROJECT,
    services: withPinnedImages(withMappedImages(services, options.images), options.imageDigests),
    volumes: { [ALLOY_DATA_VOLUME]: {}, [SOCKET_PROXY_VOLUME]: {} },
    secrets,
  };
}

/** The host's compose file as YAML. */
function renderClientCompose(
  config: StackConfig,
  host: ScrapedHost,
  options: ClientComposeOptions = {},
): string {
  // No YAML anchors: every service spells out its own settings for readers of the file.
  return stringify(clientComposeFile(config, host, options), { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Every file the host receives, keyed by path relative to the agents directory. Credential files
 * (`exporterCredentialFiles`) are not here: the deploy writes them from Pulumi secrets.
 */
export function renderClientFiles(
  config: StackConfig,
  host: ScrapedHost,
  options: ClientComposeOptions = {},
): Record<string, string> {
  return {
    [COMPOSE_FILE]: renderClientCompose(config, host, options),
    [ALLOY_CONFIG_FILE]: renderAlloyConfig({
      host: host.name,
      ...(options.hostFromEnvironment !== undefined
        ? { hostFromEnvironment: options.hostFromEnvironment }
        : {}),
      environment: config.stack,
      lokiPushUrl: lokiPushUrl(options.monitorAddress),
      pushAuth: { username: host.name, passwordFile: PUSH_PASSWORD_PATH },
      ...(forwardsTraces(config, host)
        ? { tempoEndpoint: `${options.monitorAddress ?? UNKNOWN_MONITOR_ADDRESS}:${OTLP_PORTS.grpc}` }
        : {}),
      ...(pushesMetrics(host)
        ? {
            metricsPush: {
              url: metricsPushUrl(options.monitorAddress),
              scrapeInterval: config.metrics.scrapeInterval,
              jobs: pushedScrapeJobs(config, host),
            },
          }
        : {}),
    }),
    [PROCESS_EXPORTER_CONFIG_FILE]: renderProcessExporterConfig(),
  };
}
