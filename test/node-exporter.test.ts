/**
 * Node exporter's rendered flags, checked against Debian's real node exporter: it knows every one
 * and runs with them, and every node_* series the alert rules (and the core dashboard panels) read
 * is there, with Docker's pseudo filesystems left out.
 */
import { spawnSync } from "node:child_process";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeExporterService } from "../configs/agents/node-exporter";
import { buildRuleGroups } from "../configs/rules";
import { AGENT_PORTS } from "../lib/catalog";
import { SYSTEMD_COLLECTOR_SERIES, startNodeExporter } from "./support/exporters";
import { ProcessGroup } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";

/** Metric names (VectorSelector identifiers) in a PromQL expression. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") {
        names.push(expr.slice(node.from, node.to));
      }
    },
  });
  return names;
}

/** node_* series the alert rules read, taken from the rendered rule expressions. */
function nodeMetricsUsedByRules(): string[] {
  const groups = buildRuleGroups(sampleStackConfig());
  const names = groups.flatMap((group) => group.rules.flatMap((rule) => metricNames(rule.expr)));
  return [...new Set(names.filter((name) => name.startsWith("node_")))].sort();
}

/**
 * Series the Node Exporter Full dashboard's headline panels (CPU, memory, disk, network, load,
 * uptime, processes) and the Docker overview read from node exporter.
 */
const DASHBOARD_NODE_METRICS = [
  "node_boot_time_seconds",
  "node_cpu_seconds_total",
  "node_disk_read_bytes_total",
  "node_disk_written_bytes_total",
  "node_filesystem_avail_bytes",
  "node_filesystem_size_bytes",
  "node_load1",
  "node_memory_MemAvailable_bytes",
  "node_memory_MemTotal_bytes",
  "node_network_receive_bytes_total",
  "node_network_transmit_bytes_total",
  "node_processes_state",
  "node_procs_running",
  "node_time_seconds",
  "node_uname_info",
];

function flagsInHelp(binary: string): Set<string> {
  const result = spawnSync(binary, ["--help"], { encoding: "utf8" });
  return new Set(`${result.stdout}${result.stderr}`.match(/--[a-z0-9][a-z0-9.-]*/g) ?? []);
}

/** The rendered container's flags. */
const renderedFlags = () => nodeExporterService().command ?? [];
const flagValue = (name: string) =>
  renderedFlags()
    .find((flag) => flag.startsWith(`${name}=`))
    ?.slice(name.length + 1) ?? "^$";

describe("node exporter flags and container", () => {
  it("enables the systemd and processes collectors and reads the host root at /host", () => {
    const flags = renderedFlags();
    expect(flags).toContain("--collector.systemd");
    expect(flags).toContain("--collector.processes");
    expect(flags).toContain("--path.rootfs=/host");
    expect(flags).toContain(`--web.listen-address=0.0.0.0:${AGENT_PORTS.nodeExporter}`);
  });

  it("excludes Docker's and the kernel's pseudo filesystems", () => {
    const regex = new RegExp(flagValue("--collector.filesystem.fs-types-exclude"));
    for (const fstype of ["tmpfs", "overlay", "squashfs", "nsfs", "proc", "sysfs", "cgroup2"]) {
      expect(regex.test(fstype), fstype).toBe(true);
    }
    for (const fstype of ["ext4", "xfs", "btrfs", "vfat"]) expect(regex.test(fstype), fstype).toBe(false);
  });

  it("never uses the pre-1.3 flag name that newer releases reject", () => {
    for (const flag of renderedFlags()) expect(flag).not.toContain("ignored-fs-types");
  });

  it("runs with the host's PID namespace, network and read-only root, plus the D-Bus socket", () => {
    const service = nodeExporterService();
    expect(service.pid).toBe("host");
    expect(service.network_mode).toBe("host");
    expect(service.volumes).toContain("/:/host:ro,rslave");
    expect(service.volumes?.some((v) => v.startsWith("/run/dbus/system_bus_socket:"))).toBe(true);
    expect(service.restart).toBe("unless-stopped");
  });
});

describe("Debian's node exporter with the rendered flags", () => {
  const group = new ProcessGroup();
  let binary = "";
  let version = "";
  let metrics = "";

  beforeAll(async () => {
    ({ binary, version, metrics } = await startNodeExporter(group));
  });

  afterAll(async () => {
    await group.stopAll();
  });

  it("knows every rendered flag", () => {
    const known = flagsInHelp(binary);
    for (const flag of renderedFlags()) {
      const name = flag.split("=", 1)[0] ?? "";
      expect(known.has(name), `${name} vs node exporter ${version}`).toBe(true);
    }
  });

  const seriesNames = () => new Set(metrics.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/gm) ?? []);

  it("exposes every node_* series the alert rules use", () => {
    const used = nodeMetricsUsedByRules();
    expect(used.length).toBeGreaterThan(3);
    const present = seriesNames();
    expect(used.filter((name) => !present.has(name) && !SYSTEMD_COLLECTOR_SERIES.has(name))).toEqual([]);
  });

  it("reads the textfile directory it is given without error (HostTextfileCollectorError stays quiet)", () => {
    expect(metrics).toMatch(/^node_textfile_scrape_error 0$/m);
  });

  it("exposes the series the core dashboard panels use", () => {
    const present = seriesNames();
    expect(DASHBOARD_NODE_METRICS.filter((name) => !present.has(name))).toEqual([]);
  });

  it("runs the systemd and processes collectors (systemd reports failure here: no systemd in CI)", () => {
    expect(metrics).toMatch(/^node_scrape_collector_success\{collector="systemd"\} [01]$/m);
    expect(metrics).toMatch(/^node_scrape_collector_success\{collector="processes"\} 1$/m);
  });

  it("reports real filesystems and none of the excluded types", () => {
    const fstypes = [...metrics.matchAll(/^node_filesystem_size_bytes\{[^}]*fstype="([^"]+)"/gm)].map(
      (m) => m[1],
    );
    expect(fstypes.length).toBeGreaterThan(0);
    const excluded = new RegExp(flagValue("--collector.filesystem.fs-types-exclude"));
    expect(fstypes.filter((fstype) => excluded.test(fstype ?? ""))).toEqual([]);
  });
});
