/**
 * Debian's node exporter and process exporter, started on loopback the way the agents' containers
 * run them, for the tests that check our flags, configs and dashboards against the real binaries.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeExporterFlagsFor } from "../../configs/agents/node-exporter";
import { processExporterService } from "../../configs/agents/process-exporter";
import { freePort, getText, type ProcessGroup, type ProcessSpec, pollUntil } from "./processes";
import { requireTool, TOOLS } from "./tools";

/**
 * An empty textfile directory for node exporters on this machine (the rendered flag points at the
 * container's mount, which does not exist here). One per test process, left empty.
 */
export function emptyTextfileDirectory(): string {
  const dir = join(tmpdir(), `node-exporter-textfile-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Series of the node exporter's systemd collector the rules read (collector/systemd_linux.go at
 * the pinned v1.12.0: `unit_state`, labels name, state, type). The collector needs systemd over
 * D-Bus, which this machine does not run, so no test here can see them.
 */
export const SYSTEMD_COLLECTOR_SERIES: ReadonlySet<string> = new Set(["node_systemd_unit_state"]);

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

/** Starts the node exporter with the flags we render for its version, and scrapes it once. */
export async function startNodeExporter(group: ProcessGroup): Promise<LocalNodeExporter> {
  const binary = requireTool(TOOLS.nodeExporter);
  const version = localVersion(binary);
  const port = await freePort();
  // Here the exporter runs on the host itself, so the root filesystem is `/`.
  await group.start({
    name: "node-exporter",
    tool: TOOLS.nodeExporter,
    args: nodeExporterFlagsFor(version, {
      rootfs: "/",
      bindAddress: "127.0.0.1",
      port,
      textfileDirectory: emptyTextfileDirectory(),
    }),
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
  const here: Record<string, string> = {
    "--procfs": "/proc",
    "--config.path": configPath,
    "--web.listen-address": `127.0.0.1:${port}`,
  };
  return (processExporterService().command ?? []).map((arg) => {
    const [flag = ""] = arg.split("=", 1);
    const value = here[flag];
    if (value === undefined) throw new Error(`no local substitute for ${arg}: add one so the test runs it`);
    return `${flag}=${value}`;
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

/**
 * The node exporter as a ProcessSpec with the flags we render for the local binary's version,
 * on the host itself (root filesystem `/`), listening on 127.0.0.1:port.
 */
export function nodeExporterSpec(name: string, port: number): ProcessSpec {
  const version = localVersion(requireTool(TOOLS.nodeExporter));
  return {
    name,
    tool: TOOLS.nodeExporter,
    args: nodeExporterFlagsFor(version, {
      rootfs: "/",
      bindAddress: "127.0.0.1",
      port,
      textfileDirectory: emptyTextfileDirectory(),
    }),
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
