/**
 * The monitor's docker compose file: Prometheus, Alertmanager, Loki and Grafana, plus the same
 * agents every client runs (node exporter, process exporter, cAdvisor, Alloy), so the monitor
 * watches itself as a host like the others.
 *
 * Exposure, service by service (the monitor's security group is the outer fence, this the inner):
 *   Grafana       127.0.0.1:3000     SSH tunnel only, unless grafanaDomain (0.0.0.0: the SG admits
 *                                    only the load balancer's group) or grafanaInsecurePlainHttp
 *                                    (0.0.0.0: the SG admits grafanaCidrs);
 *   Prometheus    127.0.0.1:9090     SSH tunnel only, never on a routable interface;
 *   Alertmanager  127.0.0.1:9093     SSH tunnel only;
 *   Alloy         127.0.0.1:12345    for the deploy's `POST /-/reload` (Prometheus scrapes it by name);
 *   process exp.  127.0.0.1:9256     for the deploy's readiness check (Prometheus scrapes it by name);
 *   Loki          not published      on the compose network only: Grafana and the monitor's
 *                                    own Alloy reach it by name;
 *   gateway       0.0.0.0:3101       the push gateway (configs/gateway.ts): Loki's push path
 *                                    only, per-host credentials; the SG admits the clients' SG
 *                                    and each outside host's address. AWS delivers traffic for
 *                                    the public address to the private one, so no bind address
 *                                    keeps a port off the internet: the SG and the credentials do.
 * Monitor services reach each other by compose service name on the project network; the node
 * exporter runs in the host's network namespace and Prometheus reaches it as host.docker.internal.
 *
 * Secrets are compose `secrets:` backed by files the deploy writes under MONITOR_SECRETS_DIR,
 * mounted read-only at /run/secrets/<name>; nothing secret is in this file.
 */
import YAML from "yaml";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import type { SecretSetting, StackConfig } from "../lib/stack-config";
import { ALLOY_DATA_VOLUME, alloyService } from "./agents/alloy";
import { cadvisorService } from "./agents/cadvisor";
import { type ComposeService, IMAGE_LABEL, ROTATED_JSON_LOGS } from "./agents/compose-types";
import { SOCKET_PROXY_SERVICE, SOCKET_PROXY_VOLUME, socketProxyService } from "./agents/docker-socket-proxy";
import { nodeExporterService } from "./agents/node-exporter";
import { processExporterService } from "./agents/process-exporter";
import {
  ALERTMANAGER_PATHS,
  ALERTMANAGER_SECRET_FILES,
  alertmanagerFlags,
  enabledSecrets,
} from "./alertmanager";
import { grafanaAlertGroupsUrl } from "./alertmanager-email.tmpl";
import {
  BLACKBOX_CONFIG_DIR,
  BLACKBOX_PORT,
  BLACKBOX_SERVICE,
  BLACKBOX_USER,
  blackboxFlags,
} from "./blackbox";
import { DATA_MOUNT_POINT, dataDirectoryPath } from "./cloud-init";
import {
  GATEWAY_BINARY,
  GATEWAY_CONFIG_DIR,
  GATEWAY_CONTAINER_CONFIG_DIR,
  GATEWAY_CONTAINER_CONFIG_PATH,
  GATEWAY_HTPASSWD_SECRET,
  GATEWAY_METRICS_HTPASSWD_SECRET,
  GATEWAY_RUNTIME_DIR,
  GATEWAY_SERVICE,
  GATEWAY_USER,
} from "./gateway";
import {
  GRAFANA_DASHBOARDS_DIR,
  GRAFANA_DATA_DIR,
  GRAFANA_PROVISIONING_DIR,
  GRAFANA_SECRET_FILES,
  grafanaEnvironment,
} from "./grafana";
import {
  IMAGES,
  type ImageDigests,
  type ImageMap,
  MONITOR_CONTAINER_USERS,
  withMappedImages,
  withPinnedImages,
} from "./images";
import { LOKI_CONFIG_DIR, LOKI_DATA_DIR, lokiFlags } from "./loki";
import { type MonitorServiceAddresses, PROMETHEUS_DATA_PATH, prometheusFlags } from "./prometheus";
import { TEMPO_CONFIG_DIR, TEMPO_DATA_DIR, TEMPO_PORTS, TEMPO_SERVICE, tempoFlags } from "./tempo";

