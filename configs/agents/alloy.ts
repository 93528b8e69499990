/**
 * Grafana Alloy on every host: ships logs to the monitor's Loki. On EC2 hosts and the monitor it
 * serves its own metrics for Prometheus to scrape (pull only: no remote_write, which would double
 * every series). On hosts outside AWS, which expose nothing, it scrapes the local agents on the
 * host's loopback instead and remote-writes them through the push gateway (`metricsPush`).
 *
 * Streams and their labels:
 * - Docker containers, through the socket proxy (docker-socket-proxy.ts): `container` (name without the leading slash),
 *   `compose_service`, and `image` (discovery.docker does not expose the image, so it comes from a
 *   container label our compose files set, or from the OCI title/version labels images carry);
 * - files under /var/log (`*.log` includes auth.log; plus syslog): `filename`;
 * - the systemd journal (journal directories and /etc/machine-id mounted): `unit`;
 * - on every stream: `host`, `environment`, `source` (docker|file|journal) and, where the line or
 *   journal priority gives it, `level` normalised to trace|debug|info|notice|warn|error|critical|fatal.
 *
 * Alloy itself is not available here, so this config is checked structurally only.
 */
import { AGENT_PORTS, MONITOR_PORTS } from "../../lib/catalog";
import { LOKI_PUSH_PATH, PROMETHEUS_WRITE_PATH, PUSH_PASSWORD_SECRET } from "../gateway";
import { IMAGES } from "../images";
import type { PushedScrapeJob } from "../prometheus";
import {
  type AlloyExpression,
  type AlloyStatement,
  attr,
  block,
  call,
  comment,
  list,
  num,
  obj,
  printAlloy,
  ref,
  str,
  stringMap,
  strings,
} from "./alloy-syntax";
import { alloyTraceStatements, OTLP_PORTS } from "./alloy-traces";
import {
  type ComposeService,
  composeSecretPath,
  DEFAULT_BIND_ADDRESS,
  IMAGE_LABEL,
  publishedPort,
  ROTATED_JSON_LOGS,
} from "./compose-types";
import { FILTERED_DOCKER_SOCKET, SOCKET_PROXY_DIR, SOCKET_PROXY_VOLUME } from "./docker-socket-proxy";

/** Shown in rendered files until the monitor's private IP is known (deploy time). */
export const UNKNOWN_MONITOR_ADDRESS = "MONITOR_PRIVATE_IP";

/** Loki's push path through the monitor's push gateway, over the private network. */
export function lokiPushUrl(monitorAddress: string = UNKNOWN_MONITOR_ADDRESS): string {
  return `http://${monitorAddress}:${MONITOR_PORTS.gateway}${LOKI_PUSH_PATH}`;
}

/** Prometheus' remote-write receiver through the monitor's push gateway. */
export function metricsPushUrl(monitorAddress: string = UNKNOWN_MONITOR_ADDRESS): string {
  return `http://${monitorAddress}:${MONITOR_PORTS.gateway}${PROMETHEUS_WRITE_PATH}`;
}

/** Inside Alloy's container: the host's own push password (a compose secret, 0400). */
export const PUSH_PASSWORD_PATH = composeSecretPath(PUSH_PASSWORD_SECRET);

/** How a host's Alloy authenticates to the gateway: its name, and its password from a file. */
export interface PushAuth {
  readonly username: string;
  readonly passwordFile: string;
}

/** Push URL for the monitor's own Alloy: Loki by service name on the compose network. */
export const MONITOR_LOCAL_LOKI_PUSH_URL = `http://loki:${MONITOR_PORTS.loki}${LOKI_PUSH_PATH}`;

export interface AlloyConfigInput {
  /** Value of the `host` label: the host's name (the EC2 `Name` tag, Prometheus' `instance`). */
  readonly host: string;
  /**
   * Read the `host` label at start from this environment variable instead (enrolled fleet hosts
   * share one config and set their instance id there, docs/fleet.md); `host` names the config.
   */
  readonly hostFromEnvironment?: string;
  /** Value of the `environment` label: the stack. */
  readonly environment: string;
  readonly lokiPushUrl: string;
  /** Credentials for the push gateway; absent for the monitor's own Alloy (Loki on its network). */
  readonly pushAuth?: PushAuth;
  /** Tempo's OTLP gRPC endpoint (host:port) when traces are on and this host forwards them. */
  readonly tempoEndpoint?: string;
  /** Hosts outside AWS: scrape these local jobs and remote-write them (with pushAuth). */
  readonly metricsPush?: MetricsPush;
}

export interface MetricsPush {
  readonly url: string;
  readonly scrapeInterval: string;
  readonly jobs: readonly PushedScrapeJob[];
}

