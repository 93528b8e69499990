/**
 * The whole deploy against real Docker: a monitor and a client, each a test host (Debian, sshd,
 * sudo, its own Docker engine with compose v2; test/support/docker-hosts.ts) on the test engine
 * (.ci/docker-engine). Every step runs the script the deploy renders (configs/deploy-scripts.ts),
 * in the order components/host-deployment.ts runs them, over real SSH as the login user.
 *
 * Real here: sshd, sudo, Docker and compose (`config`, `up --wait` with the rendered health
 * checks, `restart`, `exec`), Prometheus and promtool, Alertmanager and amtool, node and process
 * exporter (Debian's binaries in images laid out like the upstream ones). Stand-ins (named so):
 * Grafana, Loki, Alloy, cAdvisor (test/docker/standin.pl).
 *
 * The rendered files are the deploy's own, with test image names and the test hosts' addresses
 * given through the renderers' inputs (DeployInfo.images, monitorPrivateIp, the client as a host
 * outside AWS). One change is made to them, in test/support/this-machine.ts, and nowhere else.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HOST_KEY_READ_COMMAND, hostKeyFromOutput } from "../components/ssh-key";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import { DATA_DIRECTORIES, dataDirectoryPath } from "../configs/cloud-init";
import {
  AGENTS_DEPLOY_DIR,
  contentHash,
  DEPLOY_STATE_DIR,
  inDirectoryAsRoot,
  MONITOR_DEPLOY_DIR,
  planDeploy,
  RUN_STDIN_AS_ROOT,
  renderFileUnitScript,
  renderReadinessScript,
  renderRecreateCommand,
  renderSecretFilesScript,
  unitFiles,
} from "../configs/deploy-scripts";
import { grafanaAdminPasswordResetCommand } from "../configs/grafana";
import { clientFiles, type DeployInfo, type HostFiles, monitorFiles } from "../configs/host-files";
import { MONITOR_CONTAINER_USERS } from "../configs/images";
import { monitorSecretFiles } from "../configs/monitor-compose";
import type { ExternalHost, StackConfig } from "../lib/stack-config";
import { type DockerEngine, dockerEngine, testImageMap } from "./support/docker-engine";
import {
  createTestNetwork,
  removeTestHosts,
  type SshResult,
  startTestHost,
  type TestHost,
  type TestNetwork,
} from "./support/docker-hosts";
import { pollUntil } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { composeForThisMachine } from "./support/this-machine";

const MONITOR_POOL = "10.77.0.0/16";
const CLIENT_POOL = "10.78.0.0/16";
const CLIENT_NAME = "client-1";
const GRAFANA_ADMIN_PASSWORD = `grafana-${randomBytes(9).toString("hex")}`;

/** The rendered files with test/support/this-machine.ts' one change to the compose file. */
function forThisMachine(files: HostFiles): HostFiles {
  return { ...files, [COMPOSE_FILE]: composeForThisMachine(files[COMPOSE_FILE] as string) };
}

function deployConfig(monitorAddress: string, clientAddress: string): StackConfig {
  const base = sampleStackConfig({ stack: "docker" });
  const client: ExternalHost = {
    name: CLIENT_NAME,
    address: clientAddress,
    sshUser: "deploy",
    exporters: [],
  };
  return {
    ...base,
    clients: [],
    externalHosts: [client],
    metrics: { scrapeInterval: "5s", evaluationInterval: "5s", retentionTime: "1d" },
    alerting: {
      ...base.alerting,
      // Mail goes to the monitor test host itself (nothing listens): no traffic leaves the run.
      email: {
        to: ["oncall@example.com"],
        from: "am@example.com",
        smarthost: `${monitorAddress}:25`,
        requireTls: false,
        username: "alertmanager",
      },
      slack: undefined,
      pagerduty: false,
      heartbeat: false,
    },
  };
}

