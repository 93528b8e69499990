/**
 * `npm run local -- up|down|status|render [--dir DIR] [--images FILE] [--keep-files]`: the monitor
 * bundle on this machine's Docker, to try the product without AWS (Docker with compose v2 and
 * Node only; no Pulumi CLI, no AWS account).
 *
 * The files are rendered by the same renderers as an AWS monitor (configs/host-files.ts), for the
 * dev stack's settings with no clients, no outside hosts and no notification channel. What makes
 * the local target differ from an AWS monitor is all in `localFiles`:
 *   - every published port on 127.0.0.1 (Grafana 3000, Prometheus 9090, Alertmanager 9093, the
 *     push gateway 3101, which admits nobody here: there are no pushing hosts);
 *   - Loki stores chunks on its own volume (no bucket); every service's state in a named volume;
 *   - the node exporter on the compose network (Prometheus scrapes it by name) instead of the
 *     host network, so that nothing listens on the machine's other interfaces;
 *   - no process exporter: the trial watches its containers, not this machine (in the host's PID
 *     namespace it would list every process of the machine, or of Docker Desktop's VM), so
 *     Prometheus has no `process` target here;
 *   - secret files under DIR/secrets (the directory 0700; the files 0444, since containers run
 *     as their own users and cannot be given the files' ownership without root).
 *   - a mail catcher (Mailpit, http://127.0.0.1:8025): Alertmanager's email receiver sends there,
 *     so FIRING and RESOLVED mails can be read locally; nothing is sent off the machine.
 * Grafana's admin password: OBSERVABILITY_LOCAL_GRAFANA_PASSWORD, else generated once and kept in
 * DIR/secrets/grafana_admin_password (never printed).
 *
 * `--images FILE`: a JSON image map (configs/images.ts ImageMap), for running on images built
 * elsewhere (the tests' obs-test/ images). `--keep-files`: `up` uses the files already in DIR.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import { IMAGE_LABEL, ROTATED_JSON_LOGS } from "../configs/agents/compose-types";
import { PROCESS_EXPORTER_CONFIG_FILE } from "../configs/agents/process-exporter";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { CLOUD_INIT_FILE, monitorFiles } from "../configs/host-files";
import { type ImageMap, LOCAL_STACK_IMAGES } from "../configs/images";
import { renderLokiConfig } from "../configs/loki";
import { MONITOR_SECRETS_DIR, monitorSecretFiles } from "../configs/monitor-compose";
import { renderPrometheusConfig } from "../configs/prometheus";
import type { StackConfig } from "../lib/stack-config";
import { loadStackConfigFromFiles } from "../lib/stack-files";

const ROOT = join(__dirname, "..");
const DEFAULT_DIR = join(ROOT, ".local-stack");
const LOCAL_ADDRESS = "127.0.0.1";
const WAIT_SECONDS = 300;
const PASSWORD_ENV = "OBSERVABILITY_LOCAL_GRAFANA_PASSWORD";

/** Compose service name of the mail catcher. */
const MAIL_CATCHER = "mailpit";

/** The dev stack's settings for one machine: no hosts to scrape but itself, mail to the catcher. */
function localStackConfig(): StackConfig {
  const dev = loadStackConfigFromFiles("dev", ROOT, { requireSecrets: false, exporters: EXPORTER_SETTINGS });
  return {
    ...dev,
    stack: "local",
    clients: [],
    externalHosts: [],
    alerting: {
      ...dev.alerting,
      // The mail catcher advertises no AUTH, so Alertmanager sends without logging in.
      email: {
        to: ["oncall@localhost"],
        from: "alertmanager@localhost",
        smarthost: `${MAIL_CATCHER}:1025`,
        username: "local",
        requireTls: false,
      },
      slack: undefined,
      pagerduty: false,
      heartbeat: false,
    },
    grafana: { ...dev.grafana, rootUrl: `http://${LOCAL_ADDRESS}:3000/` },
  };
}

/** The monitor's process exporter service (configs/monitor-compose.ts), which the trial leaves out. */
const PROCESS_EXPORTER_SERVICE = "process-exporter";

interface ComposeDocument {
  services: Record<string, Record<string, unknown>>;
  volumes?: Record<string, Record<string, never>>;
  secrets?: Record<string, { file: string }>;
}