/** Every label the config can put on a stream; dashboards and queries may rely on these. */
export const ALLOY_STREAM_LABELS = [
  "host",
  "environment",
  "source",
  "container",
  "compose_service",
  "image",
  "filename",
  "unit",
  "level",
] as const;

export const LOG_SOURCES = ["docker", "file", "journal"] as const;

/** Files read from the host's /var/log (mounted read-only). `*.log` includes auth.log. */
const FILE_LOG_PATHS = ["/var/log/*.log", "/var/log/syslog"] as const;

/** Docker's API through the socket proxy's filtered socket (containers and logs, read-only). */
const DOCKER_SOCKET = `unix://${FILTERED_DOCKER_SOCKET}`;

/** Inside the container; a named volume keeps read positions across restarts. */
const ALLOY_STORAGE_PATH = "/var/lib/alloy/data";
const ALLOY_CONFIG_PATH = "/etc/alloy/config.alloy";
/** Relative to the agents' compose directory. */
export const ALLOY_CONFIG_FILE = "alloy/config.alloy";
/** Alloy's config directory: relative to the compose file (`alloy`) and in the container (`/etc/alloy`). */
const ALLOY_CONFIG_DIR = ALLOY_CONFIG_FILE.slice(0, ALLOY_CONFIG_FILE.lastIndexOf("/"));
const ALLOY_CONTAINER_CONFIG_DIR = ALLOY_CONFIG_PATH.slice(0, ALLOY_CONFIG_PATH.lastIndexOf("/"));

/** Upper-case level words as many daemons print them: `[ERROR]`, `WARN:`, ` INFO `. */
const BRACKETED_LEVEL =
  "(?:^|[\\s\\[(|])(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|PANIC)(?:[\\]\\s:|)]|$)";

/** `level=warn`, `"level":"error"`, `lvl=info`, `severity=ERROR` (JSON and logfmt). */
const KEYED_LEVEL =
  '(?i)(?:^|[\\s{,])"?(?:level|lvl|severity)"?\\s*[:=]\\s*"?(?P<level>trace|debug|dbug|info|notice|warn|warning|error|eror|err|crit|critical|alert|emerg|fatal|panic)\\b';

/** Maps the spellings above (and journal priority keywords) onto one small set of values. */
const NORMALISE_LEVEL = [
  "{{- $v := ToLower .Value -}}",
  '{{- if or (eq $v "err") (eq $v "eror") -}}error',
  '{{- else if eq $v "warning" -}}warn',
  '{{- else if eq $v "dbug" -}}debug',
  '{{- else if or (eq $v "crit") (eq $v "alert") (eq $v "emerg") -}}critical',
  '{{- else if eq $v "panic" -}}fatal',
  "{{- else -}}{{ $v }}{{- end -}}",
].join("");

function relabelRule(fields: Record<string, string | readonly string[]>): AlloyStatement {
  return block(
    "rule",
    undefined,
    Object.entries(fields).map(([name, value]) =>
      attr(name, typeof value === "string" ? str(value) : strings(value)),
    ),
  );
}

/** `basic_auth` with the password read from a file Alloy re-reads, never inlined in the config. */
function basicAuth(auth: PushAuth): AlloyStatement {
  return block("basic_auth", undefined, [
    attr("username", str(auth.username)),
    attr("password_file", str(auth.passwordFile)),
  ]);
}

