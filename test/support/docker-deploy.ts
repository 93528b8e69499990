/**
 * The whole deploy of a monitor and a client onto test hosts with real Docker engines
 * (test/support/docker-hosts.ts), step by step with the scripts the deploy renders
 * (configs/deploy-scripts.ts), in components/host-deployment.ts' order. For the Docker deploy
 * test and the bench. The rendered files reach the hosts with test image names and the hosts'
 * addresses given through the renderers' inputs, changed only by test/support/this-machine.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { HOST_KEY_READ_COMMAND, hostKeyFromOutput } from "../../components/ssh-key";
import { COMPOSE_FILE, PUSH_PASSWORD_FILE } from "../../configs/agents/client-compose";
import { dataDirectoryPath } from "../../configs/cloud-init";
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
} from "../../configs/deploy-scripts";
import {
  GATEWAY_HTPASSWD_SECRET,
  GATEWAY_METRICS_HTPASSWD_SECRET,
  PUSH_SALT_LENGTH,
  renderHtpasswd,
} from "../../configs/gateway";
import { grafanaAdminPasswordResetCommand } from "../../configs/grafana";
import { clientFiles, type DeployInfo, type HostFiles, monitorFiles } from "../../configs/host-files";
import { MONITOR_CONTAINER_USERS } from "../../configs/images";
import { monitorSecretFiles } from "../../configs/monitor-compose";
import type { ExternalHost, StackConfig } from "../../lib/stack-config";
import { type DockerEngine, testImageMap } from "./docker-engine";
import {
  createTestNetwork,
  removeTestHosts,
  type SshResult,
  startTestHost,
  type TestHost,
} from "./docker-hosts";
import { sampleStackConfig } from "./sample-config";
import { forThisMachine } from "./this-machine";

const MONITOR_POOL = "10.77.0.0/16";
const CLIENT_POOL = "10.78.0.0/16";
export const CLIENT_NAME = "client-1";

function deployConfig(monitorAddress: string, clientAddress: string): StackConfig {
  const base = sampleStackConfig({ stack: "docker" });
  const client: ExternalHost = {
    name: CLIENT_NAME,
    address: clientAddress,
    sshUser: "deploy",
    exporters: [],
    exporterSettings: {},
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

/** The result, or an Error with the step's whole output when it failed. */
export function expectOk(step: string, result: SshResult): SshResult {
  if (result.status !== 0)
    throw new Error(`${step}: exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result;
}

export interface Deployed {
  readonly steps: Record<string, SshResult>;
  readonly triggers: Record<string, string>;
}

/**
 * Every step of one host, with the scripts the deploy renders, in HostDeployment's dependency
 * order: readiness, host key, then the secrets and every service step in parallel, compose once
 * all are done, then the recreate steps in parallel and the Grafana password reset after Grafana's
 * recreate. `onReady` runs once readiness passed (clients start then, behind their jump host).
 * `secretDependents` false: no recreate or password reset (a deploy where no secret changed).
 */
export async function deployHost(
  host: TestHost,
  hostName: string,
  directory: string,
  files: HostFiles,
  secrets: Parameters<typeof renderSecretFilesScript>[2],
  readiness: Parameters<typeof renderReadinessScript>[0],
  grafanaReset: boolean,
  onReady: () => void = () => {},
  secretDependents = true,
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
  if (hostKeyFromOutput(hostName, key.stdout) !== host.hostKey) {
    throw new Error(
      `${hostName}: the host-key step read ${key.stdout.trim()}, not the key the host was given`,
    );
  }
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
  // Recreate and password reset run when a secret changed (always, on the first deploy).
  if (!secretDependents) return { steps, triggers };
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

export interface ContainerState {
  readonly id: string;
  readonly startedAt: string;
  readonly health: string;
  readonly user: string;
}

export function containers(host: TestHost): Record<string, ContainerState> {
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
export function hostGet(host: TestHost, url: string): string {
  return expectOk(`GET ${url}`, host.ssh(`curl --fail --silent --show-error --max-time 10 '${url}'`)).stdout;
}

export function promQuery(
  host: TestHost,
  query: string,
): Array<{ metric: Record<string, string>; value: [number, string] }> {
  const body = JSON.parse(
    hostGet(host, `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(query)}`),
  );
  return body.data.result;
}

/** A push password and salt like the program's (alphanumerics), for the client host. */
export interface TestPushCredential {
  readonly user: string;
  readonly password: string;
  readonly salt: string;
}

function alphanumerics(length: number): string {
  return randomBytes(length * 2)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, length);
}

/**
 * The monitor's secret files with test values: the Grafana admin password given, the gateway's
 * hash files for the client's push credentials (renderHtpasswd, as the program writes them; the
 * client is a host outside AWS, so it is in the metrics writers' file too).
 */
function monitorSecrets(config: StackConfig, grafanaAdminPassword: string, push: TestPushCredential) {
  return monitorSecretFiles(config).map((file) => ({
    path: file.hostPath,
    owner: file.owner,
    mode: "0400" as const,
    content:
      file.name === "grafana_admin_password"
        ? grafanaAdminPassword
        : file.name === GATEWAY_HTPASSWD_SECRET || file.name === GATEWAY_METRICS_HTPASSWD_SECRET
          ? renderHtpasswd([push])
          : `test-${file.name}-${randomBytes(6).toString("hex")}`,
  }));
}

export interface DeployedStack {
  readonly engine: DockerEngine;
  readonly monitor: TestHost;
  readonly client: TestHost;
  /** The client's push credentials (its password is on the client, the hash on the monitor). */
  readonly push: TestPushCredential;
  readonly config: StackConfig;
  readonly deployInfo: DeployInfo;
  readonly monitorDeploy: Deployed;
  /** Wall time of every step of both hosts, from the monitor's readiness to the last step. */
  readonly deploySeconds: number;
  /** The monitor's files for a config, as deployed (test images, test/support/this-machine.ts). */
  renderedMonitor(config: StackConfig): HostFiles;
  /**
   * Runs every step of both hosts again with the same files and secrets (no secret changed: no
   * recreate, no password reset), as `--target-replace` of every step would; returns its wall time.
   */
  redeploySeconds(): Promise<number>;
  /** Removes the hosts (their engines, containers and volumes with them), the network and the temp dir. */
  stop(): void;
}

/**
 * Two test hosts on the test engine, a monitor and a client (as a host outside AWS), deployed
 * with every step the deploy renders. The caller stops them (`stop`, also on failure here).
 */
export async function deployMonitorAndClient(
  engine: DockerEngine,
  grafanaAdminPassword: string,
): Promise<DeployedStack> {
  const root = mkdtempSync(join(tmpdir(), "docker-deploy-"));
  const suffix = randomBytes(4).toString("hex");
  const testNetwork = createTestNetwork(engine, `obs-test-deploy-${suffix}`);
  const monitorName = `obs-test-monitor-${suffix}`;
  const clientName = `obs-test-client-${suffix}`;
  const hostContainers = [monitorName, clientName];
  const stop = () => {
    removeTestHosts(engine, hostContainers, testNetwork);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    mkdirSync(join(root, "monitor"));
    mkdirSync(join(root, "client"));
    const monitorAddress = testNetwork.address(10);
    const [monitor, client] = await Promise.all([
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
          engine.images.processExporter,
          engine.images.grafana,
          engine.images.loki,
          engine.images.alloy,
          engine.images.cadvisor,
          engine.images.gateway,
          engine.images.socketProxy,
        ],
      }),
      startTestHost(engine, testNetwork, clientName, join(root, "client"), {
        address: testNetwork.address(11),
        addressPool: CLIENT_POOL,
        images: [
          engine.images.nodeExporter,
          engine.images.processExporter,
          // Alloy's metrics push runs as a Prometheus agent (test/support/this-machine.ts).
          engine.images.prometheus,
          engine.images.cadvisor,
          engine.images.socketProxy,
        ],
      }),
    ]);
    const config = deployConfig(monitor.address, client.address);
    const deployInfo: DeployInfo = {
      monitorPrivateIp: monitor.address,
      grafanaUrl: `http://${monitor.address}:3000/`,
      lokiBucketName: "obs-docker-test",
      images: testImageMap(engine.images),
    };
    // What the monitor's cloud-init does once the data volume is mounted (configs/cloud-init.ts).
    for (const [name, user] of Object.entries(MONITOR_CONTAINER_USERS)) {
      const [uid, gid] = user.split(":");
      expectOk(
        "data directories",
        monitor.ssh(`sudo -n install -d -m 0750 -o ${uid} -g ${gid} ${dataDirectoryPath(name)}`),
      );
    }
    const clientHost = config.externalHosts[0] as ExternalHost;
    const push: TestPushCredential = {
      user: clientHost.name,
      password: alphanumerics(48),
      salt: alphanumerics(PUSH_SALT_LENGTH),
    };
    const secrets = monitorSecrets(config, grafanaAdminPassword, push);
    const clientSecrets = [
      {
        path: `${AGENTS_DEPLOY_DIR}/${PUSH_PASSWORD_FILE}`,
        owner: "0:0",
        mode: "0400" as const,
        content: push.password,
      },
    ];
    // The client deploys once the monitor (its jump host) passed readiness, alongside the monitor's steps.
    const deployBoth = async (secretDependents: boolean): Promise<Deployed> => {
      let clientDeploy: Promise<Deployed> | undefined;
      const monitorDeployed = await deployHost(
        monitor,
        "monitor",
        MONITOR_DEPLOY_DIR,
        forThisMachine(monitorFiles(config, deployInfo)),
        secrets,
        { waitForCloudInit: false, requiredMounts: ["/srv/observability"] },
        secretDependents,
        () => {
          clientDeploy = deployHost(
            client,
            CLIENT_NAME,
            AGENTS_DEPLOY_DIR,
            forThisMachine(clientFiles(config, clientHost, deployInfo), {
              pushAgentImage: engine.images.prometheus,
            }),
            clientSecrets,
            { waitForCloudInit: false, requiredMounts: [] },
            false,
            () => {},
            secretDependents,
          );
        },
        secretDependents,
      );
      await clientDeploy;
      return monitorDeployed;
    };
    const started = performance.now();
    const monitorDeploy = await deployBoth(true);
    const deploySeconds = (performance.now() - started) / 1000;
    return {
      engine,
      monitor,
      client,
      push,
      config,
      deployInfo,
      monitorDeploy,
      deploySeconds,
      renderedMonitor: (changed: StackConfig) => forThisMachine(monitorFiles(changed, deployInfo)),
      async redeploySeconds() {
        const again = performance.now();
        await deployBoth(false);
        return (performance.now() - again) / 1000;
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