/** Relative path -> content for DIR: the monitor's files, adapted to this machine (see above). */
function localFiles(config: StackConfig, images: ImageMap | undefined): Record<string, string> {
  const {
    [CLOUD_INIT_FILE]: _userData,
    [PROCESS_EXPORTER_CONFIG_FILE]: _processes,
    ...files
  } = monitorFiles(config, {
    monitorPrivateIp: LOCAL_ADDRESS,
    grafanaUrl: `http://${LOCAL_ADDRESS}:3000/`,
    images,
  });
  const compose = parse(files[COMPOSE_FILE] as string) as ComposeDocument;
  const volumes: Record<string, Record<string, never>> = { ...(compose.volumes ?? {}) };
  for (const [name, service] of Object.entries(compose.services)) {
    if (Array.isArray(service.ports)) {
      service.ports = (service.ports as string[]).map((port) => port.replace(/^[^:]+:/, `${LOCAL_ADDRESS}:`));
    }
    if (Array.isArray(service.volumes)) {
      service.volumes = (service.volumes as string[]).map((volume) => {
        const match = /^\/srv\/observability\/([a-z-]+):(.*)$/.exec(volume);
        if (!match) return volume;
        volumes[`${match[1]}-data`] = {};
        return `${match[1]}-data:${match[2]}`;
      });
    }
    if (name === "node-exporter") {
      delete service.network_mode;
    }
    delete service.extra_hosts;
  }
  delete compose.services[PROCESS_EXPORTER_SERVICE];
  compose.volumes = volumes;
  const mailCatcher = images?.[LOCAL_STACK_IMAGES.mailCatcher] ?? LOCAL_STACK_IMAGES.mailCatcher;
  compose.services[MAIL_CATCHER] = {
    image: mailCatcher,
    container_name: MAIL_CATCHER,
    restart: "unless-stopped",
    ports: [`${LOCAL_ADDRESS}:8025:8025`],
    labels: { [IMAGE_LABEL]: mailCatcher },
    logging: ROTATED_JSON_LOGS,
  };
  for (const secret of Object.values(compose.secrets ?? {})) {
    secret.file = `./secrets/${secret.file.slice(MONITOR_SECRETS_DIR.length + 1)}`;
  }
  return {
    ...files,
    [COMPOSE_FILE]: stringify(compose, {
      lineWidth: 0,
      defaultStringType: "QUOTE_DOUBLE",
      defaultKeyType: "PLAIN",
    }),
    // Node exporter by its compose name, like the other agents (configs/prometheus.ts defaults);
    // no process exporter target (see above).
    "prometheus/prometheus.yml": renderPrometheusConfig(config, { processExporter: undefined }),
    "loki/loki.yml": renderLokiConfig(config, { storage: "filesystem" }),
  };
}

interface Options {
  readonly command: string;
  readonly dir: string;
  readonly images?: ImageMap;
  readonly keepFiles: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let dir = DEFAULT_DIR;
  let images: ImageMap | undefined;
  let keepFiles = false;
  const commands: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === "--dir") dir = resolve(argv[++index] ?? "");
    else if (arg === "--images") images = JSON.parse(readFileSync(argv[++index] ?? "", "utf8")) as ImageMap;
    else if (arg === "--keep-files") keepFiles = true;
    else commands.push(arg);
  }
  const command = commands[0] ?? "";
  if (!["up", "down", "status", "render"].includes(command) || commands.length > 1) {
    throw new Error(
      "usage: npm run local -- up|down|status|render [--dir DIR] [--images FILE] [--keep-files]",
    );
  }
  return { command, dir, images, keepFiles };
}

function writeFiles(dir: string, config: StackConfig, images: ImageMap | undefined): void {
  for (const [path, content] of Object.entries(localFiles(config, images))) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const secrets = join(dir, "secrets");
  mkdirSync(secrets, { recursive: true });
  chmodSync(secrets, 0o700);
  for (const file of monitorSecretFiles(config)) {
    const path = join(secrets, file.name);
    const given = file.name === "grafana_admin_password" ? process.env[PASSWORD_ENV] : undefined;
    if (given !== undefined && given !== "") {
      rmSync(path, { force: true });
      writeFileSync(path, given, { mode: 0o444 });
    } else if (!existsSync(path)) {
      writeFileSync(path, randomBytes(24).toString("base64url"), { mode: 0o444 });
    }
  }
}

function compose(dir: string, args: readonly string[]): number {
  const result = spawnSync(
    "docker",
    ["compose", "--project-directory", dir, "-f", join(dir, COMPOSE_FILE), ...args],
    {
      stdio: "inherit",
    },
  );
  if (result.error)
    throw new Error(`docker could not be started (${result.error.message}): install Docker with compose v2`);
  return result.status ?? 1;
}

function main(): number {
  const options = parseArgs(process.argv.slice(2));
  const { dir } = options;
  switch (options.command) {
    case "render":
      writeFiles(dir, localStackConfig(), options.images);
      console.log(`rendered the local stack into ${dir}`);
      return 0;
    case "up": {
      if (!options.keepFiles || !existsSync(join(dir, COMPOSE_FILE)))
        writeFiles(dir, localStackConfig(), options.images);
      const status = compose(dir, [
        "up",
        "--detach",
        "--remove-orphans",
        "--wait",
        "--wait-timeout",
        String(WAIT_SECONDS),
      ]);
      if (status !== 0) return status;
      console.log(
        [
          "",
          `Grafana:      http://${LOCAL_ADDRESS}:3000  (user admin; password: cat ${join(dir, "secrets", "grafana_admin_password")})`,
          `Prometheus:   http://${LOCAL_ADDRESS}:9090`,
          `Alertmanager: http://${LOCAL_ADDRESS}:9093`,
          `Alert mail:   http://${LOCAL_ADDRESS}:8025  (the mail catcher; nothing leaves this machine)`,
          `Stop: npm run local -- down${dir === DEFAULT_DIR ? "" : ` --dir ${dir}`}`,
        ].join("\n"),
      );
      return 0;
    }
    case "down":
      if (!existsSync(join(dir, COMPOSE_FILE))) {
        console.log(`no local stack in ${dir}`);
        return 0;
      }
      return compose(dir, ["down", "--remove-orphans"]);
    default:
      if (!existsSync(join(dir, COMPOSE_FILE))) {
        console.log(`no local stack in ${dir}`);
        return 3;
      }
      return compose(dir, ["ps"]);
  }
}

try {
  process.exitCode = main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
