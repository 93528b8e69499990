/**
 * Running the real Prometheus-family tools from tests. A missing tool fails the test with the
 * install line, never skips it.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface ToolSpec {
  readonly binary: string;
  readonly aptPackage: string;
}

export const TOOLS = {
  promtool: { binary: "/usr/bin/promtool", aptPackage: "prometheus" },
  prometheus: { binary: "/usr/bin/prometheus", aptPackage: "prometheus" },
  amtool: { binary: "/usr/bin/amtool", aptPackage: "prometheus-alertmanager" },
  alertmanager: { binary: "/usr/bin/prometheus-alertmanager", aptPackage: "prometheus-alertmanager" },
  nodeExporter: { binary: "/usr/bin/prometheus-node-exporter", aptPackage: "prometheus-node-exporter" },
  processExporter: {
    binary: "/usr/bin/prometheus-process-exporter",
    aptPackage: "prometheus-process-exporter",
  },
} as const satisfies Record<string, ToolSpec>;

/** Path of the tool's binary, or an Error telling how to install it. */
export function requireTool(tool: ToolSpec): string {
  if (!existsSync(tool.binary)) {
    throw new Error(
      `${tool.binary} is missing. Install it with: apt-get update && apt-get install -y ${tool.aptPackage}`,
    );
  }
  return tool.binary;
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion; callers assert on status and output. */
export function runTool(tool: ToolSpec, args: readonly string[], options: { cwd?: string } = {}): ToolResult {
  const result: SpawnSyncReturns<string> = spawnSync(requireTool(tool), args, {
    cwd: options.cwd,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Formats a failed run for an assertion message. */
export function describeRun(tool: ToolSpec, args: readonly string[], result: ToolResult): string {
  return `${tool.binary} ${args.join(" ")} exited ${result.status}\n${result.stdout}\n${result.stderr}`;
}
