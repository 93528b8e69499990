/**
 * The push gateway on the monitor: a pinned nginx, the only way from outside the compose network
 * to Loki (and, for hosts that push metrics, to Prometheus' remote-write receiver). It answers:
 *
 *   POST <push path>   with valid per-host Basic credentials: proxied to the service, on a fixed
 *                      upstream path (nothing of the client's path or query string is passed on).
 *                      Loki's push API: every pushing host (the logs hash file). Prometheus'
 *                      remote-write receiver: only the hosts outside AWS, which push their metrics
 *                      (the metrics hash file lists only them; an EC2 client's password is refused)
 *   other methods      on a push path: 403 (`limit_except`), after the credentials check
 *   anything else      404, without looking at credentials: queries, the delete API,
 *                      /ingester/shutdown, /-/reload, /metrics, the UI
 *   no or wrong credentials: 401
 *
 * Credentials: one user per pushing host (its name) with a 48-character random password the
 * program generates (components/push-credentials.ts); the monitor holds only their sha512-crypt
 * hashes (`htpasswd` files, 0400 secret files the gateway's user reads: every host's for logs,
 * the outside hosts' for metrics), each host only its own password (a 0400 secret file its Alloy
 * reads). nginx re-reads the hash files on every request, so a replaced password, an added or a
 * removed host is in force as soon as the deploy has written the new files, without a restart.
 *
 * What it does not do: look inside the pushed body. A host's credentials admit any labels it puts
 * on its lines and series, including another host's `host` label. The gateway logs every refused
 * request with the user name and address; docs/security.md says what is left to the operator.
 *
 * The config is built as data (configs/nginx-syntax.ts) and printed with escaping.
 */
import { MONITOR_PORTS } from "../lib/catalog";
import { sha512Crypt } from "../lib/sha-crypt";
import { HOST_NAME_PATTERN } from "../lib/stack-config/values";
import {
  blockDirective,
  directive,
  entry,
  type NginxStatement,
  nginxComment,
  printNginx,
  template,
  variable,
} from "./nginx-syntax";

/** The gateway's program (the compose entrypoint and the deploy's config check). */
export const GATEWAY_BINARY = "nginx";

/** Compose service (and container) name of the gateway on the monitor. */
export const GATEWAY_SERVICE = "gateway";

/** The gateway's files: relative to the monitor's compose file, and inside the container. */
export const GATEWAY_CONFIG_DIR = "gateway";
export const GATEWAY_CONFIG_FILE = `${GATEWAY_CONFIG_DIR}/nginx.conf`;
export const GATEWAY_CONTAINER_CONFIG_DIR = "/etc/gateway";
export const GATEWAY_CONTAINER_CONFIG_PATH = `${GATEWAY_CONTAINER_CONFIG_DIR}/nginx.conf`;

/**
 * UID:GID the gateway runs as: the nginx image's `nginx` user. The whole of nginx runs
 * unprivileged (a port above 1024, pid and temp files in a tmpfs) and owns the hash file. It keeps
 * no state, so it has no data directory (unlike MONITOR_CONTAINER_USERS' services).
 */
export const GATEWAY_USER = "101:101";

/** Compose secret with the hashes of every pushing host's password (mounted at /run/secrets/<name>). */
export const GATEWAY_HTPASSWD_SECRET = "push_htpasswd";

/** Compose secret with the hashes of the hosts that may write metrics: the hosts outside AWS. */
export const GATEWAY_METRICS_HTPASSWD_SECRET = "push_htpasswd_metrics";

/** Scratch space for the pid file and nginx's temp directories (a tmpfs in the container). */
export const GATEWAY_RUNTIME_DIR = "/tmp";

/** Docker's embedded DNS: upstreams are looked up by service name on every request. */
const DOCKER_DNS_RESOLVER = "127.0.0.11";

/** Largest push body accepted (Alloy's batches are 1 MiB by default; remote write is smaller). */
const GATEWAY_MAX_BODY = "16m";

