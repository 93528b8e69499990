/**
 * Test hosts on the test Docker engine: each a container of test/docker/host.Dockerfile (Debian
 * with sshd, sudo, curl and a Docker engine of its own) on a network the test creates, reached
 * over real SSH as the `deploy` user with a key and a pinned host key. The deploy's scripts run
 * there exactly as on a real host: `sudo -n bash -s`, `docker compose`, `curl` to 127.0.0.1.
 *
 * Host containers are not --privileged (this machine's capability bounding set lacks
 * CAP_SYS_RESOURCE, so runc refuses privileged containers): every other capability, unconfined
 * seccomp and system paths, all devices, and /dev/kmsg. A host has no default route (host-init):
 * its containers reach only the other test hosts.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DockerEngine } from "./docker-engine";
import { pollUntil } from "./processes";

export interface SshResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestHost {
  readonly name: string;
  readonly container: string;
  /** The host's address on the test network. */
  readonly address: string;
  /** The host key the test generated and mounted (`ssh-ed25519 <base64>`). */
  readonly hostKey: string;
  /** Runs `command` over SSH as `deploy`, with `stdin`, as a deploy step does. */
  ssh(command: string, stdin?: string): SshResult;
  /** The same without blocking: steps Pulumi runs in parallel run in parallel here. */
  sshAsync(command: string, stdin?: string): Promise<SshResult>;
  /** `docker exec` into the host container (as root), for looking around. */
  exec(args: readonly string[], input?: string): SshResult;
}

export interface TestHostOptions {
  /** Its address on the test network (`testNetworkAddress`), so hosts can name each other before they start. */
  readonly address: string;
  /** Address pool of the host engine's compose networks. */
  readonly addressPool: string;
  /** Forward between its compose networks and the test network (a monitor scraping clients). */
  readonly ipForward?: boolean;
  /** `CIDR via ADDRESS` routes to other hosts' compose networks. */
  readonly routes?: readonly string[];
  /** Extra `docker run` arguments (volumes). */
  readonly runArgs?: readonly string[];
  /** Images to load into the host's engine. */
  readonly images: readonly string[];
}

const CONTAINER_FLAGS = [
  "--cap-add",
  "ALL",
  "--cap-drop",
  "SYS_RESOURCE",
  "--security-opt",
  "seccomp=unconfined",
  "--security-opt",
  "apparmor=unconfined",
  "--security-opt",
  "systempaths=unconfined",
  "--device-cgroup-rule",
  "a *:* rwm",
  "--device",
  "/dev/kmsg",
  // Name lookups end on the host itself: nothing is ever asked of the machine's resolver.
  "--dns",
  "127.0.0.1",
];

