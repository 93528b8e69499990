/**
 * Process exporter: per-daemon CPU, memory, file descriptors and counts.
 *
 * process-exporter gives each process to the FIRST rule that matches it, so the named daemons
 * come first and a single catch-all, grouping everything else by command name, comes last (a
 * catch-all first would take every process and leave no daemon a group of its own).
 */
import { stringify } from "yaml";
import { AGENT_PORTS } from "../../lib/catalog";
import { EXPORTERS } from "../exporters";
import type { ExporterProcessGroup } from "../exporters/types";
import { IMAGES } from "../images";
import {
  type AgentListenOptions,
  type ComposeService,
  IMAGE_LABEL,
  publishedPort,
  ROTATED_JSON_LOGS,
} from "./compose-types";

/** One rule of process-exporter's `process_names`; all matchers given must match. */
export interface ProcessNameRule {
  /** Group name, or a template such as `{{.Comm}}`. */
  readonly name: string;
  /** Exact values of /proc/PID/comm (the kernel truncates it to 15 characters). */
  readonly comm?: readonly string[];
  /** Executable basenames (or full paths when they contain a slash). */
  readonly exe?: readonly string[];
  /** Regular expressions that must all match the space-joined command line. */
  readonly cmdline?: readonly string[];
}

interface ProcessExporterConfig {
  readonly process_names: readonly ProcessNameRule[];
}

/** The kernel keeps at most 15 bytes of a command name in /proc/PID/comm. */
const COMM_MAX_LENGTH = 15;

/** How a command name appears in /proc/PID/comm. */
function commOf(executableName: string): string {
  return executableName.slice(0, COMM_MAX_LENGTH);
}

/** A group of an optional exporter's service, as process-exporter reads it. */
function exporterGroupRule({ beforeGeneralGroups: _order, ...rule }: ExporterProcessGroup): ProcessNameRule {
  return rule;
}

const EXPORTER_GROUPS = EXPORTERS.flatMap((record) => record.processGroups);

/**
 * Daemons worth a group of their own, in match order: exporter groups that narrow a general one
 * (Jenkins is a `java` process) first, then the host's daemons, the optional exporters'
 * services, the agents and the monitor's services. Command names are listed as the binaries are
 * called; the rendered config applies the kernel's truncation (systemd-journald ->
 * systemd-journal), which is what process-exporter compares against.
 */
export const WATCHED_DAEMONS: readonly ProcessNameRule[] = [
  ...EXPORTER_GROUPS.filter((group) => group.beforeGeneralGroups).map(exporterGroupRule),
  { name: "java", comm: ["java"] },
  { name: "dockerd", comm: ["dockerd"] },
  { name: "containerd", comm: ["containerd"] },
  { name: "containerd-shim", comm: ["containerd-shim-runc-v2", "containerd-shim"] },
  { name: "sshd", comm: ["sshd", "sshd-session", "sshd-auth"] },
  { name: "systemd-journald", comm: ["systemd-journald"] },
  { name: "cron", comm: ["cron", "crond"] },
  ...EXPORTER_GROUPS.filter((group) => !group.beforeGeneralGroups).map(exporterGroupRule),
  // The agents themselves, so a runaway agent is visible.
  { name: "node_exporter", comm: ["node_exporter", "prometheus-node-exporter"] },
  { name: "alloy", comm: ["alloy"] },
  { name: "cadvisor", comm: ["cadvisor"] },
  // The monitor's own services (Debian names its alertmanager binary prometheus-alertmanager).
  { name: "prometheus", comm: ["prometheus"] },
  { name: "loki", comm: ["loki"] },
  { name: "grafana", comm: ["grafana", "grafana-server"] },
  { name: "alertmanager", comm: ["alertmanager", "prometheus-alertmanager"] },
];

/**
 * Everything else, grouped by command name. `.+` on the command line leaves out kernel threads
 * (empty command line), whose per-CPU names (kworker/3:1H, ...) would explode the group count.
 */
const CATCH_ALL_RULE: ProcessNameRule = { name: "{{.Comm}}", cmdline: [".+"] };

function withKernelCommNames(rule: ProcessNameRule): ProcessNameRule {
  return rule.comm ? { ...rule, comm: [...new Set(rule.comm.map(commOf))] } : rule;
}

function processExporterConfig(): ProcessExporterConfig {
  return { process_names: [...WATCHED_DAEMONS.map(withKernelCommNames), CATCH_ALL_RULE] };
}

export function renderProcessExporterConfig(): string {
  return stringify(processExporterConfig(), { lineWidth: 0 });
}

/** Path of the config inside the container; the file sits next to the compose file on the host. */
const PROCESS_EXPORTER_CONFIG_PATH = "/config/process-exporter.yml";
/** Relative to the agents' compose directory. */
export const PROCESS_EXPORTER_CONFIG_FILE = "process-exporter/config.yml";

export function processExporterService(options: AgentListenOptions = {}): ComposeService {
  return {
    image: IMAGES.processExporter,
    container_name: "process-exporter",
    restart: "unless-stopped",
    command: [
      "--procfs=/host/proc",
      `--config.path=${PROCESS_EXPORTER_CONFIG_PATH}`,
      `--web.listen-address=:${AGENT_PORTS.processExporter}`,
    ],
    // The host's PID namespace and /proc: reading other processes' stats needs both.
    pid: "host",
    ports: [publishedPort(AGENT_PORTS.processExporter, options.bindAddress)],
    volumes: ["/proc:/host/proc:ro", `./${PROCESS_EXPORTER_CONFIG_FILE}:${PROCESS_EXPORTER_CONFIG_PATH}:ro`],
    labels: { [IMAGE_LABEL]: IMAGES.processExporter },
    logging: ROTATED_JSON_LOGS,
  };
}