/** The config as a tree; `renderAlloyConfig` prints it (tests read the text back: test/support/alloy.ts). */
function alloyConfigStatements(input: AlloyConfigInput): AlloyStatement[] {
  return [
    comment(`Rendered for host ${input.host} (${input.environment}). Do not edit: re-render instead.`),
    block("logging", undefined, [attr("level", str("info")), attr("format", str("logfmt"))]),

    comment("Docker container logs, through the socket proxy (containers and logs, read-only)."),
    block("discovery.docker", "containers", [
      attr("host", str(DOCKER_SOCKET)),
      attr("refresh_interval", str("15s")),
    ]),
    block("discovery.relabel", "containers", [
      attr("targets", ref("discovery.docker.containers.targets")),
      relabelRule({
        source_labels: ["__meta_docker_container_name"],
        regex: "/(.*)",
        target_label: "container",
      }),
      relabelRule({
        source_labels: ["__meta_docker_container_label_com_docker_compose_service"],
        target_label: "compose_service",
      }),
      // Images that follow the OCI convention name themselves; our own services say it exactly.
      relabelRule({
        source_labels: [
          "__meta_docker_container_label_org_opencontainers_image_title",
          "__meta_docker_container_label_org_opencontainers_image_version",
        ],
        separator: ":",
        regex: "(.+):(.+)",
        replacement: "$1:$2",
        target_label: "image",
      }),
      relabelRule({
        source_labels: [`__meta_docker_container_label_${IMAGE_LABEL.replace(/[^A-Za-z0-9_]/g, "_")}`],
        regex: "(.+)",
        target_label: "image",
      }),
      relabelRule({ target_label: "source", replacement: "docker" }),
    ]),
    block("loki.source.docker", "containers", [
      attr("host", str(DOCKER_SOCKET)),
      attr("targets", ref("discovery.relabel.containers.output")),
      attr("forward_to", list(ref("loki.process.levels.receiver"))),
    ]),

    comment("System log files from the host's /var/log (auth.log included by *.log)."),
    block("local.file_match", "system_logs", [
      attr(
        "path_targets",
        list(...FILE_LOG_PATHS.map((path) => obj({ __path__: str(path), source: str("file") }))),
      ),
    ]),
    block("loki.source.file", "system_logs", [
      attr("targets", ref("local.file_match.system_logs.targets")),
      attr("forward_to", list(ref("loki.process.levels.receiver"))),
    ]),

    comment("The systemd journal: needs /var/log/journal, /run/log/journal and /etc/machine-id mounted."),
    block("loki.relabel", "journal", [
      attr("forward_to", list()),
      relabelRule({ source_labels: ["__journal__systemd_unit"], target_label: "unit" }),
      relabelRule({ source_labels: ["__journal_priority_keyword"], target_label: "level" }),
    ]),
    block("loki.source.journal", "system", [
      attr("max_age", str("12h")),
      attr("labels", stringMap({ source: "journal" })),
      attr("relabel_rules", ref("loki.relabel.journal.rules")),
      attr("forward_to", list(ref("loki.process.levels.receiver"))),
    ]),

    comment("Level from the line where it can be parsed; the journal's comes from its priority."),
    block("loki.process", "levels", [
      attr("forward_to", list(ref("loki.write.monitor.receiver"))),
      block("stage.match", undefined, [
        attr("selector", str('{source=~"docker|file"}')),
        // Later stages win: a keyed level (JSON/logfmt) overrides a bare upper-case word.
        block("stage.regex", undefined, [attr("expression", str(BRACKETED_LEVEL))]),
        block("stage.regex", undefined, [attr("expression", str(KEYED_LEVEL))]),
      ]),
      block("stage.labels", undefined, [attr("values", stringMap({ level: "" }))]),
      block("stage.match", undefined, [
        attr("selector", str('{level=~".+"}')),
        block("stage.template", undefined, [
          attr("source", str("level")),
          attr("template", str(NORMALISE_LEVEL)),
        ]),
        block("stage.labels", undefined, [attr("values", stringMap({ level: "" }))]),
      ]),
    ]),

    comment(
      input.pushAuth
        ? "Push through the monitor's gateway, as this host (its password is read from a file)."
        : "Push to Loki on the monitor's compose network.",
    ),
    block("loki.write", "monitor", [
      block("endpoint", undefined, [
        attr("url", str(input.lokiPushUrl)),
        ...(input.pushAuth ? [basicAuth(input.pushAuth)] : []),
      ]),
      attr(
        "external_labels",
        input.hostFromEnvironment === undefined
          ? stringMap({ host: input.host, environment: input.environment })
          : obj({ host: hostLabel(input), environment: str(input.environment) }),
      ),
    ]),
  ];
}

/** Alloy component label for a job (labels are identifiers: letters, digits, underscores). */
function componentLabel(job: string): string {
  return job.replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * The pull Prometheus would do, done on the host: one scrape per job on the host's loopback,
 * labelled like Prometheus' host jobs, remote-written through the gateway as this host.
 */
export function metricsPushStatements(push: MetricsPush, auth: PushAuth): AlloyStatement[] {
  return [
    comment("Local agents, scraped here and pushed: nothing on this host listens beyond 127.0.0.1."),
    ...push.jobs.map((job) =>
      block("prometheus.scrape", componentLabel(job.job), [
        attr("targets", list(obj({ __address__: str(job.address), ...mapValues(job.labels) }))),
        attr("job_name", str(job.job)),
        ...(job.metricsPath ? [attr("metrics_path", str(job.metricsPath))] : []),
        attr("scrape_interval", str(push.scrapeInterval)),
        attr("sample_limit", num(job.sampleLimit)),
        attr("forward_to", list(ref("prometheus.remote_write.monitor.receiver"))),
      ]),
    ),
    block("prometheus.remote_write", "monitor", [
      block("endpoint", undefined, [attr("url", str(push.url)), basicAuth(auth)]),
    ]),
  ];
}

function mapValues(values: Readonly<Record<string, string>>): Record<string, ReturnType<typeof str>> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, str(value)]));
}

