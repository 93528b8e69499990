/**
 * What the deploy knows of each service, by compose service name: the tool that checks its config
 * before the swap, whether it reads its secret files live, where it says it is ready after a
 * restart, and whether it reloads its config over HTTP. configs/deploy-plan.ts reads these to
 * plan a host's steps; configs/deploy-scripts.ts renders them.
 */
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import { ALERTMANAGER_PATHS } from "./alertmanager";
import { BLACKBOX_CONFIG_FILE, BLACKBOX_SERVICE } from "./blackbox";
import { GATEWAY_BINARY, GATEWAY_CONTAINER_CONFIG_PATH, GATEWAY_SERVICE } from "./gateway";
import { IMAGES } from "./images";
import { LOKI_CONFIG_PATH } from "./loki";
import { PROMETHEUS_CONFIG_PATH } from "./prometheus";

/** A config check run inside the service's own pinned image on the staged files, before the swap. */
export interface ConfigCheck {
  readonly entrypoint: string;
  readonly args: readonly string[];
}

/** Services whose config is checked by their own tool before it replaces the running one. */
export const CONFIG_CHECKS: Readonly<Record<string, ConfigCheck>> = {
  prometheus: { entrypoint: "promtool", args: ["check", "config", PROMETHEUS_CONFIG_PATH] },
  alertmanager: { entrypoint: "amtool", args: ["check-config", ALERTMANAGER_PATHS.configFile] },
  [BLACKBOX_SERVICE]: {
    entrypoint: "blackbox_exporter",
    args: ["--config.check", `--config.file=${BLACKBOX_CONFIG_FILE}`],
  },
  // Loki parses and validates the file (strict YAML: an unknown key fails) and exits.
  loki: { entrypoint: "loki", args: [`-config.file=${LOKI_CONFIG_PATH}`, "-verify-config"] },
  // Syntax and directives only: the hash file is read per request, not at start.
  [GATEWAY_SERVICE]: {
    entrypoint: GATEWAY_BINARY,
    args: ["-t", "-e", "stderr", "-c", GATEWAY_CONTAINER_CONFIG_PATH],
  },
};

/**
 * Services that read their secret files on every use (nginx opens the gateway's hash file per
 * request). put_secret rewrites a file in place, so the running container sees the new content:
 * they are never recreated for a secret change (a host added or removed changes the hashes).
 */
export const SECRETS_READ_LIVE: ReadonlySet<string> = new Set([GATEWAY_SERVICE]);

/**
 * Where each service says it is ready (a 2xx answer): after a restart the deploy waits for it,
 * and rolls back when it does not come. Grafana's /api/health answers once its database is
 * migrated and provisioning loaded; Loki's /ready once its ring is joined. The gateway has no
 * readiness path of its own (everything but the push path is a 404): any HTTP answer on its port
 * means nginx is serving with the new config (`anyAnswer`).
 *
 * A service that publishes the port is probed from the host's loopback with curl; one that does
 * not (Loki, behind the gateway) from a throwaway container on the compose network, by its
 * service name, with READINESS_PROBE_IMAGE's wget.
 */
export const READINESS_ENDPOINTS: Readonly<
  Record<string, { readonly port: number; readonly path: string; readonly anyAnswer?: true }>
> = {
  prometheus: { port: MONITOR_PORTS.prometheus, path: "/-/ready" },
  alertmanager: { port: MONITOR_PORTS.alertmanager, path: "/-/ready" },
  loki: { port: MONITOR_PORTS.loki, path: "/ready" },
  grafana: { port: MONITOR_PORTS.grafana, path: "/api/health" },
  [GATEWAY_SERVICE]: { port: MONITOR_PORTS.gateway, path: "/", anyAnswer: true },
  alloy: { port: AGENT_PORTS.alloy, path: "/-/ready" },
  "process-exporter": { port: AGENT_PORTS.processExporter, path: "/metrics" },
};

/**
 * The image whose wget probes a service that publishes no port, over the compose network: the
 * pinned Prometheus image (busybox wget; its own healthcheck uses it). Used only on a host whose
 * compose file runs it, so the image is already there and nothing is pulled.
 */
export const READINESS_PROBE_IMAGE = IMAGES.prometheus;

/** How long a restarted service may take to answer its readiness endpoint (tries 2 s apart). */
export const READY_TIMEOUT_SECONDS = 180;

/**
 * Services that re-read their config on `POST /-/reload` and answer non-2xx when it is rejected
 * (then they keep running the last valid config, and the deploy rolls the files back).
 * Prometheus needs --web.enable-lifecycle; Alloy serves it on its HTTP port.
 */
export const RELOADABLE_SERVICES: Readonly<Record<string, number>> = {
  prometheus: MONITOR_PORTS.prometheus,
  alertmanager: MONITOR_PORTS.alertmanager,
  alloy: AGENT_PORTS.alloy,
};
