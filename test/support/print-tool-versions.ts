/**
 * vitest globalSetup: prints, once per run, every program the tests run and the version it
 * reports, so a run's output says which Prometheus, Alertmanager, exporters and services it
 * checked the stack against. A missing program is reported here and fails the tests that need it.
 */
import { relative, resolve } from "node:path";
import { toolVersions } from "./tools";

export function setup(): void {
  const root = resolve(__dirname, "..", "..");
  const rows = toolVersions().map((tool) => {
    const release = tool.origin === "sid" ? "Debian sid" : "this machine's Debian";
    const origin = `${release}: ${tool.debianPackage ?? "?"} ${tool.packageVersion ?? "not installed"}`;
    const where = tool.binary.startsWith(root) ? relative(root, tool.binary) : tool.binary;
    return `  ${tool.name.padEnd(18)} ${tool.version.padEnd(9)} ${where} (${origin})`;
  });
  console.log(["Programs under test (test/support/tools.ts):", ...rows].join("\n"));
}