/**
 * sha512-crypt rounds for the stored hashes: the scheme's minimum. The passwords are 48 random
 * alphanumerics (about 285 bits), which no number of rounds makes harder to guess; rounds only
 * cost CPU, and nginx hashes on every request.
 */
const PUSH_HASH_ROUNDS = 1000;

/** Length of the generated push passwords and of their salts. */
export const PUSH_PASSWORD_LENGTH = 48;
export const PUSH_SALT_LENGTH = 16;

/** One path the gateway forwards: what clients send to, and where it goes on the compose network. */
export interface PushRoute {
  /** What the gateway's variable for the upstream is called (`<name>_push`). */
  readonly name: string;
  /** The exact path clients POST to. */
  readonly path: string;
  /** Full upstream URL: the service by compose name, and the fixed path it receives. */
  readonly upstream: string;
  /** Which hash file admits its users: every pushing host's, or the metrics writers'. */
  readonly users: "every-host" | "metrics-writers";
}

/** Loki's push API, the only Loki path outside hosts reach. */
export const LOKI_PUSH_PATH = "/loki/api/v1/push";

const LOKI_PUSH_ROUTE: PushRoute = {
  name: "loki",
  path: LOKI_PUSH_PATH,
  upstream: `http://loki:${MONITOR_PORTS.loki}${LOKI_PUSH_PATH}`,
  users: "every-host",
};

/** Prometheus' remote-write receiver: how hosts outside AWS deliver their metrics. */
export const PROMETHEUS_WRITE_PATH = "/api/v1/write";

const PROMETHEUS_WRITE_ROUTE: PushRoute = {
  name: "prometheus",
  path: PROMETHEUS_WRITE_PATH,
  upstream: `http://prometheus:${MONITOR_PORTS.prometheus}${PROMETHEUS_WRITE_PATH}`,
  users: "metrics-writers",
};

/** Every route the gateway serves. */
function pushRoutes(): PushRoute[] {
  return [LOKI_PUSH_ROUTE, PROMETHEUS_WRITE_ROUTE];
}

export interface GatewayConfigInput {
  readonly routes: readonly PushRoute[];
  /** `[address:]port` nginx listens on inside the container. */
  readonly listen: string;
  /** The hash files: every pushing host's, and the metrics writers' (the hosts outside AWS). */
  readonly htpasswdPath: string;
  readonly metricsHtpasswdPath: string;
  readonly resolver: string;
  readonly runtimeDir: string;
  /** Where refused requests are logged (the container's stdout, so Docker and Alloy see them). */
  readonly accessLog: string;
}

/** The inputs the monitor's gateway runs with. */
function gatewayConfigInput(): GatewayConfigInput {
  return {
    routes: pushRoutes(),
    listen: String(MONITOR_PORTS.gateway),
    htpasswdPath: `/run/secrets/${GATEWAY_HTPASSWD_SECRET}`,
    metricsHtpasswdPath: `/run/secrets/${GATEWAY_METRICS_HTPASSWD_SECRET}`,
    resolver: DOCKER_DNS_RESOLVER,
    runtimeDir: GATEWAY_RUNTIME_DIR,
    accessLog: "/dev/stdout",
  };
}

/** Fields of the JSON access log line (nginx variable per field). */
const ACCESS_LOG_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["time", "time_iso8601"],
  ["client", "remote_addr"],
  ["user", "remote_user"],
  ["method", "request_method"],
  ["path", "uri"],
  ["status", "status"],
  ["bytes", "request_length"],
];

function accessLogFormat(): NginxStatement {
  const parts: (string | { variable: string })[] = ["{"];
  ACCESS_LOG_FIELDS.forEach(([field, name], index) => {
    parts.push(`${index === 0 ? "" : ","}"${field}":"`, { variable: name }, '"');
  });
  parts.push("}");
  return directive("log_format", "gateway", "escape=json", template(...parts));
}