/** Compose project name: container and network names derive from it. */
const MONITOR_COMPOSE_PROJECT = "observability";

/** Where the deploy writes secret files on the monitor (root volume, root-owned directory). */
export const MONITOR_SECRETS_DIR = "/etc/observability/secrets";

/** Inside the containers: compose mounts every secret at /run/secrets/<name>. */
export const CONTAINER_SECRETS_DIR = "/run/secrets";

/** Hostname (through `extra_hosts: host-gateway`) at which containers reach host-network agents. */
const DOCKER_HOST_ALIAS = "host.docker.internal";

/** Loopback unless something outside the host must reach Grafana (its load balancer, or CIDRs). */
function grafanaBindAddress(config: StackConfig): string {
  return config.grafana.exposure.mode === "tunnel" ? "127.0.0.1" : "0.0.0.0";
}

/** Shown in Tempo's OTLP port binding when the monitor's private IP is not known yet. */
const MONITOR_PRIVATE_IP_PLACEHOLDER = "<monitor-private-ip-known-after-pulumi-up>";

/** Values known only once `pulumi up` has created the resources. */
export interface DeployInfo {
  /** Name of the Loki S3 bucket. */
  readonly lokiBucketName?: string;
  /** The monitor's VPC address: Alloy on clients pushes to its gateway there. */
  readonly monitorPrivateIp?: string;
  /** The stack's VPC: Prometheus' EC2 discovery is scoped to it. */
  readonly vpcId?: string;
  /** Public Grafana URL derived from the Elastic IP (stack config's grafanaRootUrl wins). */
  readonly grafanaUrl?: string;
  /** EBS id of the monitor's data volume (cloud-init mounts it by id). */
  readonly dataVolumeId?: string;
  /** The managed Prometheus workspace's endpoints (config.metrics.managedStore). */
  readonly managedStore?: { readonly remoteWriteUrl: string; readonly queryUrl: string };
  /**
   * Registry digest of every image the host runs (pinImageDigests): compose files then name
   * images as `repo:tag@sha256:...`. Unset: tags only (the render command).
   */
  readonly imageDigests?: ImageDigests;
  /** Images to run instead of the pinned ones (a stack on locally built images); see ImageMap. */
  readonly images?: ImageMap;
}

export interface MonitorComposeOptions {
  readonly deployInfo?: DeployInfo;
}

interface Healthcheck {
  readonly test: readonly string[];
  readonly interval: string;
  readonly timeout: string;
  readonly retries: number;
  readonly start_period: string;
}

/** The agent services' compose subset plus what the monitor's own services need. */
export interface MonitorComposeService extends ComposeService {
  readonly healthcheck?: Healthcheck;
  readonly extra_hosts?: readonly string[];
  readonly depends_on?: readonly string[];
}

export interface MonitorComposeFile {
  readonly name: string;
  readonly services: Readonly<Record<string, MonitorComposeService>>;
  readonly volumes?: Readonly<Record<string, Readonly<Record<string, never>>>>;
  readonly secrets?: Readonly<Record<string, { readonly file: string }>>;
}

/** One secret file the deploy must write on the monitor before `docker compose up`. */
export interface MonitorSecretFile {
  /** Compose secret name = file name under MONITOR_SECRETS_DIR and under /run/secrets. */
  readonly name: string;
  readonly hostPath: string;
  /**
   * The Pulumi secret setting it holds, `generated` for a random value the program creates, or
   * `push-htpasswd` for the gateway's hashes of every pushing host's password.
   */
  readonly source: SecretSetting | "generated" | "push-htpasswd" | "push-htpasswd-metrics";
  /** Owner the file must have (mode 0400): the UID:GID the reading container runs as. */
  readonly owner: string;
  readonly services: readonly string[];
}

/**
 * Every secret file the monitor's compose file refers to, for the deploy to write. The Grafana
 * secret key signs sessions and encrypts datasource secrets: the program generates it (e.g. a
 * RandomPassword) and must keep it stable, since changing it makes stored secrets unreadable.
 */