function expectOk(step: string, result: SshResult): SshResult {
  expect(result.status, `${step}: exit ${result.status}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

interface Deployed {
  readonly steps: Record<string, SshResult>;
  readonly triggers: Record<string, string>;
}

/**
 * Every step of one host, with the scripts the deploy renders, in HostDeployment's dependency
 * order: readiness, host key, then the secrets and every service step in parallel, compose once
 * all are done, then the recreate steps in parallel and the Grafana password reset after Grafana's
 * recreate. `onReady` runs once readiness passed (clients start then, behind their jump host).
 */
async function deployHost(
  host: TestHost,
  hostName: string,
  directory: string,
  files: HostFiles,
  secrets: Parameters<typeof renderSecretFilesScript>[2],
  readiness: Parameters<typeof renderReadinessScript>[0],
  grafanaReset: boolean,
  onReady: () => void = () => {},
): Promise<Deployed> {
  const steps: Record<string, SshResult> = {};
  const triggers: Record<string, string> = {};
  const step = async (name: string, command: string, stdin?: string) => {
    steps[name] = expectOk(name, await host.sshAsync(command, stdin));
    return steps[name] as SshResult;
  };
  await step("ready", renderReadinessScript(readiness));
  onReady();
  const key = await step("host-key", HOST_KEY_READ_COMMAND);
  expect(hostKeyFromOutput(hostName, key.stdout)).toBe(host.hostKey);
  const plan = planDeploy(files, directory);
  const unitStep = (unit: (typeof plan.units)[number]) => {
    const own = unitFiles(unit, files);
    triggers[unit.name] = contentHash(own);
    return step(
      unit.name,
      RUN_STDIN_AS_ROOT,
      renderFileUnitScript({ hostName, directory, project: plan.project, unit, files: own }),
    );
  };
  await Promise.all([
    step(
      "secrets",
      RUN_STDIN_AS_ROOT,
      renderSecretFilesScript(hostName, `${directory}/${DEPLOY_STATE_DIR}/secrets.manifest`, secrets),
    ),
    ...plan.units.filter((unit) => unit.name !== "compose").map(unitStep),
  ]);
  const compose = plan.units.find((unit) => unit.name === "compose");
  if (!compose) throw new Error(`${hostName}: no compose step`);
  await unitStep(compose);
  await Promise.all(
    Object.keys(plan.secretReaders).map(async (service) => {
      await step(`recreate-${service}`, renderRecreateCommand(directory, [service]));
      if (service === "grafana" && grafanaReset) {
        await step(
          "grafana-admin-password",
          inDirectoryAsRoot(directory, grafanaAdminPasswordResetCommand(COMPOSE_FILE)),
        );
      }
    }),
  );
  return { steps, triggers };
}

interface ContainerState {
  readonly id: string;
  readonly startedAt: string;
  readonly health: string;
  readonly user: string;
}

function containers(host: TestHost): Record<string, ContainerState> {
  const ids = expectOk("docker ps", host.exec(["docker", "ps", "-aq"]))
    .stdout.split("\n")
    .filter(Boolean);
  const inspected = JSON.parse(
    expectOk("docker inspect", host.exec(["docker", "inspect", ...ids])).stdout,
  ) as Array<{
    Id: string;
    Name: string;
    Config: { User: string };
    State: { StartedAt: string; Status: string; Health?: { Status: string } };
  }>;
  return Object.fromEntries(
    inspected.map((c) => [
      c.Name.replace(/^\//, ""),
      {
        id: c.Id,
        startedAt: c.State.StartedAt,
        health: c.State.Health?.Status ?? c.State.Status,
        user: c.Config.User,
      },
    ]),
  );
}

/** GET on the host's own loopback (Prometheus is published on 127.0.0.1 only), as an operator's tunnel would. */
function hostGet(host: TestHost, url: string): string {
  return expectOk(`GET ${url}`, host.ssh(`curl --fail --silent --show-error --max-time 10 '${url}'`)).stdout;
}

function promQuery(
  host: TestHost,
  query: string,
): Array<{ metric: Record<string, string>; value: [number, string] }> {
  const body = JSON.parse(
    hostGet(host, `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(query)}`),
  );
  return body.data.result;
}

let engine: DockerEngine;
let root: string;
let network: TestNetwork | undefined;
const hostContainers: string[] = [];
let monitor: TestHost;
let client: TestHost;
let config: StackConfig;
let deployInfo: DeployInfo;
let monitorDeploy: Deployed;

const monitorSecrets = () =>
  monitorSecretFiles(config).map((file) => ({
    path: file.hostPath,
    owner: file.owner,
    mode: "0400" as const,
    content:
      file.name === "grafana_admin_password"
        ? GRAFANA_ADMIN_PASSWORD
        : `test-${file.name}-${randomBytes(6).toString("hex")}`,
  }));

const renderedMonitor = (c: StackConfig) => forThisMachine(monitorFiles(c, deployInfo));

beforeAll(async () => {
  engine = dockerEngine();
  root = mkdtempSync(join(tmpdir(), "docker-deploy-"));
  const suffix = randomBytes(4).toString("hex");
  const testNetwork = createTestNetwork(engine, `obs-test-deploy-${suffix}`);
  network = testNetwork;
  const monitorName = `obs-test-monitor-${suffix}`;
  const clientName = `obs-test-client-${suffix}`;
  hostContainers.push(monitorName, clientName);
  mkdirSync(join(root, "monitor"));
  mkdirSync(join(root, "client"));
  const monitorAddress = testNetwork.address(10);
  [monitor, client] = await Promise.all([
    startTestHost(engine, testNetwork, monitorName, join(root, "monitor"), {
      address: monitorAddress,
      addressPool: MONITOR_POOL,
      ipForward: true,
      // The data volume: a mount point, as readiness requires on the monitor.
      runArgs: ["-v", "/srv/observability"],
      images: [
        engine.images.prometheus,
        engine.images.alertmanager,
        engine.images.nodeExporter,
        engine.images.grafana,
        engine.images.loki,
        engine.images.alloy,
        engine.images.cadvisor,
      ],
    }),
    startTestHost(engine, testNetwork, clientName, join(root, "client"), {
      address: testNetwork.address(11),
      addressPool: CLIENT_POOL,
      // Replies to the monitor's Prometheus (on the monitor's compose network) go back through it.
      routes: [`${MONITOR_POOL} via ${monitorAddress}`],
      images: [
        engine.images.nodeExporter,
        engine.images.processExporter,
        engine.images.alloy,
        engine.images.cadvisor,
      ],
    }),
  ]);
  config = deployConfig(monitor.address, client.address);
  deployInfo = {
    monitorPrivateIp: monitor.address,
    grafanaUrl: `http://${monitor.address}:3000/`,
    lokiBucketName: "obs-docker-test",
    images: testImageMap(engine.images),
  };
  // What the monitor's cloud-init does once the data volume is mounted (configs/cloud-init.ts).
  for (const directory of DATA_DIRECTORIES) {
    expectOk(
      "data directories",
      monitor.ssh(
        `sudo -n install -d -m 0750 -o ${directory.uid} -g ${directory.gid} ${dataDirectoryPath(directory.name)}`,
      ),
    );
  }
  // The client deploys once the monitor (its jump host) passed readiness, alongside the monitor's steps.
  let clientDeploy: Promise<Deployed> | undefined;
  monitorDeploy = await deployHost(
    monitor,
    "monitor",
    MONITOR_DEPLOY_DIR,
    renderedMonitor(config),
    monitorSecrets(),
    { waitForCloudInit: false, requiredMounts: ["/srv/observability"] },
    true,
    () => {
      clientDeploy = deployHost(
        client,
        CLIENT_NAME,
        AGENTS_DEPLOY_DIR,
        forThisMachine(clientFiles(config, config.externalHosts[0] as ExternalHost, deployInfo)),
        [],
        { waitForCloudInit: false, requiredMounts: [] },
        false,
      );
    },
  );
  await clientDeploy;
}, 900_000);

