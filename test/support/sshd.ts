/**
 * A real OpenSSH server on 127.0.0.1 for the deploy script tests, and the OpenSSH client to
 * reach it. Everything lives in one temp dir: host key, client key, authorized_keys,
 * known_hosts, sshd_config, logs. The server runs in the foreground (`-D -e`) as a child of the
 * test, on a free port, and `stop()` ends it by its pid (call it from afterAll: it runs even
 * when a test failed).
 *
 * Every session runs through a ForceCommand wrapper that puts `sessionPath` first on PATH and
 * then runs the command the client asked for with bash, so stand-ins (test/support/host-stand-ins.ts)
 * shadow the container runtime for that session only. A ForceCommand rather than sshd's
 * `SetEnv PATH=...`: the login shell's rc files (root's ~/.bashrc, which Debian's bash reads for
 * SSH commands) may prepend their own directories, and the stand-ins must come first.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, pollUntil } from "./processes";

const SSHD = "/usr/sbin/sshd";
const SSH = "/usr/bin/ssh";
const SSH_KEYGEN = "/usr/bin/ssh-keygen";
/**
 * sshd's privilege separation directory (Debian's unit creates it; a container may not have it).
 * Created when missing and left in place: another test run's sshd may be using it right now.
 */
const PRIVSEP_DIR = "/run/sshd";

/** How long one ssh invocation may take before the test gives up on it. */
const SSH_TIMEOUT_MS = 120_000;

export interface SshResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SshServer {
  readonly port: number;
  /** The server's log (sshd -e), for failure messages. */
  log(): string;
  /** Runs `command` on the server as root, with `stdin` on its standard input, like a deploy step. */
  run(command: string, stdin?: string): SshResult;
  /** Ends the server (by its pid) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface SshServerOptions {
  /** An empty directory the server's keys, config and logs go to (the caller removes it). */
  readonly dir: string;
  /** Directories put first on PATH in every session (the stand-ins). */
  readonly sessionPath: readonly string[];
}

function requireBinary(path: string, aptPackage: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing. Install it with: apt-get update && apt-get install -y ${aptPackage}`,
    );
  }
}

/** Checks the OpenSSH server and client are installed; throws with the install line otherwise. */
export function requireOpenSsh(): void {
  requireBinary(SSHD, "openssh-server");
  requireBinary(SSH, "openssh-client");
  requireBinary(SSH_KEYGEN, "openssh-client");
}

function keygen(path: string): void {
  const result = spawnSync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", "deploy-test", "-f", path], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
}

function sshdConfig(options: {
  port: number;
  dir: string;
  hostKey: string;
  authorizedKeys: string;
  sessionWrapper: string;
}): string {
  return [
    `Port ${options.port}`,
    // Loopback only: nothing outside this machine can reach the test server.
    "ListenAddress 127.0.0.1",
    `HostKey ${options.hostKey}`,
    `PidFile ${join(options.dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${options.authorizedKeys}`,
    // The keys live in a temp dir under the world-writable /tmp, which StrictModes refuses.
    "StrictModes no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "AllowUsers root",
    // No PAM: no pam_env adding /etc/environment, no session modules a container may lack.
    "UsePAM no",
    "PermitUserEnvironment no",
    "AllowTcpForwarding no",
    "AllowAgentForwarding no",
    "X11Forwarding no",
    "PrintMotd no",
    "PrintLastLog no",
    "LogLevel VERBOSE",
    `ForceCommand ${options.sessionWrapper}`,
    "",
  ].join("\n");
}

/** The ForceCommand: stand-ins first on PATH, then the client's command, through bash. */
function sessionWrapper(sessionPath: readonly string[]): string {
  const path = [
    ...sessionPath,
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ];
  return [
    "#!/bin/bash",
    "# Every session of the deploy test server (test/support/sshd.ts).",
    `export PATH='${path.join(":")}'`,
    'exec /bin/bash -c "$SSH_ORIGINAL_COMMAND"',
    "",
  ].join("\n");
}

/** Starts sshd on a free loopback port and waits (bounded) until a key login works. */
export async function startSshServer(options: SshServerOptions): Promise<SshServer> {
  requireOpenSsh();
  if (process.getuid?.() !== 0) {
    throw new Error("the SSH deploy tests log in as root and write root-owned files: run them as root");
  }
  for (const dir of options.sessionPath) {
    if (dir.includes("'") || dir.includes(":")) throw new Error(`unusable PATH entry ${dir}`);
  }
  const { dir } = options;
  const hostKey = join(dir, "ssh_host_ed25519_key");
  const clientKey = join(dir, "client_ed25519_key");
  keygen(hostKey);
  keygen(clientKey);
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const wrapper = join(dir, "session.sh");
  writeFileSync(wrapper, sessionWrapper(options.sessionPath));
  chmodSync(wrapper, 0o755);

  const port = await freePort();
  // The client accepts exactly this server's host key, from a known_hosts of its own.
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8")}`);
  const config = join(dir, "sshd_config");
  writeFileSync(config, sshdConfig({ port, dir, hostKey, authorizedKeys, sessionWrapper: wrapper }));

  mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });

  const logPath = join(dir, "sshd.log");
  const logFd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");

  const clientArgs = [
    "-F",
    "/dev/null",
    "-i",
    clientKey,
    "-p",
    String(port),
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
    "root@127.0.0.1",
  ];
  const run = (command: string, stdin = ""): SshResult => {
    const result = spawnSync(SSH, [...clientArgs, command], {
      input: stdin,
      encoding: "utf8",
      timeout: SSH_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      child.kill("SIGTERM");
      await pollUntil("sshd to exit", () => (exited ? true : undefined), {
        attempts: 40,
        intervalMs: 100,
      }).catch(() => {
        child.kill("SIGKILL");
      });
    }
  };

  try {
    await pollUntil(
      "sshd to accept a key login on 127.0.0.1",
      () => {
        if (exited) throw new Error(`sshd exited:\n${log()}`);
        return run("true").status === 0 ? true : undefined;
      },
      { attempts: 50, intervalMs: 200 },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nsshd log:\n${log()}`);
  }
  return { port, log, run, stop };
}