/** The `host` label's value: the name, or the environment variable's value read at start. */
function hostLabel(input: AlloyConfigInput): AlloyExpression {
  return input.hostFromEnvironment === undefined
    ? str(input.host)
    : call("sys.env", str(input.hostFromEnvironment));
}

export function renderAlloyConfig(input: AlloyConfigInput): string {
  const traces = input.tempoEndpoint ? alloyTraceStatements(hostLabel(input), input.tempoEndpoint) : [];
  const metrics =
    input.metricsPush && input.pushAuth ? metricsPushStatements(input.metricsPush, input.pushAuth) : [];
  return printAlloy([...alloyConfigStatements(input), ...traces, ...metrics]);
}

export interface AlloyServiceOptions {
  readonly bindAddress?: string;
  /** Compose secrets Alloy reads (a pushing host's password). */
  readonly secrets?: readonly string[];
  /**
   * Publish the metrics port on the host (clients: Prometheus scrapes the host's private IP).
   * The monitor's Prometheus reaches Alloy on the compose network instead.
   */
  readonly publishMetricsPort?: boolean;
  /** Traces on: publish the OTLP receiver's ports on the host's 127.0.0.1 (never wider). */
  readonly otlp?: boolean;
  /**
   * Hosts outside AWS: run in the host's network and listen on 127.0.0.1 only, so Alloy reaches
   * the agents' loopback ports and publishes nothing.
   */
  readonly hostLoopback?: boolean;
  /** Environment variables of the container (compose interpolates `${...}` in the values). */
  readonly environment?: Readonly<Record<string, string>>;
}

function alloyFlags(options: { readonly hostLoopback?: boolean } = {}): string[] {
  return [
    "run",
    // Its own metrics and UI: for Prometheus to scrape (reachable from the monitor only), or on an
    // outside host's loopback, where the host's own Alloy scrapes it.
    `--server.http.listen-addr=${options.hostLoopback ? "127.0.0.1" : "0.0.0.0"}:${AGENT_PORTS.alloy}`,
    `--storage.path=${ALLOY_STORAGE_PATH}`,
    "--disable-reporting",
    ALLOY_CONFIG_PATH,
  ];
}

/** Named volume holding Alloy's positions and WAL. */
export const ALLOY_DATA_VOLUME = "alloy-data";

export function alloyService(options: AlloyServiceOptions = {}): ComposeService {
  const publish = (options.publishMetricsPort ?? true) && !options.hostLoopback;
  return {
    image: IMAGES.alloy,
    container_name: "alloy",
    restart: "unless-stopped",
    // Root inside the container: auth.log is root:adm 0640 and the journal is group-restricted.
    // Docker it reads only through the socket proxy (containers and logs, read-only).
    user: "0",
    command: alloyFlags({ hostLoopback: options.hostLoopback }),
    ...(options.hostLoopback ? { network_mode: "host" } : {}),
    ...(publish || options.otlp
      ? {
          ports: [
            ...(publish
              ? [publishedPort(AGENT_PORTS.alloy, options.bindAddress ?? DEFAULT_BIND_ADDRESS)]
              : []),
            ...(options.otlp && !options.hostLoopback
              ? Object.values(OTLP_PORTS).map((port) => `127.0.0.1:${port}:${port}`)
              : []),
          ],
        }
      : {}),
    // The config *directory*: the deploy renames a new config.alloy into place, which a file bind
    // mount would hide (it keeps the old inode); through a directory mount `POST /-/reload` sees it.
    volumes: [
      `./${ALLOY_CONFIG_DIR}:${ALLOY_CONTAINER_CONFIG_DIR}:ro`,
      `${ALLOY_DATA_VOLUME}:${ALLOY_STORAGE_PATH}`,
      // The proxy's filtered socket, not Docker's own (docker-socket-proxy.ts).
      `${SOCKET_PROXY_VOLUME}:${SOCKET_PROXY_DIR}:ro`,
      "/var/log:/var/log:ro",
      "/var/log/journal:/var/log/journal:ro",
      "/run/log/journal:/run/log/journal:ro",
      "/etc/machine-id:/etc/machine-id:ro",
    ],
    ...(options.secrets && options.secrets.length > 0 ? { secrets: options.secrets } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    labels: { [IMAGE_LABEL]: IMAGES.alloy },
    logging: ROTATED_JSON_LOGS,
  };
}
