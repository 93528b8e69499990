/**
 * cAdvisor: per-container CPU, memory, network and disk. It listens on AGENT_PORTS.cadvisor
 * instead of its default 8080, which Jenkins uses.
 */
import { AGENT_PORTS } from "../../lib/catalog";
import { IMAGES } from "../images";
import {
  type AgentListenOptions,
  type ComposeService,
  IMAGE_LABEL,
  publishedPort,
  ROTATED_JSON_LOGS,
} from "./compose-types";

/**
 * The metric kinds cAdvisor collects, and only these: `--enable_metrics` overrides
 * `--disable_metrics` and cAdvisor's default list, so no kind is on by omission (a
 * `--disable_metrics` list replaces the default one, and any kind it forgets, such as `process`,
 * comes back on). What the containers dashboard and alerts read, plus per-container disk usage.
 * Per-CPU, scheduler, process, TCP/UDP, pressure and the rest stay off: they multiply series per
 * container and nothing here reads them.
 */
const CADVISOR_ENABLED_METRICS = ["cpu", "memory", "network", "disk", "diskIO", "oom_event"] as const;

/** Container labels kept on cAdvisor series (others are dropped to bound cardinality). */
export const CADVISOR_KEPT_CONTAINER_LABELS = [
  "com.docker.compose.project",
  "com.docker.compose.service",
] as const;

function cadvisorFlags(): string[] {
  return [
    `--port=${AGENT_PORTS.cadvisor}`,
    // Only Docker containers, not every systemd slice and scope on the host.
    "--docker_only=true",
    "--housekeeping_interval=30s",
    "--max_housekeeping_interval=60s",
    `--enable_metrics=${CADVISOR_ENABLED_METRICS.join(",")}`,
    "--store_container_labels=false",
    `--whitelisted_container_labels=${CADVISOR_KEPT_CONTAINER_LABELS.join(",")}`,
  ];
}

export function cadvisorService(options: AgentListenOptions = {}): ComposeService {
  return {
    image: IMAGES.cadvisor,
    container_name: "cadvisor",
    restart: "unless-stopped",
    command: cadvisorFlags(),
    // cAdvisor reads cgroups, /dev/kmsg (OOM events) and Docker's state: the documented setup.
    privileged: true,
    devices: ["/dev/kmsg"],
    ports: [publishedPort(AGENT_PORTS.cadvisor, options.bindAddress)],
    volumes: [
      "/:/rootfs:ro",
      "/var/run:/var/run:ro",
      "/sys:/sys:ro",
      "/var/lib/docker/:/var/lib/docker:ro",
      "/dev/disk/:/dev/disk:ro",
    ],
    labels: { [IMAGE_LABEL]: IMAGES.cadvisor },
    logging: ROTATED_JSON_LOGS,
  };
}
