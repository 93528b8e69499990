/**
 * The scripts that run on hosts, for real:
 *
 * - shellcheck on the plain files in configs/host-scripts/ and on every script the deploy
 *   renders (file steps, secrets, readiness, recreate, teardown) for the repository's stacks
 *   and the sample configs;
 * - over SSH: a real sshd on 127.0.0.1 (test/support/sshd.ts), the rendered stdin fed to
 *   `sudo -n bash -s` exactly as the Pulumi step does, into throwaway deploy directories. Only
 *   the container runtime (docker, plus curl for the reload POST, sudo, cloud-init and sleep)
 *   is replaced, by recording stand-ins (test/support/host-stand-ins.ts).
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import {
  AGENTS_DEPLOY_DIR,
  DEPLOY_STATE_DIR,
  type DeployUnit,
  HOST_SCRIPTS_DIR,
  inDirectoryAsRoot,
  MONITOR_DEPLOY_DIR,
  planDeploy,
  RUN_STDIN_AS_ROOT,
  renderFileUnitScript,
  renderReadinessScript,
  renderRecreateCommand,
  renderSecretFilesScript,
  renderTeardownCommand,
  unitFiles,
} from "../configs/deploy-scripts";
import { grafanaAdminPasswordResetCommand } from "../configs/grafana";
import { type HostFiles, monitorFiles, stackHostFiles } from "../configs/host-files";
import { IMAGES } from "../configs/images";
import { monitorSecretFiles } from "../configs/monitor-compose";
import { AGENT_PORTS } from "../lib/catalog";
import { fileStepScript, plannedStep } from "./support/deploy-steps";
import { type HostStandIns, installHostStandIns } from "./support/host-stand-ins";
import { sampleStackConfig } from "./support/sample-config";
import { type SshResult, type SshServer, startSshServer } from "./support/sshd";
import { loadRealStacks, sampleConfigs } from "./support/stacks";

/** The plain shell the deploy's step scripts start with. */
const DEPLOY_LIBRARY_FILE = join(HOST_SCRIPTS_DIR, "deploy-lib.sh");

const DEPLOY_INFO = {
  lokiBucketName: "observability-test-logs",
  monitorPrivateIp: "10.42.1.10",
  grafanaUrl: "http://grafana.example.test:3000/",
  dataVolumeId: "vol-0123456789abcdef0",
};

// ---------------------------------------------------------------------------------------------
// shellcheck
// ---------------------------------------------------------------------------------------------

const SHELLCHECK = "/usr/bin/shellcheck";

function requireShellcheck(): void {
  if (!existsSync(SHELLCHECK)) {
    throw new Error(
      `${SHELLCHECK} is missing. Install it with: apt-get update && apt-get install -y shellcheck`,
    );
  }
}

/** shellcheck on stdin (`-s <dialect> -`): resolves to its whole report, empty when clean. */
function shellcheck(
  dialect: "bash" | "sh",
  script: string,
): Promise<{ status: number | null; report: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHELLCHECK, ["--norc", "-s", dialect, "-"], { stdio: ["pipe", "pipe", "pipe"] });
    let report = "";
    child.stdout.on("data", (chunk) => {
      report += chunk;
    });
    child.stderr.on("data", (chunk) => {
      report += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, report });
    });
    child.stdin.end(script);
  });
}

interface NamedScript {
  readonly name: string;
  readonly dialect: "bash" | "sh";
  readonly text: string;
}

/** Every script the deploy renders for one stack config, named for the failure message. */
function renderedScripts(configName: string, config: ReturnType<typeof sampleStackConfig>): NamedScript[] {
  const scripts: NamedScript[] = [];
  for (const [host, files] of Object.entries(stackHostFiles(config, DEPLOY_INFO))) {
    const directory = host === "monitor" ? MONITOR_DEPLOY_DIR : AGENTS_DEPLOY_DIR;
    const plan = planDeploy(files, directory);
    for (const unit of plan.units) {
      scripts.push({
        name: `${configName} ${host} ${unit.name} step`,
        dialect: "bash",
        text: renderFileUnitScript({
          hostName: host,
          directory,
          project: plan.project,
          unit,
          files: unitFiles(unit, files),
        }),
      });
    }
    for (const service of Object.keys(plan.secretReaders)) {
      scripts.push({
        name: `${configName} ${host} recreate-${service}`,
        dialect: "sh",
        text: renderRecreateCommand(directory, [service]),
      });
    }
    scripts.push({
      name: `${configName} ${host} teardown`,
      dialect: "sh",
      text: renderTeardownCommand(directory, ["/etc/observability/secrets/example"]),
    });
  }
  scripts.push({
    name: `${configName} monitor secrets`,
    dialect: "bash",
    text: renderSecretFilesScript(
      "monitor",
      `${MONITOR_DEPLOY_DIR}/${DEPLOY_STATE_DIR}/secrets.manifest`,
      monitorSecretFiles(config).map((file) => ({
        path: file.hostPath,
        owner: file.owner,
        mode: "0400" as const,
        content: `it's a $(secret) for ${file.name}\n"with" \`quotes\``,
      })),
    ),
  });
  return scripts;
}

