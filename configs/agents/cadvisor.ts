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
 * Metric groups left off: per-CPU and scheduler/TCP/UDP detail multiply series per container and
 * no dashboard or alert here reads them. cpu, memory, network, disk, diskIO and oom stay on.
 */
export const CADVISOR_DISABLED_METRICS = [
  "advtcp",
  "cpu_topology",
  "cpuset",
  "hugetlb",
  "memory_numa",
  "percpu",
  "perf_event",
  "referenced_memory",
  "resctrl",
  "sched",
  "tcp",
  "udp",
] as const;

/** Container labels kept on cAdvisor series (others are dropped to bound cardinality). */
export const CADVISOR_KEPT_CONTAINER_LABELS = [
  "com.docker.compose.project",
  "com.docker.compose.service",
] as const;

export function cadvisorFlags(): string[] {
  return [
    `--port=${AGENT_PORTS.cadvisor}`,
    // Only Docker containers, not every systemd slice and scope on the host.
    "--docker_only=true",
    "--housekeeping_interval=30s",
    "--max_housekeeping_interval=60s",
    `--disable_metrics=${CADVISOR_DISABLED_METRICS.join(",")}`,
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
