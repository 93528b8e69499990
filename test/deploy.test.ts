/**
 * The deploy over SSH: the shell renderers (scripts run for real against a temp directory with
 * stand-in `docker`/`curl`/`sudo` on PATH; the plan is test/deploy-plan.test.ts), and the whole program under mocks (what
 * every host's steps are, what they depend on, what their triggers hold, where secrets go).
 * test/host-scripts.test.ts runs the same scripts over a real SSH connection; no Docker engine is
 * involved anywhere: docs/deploy.md says what was not run here.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AGENTS_DEPLOY_DIR,
  contentHash,
  MONITOR_DEPLOY_DIR,
  planDeploy,
  RUN_STDIN_AS_ROOT,
  renderReadinessScript,
  renderSecretFilesScript,
  renderTeardownCommand,
  unitFiles,
} from "../configs/deploy-scripts";
import { type HostFiles, monitorFiles, stackImages } from "../configs/host-files";
import { monitorSecretFiles } from "../configs/monitor-compose";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import { shellQuote } from "../lib/shell";
import { PROJECT } from "../lib/stack-config";
import { listStackNames } from "../lib/stack-files";
import { fileStepScript } from "./support/deploy-steps";
import {
  fakeImageDigest,
  isSecretValue,
  type ProgramRun,
  plainStrings,
  REMOTE_COMMAND_TYPE,
  REPO_ROOT,
  type RecordedResource,
  resourcesOfType,
  runProgram,
  runRefusedProgram,
  TEST_SECRET_VALUES,
} from "./support/pulumi-mocks";
import { sampleStackConfig } from "./support/sample-config";
import { SECRET_SETTINGS } from "./support/stack-files";

const SECRET_VALUE_KEY = "value";
/** Where the monitor's file SD target files are deployed (relative to its deploy directory). */
const FILE_SD_DIR = "prometheus/file_sd";

/** The value a secrets script writes to `path`: the here-document after its put_secret call. */
function secretValueIn(script: string, path: string): string | undefined {
  const lines = script.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`put_secret ${shellQuote(path)} `));
  const delimiter = /<<'([A-Za-z0-9_]+)'$/.exec(lines[start] ?? "")?.[1];
  if (start < 0 || delimiter === undefined) return undefined;
  const end = lines.indexOf(delimiter, start + 1);
  return lines.slice(start + 1, end).join("\n");
}

describe("contentHash", () => {
  test("independent of insertion order, sensitive to every path and byte", () => {
    const files = { "a.yml": "one\n", "b/c.yml": "two\n" };
    const reordered = { "b/c.yml": "two\n", "a.yml": "one\n" };
    expect(contentHash(reordered)).toBe(contentHash(files));
    expect(contentHash({ ...files, "a.yml": "one \n" })).not.toBe(contentHash(files));
    expect(contentHash({ "a2.yml": "one\n", "b/c.yml": "two\n" })).not.toBe(contentHash(files));
    expect(contentHash(files)).toMatch(/^sha256:[0-9a-f]{64}$/);
    // A path/content boundary cannot be shifted to forge the same hash.
    expect(contentHash({ ab: "c" })).not.toBe(contentHash({ a: "bc" }));
  });
});

// ---------------------------------------------------------------------------------------------
// Scripts, run for real against a temp directory
// ---------------------------------------------------------------------------------------------

interface Sandbox {
  readonly root: string;
  readonly bin: string;
  readonly log: string;
  run(script: string, env?: Record<string, string>): { status: number; stdout: string; stderr: string };
  calls(): string[];
}

/**
 * Stand-ins on PATH: `docker` logs its argv (and, for `docker run`, the files under each `-v`
 * source) and answers `ps` with a container id when DOCKER_RUNNING is set; `docker run` fails when
 * CHECK_FAILS is set. `curl` logs its argv. `sudo -n` runs its command.
 */
