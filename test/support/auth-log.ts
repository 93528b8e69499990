/**
 * Real sshd log lines for the SSH audit dashboard's parsers: OpenSSH's server on 127.0.0.1 (its
 * own config in a temp dir, password and key logins allowed, logging to a file with `-E`) and the
 * OpenSSH client making logins whose outcome the caller knows: a key login that succeeds, and
 * password logins that fail. Nothing is sent anywhere but loopback.
 *
 * sshd's `-E` file holds the bare messages; on a host, rsyslog writes them to auth.log after a
 * `<timestamp> <host> sshd[<pid>]: ` prefix (Ubuntu's default RFC 3339 format). `asAuthLogLines`
 * adds that prefix, so the lines look like what Alloy ships from /var/log/auth.log.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, pollUntil } from "./processes";

const SSHD = "/usr/sbin/sshd";
const SSH = "/usr/bin/ssh";
const SSH_KEYGEN = "/usr/bin/ssh-keygen";
/** sshd refuses to start without its privilege separation directory. */
const PRIVSEP_DIR = "/run/sshd";

function requireBinary(path: string, aptPackage: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing. Install it with: apt-get update && apt-get install -y ${aptPackage}`,
    );
  }
}

function run(binary: string, args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(binary, [...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A login the client makes, and how it should end. */
export type LoginAttempt =
  | { readonly kind: "key"; readonly user: string }
  | { readonly kind: "password"; readonly user: string; readonly attempts: number };

/**
 * Starts sshd, makes the logins in order, stops sshd (by its own pid) and returns sshd's log
 * messages, one per line. Root may log in with the test key only; every password is wrong.
 */
export async function sshdLogFor(dir: string, logins: readonly LoginAttempt[]): Promise<string[]> {
  requireBinary(SSHD, "openssh-server");
  requireBinary(SSH, "openssh-client");
  requireBinary(SSH_KEYGEN, "openssh-client");
  mkdirSync(PRIVSEP_DIR, { recursive: true });
  const hostKey = join(dir, "host_key");
  const clientKey = join(dir, "client_key");
  for (const key of [hostKey, clientKey]) {
    const made = run(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  }
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  // The client's password prompt answers this, always wrong.
  const askpass = join(dir, "askpass.sh");
  writeFileSync(askpass, "#!/bin/sh\necho not-the-password\n");
  chmodSync(askpass, 0o755);

  const port = await freePort();
  const config = join(dir, "sshd_config");
  const log = join(dir, "sshd.log");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      // The files live under the world-writable /tmp, which StrictModes refuses.
      "StrictModes no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication yes",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      // sshd's default level, as on the hosts.
      "LogLevel INFO",
      "",
    ].join("\n"),
  );
  const server: ChildProcess = spawn(SSHD, ["-D", "-f", config, "-E", log], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => server.on("exit", () => resolve()));
  try {
    await pollUntil("sshd listening", () =>
      existsSync(log) && readFileSync(log, "utf8").includes("Server listening") ? true : undefined,
    );
    const common = [
      "-p",
      String(port),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "ConnectTimeout=10",
    ];
    for (const login of logins) {
      if (login.kind === "key") {
        const result = run(SSH, [
          ...common,
          "-o",
          "BatchMode=yes",
          "-i",
          clientKey,
          `${login.user}@127.0.0.1`,
          "true",
        ]);
        if (result.status !== 0) throw new Error(`key login as ${login.user} failed: ${result.stderr}`);
      } else {
        const result = run(
          SSH,
          [
            ...common,
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            `NumberOfPasswordPrompts=${login.attempts}`,
            `${login.user}@127.0.0.1`,
            "true",
          ],
          { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" },
        );
        if (result.status === 0) throw new Error(`password login as ${login.user} unexpectedly succeeded`);
      }
    }
    // sshd writes the last connection's lines as it closes: wait until the log stops growing.
    let previous = -1;
    await pollUntil(
      "sshd's log to settle",
      () => {
        const size = readFileSync(log, "utf8").length;
        const settled = size === previous;
        previous = size;
        return settled ? true : undefined;
      },
      { attempts: 40, intervalMs: 250 },
    );
  } finally {
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  }
  return readFileSync(log, "utf8")
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0);
}

/** sshd messages as rsyslog writes them to a host's auth.log. */
export function asAuthLogLines(messages: readonly string[], host: string, pid = 4242): string[] {
  return messages.map(
    (message, index) =>
      `2026-11-23T10:00:${String(index % 60).padStart(2, "0")}.000000+00:00 ${host} sshd[${pid}]: ${message}`,
  );
}