function everyRenderedScript(): NamedScript[] {
  const scripts = [...loadRealStacks(), ...sampleConfigs()].flatMap(({ name, config }) =>
    renderedScripts(name, config),
  );
  scripts.push(
    {
      name: "readiness (EC2, data volume)",
      dialect: "sh",
      text: renderReadinessScript({ waitForCloudInit: true, requiredMounts: ["/srv/observability"] }),
    },
    {
      name: "readiness (outside AWS)",
      dialect: "sh",
      text: renderReadinessScript({ waitForCloudInit: false, requiredMounts: [] }),
    },
    {
      name: "secrets (none left)",
      dialect: "bash",
      text: renderSecretFilesScript(
        "client",
        `${AGENTS_DEPLOY_DIR}/${DEPLOY_STATE_DIR}/secrets.manifest`,
        [],
      ),
    },
    {
      name: "grafana admin password reset",
      dialect: "sh",
      text: inDirectoryAsRoot(MONITOR_DEPLOY_DIR, grafanaAdminPasswordResetCommand(COMPOSE_FILE)),
    },
  );
  // Identical scripts (same unit on two hosts) are checked once.
  const unique = new Map<string, NamedScript>();
  for (const script of scripts) if (!unique.has(script.text)) unique.set(script.text, script);
  return [...unique.values()];
}

