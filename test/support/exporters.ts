/**
 * Debian's node exporter and process exporter, started on loopback the way the agents' containers
 * run them, for the tests that check our flags, configs and dashboards against the real binaries.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeExporterService } from "../../configs/agents/node-exporter";
import { processExporterService } from "../../configs/agents/process-exporter";
import { freePort, getText, type ProcessGroup, type ProcessSpec, pollUntil } from "./processes";
import { requireTool, SYSTEM_HELPERS, TOOLS } from "./tools";

/**
 * Series of the node exporter's systemd collector the rules read (collector/systemd_linux.go at
 * the pinned v1.12.0: `unit_state`, labels name, state, type). The collector needs systemd over
 * D-Bus, which this machine does not run, so no test here can see them.
 */
export const SYSTEMD_COLLECTOR_SERIES: ReadonlySet<string> = new Set(["node_systemd_unit_state"]);

/**
 * An empty textfile directory for node exporters on this machine (the rendered flag points at the
 * container's mount, which does not exist here). One per test process, left empty.
 */
function emptyTextfileDirectory(): string {
  const dir = join(tmpdir(), `node-exporter-textfile-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The x.y.z an exporter binary reports for `--version`. */
export function localVersion(binary: string): string {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  const match = /version (\d+\.\d+\.\d+)/.exec(`${result.stdout}${result.stderr}`);
  if (!match?.[1]) throw new Error(`cannot read the version of ${binary}: ${result.stdout}${result.stderr}`);
  return match[1];
}

export interface LocalNodeExporter {
  readonly binary: string;
  readonly version: string;
  readonly port: number;
  /** The first /metrics page that has CPU series. */
  readonly metrics: string;
}

/**
 * The container's own command line with only what differs on this machine swapped: it runs on the
 * host itself (root filesystem `/`) and listens on 127.0.0.1:port.
 */
function substituted(command: readonly string[], here: Readonly<Record<string, string>>): string[] {
  const swapped = new Set<string>();
  const args = command.map((arg) => {
    const [flag = ""] = arg.split("=", 1);
    const value = here[flag];
    if (value === undefined) return arg;
    swapped.add(flag);
    return `${flag}=${value}`;
  });
  const missing = Object.keys(here).filter((flag) => !swapped.has(flag));
  if (missing.length > 0) throw new Error(`the rendered command no longer has ${missing.join(", ")}`);
  return args;
}

function nodeExporterArgsHere(port: number, textfileDirectory = emptyTextfileDirectory()): string[] {
  return substituted(nodeExporterService().command ?? [], {
    "--path.rootfs": "/",
    "--web.listen-address": `127.0.0.1:${port}`,
    "--collector.textfile.directory": textfileDirectory,
  });
}

/** Starts the node exporter with the rendered flags, and scrapes it once. */
export async function startNodeExporter(group: ProcessGroup): Promise<LocalNodeExporter> {
  const binary = requireTool(TOOLS.nodeExporter);
  const version = localVersion(binary);
  const port = await freePort();
  await group.start({
    name: "node-exporter",
    tool: TOOLS.nodeExporter,
    args: nodeExporterArgsHere(port),
    readyUrl: `http://127.0.0.1:${port}/metrics`,
  });
  const metrics = await pollUntil("node exporter metrics", async () => {
    const response = await getText(`http://127.0.0.1:${port}/metrics`);
    return response?.status === 200 && response.body.includes("node_cpu_seconds_total")
      ? response.body
      : undefined;
  });
  return { binary, version, port, metrics };
}

/** processExporterService's command, pointed at this machine's /proc, a temp config and loopback. */
function processExporterArgsHere(configPath: string, port: number): string[] {
  return substituted(processExporterService().command ?? [], {
    "--procfs": "/proc",
    "--config.path": configPath,
    "--web.listen-address": `127.0.0.1:${port}`,
  });
}

/**
 * The process exporter as a ProcessSpec: the container's own command line with its paths and
 * address swapped for this machine's. Start it (and start it again after a stop, on the same
 * port) with `ProcessGroup.start`.
 */
export function processExporterSpec(name: string, configPath: string, port: number): ProcessSpec {
  return {
    name,
    tool: TOOLS.processExporter,
    args: processExporterArgsHere(configPath, port),
    readyUrl: `http://127.0.0.1:${port}/metrics`,
  };
}

/** The node exporter as a ProcessSpec with the rendered flags, on the host itself, on 127.0.0.1:port. */
export function nodeExporterSpec(name: string, port: number): ProcessSpec {
  return {
    name,
    tool: TOOLS.nodeExporter,
    args: nodeExporterArgsHere(port),
    readyUrl: `http://127.0.0.1:${port}/metrics`,
  };
}

/**
 * Starts the process exporter with the container's own command line, its paths and address
 * swapped for this machine's (so the flag names and `--flag=value` form are proved against the
 * real binary); returns its port.
 */
export async function startProcessExporter(group: ProcessGroup, configPath: string): Promise<number> {
  const port = await freePort();
  await group.start(processExporterSpec("process-exporter", configPath, port));
  return port;
}

/** A filesystem image mounted (through a loop device) where only one namespace sees it. */
export interface PrivateMount {
  readonly image: string;
  readonly mountPoint: string;
}

/** Mounts each image/mount-point pair given after the count, then becomes the program. */
const MOUNT_THEN_EXEC = [
  'count="$1"; shift',
  'while [ "$count" -gt 0 ]; do mount -o loop "$1" "$2" || exit 1; shift 2; count=$((count - 1)); done',
  'exec "$@"',
].join("\n");

/**
 * The node exporter with the rendered flags (root `/`, 127.0.0.1:port, the textfile directory
 * given) in a mount and PID namespace of its own, where `mounts` are mounted before it starts:
 * it reports them like any host filesystem, and nothing outside the namespace sees them. The PID
 * namespace matters: the exporter reads PID 1's mount table, which there is its own. Acting on the
 * mounts goes through the running process' id (`nsenter --target`, `/proc/<pid>/root`).
 *
 * `unshare` ignores SIGTERM while it waits for its child, so it is stopped with SIGKILL; its
 * `--kill-child` then kills the exporter, and the namespace, its mounts and their loop devices
 * (auto-cleared) go with it. Needs root (mounting).
 */
export function nodeExporterWithMountsSpec(
  name: string,
  port: number,
  options: { readonly textfileDirectory: string; readonly mounts: readonly PrivateMount[] },
): ProcessSpec {
  const binary = requireTool(TOOLS.nodeExporter);
  return {
    name,
    tool: SYSTEM_HELPERS.unshare,
    args: [
      "--mount",
      "--propagation",
      "private",
      "--pid",
      "--fork",
      "--mount-proc",
      "--kill-child",
      "--",
      "/bin/sh",
      "-c",
      MOUNT_THEN_EXEC,
      "sh",
      String(options.mounts.length),
      ...options.mounts.flatMap((mount) => [mount.image, mount.mountPoint]),
      binary,
      ...nodeExporterArgsHere(port, options.textfileDirectory),
    ],
    readyUrl: `http://127.0.0.1:${port}/metrics`,
    stopSignal: "SIGKILL",
  };
}