function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "deploy-test-"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  const log = join(root, "calls.log");
  writeFileSync(log, "");
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    "docker",
    `printf '%s\\n' "docker $*" >> "$CALLS"
if [ "$1" = ps ]; then [ -n "\${DOCKER_RUNNING:-}" ] && echo 0123456789ab; exit 0; fi
if [ "$1" = run ]; then
  [ -n "\${CHECK_FAILS:-}" ] && { echo "check failed" >&2; exit 1; }
  prev=""
  for arg in "$@"; do
    if [ "$prev" = -v ]; then src="\${arg%%:*}"; (cd "$src" && find . -type f | sort | sed 's|^|  staged |') >> "$CALLS"; fi
    prev="$arg"
  done
fi
exit 0`,
  );
  stub("curl", `printf '%s\\n' "curl $*" >> "$CALLS"`);
  stub("sudo", `[ "$1" = -n ] && shift; exec "$@"`);
  return {
    root,
    bin,
    log,
    run(script, env = {}) {
      const result = spawnSync("bash", ["-s"], {
        input: script,
        encoding: "utf8",
        env: { PATH: `${bin}:${process.env.PATH}`, CALLS: log, ...env },
      });
      return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    calls() {
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    },
  };
}

describe("file step scripts", () => {
  const config = sampleStackConfig();
  const files = monitorFiles(config, { monitorPrivateIp: "10.42.1.10" });
  let box: Sandbox;
  let directory: string;

  beforeAll(() => {
    box = sandbox();
    directory = join(box.root, "monitor");
  });
  afterAll(() => rmSync(box.root, { recursive: true, force: true }));

  const scriptFor = (unitName: string, hostFiles: HostFiles) =>
    fileStepScript(hostFiles, directory, unitName);

  test("files land byte for byte after the check ran on the staged copy; a running Prometheus is reloaded", () => {
    const result = box.run(scriptFor("prometheus", files), { DOCKER_RUNNING: "1" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const plan = planDeploy(files, directory);
    const paths = plan.units.find((entry) => entry.name === "prometheus")?.paths ?? [];
    for (const path of paths) {
      expect(readFileSync(join(directory, path), "utf8"), path).toBe(files[path]);
      expect(statSync(join(directory, path)).mode & 0o777, path).toBe(0o644);
    }
    const calls = box.calls();
    const check = calls.findIndex((line) => line.startsWith("docker run") && line.includes("promtool"));
    expect(check).toBeGreaterThanOrEqual(0);
    expect(calls[check]).toContain(":/etc/prometheus:ro");
    expect(calls[check]).toContain("--network none");
    // The check saw the staged prometheus.yml and rules, before the swap.
    expect(calls).toContain("  staged ./prometheus.yml");
    expect(calls.some((line) => line.startsWith("  staged ./rules/"))).toBe(true);
    expect(calls.filter((line) => line.startsWith("curl"))).toEqual([
      `curl --fail-with-body --silent --show-error --max-time 60 -X POST http://127.0.0.1:${MONITOR_PORTS.prometheus}/-/reload`,
    ]);
    // Staging is cleaned up.
    expect(existsSync(join(directory, ".deploy/staging/prometheus"))).toBe(false);
  });

  test("a failed check leaves the running files untouched and stops before the reload", () => {
    const before = readFileSync(join(directory, "prometheus/prometheus.yml"), "utf8");
    writeFileSync(box.log, "");
    const changed = { ...files, "prometheus/prometheus.yml": "broken: [\n" };
    const result = box.run(scriptFor("prometheus", changed), { DOCKER_RUNNING: "1", CHECK_FAILS: "1" });
    expect(result.status).not.toBe(0);
    expect(readFileSync(join(directory, "prometheus/prometheus.yml"), "utf8")).toBe(before);
    expect(box.calls().filter((line) => line.startsWith("curl"))).toEqual([]);
  });

  test("a file no longer rendered is removed; other steps' files (file SD) are left alone", () => {
    expect(box.run(scriptFor("file-sd", files)).status).toBe(0);
    const ruleFiles = Object.keys(files).filter((path) => path.startsWith("prometheus/rules/"));
    const dropped = ruleFiles[0] as string;
    const { [dropped]: _gone, ...fewer } = files;
    expect(box.run(scriptFor("prometheus", fewer)).status).toBe(0);
    expect(existsSync(join(directory, dropped))).toBe(false);
    for (const path of ruleFiles.slice(1)) expect(existsSync(join(directory, path)), path).toBe(true);
    for (const path of Object.keys(files).filter((entry) => entry.startsWith(FILE_SD_DIR))) {
      expect(readFileSync(join(directory, path), "utf8"), path).toBe(files[path]);
    }
  });

  test("content that a here-document cannot carry (no final newline, the delimiter itself) still lands exactly", () => {
    const awkward = {
      ...files,
      "alloy/config.alloy": "no final newline",
    };
    expect(box.run(scriptFor("alloy", awkward), { DOCKER_RUNNING: "1" }).status).toBe(0);
    expect(readFileSync(join(directory, "alloy/config.alloy"), "utf8")).toBe("no final newline");
    const script = scriptFor("alloy", files);
    const delimiter = /<<'(OBSERVABILITY_EOF_[0-9a-f]+)'/.exec(script)?.[1] as string;
    const tricky = { ...files, "alloy/config.alloy": `${delimiter}\n$(echo pwned)\n'\n` };
    expect(box.run(scriptFor("alloy", tricky), { DOCKER_RUNNING: "1" }).status).toBe(0);
    expect(readFileSync(join(directory, "alloy/config.alloy"), "utf8")).toBe(tricky["alloy/config.alloy"]);
    expect(box.calls()).toContain(
      `curl --fail-with-body --silent --show-error --max-time 60 -X POST http://127.0.0.1:${AGENT_PORTS.alloy}/-/reload`,
    );
    expect(box.calls().filter((line) => line.startsWith("docker restart"))).toEqual([]);
  });

  test("nothing running yet (first deploy): no reload, no restart; compose up starts it", () => {
    writeFileSync(box.log, "");
    expect(box.run(scriptFor("prometheus", files)).status).toBe(0);
    expect(box.run(scriptFor("loki", files)).status).toBe(0);
    expect(box.run(scriptFor("compose", files)).status).toBe(0);
    const calls = box.calls();
    expect(calls.filter((line) => line.startsWith("curl") || line.startsWith("docker restart"))).toEqual([]);
    expect(calls).toContain(
      `docker compose --project-directory ${directory} -f ${directory}/.deploy/staging/compose/compose.yaml config --quiet`,
    );
    expect(
      calls.some((line) => line.includes(`-f ${directory}/compose.yaml up --detach --remove-orphans --wait`)),
    ).toBe(true);
  });
});

describe("secret files script", () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => rmSync(box.root, { recursive: true, force: true }));

  test("owner, mode and exact value; rewritten in place (same inode); stale files removed; nothing printed", () => {
    if (process.getuid?.() !== 0)
      throw new Error("this test writes files owned by other users: run it as root");
    const dir = join(box.root, "secrets");
    const manifest = join(box.root, "state/secrets.manifest");
    const nasty = "p'a\"s$s`w\\o r\nd €";
    const files = [
      { path: `${dir}/one`, owner: "65534:65534", mode: "0400" as const, content: nasty },
      { path: `${dir}/two`, owner: "472:0", mode: "0600" as const, content: "second" },
    ];
    const first = box.run(renderSecretFilesScript("test", manifest, files));
    expect(first).toEqual({ status: 0, stdout: "", stderr: "" });
    const one = statSync(`${dir}/one`);
    expect(readFileSync(`${dir}/one`, "utf8")).toBe(nasty);
    expect([one.uid, one.gid, one.mode & 0o777]).toEqual([65534, 65534, 0o400]);
    const two = statSync(`${dir}/two`);
    expect([two.uid, two.gid, two.mode & 0o777]).toEqual([472, 0, 0o600]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const second = box.run(
      renderSecretFilesScript("test", manifest, [{ ...files[0], content: "rotated" }] as never),
    );
    expect(second).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(`${dir}/one`, "utf8")).toBe("rotated");
    expect(statSync(`${dir}/one`).ino).toBe(one.ino);
    expect(existsSync(`${dir}/two`)).toBe(false);
  });

  test("the secret value is never a program argument", () => {
    const script = renderSecretFilesScript("test", "/opt/x/.deploy/secrets.manifest", [
      { path: "/etc/x/secret", owner: "0:0", mode: "0400", content: "s3cr3t-value" },
    ]);
    const lines = script.split("\n").filter((line) => line.includes("s3cr3t-value"));
    // Only as data: the body of the here-document fed to the library's put_secret, never on a
    // command line (test/host-scripts.test.ts records every program's argv over SSH and finds no value).
    expect(lines).toEqual(["s3cr3t-value"]);
    expect(secretValueIn(script, "/etc/x/secret")).toBe("s3cr3t-value");
  });
});