afterAll(() => {
  if (engine) removeTestHosts(engine, hostContainers, network);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the deploy on test hosts with a real Docker engine", () => {
  test("compose up --wait brought every monitor and client container up, health-checked ones healthy, on the test images", () => {
    const onMonitor = containers(monitor);
    expect(Object.keys(onMonitor).sort()).toEqual(
      ["alertmanager", "alloy", "cadvisor", "grafana", "loki", "node-exporter", "prometheus"].sort(),
    );
    for (const name of ["prometheus", "alertmanager", "grafana"])
      expect(onMonitor[name]?.health, name).toBe("healthy");
    for (const name of ["loki", "alloy", "cadvisor", "node-exporter"])
      expect(onMonitor[name]?.health, name).toBe("running");
    const onClient = containers(client);
    expect(Object.keys(onClient).sort()).toEqual(["alloy", "cadvisor", "node-exporter", "process-exporter"]);
    for (const state of Object.values(onClient)) expect(state.health).toBe("running");
    const images = expectOk("images", monitor.exec(["docker", "ps", "--format", "{{.Image}}"])).stdout;
    expect(images).toContain(engine.images.prometheus);
    expect(images).not.toContain("docker.io/");
  });

  test("the in-image promtool and amtool checked the staged files before they were swapped in", () => {
    expect(monitorDeploy.steps.prometheus?.stdout).toMatch(
      /SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/,
    );
    expect(monitorDeploy.steps.prometheus?.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(monitorDeploy.steps.alertmanager?.stdout).toMatch(
      /Checking '\/etc\/alertmanager\/alertmanager\.yml'\s+SUCCESS/,
    );
  });

  test("the real Prometheus scrapes the client's real node exporter and the monitor's own, through the deploy's file SD", async () => {
    const up = await pollUntil(
      'up{job="node"} for both hosts',
      () => {
        const series = promQuery(monitor, 'up{job="node"} == 1');
        const instances = series.map((entry) => entry.metric.instance).sort();
        return instances.includes(CLIENT_NAME) && instances.includes("monitor") ? series : undefined;
      },
      { attempts: 60, intervalMs: 1_000 },
    );
    expect(up.find((entry) => entry.metric.instance === CLIENT_NAME)?.metric.host_type).toBe("external");
    const build = promQuery(monitor, `node_exporter_build_info{instance="${CLIENT_NAME}"}`);
    expect(build).toHaveLength(1);
    const processes = await pollUntil(
      "the client's process exporter",
      () => {
        const series = promQuery(monitor, `up{job="process",instance="${CLIENT_NAME}"} == 1`);
        return series.length === 1 ? series : undefined;
      },
      { attempts: 60, intervalMs: 1_000 },
    );
    expect(processes).toHaveLength(1);
  });

  test("the data directories are owned by the ids the services run as, and the services wrote their state there", () => {
    const state = containers(monitor);
    for (const directory of DATA_DIRECTORIES) {
      const owner = expectOk(
        "stat",
        monitor.exec(["stat", "-c", "%u:%g", dataDirectoryPath(directory.name)]),
      ).stdout.trim();
      expect(owner, directory.name).toBe(`${directory.uid}:${directory.gid}`);
      expect(state[directory.name]?.user, directory.name).toBe(
        MONITOR_CONTAINER_USERS[directory.name as keyof typeof MONITOR_CONTAINER_USERS],
      );
    }
    const written = (path: string) =>
      expectOk("find", monitor.exec(["find", path, "-mindepth", "1", "-printf", "%U:%G %P\\n"]))
        .stdout.split("\n")
        .filter(Boolean);
    expect(written(dataDirectoryPath("prometheus")).some((line) => line.startsWith("65534:65534 wal"))).toBe(
      true,
    );
    expect(written(dataDirectoryPath("alertmanager")).some((line) => line.startsWith("65534:65534 "))).toBe(
      true,
    );
    // The Grafana stand-in's `grafana cli` wrote the sha256 of the password it read from the secret file.
    const reset = expectOk(
      "cat",
      monitor.exec(["cat", `${dataDirectoryPath("grafana")}/standin-admin-password-reset.sha256`]),
    ).stdout.trim();
    expect(reset).toBe(createHash("sha256").update(GRAFANA_ADMIN_PASSWORD).digest("hex"));
  });

  test("the Grafana and Loki stand-ins got the rendered provisioning, dashboards and config, as their users", () => {
    const grafana = JSON.parse(
      monitor.ssh("curl -s http://127.0.0.1:3000/standin").stdout ||
        hostGet(monitor, `http://${monitor.address}:3000/standin`),
    );
    expect(grafana.uid).toBe(472);
    const files = renderedMonitor(config);
    const dashboards = Object.keys(files).filter((path) => path.startsWith("grafana/dashboards/"));
    const seen = (grafana.files as Array<{ path: string; readable: boolean }>).map((file) => file.path);
    for (const path of dashboards)
      expect(seen).toContain(`/etc/grafana/dashboards/${path.slice("grafana/dashboards/".length)}`);
    expect(seen).toContain("/etc/grafana/provisioning/datasources/datasources.yml");
    const secrets = (grafana.files as Array<{ path: string; readable: boolean; mode: string }>).filter(
      (file) => file.path.startsWith("/run/secrets/"),
    );
    expect(secrets.map((file) => file.path).sort()).toEqual([
      "/run/secrets/grafana_admin_password",
      "/run/secrets/grafana_secret_key",
    ]);
    for (const secret of secrets) expect(secret).toMatchObject({ readable: true, mode: "0400" });
    const loki = JSON.parse(
      expectOk(
        "loki",
        monitor.exec(["docker", "exec", "loki", "wget", "-qO-", "http://127.0.0.1:3100/standin"]),
      ).stdout,
    );
    expect(loki.uid).toBe(10001);
    expect(loki.argv).toEqual(["-config.file=/etc/loki/loki.yml", "-target=all"]);
  });

  describe("changes", () => {
    test("a changed rule reloads Prometheus without restarting its container", async () => {
      const before = containers(monitor).prometheus as ContainerState;
      const changed = {
        ...config,
        alerting: { ...config.alerting, thresholds: { ...config.alerting.thresholds, cpuPercent: 87 } },
      };
      const files = renderedMonitor(changed);
      const plan = planDeploy(files, MONITOR_DEPLOY_DIR);
      const unit = plan.units.find((entry) => entry.name === "prometheus");
      if (!unit) throw new Error("no prometheus step");
      const result = expectOk(
        "prometheus",
        monitor.ssh(
          RUN_STDIN_AS_ROOT,
          renderFileUnitScript({
            hostName: "monitor",
            directory: MONITOR_DEPLOY_DIR,
            project: plan.project,
            unit,
            files: unitFiles(unit, files),
          }),
        ),
      );
      expect(result.stdout).toContain("prometheus reloaded its configuration");
      const rules = JSON.parse(hostGet(monitor, "http://127.0.0.1:9090/api/v1/rules"));
      const expressions = JSON.stringify(rules.data.groups);
      expect(expressions).toContain("> 87");
      const after = containers(monitor).prometheus as ContainerState;
      expect(after).toEqual(before);
      config = changed;
    });

    test("a broken rule file is refused by the in-image promtool: nothing swapped, the running rules still served", () => {
      const before = containers(monitor).prometheus as ContainerState;
      const files = renderedMonitor(config);
      const ruleFile = Object.keys(files).find((path) => path.startsWith("prometheus/rules/")) as string;
      const live = expectOk("cat", monitor.exec(["cat", `${MONITOR_DEPLOY_DIR}/${ruleFile}`])).stdout;
      const broken = {
        ...files,
        [ruleFile]: `${files[ruleFile]}  - alert: Broken\n    expr: rate(node_cpu_seconds_total[\n`,
      };
      const plan = planDeploy(broken, MONITOR_DEPLOY_DIR);
      const unit = plan.units.find((entry) => entry.name === "prometheus");
      if (!unit) throw new Error("no prometheus step");
      const result = monitor.ssh(
        RUN_STDIN_AS_ROOT,
        renderFileUnitScript({
          hostName: "monitor",
          directory: MONITOR_DEPLOY_DIR,
          project: plan.project,
          unit,
          files: unitFiles(unit, broken),
        }),
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("promtool rejected the new files");
      expect(expectOk("cat", monitor.exec(["cat", `${MONITOR_DEPLOY_DIR}/${ruleFile}`])).stdout).toBe(live);
      const rules = JSON.stringify(
        JSON.parse(hostGet(monitor, "http://127.0.0.1:9090/api/v1/rules")).data.groups,
      );
      expect(rules).toContain("> 87");
      expect(rules).not.toContain("Broken");
      expect(containers(monitor).prometheus).toEqual(before);
    });

    test("a second deploy with no change: the same triggers (Pulumi runs no step), and compose up recreates nothing", () => {
      const files = renderedMonitor(config);
      const plan = planDeploy(files, MONITOR_DEPLOY_DIR);
      const again = Object.fromEntries(
        plan.units.map((unit) => [unit.name, contentHash(unitFiles(unit, files))]),
      );
      expect(Object.keys(again).sort()).toEqual(Object.keys(monitorDeploy.triggers).sort());
      // The threshold changed above is in the rule files and drawn in dashboards: only those two steps differ.
      for (const name of Object.keys(again).filter((name) => name !== "prometheus" && name !== "grafana")) {
        expect(again[name], name).toBe(monitorDeploy.triggers[name]);
      }
      const before = containers(monitor);
      const compose = plan.units.find((unit) => unit.name === "compose");
      if (!compose) throw new Error("no compose step");
      expectOk(
        "compose",
        monitor.ssh(
          RUN_STDIN_AS_ROOT,
          renderFileUnitScript({
            hostName: "monitor",
            directory: MONITOR_DEPLOY_DIR,
            project: plan.project,
            unit: compose,
            files: unitFiles(compose, files),
          }),
        ),
      );
      expect(containers(monitor)).toEqual(before);
    });
  });
});