export function monitorSecretFiles(config: StackConfig): MonitorSecretFile[] {
  const grafanaSecret = (name: string, source: MonitorSecretFile["source"]): MonitorSecretFile => ({
    name,
    hostPath: `${MONITOR_SECRETS_DIR}/${name}`,
    source,
    owner: MONITOR_CONTAINER_USERS.grafana,
    services: ["grafana"],
  });
  return [
    grafanaSecret(basename(GRAFANA_SECRET_FILES.adminPassword), "grafanaAdminPassword"),
    grafanaSecret(basename(GRAFANA_SECRET_FILES.secretKey), "generated"),
    ...enabledSecrets(config).map(
      (setting): MonitorSecretFile => ({
        name: ALERTMANAGER_SECRET_FILES[setting],
        hostPath: `${MONITOR_SECRETS_DIR}/${ALERTMANAGER_SECRET_FILES[setting]}`,
        source: setting,
        owner: MONITOR_CONTAINER_USERS.alertmanager,
        services: ["alertmanager"],
      }),
    ),
    {
      name: GATEWAY_HTPASSWD_SECRET,
      hostPath: `${MONITOR_SECRETS_DIR}/${GATEWAY_HTPASSWD_SECRET}`,
      source: "push-htpasswd",
      owner: GATEWAY_USER,
      services: [GATEWAY_SERVICE],
    },
    {
      name: GATEWAY_METRICS_HTPASSWD_SECRET,
      hostPath: `${MONITOR_SECRETS_DIR}/${GATEWAY_METRICS_HTPASSWD_SECRET}`,
      source: "push-htpasswd-metrics",
      owner: GATEWAY_USER,
      services: [GATEWAY_SERVICE],
    },
  ];
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** `wget --spider` against a readiness endpoint; the busybox-based images ship wget. */
function httpHealthcheck(url: string, startPeriod: string): Healthcheck {
  return {
    test: ["CMD", "wget", "--quiet", "--tries=1", "--spider", url],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    start_period: startPeriod,
  };
}

function loopbackPort(port: number): string {
  return `127.0.0.1:${port}:${port}`;
}

/** Paths on the monitor relative to the compose file (the rendered tree, see host-files.ts). */
const CONFIG_DIRS = {
  prometheus: "./prometheus",
  alertmanager: "./alertmanager",
  loki: "./loki",
  grafanaProvisioning: "./grafana/provisioning",
  grafanaDashboards: "./grafana/dashboards",
  blackbox: "./blackbox",
  tempo: "./tempo",
} as const;

/**
 * Tempo (traces on): OTLP on the monitor's VPC address for the clients' Alloy (admitted from the
 * clients' security group only); its query API on the compose network only (Grafana and
 * Prometheus reach it by name).
 * Root in the container: its data directory on the data volume is created by Docker at first start
 * (the monitor's user data, run once per instance, creates only the always-on services').
 */
function tempoService(bindAddress: string): MonitorComposeService {
  return {
    image: IMAGES.tempo,
    container_name: TEMPO_SERVICE,
    restart: "unless-stopped",
    user: "0:0",
    command: tempoFlags(),
    ports: [TEMPO_PORTS.otlpGrpc, TEMPO_PORTS.otlpHttp].map((port) => `${bindAddress}:${port}:${port}`),
    volumes: [`${CONFIG_DIRS.tempo}:${TEMPO_CONFIG_DIR}:ro`, `${DATA_MOUNT_POINT}/tempo:${TEMPO_DATA_DIR}`],
    depends_on: ["prometheus"],
    labels: { [IMAGE_LABEL]: IMAGES.tempo },
    logging: ROTATED_JSON_LOGS,
  };
}

/**
 * Where Prometheus (on the compose network) scrapes the monitor's own agents, where they differ
 * from configs/prometheus.ts' defaults (compose service names): the node exporter lives in the
 * host's network namespace, so it is not on the compose network.
 */
export const MONITOR_PROMETHEUS_ADDRESSES: Partial<MonitorServiceAddresses> = {
  nodeExporter: `${DOCKER_HOST_ALIAS}:${AGENT_PORTS.nodeExporter}`,
};

export function monitorComposeData(
  config: StackConfig,
  options: MonitorComposeOptions = {},
): MonitorComposeFile {
  const deployInfo = options.deployInfo ?? {};
  const secretFiles = monitorSecretFiles(config);
  const secretsFor = (service: string) =>
    secretFiles.filter((secret) => secret.services.includes(service)).map((secret) => secret.name);
  // Links in notifications lead to Grafana (the stack's URL, else the one the deploy derives).
  const grafanaUrl = config.grafana.rootUrl ?? deployInfo.grafanaUrl;
  const alertmanagerUrl = grafanaUrl === undefined ? undefined : grafanaAlertGroupsUrl(grafanaUrl);

  const prometheus: MonitorComposeService = {
    image: IMAGES.prometheus,
    container_name: "prometheus",
    restart: "unless-stopped",
    user: MONITOR_CONTAINER_USERS.prometheus,
    command: prometheusFlags({
      // Tempo's metrics generator and, through the gateway, hosts outside AWS write here.
      remoteWriteReceiver: config.traces !== undefined || config.externalHosts.length > 0,
    }),
    ports: [loopbackPort(MONITOR_PORTS.prometheus)],
    volumes: [
      `${CONFIG_DIRS.prometheus}:/etc/prometheus:ro`,
      `${dataDirectoryPath("prometheus")}:${PROMETHEUS_DATA_PATH}`,
    ],
    // The node exporter runs in the host's network namespace.
    extra_hosts: [`${DOCKER_HOST_ALIAS}:host-gateway`],
    healthcheck: httpHealthcheck(`http://127.0.0.1:${MONITOR_PORTS.prometheus}/-/ready`, "2m"),
    labels: { [IMAGE_LABEL]: IMAGES.prometheus },
    logging: ROTATED_JSON_LOGS,
  };

  const alertmanager: MonitorComposeService = {
    image: IMAGES.alertmanager,
    container_name: "alertmanager",
    restart: "unless-stopped",
    user: MONITOR_CONTAINER_USERS.alertmanager,
    command: alertmanagerFlags(config, alertmanagerUrl === undefined ? {} : { externalUrl: alertmanagerUrl }),
    ports: [loopbackPort(MONITOR_PORTS.alertmanager)],
    volumes: [
      `${CONFIG_DIRS.alertmanager}:/etc/alertmanager:ro`,
      `${dataDirectoryPath("alertmanager")}:${ALERTMANAGER_PATHS.storagePath}`,
    ],
    secrets: secretsFor("alertmanager"),
    healthcheck: httpHealthcheck(`http://127.0.0.1:${MONITOR_PORTS.alertmanager}/-/ready`, "30s"),
    labels: { [IMAGE_LABEL]: IMAGES.alertmanager },
    logging: ROTATED_JSON_LOGS,
  };

  // No healthcheck: the Loki 3 image is distroless (no shell, wget or curl to probe with);
  // Prometheus scrapes it and the LokiDown alert covers it instead.
  const loki: MonitorComposeService = {
    image: IMAGES.loki,
    container_name: "loki",
    restart: "unless-stopped",
    user: MONITOR_CONTAINER_USERS.loki,
    command: lokiFlags(),
    // No published port: the gateway is the only way in from outside the compose network.
    volumes: [
      // The directory, not the file: a file bind mount keeps the old inode when the deploy
      // replaces loki.yml, and Loki would restart with the stale config. It also shows Loki each
      // new runtime/overrides.yaml, which it re-reads without a restart.
      `${CONFIG_DIRS.loki}:${LOKI_CONFIG_DIR}:ro`,
      `${dataDirectoryPath("loki")}:${LOKI_DATA_DIR}`,
    ],
    labels: { [IMAGE_LABEL]: IMAGES.loki },
    logging: ROTATED_JSON_LOGS,
  };

  const grafana: MonitorComposeService = {
    image: IMAGES.grafana,
    container_name: "grafana",
    restart: "unless-stopped",
    user: MONITOR_CONTAINER_USERS.grafana,
    ports: [`${grafanaBindAddress(config)}:${MONITOR_PORTS.grafana}:${MONITOR_PORTS.grafana}`],
    environment: grafanaEnvironment(config, { rootUrl: deployInfo.grafanaUrl }),
    volumes: [
      `${CONFIG_DIRS.grafanaProvisioning}:${GRAFANA_PROVISIONING_DIR}:ro`,
      `${CONFIG_DIRS.grafanaDashboards}:${GRAFANA_DASHBOARDS_DIR}:ro`,
      `${dataDirectoryPath("grafana")}:${GRAFANA_DATA_DIR}`,
    ],
    secrets: secretsFor("grafana"),
    depends_on: ["prometheus", "loki", "alertmanager"],
    healthcheck: httpHealthcheck(`http://127.0.0.1:${MONITOR_PORTS.grafana}/api/health`, "1m"),
    labels: { [IMAGE_LABEL]: IMAGES.grafana },
    logging: ROTATED_JSON_LOGS,
  };

  // The push gateway: unprivileged nginx on a read-only root, scratch space in a tmpfs.
  const gateway: MonitorComposeService = {
    image: IMAGES.gateway,
    container_name: GATEWAY_SERVICE,
    restart: "unless-stopped",
    user: GATEWAY_USER,
    entrypoint: [GATEWAY_BINARY],
    command: ["-e", "stderr", "-c", GATEWAY_CONTAINER_CONFIG_PATH],
    // The security group admits the clients' group and each outside host's address only.
    ports: [`0.0.0.0:${MONITOR_PORTS.gateway}:${MONITOR_PORTS.gateway}`],
    volumes: [`./${GATEWAY_CONFIG_DIR}:${GATEWAY_CONTAINER_CONFIG_DIR}:ro`],
    secrets: secretsFor(GATEWAY_SERVICE),
    read_only: true,
    tmpfs: [GATEWAY_RUNTIME_DIR],
    cap_drop: ["ALL"],
    security_opt: ["no-new-privileges:true"],
    depends_on: ["loki"],
    labels: { [IMAGE_LABEL]: IMAGES.gateway },
    logging: ROTATED_JSON_LOGS,
  };

  const services: Record<string, MonitorComposeService> = {
    prometheus,
    alertmanager,
    loki,
    grafana,
    [GATEWAY_SERVICE]: gateway,
    // Same agents as on the clients. The process exporter, cAdvisor and Alloy stay on loopback:
    // Prometheus reaches them by name, Alloy pushes to Loki by name, and the deploy POSTs
    // Alloy's /-/reload on 127.0.0.1 when its config changes.
    "node-exporter": nodeExporterService(),
    "process-exporter": processExporterService({ bindAddress: "127.0.0.1" }),
    cadvisor: cadvisorService({ bindAddress: "127.0.0.1" }),
    alloy: alloyService({ bindAddress: "127.0.0.1", otlp: config.traces !== undefined }),
    [SOCKET_PROXY_SERVICE]: socketProxyService(),
  };
  if (config.traces) {
    services[TEMPO_SERVICE] = tempoService(deployInfo.monitorPrivateIp ?? MONITOR_PRIVATE_IP_PLACEHOLDER);
  }
  if (config.probes.targets.length > 0) {
    // No published port: Prometheus hands it each probe by name on the compose network.
    services[BLACKBOX_SERVICE] = {
      image: IMAGES.blackboxExporter,
      container_name: BLACKBOX_SERVICE,
      restart: "unless-stopped",
      user: BLACKBOX_USER,
      command: blackboxFlags(),
      volumes: [`${CONFIG_DIRS.blackbox}:${BLACKBOX_CONFIG_DIR}:ro`],
      healthcheck: httpHealthcheck(`http://127.0.0.1:${BLACKBOX_PORT}/-/healthy`, "30s"),
      labels: { [IMAGE_LABEL]: IMAGES.blackboxExporter },
      logging: ROTATED_JSON_LOGS,
    };
  }
  return {
    name: MONITOR_COMPOSE_PROJECT,
    // The image label keeps the readable tag; only `image` gains the digest.
    services: withPinnedImages(withMappedImages(services, deployInfo.images), deployInfo.imageDigests),
    volumes: { [ALLOY_DATA_VOLUME]: {}, [SOCKET_PROXY_VOLUME]: {} },
    secrets: Object.fromEntries(secretFiles.map((secret) => [secret.name, { file: secret.hostPath }])),
  };
}

export function renderMonitorCompose(config: StackConfig, options: MonitorComposeOptions = {}): string {
  const document = new YAML.Document(monitorComposeData(config, options), { aliasDuplicateObjects: false });
  document.commentBefore = ` Monitor services for stack "${config.stack}". Rendered by configs/monitor-compose.ts; edit the code, not this file.`;
  // No anchors (services spell out their own settings) and every string quoted, so nothing like
  // `65534:65534` or a port mapping can be read as a number by any YAML 1.1 parser.
  return document.toString({ lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}