function keygen(path: string): void {
  const result = spawnSync(
    "/usr/bin/ssh-keygen",
    ["-q", "-t", "ed25519", "-N", "", "-C", "docker-test", "-f", path],
    {
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
}

const SSHD_CONFIG = [
  "Port 22",
  "HostKey /etc/ssh/ssh_host_ed25519_key",
  "AuthorizedKeysFile /run/host-ssh/authorized_keys",
  // The keys are mounted from the test's temp dir (root-owned, under /tmp).
  "StrictModes no",
  "PubkeyAuthentication yes",
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "UsePAM no",
  "PermitRootLogin no",
  "AllowUsers deploy",
  "AllowTcpForwarding no",
  "X11Forwarding no",
  "PrintMotd no",
  "",
].join("\n");

export interface TestNetwork {
  readonly name: string;
  /** The n-th address of its subnet (the engine picked a subnet no route on the machine uses). */
  address(n: number): string;
}

/** The test network hosts join: a bridge network of the test engine, removed by `removeTestHosts`. */
export function createTestNetwork(engine: DockerEngine, name: string): TestNetwork {
  // The engine picks a subnet that no route on the machine uses; fixed addresses need it given
  // explicitly, so the network is made again with that subnet.
  engine.docker(["network", "create", name]);
  const subnet = engine
    .docker(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", name])
    .trim();
  engine.docker(["network", "rm", name]);
  engine.docker(["network", "create", "--label", "obs-test=1", "--subnet", subnet, name]);
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!match || Number(match[5]) > 24) throw new Error(`unexpected subnet ${subnet} for ${name}`);
  const base = match.slice(1, 5).map(Number) as [number, number, number, number];
  return {
    name,
    address: (n) => `${base[0]}.${base[1]}.${base[2]}.${base[3] + n}`,
  };
}

function runAsync(
  program: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], {
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Starts one test host and waits (bounded) until a key login works and its engine answers. */
export async function startTestHost(
  engine: DockerEngine,
  network: TestNetwork,
  name: string,
  dir: string,
  options: TestHostOptions,
): Promise<TestHost> {
  const sshDir = join(dir, "ssh");
  mkdirSync(sshDir, { recursive: true });
  keygen(join(sshDir, "ssh_host_ed25519_key"));
  keygen(join(sshDir, "client_ed25519_key"));
  writeFileSync(join(sshDir, "authorized_keys"), readFileSync(join(sshDir, "client_ed25519_key.pub")));
  writeFileSync(join(sshDir, "sshd_config"), SSHD_CONFIG);
  const hostKey = readFileSync(join(sshDir, "ssh_host_ed25519_key.pub"), "utf8")
    .split(" ")
    .slice(0, 2)
    .join(" ");

  const env = [
    `HOST_ADDRESS_POOL=${options.addressPool}`,
    ...(options.ipForward ? ["HOST_IP_FORWARD=1"] : []),
    ...(options.routes && options.routes.length > 0 ? [`HOST_ROUTES=${options.routes.join(";")}`] : []),
  ].flatMap((value) => ["-e", value]);
  const container = engine
    .docker([
      "run",
      "--detach",
      "--name",
      name,
      "--hostname",
      name,
      "--label",
      "obs-test=1",
      "--network",
      network.name,
      "--ip",
      options.address,
      ...CONTAINER_FLAGS,
      ...env,
      "-v",
      `${sshDir}:/run/host-ssh:ro`,
      // Where the deploy's host-key step reads it.
      "-v",
      `${join(sshDir, "ssh_host_ed25519_key")}:/etc/ssh/ssh_host_ed25519_key:ro`,
      "-v",
      `${join(sshDir, "ssh_host_ed25519_key.pub")}:/etc/ssh/ssh_host_ed25519_key.pub:ro`,
      ...(options.runArgs ?? []),
      engine.images.host,
    ])
    .trim();
  const { address } = options;
  const knownHosts = join(sshDir, "known_hosts");
  writeFileSync(knownHosts, `${address} ${hostKey}\n`);
  const clientArgs = [
    "-F",
    "/dev/null",
    "-i",
    join(sshDir, "client_ed25519_key"),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
    `deploy@${address}`,
  ];
  const ssh = (command: string, stdin = ""): SshResult => {
    const result = spawnSync("/usr/bin/ssh", [...clientArgs, command], {
      input: stdin,
      encoding: "utf8",
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const sshAsync = (command: string, stdin = ""): Promise<SshResult> =>
    runAsync("/usr/bin/ssh", [...clientArgs, command], { input: stdin, timeoutMs: 900_000 });
  const exec = (args: readonly string[], input?: string): SshResult =>
    engine.tryDocker(["exec", ...(input !== undefined ? ["-i"] : []), container, ...args], { input });
  try {
    await pollUntil(
      `${name}: SSH login and its Docker engine`,
      async () => ((await sshAsync("sudo -n docker info >/dev/null")).status === 0 ? true : undefined),
      { attempts: 60, intervalMs: 500 },
    );
  } catch (error) {
    const logs = engine.tryDocker(["logs", "--tail", "40", container]);
    throw new Error(`${(error as Error).message}\n${logs.stdout}${logs.stderr}`);
  }
  if (options.images.length > 0) {
    // The host's engine gets the images as a registry pull would give them: whole, by name.
    const load = await runAsync(
      "bash",
      [
        "-c",
        'set -o pipefail; container="$1"; shift; /usr/bin/docker save "$@" | /usr/bin/docker exec -i "$container" docker load --quiet',
        "load",
        container,
        ...options.images,
      ],
      { env: { ...process.env, ...engine.env }, timeoutMs: 600_000 },
    );
    if (load.status !== 0)
      throw new Error(`loading images into ${name} failed:\n${load.stdout}${load.stderr}`);
  }
  return { name, container, address, hostKey, ssh, sshAsync, exec };
}

/** Removes every host container, its volumes, and the test network. */
export function removeTestHosts(engine: DockerEngine, hosts: readonly string[], network?: TestNetwork): void {
  if (hosts.length > 0) engine.tryDocker(["rm", "--force", "--volumes", ...hosts]);
  if (network) engine.tryDocker(["network", "rm", network.name]);
}
