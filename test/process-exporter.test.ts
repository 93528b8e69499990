/**
 * The rendered process-exporter config, checked twice: its structure (named daemons first, one
 * catch-all last) and by Debian's real process exporter, which must put processes with the
 * daemons' command names into the named groups and everything else into per-command groups.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type ProcessNameRule,
  processExporterService,
  renderProcessExporterConfig,
  WATCHED_DAEMONS,
} from "../configs/agents/process-exporter";
import { AGENT_PORTS } from "../lib/catalog";
import { startProcessExporter } from "./support/exporters";
import { getText, ProcessGroup, pollUntil } from "./support/processes";

/** Linux keeps a process's command name in 16 bytes, its NUL included (TASK_COMM_LEN). */
const KERNEL_COMM_LENGTH = 15;

const renderedConfig = () =>
  parse(renderProcessExporterConfig()) as { readonly process_names: readonly ProcessNameRule[] };

describe("process-exporter config", () => {
  it("lists every daemon the brief names, each in a group of its own", () => {
    const names = renderedConfig().process_names.map((rule) => rule.name);
    for (const daemon of [
      "dockerd",
      "containerd",
      "sshd",
      "systemd-journald",
      "cron",
      "nginx",
      "java",
      "jenkins",
      "mongod",
      "postgres",
      "mysqld",
      "redis-server",
      "node_exporter",
      "alloy",
      "prometheus",
      "loki",
      "grafana",
      "alertmanager",
    ]) {
      expect(names, daemon).toContain(daemon);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it("puts the catch-all last and no rule before it can match every process", () => {
    const rules = renderedConfig().process_names;
    expect(rules.at(-1)).toEqual({ name: "{{.Comm}}", cmdline: [".+"] });
    expect(rules.filter((rule) => rule.name.includes("{{")).length).toBe(1);
    for (const rule of rules.slice(0, -1)) {
      // A named rule must constrain the command name or executable; a cmdline-only rule could swallow all.
      expect((rule.comm?.length ?? 0) + (rule.exe?.length ?? 0), rule.name).toBeGreaterThan(0);
    }
  });

  it("renders command names as the kernel stores them (at most 15 characters)", () => {
    const comms = renderedConfig().process_names.flatMap((rule) => rule.comm ?? []);
    for (const comm of comms) expect(comm.length).toBeLessThanOrEqual(KERNEL_COMM_LENGTH);
    expect(comms).toContain("systemd-journal");
    expect(comms).toContain("prometheus-aler");
  });

  it("renders the same bytes every time", () => {
    expect(renderProcessExporterConfig()).toBe(renderProcessExporterConfig());
  });

  it("runs the container in the host PID namespace with /proc mounted", () => {
    const service = processExporterService();
    expect(service.pid).toBe("host");
    expect(service.volumes).toContain("/proc:/host/proc:ro");
    expect(service.command).toContain("--procfs=/host/proc");
    expect(service.command).toContain(`--web.listen-address=:${AGENT_PORTS.processExporter}`);
    expect(service.ports).toEqual([`0.0.0.0:${AGENT_PORTS.processExporter}:${AGENT_PORTS.processExporter}`]);
  });
});

/** `namedprocess_namegroup_num_procs{groupname="x"} 3` -> { x: 3 } */
function numProcsByGroup(metrics: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const match of metrics.matchAll(/^namedprocess_namegroup_num_procs\{groupname="([^"]*)"\} (\S+)$/gm)) {
    groups.set(match[1] ?? "", Number(match[2]));
  }
  return groups;
}

describe("Debian's process exporter with the rendered config", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "process-exporter-"));
  const fakeDaemons: ChildProcess[] = [];
  /** Group name -> processes started for it. */
  const expectedCounts = new Map<string, number>();
  let port = 0;

  /** Starts `target` under the command name `name` (a symlink), so the kernel's comm is `name`. */
  function startNamed(name: string, target: string, args: string[], directory: string): void {
    mkdirSync(directory, { recursive: true });
    const link = join(directory, name);
    symlinkSync(target, link);
    const child = spawn(link, args, { stdio: "ignore" });
    fakeDaemons.push(child);
  }

  beforeAll(async () => {
    const configPath = join(workDir, "config.yml");
    writeFileSync(configPath, renderProcessExporterConfig());

    // One stand-in process per command name of every comm-only rule, under its full binary name.
    WATCHED_DAEMONS.forEach((rule, index) => {
      if (rule.cmdline !== undefined || rule.comm === undefined) return;
      for (const comm of rule.comm) {
        startNamed(comm, "/usr/bin/sleep", ["600"], join(workDir, `bin-${index}`));
      }
      expectedCounts.set(rule.name, rule.comm.length);
    });
    // Jenkins: a `java` whose command line names jenkins.war (a shell standing in for the JVM).
    startNamed(
      "java",
      "/bin/sh",
      ["-c", "sleep 600; :", "/usr/share/java/jenkins.war"],
      join(workDir, "bin-jenkins"),
    );
    expectedCounts.set("jenkins", 1);

    port = await startProcessExporter(group, configPath);
  });

  afterAll(async () => {
    for (const child of fakeDaemons) child.kill("SIGKILL");
    await group.stopAll();
    rmSync(workDir, { recursive: true, force: true });
  });

  let scraped: Promise<Map<string, number>> | undefined;
  /** One bounded wait shared by the tests below. */
  function scrapeUntilNamedGroupsAppear(): Promise<Map<string, number>> {
    scraped ??= pollUntil("every named group in the process exporter's metrics", async () => {
      const response = await getText(`http://127.0.0.1:${port}/metrics`);
      if (response?.status !== 200) return undefined;
      const groups = numProcsByGroup(response.body);
      const ready = [...expectedCounts].every(([name, count]) => (groups.get(name) ?? 0) >= count);
      return ready ? groups : undefined;
    });
    return scraped;
  }

  it("exposes namedprocess_namegroup_num_procs for each named daemon that runs", async () => {
    const groups = await scrapeUntilNamedGroupsAppear();
    for (const [name, count] of expectedCounts) {
      expect(groups.get(name), `group ${name}`).toBeGreaterThanOrEqual(count);
    }
  });

  it("leaves nothing named to the catch-all: truncated or generic names get no group of their own", async () => {
    const groups = await scrapeUntilNamedGroupsAppear();
    // These would appear only if the catch-all (grouping by comm) had taken the stand-ins.
    for (const comm of [
      "systemd-journal",
      "prometheus-node",
      "prometheus-aler",
      "sshd-session",
      "mariadbd",
      "crond",
    ]) {
      expect(groups.has(comm), comm).toBe(false);
    }
  });

  it("groups other processes by command name, and kernel threads not at all", async () => {
    const groups = await scrapeUntilNamedGroupsAppear();
    const ownComm = readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
    expect(groups.get(ownComm), `this test's own process (${ownComm})`).toBeGreaterThanOrEqual(1);
    // The shell standing in for Jenkins runs `sleep` as a child: a plain process, grouped by comm.
    expect(groups.get("sleep")).toBeGreaterThanOrEqual(1);
    expect([...groups.keys()].filter((name) => /^(kworker|ksoftirqd|kthreadd)/.test(name))).toEqual([]);
  });
});
