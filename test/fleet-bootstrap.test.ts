/**
 * The fleet bootstrap for real (docs/fleet.md): the rendered user data runs as root over a real
 * SSH session on the loopback test host (test/support/sshd.ts), as cloud-init would run it. Only
 * AWS and the container runtime are stood in for:
 *
 * - S3 is `s3rver` on loopback holding the bundle and pointer exactly as the stack publishes them
 *   (configs/fleet-bundle.ts); SSM is a loopback GetParameter endpoint; Debian's AWS CLI v2 signs
 *   every request with dummy credentials from the environment (the instance role's stand-in),
 *   pointed at them by the user data's endpoint overrides;
 * - `docker` is the recording stand-in of test/support/host-stand-ins.ts (`compose up` logged).
 *
 * Then the timer's service (its ExecStart, read from the installed unit) runs again: nothing new
 * means no restart; a new bundle version is fetched, verified and started; a bundle whose bytes do
 * not hash to the pointer's digest is refused and the running agents stay as they were.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PUSH_PASSWORD_FILE } from "../configs/agents/client-compose";
import { type FleetPaths, renderFleetUserData } from "../configs/fleet-bootstrap";
import {
  FLEET_HOST_VARIABLE,
  fleetBundle,
  fleetBundleFiles,
  fleetPointerKey,
  renderFleetPointer,
} from "../configs/fleet-bundle";
import type { HostFiles } from "../configs/host-files";
import { awsCliEnvironment, type LocalAws, requireAwsCli, startLocalAws } from "./support/fleet-endpoints";
import { type HostStandIns, installHostStandIns } from "./support/host-stand-ins";
import { sampleStackConfig } from "./support/sample-config";
import { type SshResult, type SshServer, startSshServer } from "./support/sshd";
import { tempDirMaker } from "./support/temp-files";

const ENVIRONMENT = "dev";
const BUCKET = "observability-dev-fleet-test";
const REGION = "eu-west-1";
const PARAMETER = "/observability/dev/fleet/push-password";
const PASSWORD = "fleet-push-password-canary-7d1e9a";
const ROTATED_PASSWORD = "fleet-push-password-rotated-2b4c6f";

const tempDir = tempDirMaker("fleet-bootstrap-");

/** The units a fleet host runs: the sync service, and the timer that starts it again. */
const SYNC_SERVICE = "observability-fleet-sync.service";
const SYNC_TIMER = "observability-fleet-sync.timer";

/** The unit files the user data carries, by name: each `fleet_unit NAME` line's here-document. */
function unitsInUserData(userData: string): Record<string, string> {
  const units: Record<string, string> = {};
  for (const match of userData.matchAll(/^fleet_unit '?([^'\s]+)'? <<'(\w+)'\n([\s\S]*?)\n\2$/gm)) {
    units[match[1] as string] = `${match[3]}\n`;
  }
  return units;
}

/** Every regular file under `root`, relative path -> content. */
function filesUnder(root: string, prefix = ""): HostFiles {
  const files: HostFiles = {};
  for (const name of readdirSync(join(root, prefix))) {
    const relative = prefix === "" ? name : `${prefix}/${name}`;
    if (statSync(join(root, relative)).isDirectory()) Object.assign(files, filesUnder(root, relative));
    else files[relative] = readFileSync(join(root, relative), "utf8");
  }
  return files;
}

function bundleFiles(monitorAddress: string): HostFiles {
  return fleetBundleFiles(sampleStackConfig(), { monitorAddress });
}