describe("shellcheck", () => {
  test("the plain host scripts are clean, with no check disabled", async () => {
    requireShellcheck();
    const files = readdirSync(HOST_SCRIPTS_DIR).filter((name) => name.endsWith(".sh"));
    expect(files.sort()).toEqual(["deploy-lib.sh", "fleet-sync.sh", "readiness.sh"]);
    for (const name of files) {
      const text = readFileSync(join(HOST_SCRIPTS_DIR, name), "utf8");
      expect(text, name).not.toMatch(/shellcheck\s+disable/);
      const dialect = text.startsWith("#!/bin/sh") ? "sh" : "bash";
      const result = await shellcheck(dialect, text);
      expect(result.report, name).toBe("");
      expect(result.status, name).toBe(0);
    }
  });

  test("every script rendered for the stacks and the sample configs is clean", async () => {
    requireShellcheck();
    const scripts = everyRenderedScript();
    // Both kinds of stack (dev, prod) and all the sample configs were rendered.
    expect(scripts.some((script) => script.name.startsWith("dev "))).toBe(true);
    expect(scripts.some((script) => script.name.startsWith("prod "))).toBe(true);
    expect(scripts.length).toBeGreaterThan(20);
    const dirty: string[] = [];
    const queue = [...scripts];
    const worker = async () => {
      for (let script = queue.shift(); script !== undefined; script = queue.shift()) {
        const result = await shellcheck(script.dialect, script.text);
        if (result.status !== 0 || result.report !== "") dirty.push(`${script.name}:\n${result.report}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker));
    expect(dirty).toEqual([]);
    // ~40 distinct scripts of up to 150 kB (dashboards): shellcheck needs a while on a small runner.
  }, 600_000);

  test("a step's stdin is the plain library file, unchanged, then only calls of its functions", () => {
    const library = readFileSync(DEPLOY_LIBRARY_FILE, "utf8").trimEnd();
    const files = monitorFiles(sampleStackConfig(), DEPLOY_INFO);
    const plan = planDeploy(files, MONITOR_DEPLOY_DIR);
    const defined = new Set([...library.matchAll(/^([a-z_]+)\(\) \{$/gm)].map((match) => match[1]));
    for (const unit of plan.units) {
      const script = renderFileUnitScript({
        hostName: "monitor",
        directory: MONITOR_DEPLOY_DIR,
        project: plan.project,
        unit,
        files: unitFiles(unit, files),
      });
      expect(script).toContain(`{\n${library}\n`);
      // Outside here-documents, the tail's lines are calls of library functions (or `exec`, `}`).
      const tail = script.slice(script.indexOf(library) + library.length).split("\n");
      let delimiter: string | undefined;
      for (const line of tail) {
        if (delimiter !== undefined) {
          if (line === delimiter) delimiter = undefined;
          continue;
        }
        if (line === "" || line.startsWith("#") || line === "}" || line === "exec </dev/null") continue;
        const word = line.split(" ")[0] as string;
        expect(defined.has(word), `${unit.name}: ${line.slice(0, 80)}`).toBe(true);
        delimiter = /<<'([A-Za-z0-9_]+)'$/.exec(line)?.[1];
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Over SSH
// ---------------------------------------------------------------------------------------------

let root: string;
let standIns: HostStandIns;
let server: SshServer | undefined;

function ssh(): SshServer {
  if (!server) throw new Error("the test sshd did not start");
  return server;
}

/** Feeds a step's stdin to `sudo -n bash -s` over SSH, as the Pulumi step does. */
function runStep(stdin: string): SshResult {
  return ssh().run(RUN_STDIN_AS_ROOT, stdin);
}

/** Every file under `dir` (symlinks as their target text), with mode and owner, staging excluded. */
function snapshot(dir: string, exclude: readonly string[] = []): Record<string, string> {
  const entries: Record<string, string> = {};
  const skip = [`${DEPLOY_STATE_DIR}/staging`, ...exclude];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const rel = relative(dir, full);
      if (skip.some((prefix) => rel === prefix || rel.startsWith(`${prefix}/`))) continue;
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else
        entries[rel] =
          `${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${readFileSync(full, "base64")}`;
    }
  };
  walk(dir);
  return entries;
}

function describeRun(result: SshResult): string {
  return `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe("over SSH", () => {
  // The server and stand-ins serve every test below; the shellcheck tests above need neither.
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "host-scripts-"));
    standIns = installHostStandIns(join(root, "stand-ins"));
    mkdirSync(join(root, "sshd"));
    server = await startSshServer({ dir: join(root, "sshd"), sessionPath: [standIns.bin] });
  });

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe("file steps over SSH", () => {
    const config = sampleStackConfig();
    const files = monitorFiles(config, DEPLOY_INFO);
    let directory: string;

    beforeAll(() => {
      directory = join(root, "monitor");
    });

    const unitOf = (hostFiles: HostFiles, name: string): DeployUnit =>
      plannedStep(hostFiles, directory, name).unit;
    const scriptFor = (hostFiles: HostFiles, name: string) => fileStepScript(hostFiles, directory, name);
    const manifest = (unit: string) =>
      readFileSync(join(directory, DEPLOY_STATE_DIR, `${unit}.manifest`), "utf8")
        .split("\n")
        .filter(Boolean);
    const ruleFiles = Object.keys(files)
      .filter((path) => path.startsWith("prometheus/rules/"))
      .sort();

    test("first deploy: each step stages, checks the staged copy, swaps its files in and writes its manifest", () => {
      const plan = planDeploy(files, directory);
      for (const unit of plan.units) {
        standIns.resetCalls();
        const result = runStep(scriptFor(files, unit.name));
        expect(result.status, `${unit.name}: ${describeRun(result)}`).toBe(0);
        expect(result.stderr, unit.name).toBe("");
        for (const path of unit.paths) {
          expect(readFileSync(join(directory, path), "utf8"), path).toBe(files[path]);
          expect(statSync(join(directory, path)).mode & 0o777, path).toBe(0o644);
        }
        expect(manifest(unit.name), unit.name).toEqual(unit.paths);
        expect(existsSync(join(directory, DEPLOY_STATE_DIR, "staging", unit.name)), unit.name).toBe(false);

        const calls = standIns.calls();
        const swapped = (path: string) =>
          calls.indexOf(`mv -fT -- ${directory}/${path}.deploy-new ${directory}/${path}`);
        for (const path of unit.paths)
          expect(swapped(path), `${path} renamed into place`).toBeGreaterThan(-1);
        if (unit.check) {
          const check = calls.findIndex(
            (line) =>
              line.startsWith("docker run --rm --network none") &&
              line.includes(unit.check?.entrypoint ?? "?"),
          );
          expect(check, unit.name).toBeGreaterThan(-1);
          // The check ran on the staged copy, before any file was renamed into place.
          expect(calls[check]).toContain(`${directory}/${DEPLOY_STATE_DIR}/staging/${unit.name}/`);
          for (const path of unit.paths) expect(check, path).toBeLessThan(swapped(path));
        }
        if (unit.checkCompose) {
          const check = calls.indexOf(
            `docker compose --project-directory ${directory} -f ${directory}/${DEPLOY_STATE_DIR}/staging/compose/${COMPOSE_FILE} config --quiet`,
          );
          expect(check).toBeGreaterThan(-1);
          expect(check).toBeLessThan(swapped(COMPOSE_FILE));
          const up = calls.findIndex((line) =>
            line.startsWith(
              `docker compose --project-directory ${directory} -f ${directory}/${COMPOSE_FILE} up --detach --remove-orphans --wait`,
            ),
          );
          expect(up).toBeGreaterThan(swapped(COMPOSE_FILE));
        }
        // Nothing runs yet: no reload, no restart (compose up starts the services).
        expect(calls.filter((line) => line.startsWith("curl") || line.startsWith("docker restart"))).toEqual(
          [],
        );
      }
      const prometheus = unitOf(files, "prometheus");
      expect(prometheus.check?.entrypoint).toBe("promtool");
      expect(standIns.calls().length).toBeGreaterThan(0);
    });

    test("the check sees the whole staged unit (prometheus.yml and its rule files)", () => {
      standIns.resetCalls();
      const result = runStep(scriptFor(files, "prometheus"));
      expect(result.status, describeRun(result)).toBe(0);
      const staged = standIns.calls().filter((line) => line.startsWith("  staged "));
      expect(staged).toContain("  staged ./prometheus.yml");
      for (const path of ruleFiles)
        expect(staged).toContain(`  staged ./${path.slice("prometheus/".length)}`);
    });

    test("a failing check fails the step with the tool's message and leaves every previous file byte-identical", () => {
      standIns.set("running");
      const message =
        "FAILED: parsing YAML file /etc/prometheus/prometheus.yml: yaml: line 3: mapping values are not allowed";
      standIns.set("fail-check", `Checking /etc/prometheus/prometheus.yml\n${message}\n`);
      const before = snapshot(directory);
      standIns.resetCalls();
      const broken = { ...files, "prometheus/prometheus.yml": "global:\n  scrape_interval: : 15s\n" };
      const result = runStep(scriptFor(broken, "prometheus"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("promtool rejected the new files");
      expect(result.stderr).toContain("nothing was changed on this host");
      expect(snapshot(directory)).toEqual(before);
      const calls = standIns.calls();
      expect(calls.filter((line) => line.startsWith("curl"))).toEqual([]);
      expect(calls.filter((line) => line.includes(".deploy-new"))).toEqual([]);
      // The rejected copy stays in staging for a look.
      expect(
        readFileSync(
          join(directory, DEPLOY_STATE_DIR, "staging/prometheus/prometheus/prometheus.yml"),
          "utf8",
        ),
      ).toBe(broken["prometheus/prometheus.yml"]);
      standIns.clear("running");
    });

    test("a failing compose check leaves the previous compose file and starts nothing", () => {
      standIns.set(
        "fail-compose-config",
        'service "prometheus" refers to undefined secret smtp_password: invalid compose project\n',
      );
      const before = snapshot(directory);
      standIns.resetCalls();
      const changed = { ...files, [COMPOSE_FILE]: `${files[COMPOSE_FILE]}# changed\n` };
      const result = runStep(scriptFor(changed, "compose"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain("refers to undefined secret smtp_password");
      expect(snapshot(directory)).toEqual(before);
      expect(standIns.calls().filter((line) => line.includes(" up "))).toEqual([]);
    });

    test("a failing reload restores the previous files, reloads them, and fails with the service's answer", () => {
      standIns.set("running");
      const answer =
        "failed to reload config: one or more errors occurred while applying the new configuration";
      standIns.set("fail-reload", `${answer}\n`);
      const unitPaths = [...unitOf(files, "prometheus").paths, `${DEPLOY_STATE_DIR}/prometheus.manifest`];
      const live = () =>
        Object.fromEntries(Object.entries(snapshot(directory)).filter(([path]) => unitPaths.includes(path)));
      const before = live();
      const dropped = ruleFiles[0] as string;
      const { [dropped]: _gone, ...fewer } = files;
      const changed = {
        ...fewer,
        "prometheus/prometheus.yml": `${files["prometheus/prometheus.yml"]}# changed\n`,
      };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "prometheus"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(answer);
      expect(result.stderr).toContain("the previous files are back in place and applied");
      // Same bytes, modes and owners as before the step, the dropped rule file included.
      expect(live()).toEqual(before);
      expect(Object.keys(before)).toContain(dropped);
      expect(manifest("prometheus")).toEqual(unitOf(files, "prometheus").paths);
      const reloads = standIns.calls().filter((line) => line.startsWith("curl"));
      expect(reloads).toEqual([
        `curl --fail-with-body --silent --show-error --max-time 60 -X POST http://127.0.0.1:9090/-/reload`,
        `curl --fail-with-body --silent --show-error --max-time 60 -X POST http://127.0.0.1:9090/-/reload`,
      ]);
      standIns.clear("running");
    });

    test("a config Alloy rejects on reload is rolled back: the previous config.alloy is restored and reloaded", () => {
      standIns.set("running");
      const answer = "error during the initial load: /etc/alloy/config.alloy:3:1: unrecognized block name";
      standIns.set("fail-reload", `${answer}\n`);
      const alloy = unitOf(files, "alloy");
      expect(alloy.apply).toEqual({ kind: "reload", service: "alloy", port: AGENT_PORTS.alloy });
      const unitPaths = [...alloy.paths, `${DEPLOY_STATE_DIR}/alloy.manifest`];
      const live = () =>
        Object.fromEntries(Object.entries(snapshot(directory)).filter(([path]) => unitPaths.includes(path)));
      const before = live();
      const changed = { ...files, "alloy/config.alloy": 'not.a_component "x" {\n' };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "alloy"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(answer);
      expect(result.stderr).toContain("the previous files are back in place and applied");
      expect(live()).toEqual(before);
      const reload = `curl --fail-with-body --silent --show-error --max-time 60 -X POST http://127.0.0.1:${AGENT_PORTS.alloy}/-/reload`;
      expect(standIns.calls().filter((line) => line.startsWith("curl"))).toEqual([reload, reload]);
      expect(standIns.calls().filter((line) => line.startsWith("docker restart"))).toEqual([]);
      standIns.clear("running");
    });

    test("a failing compose up restores the previous compose file and brings that one up again", () => {
      const message = "dependency failed to start: container monitor-prometheus-1 is unhealthy";
      standIns.set("fail-compose-up", `${message}\n`);
      const before = readFileSync(join(directory, COMPOSE_FILE), "utf8");
      const changed = { ...files, [COMPOSE_FILE]: `${files[COMPOSE_FILE]}# changed\n` };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "compose"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("the previous files are back in place and applied");
      expect(readFileSync(join(directory, COMPOSE_FILE), "utf8")).toBe(before);
      expect(standIns.calls().filter((line) => line.includes(" up --detach"))).toHaveLength(2);
    });

    test("a file no longer rendered is removed by the next deploy; the previous files stay in the backup", () => {
      standIns.set("running");
      const dropped = ruleFiles[0] as string;
      const { [dropped]: _gone, ...fewer } = files;
      standIns.resetCalls();
      const result = runStep(scriptFor(fewer, "prometheus"));
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain("prometheus reloaded its configuration");
      expect(existsSync(join(directory, dropped))).toBe(false);
      for (const path of ruleFiles.slice(1))
        expect(readFileSync(join(directory, path), "utf8"), path).toBe(files[path]);
      expect(manifest("prometheus")).not.toContain(dropped);
      expect(manifest("prometheus")).toEqual(unitOf(fewer, "prometheus").paths);
      expect(
        readFileSync(join(directory, DEPLOY_STATE_DIR, "backup/prometheus/files", dropped), "utf8"),
      ).toBe(files[dropped]);
      // Other steps' files under the same directory (file SD) are left alone.
      for (const path of unitOf(files, "file-sd").paths)
        expect(readFileSync(join(directory, path), "utf8")).toBe(files[path]);
      expect(standIns.calls().filter((line) => line.startsWith("curl"))).toHaveLength(1);
      standIns.clear("running");
    });

    test("new Loki runtime overrides are swapped in with the service running: no reload, no restart; loki.yml untouched", () => {
      standIns.set("running");
      const runtime = unitOf(files, "loki-runtime");
      const [path] = runtime.paths as [string];
      const lokiYml = readFileSync(join(directory, "loki/loki.yml"), "utf8");
      const changed = { ...files, [path]: `${files[path]}# one more host\n` };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "loki-runtime"));
      expect(result.status, describeRun(result)).toBe(0);
      expect(readFileSync(join(directory, path), "utf8")).toBe(changed[path]);
      expect(readFileSync(join(directory, "loki/loki.yml"), "utf8")).toBe(lokiYml);
      expect(
        standIns.calls().filter((line) => line.startsWith("curl") || line.startsWith("docker restart")),
      ).toEqual([]);
      // Back to the rendered file for the tests after this one.
      expect(runStep(scriptFor(files, "loki-runtime")).status).toBe(0);
      standIns.clear("running");
    });

    test("a swap that cannot complete puts every previous file back and applies nothing", () => {
      standIns.set("running");
      // The last deploy dropped this rule file; something now occupies its path with a directory,
      // so renaming the new file over it fails halfway through the swap.
      const dropped = ruleFiles[0] as string;
      mkdirSync(join(directory, dropped));
      const before = snapshot(directory, [`${DEPLOY_STATE_DIR}/backup`]);
      // prometheus.yml sorts before the rule files: it is renamed in before the swap breaks.
      const changed = {
        ...files,
        "prometheus/prometheus.yml": `${files["prometheus/prometheus.yml"]}# changed\n`,
      };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "prometheus"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(`could not swap in ${dropped}; the previous files were restored`);
      expect(standIns.calls()).toContain(
        `mv -fT -- ${directory}/prometheus/prometheus.yml.deploy-new ${directory}/prometheus/prometheus.yml`,
      );
      expect(snapshot(directory, [`${DEPLOY_STATE_DIR}/backup`])).toEqual(before);
      expect(standIns.calls().filter((line) => line.startsWith("curl"))).toEqual([]);
      rmSync(join(directory, dropped), { recursive: true });
      standIns.clear("running");
    });

    test("a failing restart restores the previous files and restarts with them", () => {
      standIns.set("running");
      const message =
        "Error response from daemon: Cannot restart container 0123456789ab: failed to create task";
      standIns.set("fail-restart", `${message}\n`);
      const loki = unitOf(files, "loki");
      expect(loki.apply.kind).toBe("restart");
      const live = () =>
        Object.fromEntries(Object.entries(snapshot(directory)).filter(([path]) => loki.paths.includes(path)));
      const before = live();
      const changed = { ...files };
      for (const path of loki.paths) changed[path] = `${files[path]}# changed\n`;
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, "loki"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("the previous files are back in place and applied");
      expect(live()).toEqual(before);
      expect(standIns.calls().filter((line) => line.startsWith("docker restart"))).toEqual([
        "docker restart 0123456789ab",
        "docker restart 0123456789ab",
      ]);
      standIns.clear("running");
    });

    test("a Loki config that Loki's own -verify-config rejects fails the step before the swap: old files live, Loki never restarted", () => {
      standIns.set("running");
      const message =
        "failed parsing config: /etc/loki/loki.yml: yaml: unmarshal errors:\n  line 4: field retention_enabld not found in type compactor.Config";
      standIns.set("fail-check", `${message}\n`);
      const loki = unitOf(files, "loki");
      expect(loki.check).toMatchObject({
        entrypoint: "loki",
        args: ["-config.file=/etc/loki/loki.yml", "-verify-config"],
      });
      const before = snapshot(directory);
      const broken = {
        ...files,
        "loki/loki.yml": `${files["loki/loki.yml"]}compactor:\n  retention_enabld: true\n`,
      };
      standIns.resetCalls();
      const result = runStep(scriptFor(broken, "loki"));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("loki rejected the new files");
      expect(result.stderr).toContain("nothing was changed on this host");
      expect(snapshot(directory)).toEqual(before);
      const calls = standIns.calls();
      const check = calls.find((line) => line.startsWith("docker run --rm --network none --entrypoint loki"));
      expect(check).toContain(`${directory}/${DEPLOY_STATE_DIR}/staging/loki/loki:/etc/loki:ro`);
      expect(check).toContain("-config.file=/etc/loki/loki.yml -verify-config");
      expect(calls.filter((line) => line.startsWith("docker restart"))).toEqual([]);
      expect(calls.filter((line) => line.includes(".deploy-new"))).toEqual([]);
      standIns.clear("running");
    });

    /**
     * A restart whose service never answers its readiness endpoint with the new files (the stand-in
     * answers only while `marker` is absent from `file`): the old files come back, the service is
     * restarted with them and answers, and the step fails with the reason and the service's logs.
     * `probe` is the recorded readiness call, `wanted` what the reason says was expected.
     */
    function neverReadyRollsBack(
      service: string,
      file: string,
      apply: DeployUnit["apply"],
      probe: string,
      logs: string,
      wanted = " 2xx",
    ) {
      standIns.set("running");
      standIns.set("unready-if", `${join(directory, file)}\n# never ready\n`);
      standIns.set("logs", logs);
      const unit = unitOf(files, service);
      expect(unit.apply).toEqual(apply);
      const readyUrl = (apply as { readyUrl: string }).readyUrl;
      const live = () =>
        Object.fromEntries(
          Object.entries(snapshot(directory)).filter(([path]) =>
            [...unit.paths, `${DEPLOY_STATE_DIR}/${service}.manifest`].includes(path),
          ),
        );
      const before = live();
      const changed = { ...files, [file]: `${files[file]}# never ready\n` };
      standIns.resetCalls();
      const result = runStep(scriptFor(changed, service));
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(
        `${service} is not ready: ${readyUrl} did not answer${wanted} in 90 tries 2 s apart`,
      );
      expect(result.stderr).toContain(logs.trim());
      expect(result.stderr).toContain("the previous files are back in place and applied");
      expect(result.stderr).toContain(`${service} is ready (${readyUrl} answered after 1 tries)`);
      // The old files, byte for byte, and the service restarted with them and answering.
      expect(live()).toEqual(before);
      const calls = standIns.calls();
      const restarts = calls.flatMap((line, index) => (line.startsWith("docker restart") ? [index] : []));
      expect(restarts).toHaveLength(2);
      const probes = calls.flatMap((line, index) => (line === probe ? [index] : []));
      expect(probes).toHaveLength(91);
      expect(probes.filter((index) => index < (restarts[1] as number))).toHaveLength(90);
      expect(calls[(probes.at(-1) as number) + 1]).toBe("  ready");
      expect(calls.filter((line) => line === "  not ready")).toHaveLength(90);
      expect(calls.filter((line) => line.startsWith("docker logs --tail 20"))).not.toEqual([]);
      standIns.clear("unready-if");
      standIns.clear("logs");
      standIns.clear("running");
    }

    test("a Grafana that never becomes ready after the restart: old files back, Grafana restarted with them and ready, the step failed with the reason", () => {
      const readyUrl = "http://127.0.0.1:3000/api/health";
      neverReadyRollsBack(
        "grafana",
        "grafana/provisioning/datasources/datasources.yml",
        { kind: "restart", service: "grafana", readyUrl },
        `curl --fail --silent --output /dev/null --max-time 5 ${readyUrl}`,
        'logger=provisioning level=error msg="Failed to provision data sources" error="datasource.yaml config is invalid"\nError: failed to initialize provisioning\n',
      );
    });

    test("a Loki that never becomes ready after the restart (probed over the compose network: it publishes no port): old files back, Loki restarted and ready, the step failed with the reason", () => {
      const readyUrl = "http://loki:3100/ready";
      const probeNetwork = { network: "observability_default", image: IMAGES.prometheus };
      neverReadyRollsBack(
        "loki",
        "loki/loki.yml",
        { kind: "restart", service: "loki", readyUrl, probeNetwork },
        `docker run --rm --network observability_default --entrypoint wget ${IMAGES.prometheus} -q -T 5 -O /dev/null ${readyUrl}`,
        'level=error caller=main.go:70 msg="validating config" err="invalid schema config"\nlevel=info msg="ingester not ready: waiting for ring"\n',
      );
    });

    test("a push gateway that never answers after the restart: old files back, the gateway restarted and answering, the step failed with the reason", () => {
      const readyUrl = "http://127.0.0.1:3101/";
      neverReadyRollsBack(
        "gateway",
        "gateway/nginx.conf",
        { kind: "restart", service: "gateway", readyUrl, anyAnswer: true },
        `curl --silent --output /dev/null --max-time 5 ${readyUrl}`,
        "nginx: [emerg] bind() to 0.0.0.0:3101 failed (98: Address already in use)\n",
        "",
      );
    });
  });

  describe("secret files over SSH", () => {
    test("land with their owner and mode 0400; values never in any program's argv nor in ssh's output", () => {
      const config = sampleStackConfig();
      const secretsDir = join(root, "etc-secrets");
      const specs = monitorSecretFiles(config);
      expect(specs.length).toBeGreaterThan(1);
      const files = specs.map((file, index) => ({
        path: join(secretsDir, file.name),
        owner: file.owner,
        mode: "0400" as const,
        content: `SECRET-${index}-it's "a" $(value) \`with\` \\ ; & | * ? newline\nand more €`,
      }));
      const manifest = join(root, "monitor-secrets-state", DEPLOY_STATE_DIR, "secrets.manifest");
      standIns.resetCalls();
      const result = runStep(renderSecretFilesScript("monitor", manifest, files));
      expect(result, describeRun(result)).toEqual({ status: 0, stdout: "", stderr: "" });
      for (const file of files) {
        const stat = statSync(file.path);
        expect(`${stat.uid}:${stat.gid}`, file.path).toBe(file.owner);
        expect(stat.mode & 0o777, file.path).toBe(0o400);
        expect(readFileSync(file.path, "utf8")).toBe(file.content);
      }
      expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
      const log = standIns.callLog();
      // The programs that did run are recorded (the log is not trivially empty)...
      expect(log).toContain(`chown -- ${files[0]?.owner} ${files[0]?.path}`);
      // ...and no value, nor any recognisable part of one, is in it.
      for (const file of files) {
        for (const fragment of [file.content, ...file.content.split("\n"), file.content.slice(0, 9)]) {
          expect(log.includes(fragment), fragment).toBe(false);
        }
      }

      // A rotated value is written in place (same inode); a file no longer needed is removed.
      const [first, second] = files as [(typeof files)[number], (typeof files)[number]];
      const inode = statSync(first.path).ino;
      const rotated = runStep(
        renderSecretFilesScript("monitor", manifest, [{ ...first, content: "rotated value" }]),
      );
      expect(rotated, describeRun(rotated)).toEqual({ status: 0, stdout: "", stderr: "" });
      expect(readFileSync(first.path, "utf8")).toBe("rotated value");
      expect(statSync(first.path).ino).toBe(inode);
      expect(existsSync(second.path)).toBe(false);
    });
  });

  describe("readiness over SSH", () => {
    const ec2 = renderReadinessScript({ waitForCloudInit: true, requiredMounts: [] });

    test("fails clearly, after its bounded retries, while Docker is not answering", () => {
      standIns.set("docker-down");
      standIns.resetCalls();
      const result = ssh().run(ec2);
      standIns.clear("docker-down");
      expect(result.status, describeRun(result)).toBe(1);
      expect(result.stderr).toContain(
        "the Docker engine or its compose plugin is not answering after 60 tries",
      );
      expect(result.stderr).toContain("Cannot connect to the Docker daemon");
      expect(standIns.calls().filter((line) => line === "sleep 5")).toHaveLength(59);
    });

    test("passes once Docker and compose answer, after cloud-init", () => {
      standIns.resetCalls();
      const result = ssh().run(ec2);
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain("Docker Compose version");
      const calls = standIns
        .calls()
        .filter((line) => !line.startsWith("sudo") && !line.startsWith("timeout"));
      expect(calls.indexOf("cloud-init status --wait")).toBeLessThan(calls.indexOf("docker info"));
    });

    test("a failed cloud-init or an unmounted data volume stops it with the log to read", () => {
      standIns.set("cloud-init-exit", "1");
      const cloudInit = ssh().run(ec2);
      standIns.clear("cloud-init-exit");
      expect(cloudInit.status).toBe(1);
      expect(cloudInit.stderr).toContain("cloud-init failed (exit 1): see /var/log/cloud-init-output.log");

      const notMounted = join(root, "not-a-mount-point");
      mkdirSync(notMounted);
      const result = ssh().run(
        renderReadinessScript({ waitForCloudInit: false, requiredMounts: [notMounted] }),
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`${notMounted} is not mounted`);
    });
  });

  describe("recreate, Grafana password reset and teardown over SSH", () => {
    test("run as the login user's commands: compose recreate and exec, then teardown removes containers, files and secrets", () => {
      const directory = join(root, "agents");
      const files = monitorFiles(sampleStackConfig(), DEPLOY_INFO);
      const plan = planDeploy(files, directory);
      const compose = plan.units.find((unit) => unit.name === "compose") as DeployUnit;
      const deployed = runStep(
        renderFileUnitScript({
          hostName: "outside",
          directory,
          project: plan.project,
          unit: compose,
          files: unitFiles(compose, files),
        }),
      );
      expect(deployed.status, describeRun(deployed)).toBe(0);
      const secretFile = join(root, "outside-secrets", "exporter.env");
      const secrets = runStep(
        renderSecretFilesScript("outside", join(directory, DEPLOY_STATE_DIR, "secrets.manifest"), [
          { path: secretFile, owner: "65534:65534", mode: "0400", content: "DSN=postgres://u:p@db/x" },
        ]),
      );
      expect(secrets.status, describeRun(secrets)).toBe(0);

      standIns.resetCalls();
      const recreate = ssh().run(renderRecreateCommand(directory, ["alertmanager"]));
      expect(recreate.status, describeRun(recreate)).toBe(0);
      const reset = ssh().run(inDirectoryAsRoot(directory, grafanaAdminPasswordResetCommand(COMPOSE_FILE)));
      expect(reset.status, describeRun(reset)).toBe(0);
      const teardown = ssh().run(renderTeardownCommand(directory, [secretFile]));
      expect(teardown.status, describeRun(teardown)).toBe(0);

      const dockerCalls = standIns.calls().filter((line) => line.startsWith("docker "));
      expect(dockerCalls).toEqual([
        `docker compose --project-directory ${directory} -f ${directory}/${COMPOSE_FILE} up --detach --no-deps --force-recreate --wait --wait-timeout 600 alertmanager`,
        `docker compose -f ${COMPOSE_FILE} exec -T grafana sh -c grafana cli admin reset-admin-password --password-from-stdin < /run/secrets/grafana_admin_password`,
        `docker compose --project-directory ${directory} -f ${directory}/${COMPOSE_FILE} down --remove-orphans --volumes`,
      ]);
      expect(existsSync(directory)).toBe(false);
      expect(existsSync(secretFile)).toBe(false);
    });
  });
});