function routeLocation(route: PushRoute, input: GatewayConfigInput): NginxStatement {
  const upstreamVariable = `${route.name}_push`;
  return blockDirective(
    "location",
    ["=", route.path],
    [
      directive("auth_basic", "observability push"),
      directive(
        "auth_basic_user_file",
        route.users === "every-host" ? input.htpasswdPath : input.metricsHtpasswdPath,
      ),
      blockDirective("limit_except", ["POST"], [directive("deny", "all")]),
      // Through a variable, so the name is resolved per request (a recreated container gets a
      // new address), and with a path of its own, so the upstream sees only that path.
      directive("set", variable(upstreamVariable), route.upstream),
      directive("proxy_pass", variable(upstreamVariable)),
      // The upstream never sees the credentials, nor a tenant the client chose.
      directive("proxy_set_header", "Authorization", ""),
      directive("proxy_set_header", "X-Scope-OrgID", ""),
    ],
  );
}

/** The whole nginx.conf as a tree (tests parse the printed file back into this). */
function gatewayConfigStatements(input: GatewayConfigInput): NginxStatement[] {
  const runtime = input.runtimeDir.replace(/\/+$/, "");
  return [
    nginxComment("Push gateway. Rendered by configs/gateway.ts; edit the code, not this file."),
    directive("daemon", "off"),
    directive("worker_processes", "auto"),
    directive("pid", `${runtime}/nginx.pid`),
    directive("error_log", "stderr", "warn"),
    blockDirective("events", [], [directive("worker_connections", 1024)]),
    blockDirective(
      "http",
      [],
      [
        directive("server_tokens", "off"),
        directive("resolver", input.resolver, "valid=10s", "ipv6=off"),
        directive("resolver_timeout", "5s"),
        directive("client_max_body_size", GATEWAY_MAX_BODY),
        directive("client_body_buffer_size", "1m"),
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) =>
          directive(`${kind}_temp_path`, `${runtime}/${kind}`),
        ),
        nginxComment("Only refused requests are logged (who, from where, what, which status)."),
        blockDirective(
          "map",
          [variable("status"), variable("gateway_refused")],
          [entry("~^[23]", 0), entry("default", 1)],
        ),
        accessLogFormat(),
        directive("access_log", input.accessLog, "gateway", template("if=", { variable: "gateway_refused" })),
        blockDirective(
          "server",
          [],
          [
            directive("listen", input.listen),
            ...input.routes.map((route) => routeLocation(route, input)),
            nginxComment("Everything else, with or without credentials."),
            blockDirective("location", ["/"], [directive("return", 404)]),
          ],
        ),
      ],
    ),
  ];
}

export function renderGatewayConfig(input: GatewayConfigInput = gatewayConfigInput()): string {
  return printNginx(gatewayConfigStatements(input));
}

/** One pushing host's credentials as the gateway stores them. */
export interface PushCredential {
  /** The host's name: its Basic user name. */
  readonly user: string;
  readonly password: string;
  /** sha512-crypt salt, kept in state so the hash (and the file) only change with the password. */
  readonly salt: string;
}

/** The gateway's hash file: `user:$6$...` per host, sorted by user. */
export function renderHtpasswd(credentials: readonly PushCredential[]): string {
  const seen = new Set<string>();
  const lines = [...credentials]
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    .map((credential) => {
      if (!HOST_NAME_PATTERN.test(credential.user)) {
        throw new Error(`"${credential.user}" cannot be a push user name (host names only)`);
      }
      if (seen.has(credential.user)) throw new Error(`push user "${credential.user}" is listed twice`);
      seen.add(credential.user);
      return `${credential.user}:${sha512Crypt(credential.password, credential.salt, PUSH_HASH_ROUNDS)}`;
    });
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Compose secret holding a host's own push password, for its Alloy (`basic_auth.password_file`). */
export const PUSH_PASSWORD_SECRET = "push_password";