describe("fleet bootstrap on the loopback host, against S3 (s3rver) and SSM stand-ins", () => {
  let root: string;
  let paths: FleetPaths;
  let aws: LocalAws;
  let server: SshServer;
  let standIns: HostStandIns;
  let userData: string;

  /** Publishes a bundle and points the environment at it, as the stack does; returns its digest. */
  const publish = async (files: HostFiles): Promise<string> => {
    const bundle = fleetBundle(ENVIRONMENT, files);
    await aws.put(BUCKET, bundle.key, bundle.archive);
    await aws.put(BUCKET, fleetPointerKey(ENVIRONMENT), renderFleetPointer(bundle));
    return bundle.sha256;
  };

  /** The command with the dummy credentials exported, as an instance role would provide them. */
  const withCredentials = (command: string): string =>
    `${Object.entries(awsCliEnvironment())
      .map(([key, value]) => `export ${key}=${value};`)
      .join(" ")} ${command}`;

  /** What the timer does: start the service, i.e. run its ExecStart, as root. */
  const runTimerService = (): SshResult => {
    const unit = readFileSync(join(paths.unitDir, SYNC_SERVICE), "utf8");
    const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
    if (execStart === undefined) throw new Error(`${SYNC_SERVICE} has no ExecStart`);
    return server.run(withCredentials(execStart));
  };

  const composeUps = () => standIns.calls().filter((call) => / compose .* up /.test(call));
  const current = () => readFileSync(join(paths.stateDir, "current"), "utf8").trim();

  beforeAll(async () => {
    requireAwsCli();
    root = tempDir();
    paths = { agentsDir: join(root, "agents"), stateDir: join(root, "state"), unitDir: join(root, "units") };
    aws = await startLocalAws(root, [BUCKET]);
    aws.setParameter(PARAMETER, PASSWORD);
    standIns = installHostStandIns(join(root, "stand-ins"));
    mkdirSync(join(root, "sshd"));
    server = await startSshServer({ dir: join(root, "sshd"), sessionPath: [standIns.bin] });
    userData = renderFleetUserData({
      bucket: BUCKET,
      pointerKey: fleetPointerKey(ENVIRONMENT),
      region: REGION,
      parameterName: PARAMETER,
      paths,
      endpoints: { s3: aws.s3Endpoint, ssm: aws.ssmEndpoint },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await aws?.stop();
  });

  test("first boot: the user data installs the units, fetches and verifies the bundle, and starts the agents", async () => {
    const files = bundleFiles("10.42.1.10");
    const digest = await publish(files);
    expect(userData).not.toContain(PASSWORD);

    // As cloud-init runs user data: a root-only file, executed.
    const result = server.run(
      withCredentials(`install -m 0700 /dev/stdin ${root}/user-data && ${root}/user-data`),
      userData,
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`running bundle ${digest}`);

    // The agents run from exactly the published files, plus the password from SSM (0400).
    const installed = filesUnder(paths.agentsDir);
    expect(installed[PUSH_PASSWORD_FILE]).toBe(PASSWORD);
    expect(statSync(join(paths.agentsDir, PUSH_PASSWORD_FILE)).mode & 0o777).toBe(0o400);
    delete installed[PUSH_PASSWORD_FILE];
    // The agents' labels name the host: its instance id, or (no instance metadata here) its hostname.
    expect(installed[".env"]).toBe(`${FLEET_HOST_VARIABLE}=${hostname()}\n`);
    delete installed[".env"];
    expect(installed).toEqual(files);
    expect(current()).toBe(digest);
    expect(composeUps()).toEqual([
      `docker compose --project-directory ${paths.agentsDir} -f ${paths.agentsDir}/compose.yaml up --detach --remove-orphans --force-recreate --wait --wait-timeout 600`,
    ]);

    // The units exactly as the user data carries them; the timer re-runs the installed sync script.
    const units = unitsInUserData(userData);
    expect(Object.keys(units).sort()).toEqual([SYNC_SERVICE, SYNC_TIMER]);
    expect(readdirSync(paths.unitDir).sort()).toEqual([SYNC_SERVICE, SYNC_TIMER]);
    for (const [name, content] of Object.entries(units)) {
      expect(readFileSync(join(paths.unitDir, name), "utf8")).toBe(content);
    }
    expect(units[SYNC_SERVICE]).toContain(`\nExecStart=${paths.stateDir}/fleet-sync.sh\n`);
    expect(units[SYNC_TIMER]).toMatch(/^OnUnitActiveSec=\S+$/m);
    expect(units[SYNC_TIMER]).toContain("\nWantedBy=timers.target\n");

    // The password was asked for decrypted, with a signed request, and never was a program argument.
    const asked = aws.ssmRequests().filter((request) => request.target === "AmazonSSM.GetParameter");
    expect(asked.map((request) => request.body)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
    expect(standIns.callLog()).not.toContain(PASSWORD);
  });

  test("the timer's service again, with nothing new: no restart", () => {
    standIns.resetCalls();
    const before = current();
    const result = runTimerService();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`bundle ${before} is current`);
    expect(composeUps()).toEqual([]);
  });

  test("a new bundle version: the next run fetches, verifies and starts it", async () => {
    standIns.resetCalls();
    const files = bundleFiles("10.42.1.99");
    const previous = current();
    const digest = await publish(files);
    expect(digest).not.toBe(previous);

    const result = runTimerService();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(current()).toBe(digest);
    const installed = filesUnder(paths.agentsDir);
    delete installed[PUSH_PASSWORD_FILE];
    delete installed[".env"];
    expect(installed).toEqual(files);
    expect(JSON.stringify(installed)).toContain("10.42.1.99");
    expect(composeUps()).toHaveLength(1);
  });

  test("a bundle whose digest does not match the pointer is refused; the running agents stay", async () => {
    standIns.resetCalls();
    const running = filesUnder(paths.agentsDir);
    const runningDigest = current();
    // The pointer names one bundle's digest, the object under its key holds other bytes.
    const announced = fleetBundle(ENVIRONMENT, bundleFiles("10.42.1.77"));
    const tampered = fleetBundle(ENVIRONMENT, bundleFiles("10.66.6.66"));
    await aws.put(BUCKET, announced.key, tampered.archive);
    await aws.put(BUCKET, fleetPointerKey(ENVIRONMENT), renderFleetPointer(announced));

    const result = runTimerService();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`REFUSED bundle ${announced.key}: its sha256 is ${tampered.sha256}`);
    expect(composeUps()).toEqual([]);
    expect(filesUnder(paths.agentsDir)).toEqual(running);
    expect(current()).toBe(runningDigest);
    expect(JSON.stringify(filesUnder(paths.agentsDir))).not.toContain("10.66.6.66");

    // Once the object matches its pointer again, the next run takes it.
    await aws.put(BUCKET, announced.key, announced.archive);
    const retry = runTimerService();
    expect(retry.status).toBe(0);
    expect(current()).toBe(announced.sha256);
  });

  test("a rotated password in SSM: the next run writes it and recreates the agents", () => {
    standIns.resetCalls();
    aws.setParameter(PARAMETER, ROTATED_PASSWORD);
    const result = runTimerService();
    expect(result.status).toBe(0);
    expect(readFileSync(join(paths.agentsDir, PUSH_PASSWORD_FILE), "utf8")).toBe(ROTATED_PASSWORD);
    expect(composeUps()).toHaveLength(1);
    expect(standIns.callLog()).not.toContain(ROTATED_PASSWORD);
  });
});