describe("readiness script", () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    const stub = (name: string, body: string) => {
      writeFileSync(join(box.bin, name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(box.bin, name), 0o755);
    };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    stub("cloud-init", 'printf "%s\\n" "cloud-init $*" >> "$CALLS"; exit "${CLOUD_INIT_EXIT:-0}"');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    stub("mountpoint", 'printf "%s\\n" "mountpoint $*" >> "$CALLS"; exit "${MOUNTED_EXIT:-0}"');
    stub("sleep", "exit 0");
  });
  afterAll(() => rmSync(box.root, { recursive: true, force: true }));

  const script = renderReadinessScript({ waitForCloudInit: true, requiredMounts: ["/srv/observability"] });
  const runSh = (env: Record<string, string> = {}) => {
    const result = spawnSync("sh", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${box.bin}:${process.env.PATH}`, CALLS: box.log, ...env },
    });
    return { status: result.status, stderr: result.stderr };
  };

  test("ready host: cloud-init waited for, data volume checked, Docker and compose asked", () => {
    writeFileSync(box.log, "");
    expect(runSh().status).toBe(0);
    expect(box.calls()).toEqual([
      "cloud-init status --wait",
      "mountpoint -q /srv/observability",
      "docker info",
      "docker compose version",
      "docker compose version",
    ]);
  });

  test("cloud-init's recoverable errors (exit 2) are a warning, a failure (exit 1) stops the deploy", () => {
    const warned = runSh({ CLOUD_INIT_EXIT: "2" });
    expect(warned.status).toBe(0);
    expect(warned.stderr).toContain("recoverable");
    const failed = runSh({ CLOUD_INIT_EXIT: "1" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("cloud-init-output.log");
  });

  test("an unmounted data volume stops the deploy", () => {
    const result = runSh({ MOUNTED_EXIT: "1" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("/srv/observability is not mounted");
  });

  test("hosts outside AWS skip cloud-init", () => {
    writeFileSync(box.log, "");
    const outside = renderReadinessScript({ waitForCloudInit: false, requiredMounts: [] });
    const result = spawnSync("sh", ["-c", outside], {
      encoding: "utf8",
      env: { PATH: `${box.bin}:${process.env.PATH}`, CALLS: box.log, CLOUD_INIT_EXIT: "1" },
    });
    expect(result.status).toBe(0);
    expect(box.calls().filter((line) => line.startsWith("cloud-init"))).toEqual([]);
    expect(box.calls()).toContain("docker info");
  });
});

test("teardown: compose down with volumes, then the directory goes", () => {
  const command = renderTeardownCommand(AGENTS_DEPLOY_DIR, []);
  expect(command).toContain(
    `docker compose --project-directory ${AGENTS_DEPLOY_DIR} -f ${AGENTS_DEPLOY_DIR}/compose.yaml down --remove-orphans --volumes`,
  );
  expect(command.trim().split("\n").at(-1)).toBe(`sudo -n rm -rf -- ${AGENTS_DEPLOY_DIR}`);
});

// ---------------------------------------------------------------------------------------------
// The program under mocks
// ---------------------------------------------------------------------------------------------

const DEPLOY_TYPE = "observability:deploy:HostDeployment";

function commands(run: ProgramRun): RecordedResource[] {
  return resourcesOfType(run, REMOTE_COMMAND_TYPE);
}

function commandsOf(run: ProgramRun, deployment: string): RecordedResource[] {
  return commands(run).filter((command) => command.parent === `${DEPLOY_TYPE}::${deployment}`);
}

function command(run: ProgramRun, name: string): RecordedResource {
  const found = commands(run).find((entry) => entry.name === name);
  if (!found) throw new Error(`no command ${name}; have ${commands(run).map((entry) => entry.name)}`);
  return found;
}

function unwrap(value: unknown): unknown {
  return isSecretValue(value) ? (value as Record<string, unknown>)[SECRET_VALUE_KEY] : value;
}

const EXTERNAL_HOSTS = [
  {
    name: "onprem-1",
    address: "198.51.100.21",
    sshUser: "deploy",
    exporters: ["nginx"],
  },
  { name: "onprem-2", address: "198.51.100.22", sshUser: "ops", exporters: ["nginx"] },
];

function withExternalHosts(hosts: readonly unknown[]) {
  return { configOverrides: { [`${PROJECT}:externalHosts`]: JSON.stringify(hosts) } };
}

describe.each(listStackNames(REPO_ROOT))("stack %s deploy", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack, withExternalHosts(EXTERNAL_HOSTS));
  });

  const deployments = () => resourcesOfType(run, DEPLOY_TYPE).map((entry) => entry.name);

  test("one deployment per host: the monitor, every client, every host outside AWS", () => {
    expect(deployments().sort()).toEqual(
      [
        "monitor",
        ...run.stackConfig.clients.map((client) => client.name),
        ...EXTERNAL_HOSTS.map((host) => host.name),
      ]
        .map((name) => `${stack}-deploy-${name}`)
        .sort(),
    );
  });

  test("each host outside AWS may reach the push gateway from its own /32, and nothing else is opened for it", () => {
    const monitorInstance = resourcesOfType(run, "aws:ec2/instance:Instance").find(
      (entry) => (entry.inputs.tags as Record<string, string>).Name === `${stack}-monitor`,
    );
    const monitorGroup = (monitorInstance?.inputs.vpcSecurityGroupIds as string[] | undefined)?.[0];
    expect(monitorGroup).toBeDefined();
    const fromOutside = resourcesOfType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((rule) => EXTERNAL_HOSTS.some((host) => rule.inputs.cidrIpv4 === `${host.address}/32`))
      .map((rule) => [
        rule.inputs.securityGroupId,
        rule.inputs.fromPort,
        rule.inputs.toPort,
        rule.inputs.cidrIpv4,
      ]);
    expect(fromOutside.sort()).toEqual(
      EXTERNAL_HOSTS.map((host) => [
        monitorGroup,
        MONITOR_PORTS.gateway,
        MONITOR_PORTS.gateway,
        `${host.address}/32`,
      ]).sort(),
    );
  });

  test("every host has one readiness step, and every other step waits for it", () => {
    for (const deployment of deployments()) {
      const steps = commandsOf(run, deployment);
      const ready = steps.filter((step) => step.name === `${deployment}-ready`);
      expect(ready, deployment).toHaveLength(1);
      const byKey = new Map(steps.map((step) => [`${step.type}::${step.name}`, step]));
      const reachesReady = (step: RecordedResource, seen = new Set<string>()): boolean =>
        (step.dependsOn ?? []).some((key) => {
          if (key === `${REMOTE_COMMAND_TYPE}::${deployment}-ready`) return true;
          const next = byKey.get(key);
          if (!next || seen.has(key)) return false;
          seen.add(key);
          return reachesReady(next, seen);
        });
      for (const step of steps.filter((entry) => entry !== ready[0])) {
        expect(reachesReady(step), `${step.name} waits for ${deployment}-ready`).toBe(true);
      }
    }
  });

  test("the monitor is set up once its host (data volume attached) exists; the others once the monitor is ready", () => {
    expect(command(run, `${stack}-deploy-monitor-ready`).dependsOn).toEqual([
      `observability:hosts:MonitorHost::${stack}-monitor`,
    ]);
    for (const name of [
      ...run.stackConfig.clients.map((client) => client.name),
      ...EXTERNAL_HOSTS.map((h) => h.name),
    ]) {
      expect(command(run, `${stack}-deploy-${name}-ready`).dependsOn, name).toEqual([
        `${REMOTE_COMMAND_TYPE}::${stack}-deploy-monitor-ready`,
      ]);
    }
  });

  test("the monitor is reached at its Elastic IP; clients and outside hosts through it as jump host", () => {
    const eip = resourcesOfType(run, "aws:ec2/eip:Eip")[0]?.state.publicIp;
    const user = run.stackConfig.access.sshUser;
    // The private key makes the whole connection a secret in state and diffs.
    const connectionOf = (name: string) => {
      const connection = command(run, `${stack}-deploy-${name}-ready`).inputs.connection;
      expect(isSecretValue(connection), name).toBe(true);
      return unwrap(connection) as Record<string, unknown>;
    };
    const monitorConnection = connectionOf("monitor");
    expect(monitorConnection).toMatchObject({
      host: eip,
      user,
      port: 22,
      privateKey: TEST_SECRET_VALUES.sshPrivateKey,
    });
    expect(monitorConnection.proxy).toBeUndefined();
    const instances = resourcesOfType(run, "aws:ec2/instance:Instance");
    for (const client of run.stackConfig.clients) {
      const instance = instances.find(
        (entry) => (entry.inputs.tags as Record<string, string>).Name === client.name,
      );
      expect(connectionOf(client.name)).toMatchObject({
        host: instance?.state.privateIp,
        user,
        proxy: { host: eip, user, privateKey: TEST_SECRET_VALUES.sshPrivateKey },
      });
    }
    for (const host of EXTERNAL_HOSTS) {
      expect(connectionOf(host.name)).toMatchObject({
        host: host.address,
        user: host.sshUser,
        proxy: { host: eip, user },
      });
    }
  });

  test("no secret value in any command's create/delete script, triggers or stdin except inside a secret", () => {
    for (const step of commands(run)) {
      const plain = plainStrings(step.inputs);
      for (const [setting, value] of Object.entries(TEST_SECRET_VALUES)) {
        expect(
          plain.filter((text) => text.includes(value)),
          `${setting} in ${step.name}`,
        ).toEqual([]);
      }
      for (const key of ["create", "delete"]) {
        expect(isSecretValue(step.inputs[key]), `${step.name}.${key} is plain, readable text`).toBe(false);
      }
    }
  });

  test("steps that carry secrets log stderr at most, and their stdin is a secret", () => {
    for (const step of commands(run)) {
      const carriesSecret =
        JSON.stringify(step.inputs.stdin ?? "").length > 0 && isSecretValue(step.inputs.stdin);
      if (step.name.endsWith("-secrets") || step.name.endsWith("-grafana-admin-password") || carriesSecret) {
        expect(["none", "stderr"], step.name).toContain(step.inputs.logging);
      }
      if (step.name.endsWith("-secrets")) expect(isSecretValue(step.inputs.stdin), step.name).toBe(true);
    }
  });

  test("the monitor's secret files are written with their owner and mode 0400, values from the secrets", () => {
    const stdin = String(unwrap(command(run, `${stack}-deploy-monitor-secrets`).inputs.stdin));
    expect(command(run, `${stack}-deploy-monitor-secrets`).inputs.create).toBe(RUN_STDIN_AS_ROOT);
    for (const file of monitorSecretFiles(run.stackConfig)) {
      const line = stdin.split("\n").find((entry) => entry.startsWith(`put_secret ${file.hostPath} `));
      expect(line, file.hostPath).toBeDefined();
      expect(line?.split(" ").slice(2, 4)).toEqual([file.owner, "0400"]);
      if (file.source === "push-htpasswd" || file.source === "push-htpasswd-metrics") {
        // One sha512-crypt line per pushing host (for metrics: per host outside AWS), and none
        // of their passwords.
        const users = (secretValueIn(stdin, file.hostPath) ?? "")
          .trim()
          .split("\n")
          .map((entry) => entry.split(":")[0]);
        const pushing =
          file.source === "push-htpasswd"
            ? [...run.stackConfig.clients, ...run.stackConfig.externalHosts]
            : run.stackConfig.externalHosts;
        const hosts = pushing.map((host) => host.name);
        expect(hosts.length).toBeGreaterThan(0);
        expect(users.sort()).toEqual(hosts.sort());
        expect(secretValueIn(stdin, file.hostPath)).toMatch(
          /^([a-z0-9-]+:\$6\$rounds=1000\$[A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}\n?)+$/,
        );
      } else if (file.source !== "generated") {
        expect(secretValueIn(stdin, file.hostPath)).toBe(TEST_SECRET_VALUES[file.source]);
      }
    }
    // The generated Grafana secret key comes from a RandomPassword, never from config; each
    // pushing host's gateway password from one of its own.
    const generated = resourcesOfType(run, "random:index/randomPassword:RandomPassword").map(
      (entry) => entry.name,
    );
    expect(generated.filter((name) => name.startsWith(`${stack}-deploy-`))).toEqual([
      `${stack}-deploy-monitor-grafana-secret-key`,
    ]);
    const hosts = [...run.stackConfig.clients, ...run.stackConfig.externalHosts].map((host) => host.name);
    expect(generated.filter((name) => name.startsWith(`${stack}-push-`)).sort()).toEqual(
      hosts.map((host) => `${stack}-push-${host}`).sort(),
    );
  });

  test("Grafana's admin password is reset through the container when the secret changes, never on a command line", () => {
    const reset = command(run, `${stack}-deploy-monitor-grafana-admin-password`);
    expect(String(reset.inputs.create)).toContain("reset-admin-password --password-from-stdin");
    expect(String(reset.inputs.create)).toContain("< /run/secrets/grafana_admin_password");
    // The password itself is the trigger, kept encrypted in state: no hash to guess offline.
    expect(isSecretValue(reset.inputs.triggers)).toBe(true);
    expect(unwrap(reset.inputs.triggers)).toContain(TEST_SECRET_VALUES.grafanaAdminPassword);
    expect(reset.dependsOn).toEqual(
      expect.arrayContaining([
        `${REMOTE_COMMAND_TYPE}::${stack}-deploy-monitor-compose`,
        `${REMOTE_COMMAND_TYPE}::${stack}-deploy-monitor-secrets`,
      ]),
    );
  });

  test("the EC2 hosts keep their containers when a step is replaced; outside hosts are torn down when removed", () => {
    for (const step of commands(run)) {
      const external = EXTERNAL_HOSTS.some((host) => step.name === `${stack}-deploy-${host.name}-teardown`);
      if (external) {
        expect(String(step.inputs.delete)).toContain("down --remove-orphans --volumes");
        expect(step.deleteBeforeReplace, step.name).toBe(true);
      } else {
        expect(step.inputs.delete, step.name).toBeUndefined();
      }
    }
  });

  test("every file step's trigger is the host identity and the hash of exactly its files", () => {
    const config = run.stackConfig;
    const monitorInstance = resourcesOfType(run, "aws:ec2/instance:Instance").find(
      (entry) => (entry.inputs.tags as Record<string, string>).Name === `${stack}-monitor`,
    );
    const bucket = resourcesOfType(run, "aws:s3/bucket:Bucket")[0];
    const files = monitorFiles(config, {
      lokiBucketName: String(bucket?.state.bucket),
      monitorPrivateIp: String(monitorInstance?.state.privateIp),
      vpcId: String(run.outputs.vpcId),
      grafanaUrl: String(run.outputs.grafanaUrl),
      dataVolumeId: String(run.outputs.monitorDataVolumeId),
      // The program pins every image by the digest its (mocked) registry lookup returns.
      ...(config.pinImageDigests
        ? {
            imageDigests: Object.fromEntries(
              stackImages(config).map((image) => [image, fakeImageDigest(image)]),
            ),
          }
        : {}),
    });
    for (const unit of planDeploy(files, MONITOR_DEPLOY_DIR).units) {
      const step = command(run, `${stack}-deploy-monitor-${unit.name}`);
      expect(step.inputs.triggers, unit.name).toEqual([
        monitorInstance?.id,
        contentHash(unitFiles(unit, files)),
      ]);
      expect(step.inputs.create).toBe(RUN_STDIN_AS_ROOT);
    }
  });
});

describe("changes between runs", () => {
  const stack = "dev";

  function triggersByName(run: ProgramRun): Map<string, string> {
    return new Map(commands(run).map((step) => [step.name, JSON.stringify(step.inputs.triggers)]));
  }

  function changedSteps(before: ProgramRun, after: ProgramRun): string[] {
    const old = triggersByName(before);
    return [...triggersByName(after).entries()]
      .filter(([name, triggers]) => old.has(name) && old.get(name) !== triggers)
      .map(([name]) => name)
      .sort();
  }

  test("a second run with the same config changes no trigger", async () => {
    const first = await runProgram(stack, withExternalHosts(EXTERNAL_HOSTS));
    const second = await runProgram(stack, withExternalHosts(EXTERNAL_HOSTS));
    expect(changedSteps(first, second)).toEqual([]);
    expect([...triggersByName(second).keys()].sort()).toEqual([...triggersByName(first).keys()].sort());
  });

  test("a changed alert threshold re-runs exactly the steps whose files changed (the rules: a reload), no compose", async () => {
    const before = await runProgram(stack);
    const after = await runProgram(stack, {
      configOverrides: { [`${PROJECT}:alertThresholds`]: JSON.stringify({ cpuPercent: 91 }) },
    });
    const oldFiles = monitorFiles(before.stackConfig);
    const newFiles = monitorFiles(after.stackConfig);
    const expected = planDeploy(newFiles, MONITOR_DEPLOY_DIR)
      .units.filter(
        (unit) => contentHash(unitFiles(unit, newFiles)) !== contentHash(unitFiles(unit, oldFiles)),
      )
      .map((unit) => `${stack}-deploy-monitor-${unit.name}`);
    expect(expected).toContain(`${stack}-deploy-monitor-prometheus`);
    expect(changedSteps(before, after)).toEqual(expected.sort());
    expect(changedSteps(before, after).filter((name) => name.endsWith("-compose"))).toEqual([]);
  });

  test("removing a host outside AWS removes exactly its deployment and rewrites the rules and Loki's runtime overrides, with no compose run and no restart", async () => {
    const before = await runProgram(stack, withExternalHosts(EXTERNAL_HOSTS));
    const after = await runProgram(stack, withExternalHosts(EXTERNAL_HOSTS.slice(0, 1)));
    const removed = EXTERNAL_HOSTS[1]?.name as string;
    const names = (run: ProgramRun) => new Set(run.resources.map((entry) => `${entry.type}::${entry.name}`));
    const gone = [...names(before)].filter((key) => !names(after).has(key)).sort();
    expect(
      gone.every((key) => key.includes(`-${removed}`)),
      gone.join("\n"),
    ).toBe(true);
    expect(gone).toContain(`${REMOTE_COMMAND_TYPE}::${stack}-deploy-${removed}-teardown`);
    expect(gone).toContain(`${DEPLOY_TYPE}::${stack}-deploy-${removed}`);
    expect([...names(after)].filter((key) => !names(before).has(key))).toEqual([]);

    const changed = changedSteps(before, after);
    // Outside hosts push: file SD lists none of them (rendered empty either way), and the host
    // leaves the rules (its expected-push series, the TooFewTargets count): Prometheus reloads.
    expect(changed).not.toContain(`${stack}-deploy-monitor-file-sd`);
    expect(changed).toContain(`${stack}-deploy-monitor-prometheus`);
    // Loki's fleet-sized limits change in its runtime file only, which Loki re-reads by itself.
    expect(changed).toContain(`${stack}-deploy-monitor-loki-runtime`);
    expect(changed).not.toContain(`${stack}-deploy-monitor-loki`);
    // The gateway's hash file loses the host's line (written in place, read per request:
    // nothing restarts); nothing else may change, and no compose step re-runs anywhere.
    expect(changed).toContain(`${stack}-deploy-monitor-secrets`);
    const allowed = ["loki-runtime", "prometheus", "secrets"].map(
      (unit) => `${stack}-deploy-monitor-${unit}`,
    );
    expect(changed.filter((name) => !allowed.includes(name))).toEqual([]);
    expect(changed.filter((name) => name.endsWith("-compose"))).toEqual([]);
    const units = planDeploy(monitorFiles(after.stackConfig), MONITOR_DEPLOY_DIR).units;
    const applyOf = (name: string) => units.find((unit) => unit.name === name)?.apply.kind;
    expect(applyOf("prometheus")).toBe("reload");
    expect(applyOf("file-sd")).toBe("none");
    expect(applyOf("loki-runtime")).toBe("none");
    // So no step that runs restarts anything.
    const restarting = units
      .filter((unit) => unit.apply.kind === "restart")
      .map((unit) => `${stack}-deploy-monitor-${unit.name}`);
    expect(restarting.length).toBeGreaterThan(0);
    expect(changed.filter((name) => restarting.includes(name))).toEqual([]);
  });

  test("the deploy needs the SSH private key: refused with its fix before any resource exists", async () => {
    const { sshPrivateKey: _omitted, ...others } = TEST_SECRET_VALUES;
    const refused = await runRefusedProgram(stack, { secrets: others });
    expect(String((refused.error as Error).message)).toContain(
      `pulumi config set --secret ${PROJECT}:sshPrivateKey`,
    );
    expect(refused.registeredTypes).toEqual([]);
  });

  test("every secret setting is known to the leak checks", () => {
    expect(Object.keys(TEST_SECRET_VALUES).sort()).toEqual([...SECRET_SETTINGS].sort());
  });
});
