/**
 * The services the optional exporters watch, run for real on 127.0.0.1: nginx, PostgreSQL,
 * MariaDB and Redis from the machine's Debian packages (SERVICES in tools.ts), each in its own
 * directory under the test's temporary directory, on a free port, as an unprivileged user (the
 * databases refuse to run as root; the others follow). Each is set up the way docs/clients.md
 * tells users to: the block for it is read from that file and applied as written, with only the
 * port and the password filled in. `stop()` and `start()` keep the data and the port.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { freePort, type ProcessGroup, type ProcessSpec, pollUntil } from "./processes";
import { requireTool, SERVICE_HELPERS, SERVICES } from "./tools";

/** `nobody`: the services and exporters run as this user when the tests run as root. */
export const UNPRIVILEGED = { uid: 65534, gid: 65534 } as const;
const runningAsRoot = process.getuid?.() === 0;

const CLIENTS_DOC = resolve(__dirname, "..", "..", "docs", "clients.md");

/**
 * The fenced block of docs/clients.md whose first line starts with `marker` (e.g. "-- PostgreSQL:"),
 * without the list indentation. Fails when the docs lose it: the docs are what users run.
 */
export function documentedBlock(marker: string): string {
  const text = readFileSync(CLIENTS_DOC, "utf8");
  for (const match of text.matchAll(/^( *)```[a-z]*\n([\s\S]*?)^\1```$/gm)) {
    const indent = (match[1] ?? "").length;
    const lines = (match[2] ?? "")
      .split("\n")
      .map((line) => line.slice(Math.min(indent, line.search(/\S|$/))));
    if (lines[0]?.startsWith(marker)) return lines.join("\n");
  }
  throw new Error(`docs/clients.md has no code block starting with "${marker}"`);
}

/** Replaces `from` in the documented text, failing when it is not there (the docs changed). */
export function fillIn(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`expected "${from}" in:\n${text}`);
  return text.split(from).join(to);
}

/** A directory the unprivileged user owns (a service's data, sockets, logs). */
function ownedDirectory(path: string): string {
  mkdirSync(path, { recursive: true });
  if (runningAsRoot) chownSync(path, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  chmodSync(path, 0o700);
  return path;
}

/**
 * Runs a setup program to completion as the service's user, in `cwd` (a directory that user can
 * enter: the checkout may not be); throws with its output on failure.
 */
function runAsService(binary: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(binary, [...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    ...(runningAsRoot ? UNPRIVILEGED : {}),
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${binary} ${args.join(" ")} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Runs a client program; resolves true when it exits 0 (readiness probes). */
function succeeds(binary: string, args: readonly string[]): Promise<boolean> {
  return new Promise((done) => {
    execFile(binary, [...args], { timeout: 5_000 }, (error) => done(error === null));
  });
}

export interface RealService {
  readonly name: string;
  /** `127.0.0.1:<port>` it listens on. */
  readonly address: string;
  readonly port: number;
  /** Stops it (the way its init scripts do) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it serves. */
  start(): Promise<void>;
}

/** Client sessions a test holds open on a database; `close` ends each by its own handle. */
export interface HeldConnections {
  /** How many are connected now. */
  readonly count: number;
  close(): Promise<void>;
}

/** A database server that can also be driven towards its connection limit. */
export interface DatabaseService extends RealService {
  /**
   * Opens `count` sessions of the package's own client as the administrator, each idle and
   * connected until `close`; resolves once the server reports every one of them.
   */
  holdConnections(count: number): Promise<HeldConnections>;
}

/** The client's idle sessions, and the query that counts them on the server. */
interface SessionClient {
  readonly binary: string;
  /** Arguments that connect and then read statements from stdin (left open, so the session idles). */
  readonly sessionArgs: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Runs a query as the administrator and returns its single value. */
  readonly countSessions: () => number;
}

function stopClient(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      done();
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    // End of input: the client quits and closes its session the way a finished client does.
    child.stdin?.end();
  });
}

async function holdSessions(client: SessionClient, count: number): Promise<HeldConnections> {
  const before = client.countSessions();
  const children: ChildProcess[] = [];
  const outputs: string[] = [];
  const close = () => Promise.all(children.map(stopClient)).then(() => undefined);
  try {
    for (let index = 0; index < count; index += 1) {
      const child = spawn(client.binary, [...client.sessionArgs], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", ...client.env },
      });
      children.push(child);
      outputs.push("");
      const keep = (chunk: Buffer) => {
        outputs[index] = `${outputs[index]}${chunk.toString("utf8")}`.slice(-2_000);
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
    }
    await pollUntil(`${count} held sessions of ${client.binary}`, () => {
      const exited = children.findIndex((child) => child.exitCode !== null || child.signalCode !== null);
      if (exited >= 0) throw new Error(`a held session ended: ${outputs[exited]}`);
      return client.countSessions() >= before + count ? true : undefined;
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { count, close };
}

function serviceOf(group: ProcessGroup, spec: ProcessSpec, port: number): RealService {
  return {
    name: spec.name,
    address: `127.0.0.1:${port}`,
    port,
    stop: () => group.find(spec.name).stop(),
    start: async () => {
      await group.start(spec, { attempts: 240 });
    },
  };
}

/** nginx with docs/clients.md's stub_status server, on a free port instead of 8080. */
export async function startNginx(group: ProcessGroup, dir: string): Promise<RealService> {
  const home = ownedDirectory(dir);
  const port = await freePort();
  const statusServer = fillIn(
    documentedBlock("# nginx:"),
    "listen 127.0.0.1:8080;",
    `listen 127.0.0.1:${port};`,
  );
  // The documented server block inside the smallest main config that runs unprivileged in `home`.
  const main = [
    "daemon off;",
    "worker_processes 1;",
    `pid ${join(home, "nginx.pid")};`,
    "error_log stderr;",
    "events {}",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
      (kind) => `  ${kind}_temp_path ${join(home, kind)};`,
    ),
    statusServer,
    "}",
    "",
  ].join("\n");
  const configFile = join(home, "nginx.conf");
  writeFileSync(configFile, main);
  const spec: ProcessSpec = {
    name: "nginx",
    tool: SERVICES.nginx,
    args: ["-p", home, "-c", configFile, "-e", "stderr"],
    readyUrl: `http://127.0.0.1:${port}/stub_status`,
    cwd: home,
    user: UNPRIVILEGED,
  };
  await group.start(spec);
  return serviceOf(group, spec, port);
}

/**
 * PostgreSQL in a fresh cluster, with the exporter's role created by docs/clients.md's SQL;
 * `settings` are server parameters given as `-c name=value` (e.g. a low `max_connections`).
 */
export async function startPostgres(
  group: ProcessGroup,
  dir: string,
  password: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<DatabaseService> {
  const data = ownedDirectory(join(dir, "data"));
  const sockets = ownedDirectory(join(dir, "run"));
  const port = await freePort();
  // Password logins over TCP, as Debian's default pg_hba.conf has them; the socket lets the test in.
  runAsService(
    requireTool(SERVICE_HELPERS.initdb),
    [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth-host=scram-sha-256",
      "--auth-local=trust",
      "--locale=C",
      "-E",
      "UTF8",
      "--no-sync",
    ],
    dir,
  );
  const psql = requireTool(SERVICE_HELPERS.psql);
  const asSuperuser = [
    "-h",
    sockets,
    "-p",
    String(port),
    "-U",
    "postgres",
    "-d",
    "postgres",
    "-v",
    "ON_ERROR_STOP=1",
  ];
  const spec: ProcessSpec = {
    name: "postgres",
    tool: SERVICES.postgres,
    args: [
      "-D",
      data,
      "-k",
      sockets,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    readyUrl: `postgres://127.0.0.1:${port}`,
    readyProbe: () => succeeds(psql, [...asSuperuser, "-Atc", "SELECT 1"]),
    // SIGINT is PostgreSQL's fast shutdown (what `pg_ctl stop` does); SIGTERM waits for every client.
    stopSignal: "SIGINT",
    env: { LC_ALL: "C" },
    cwd: dir,
    user: UNPRIVILEGED,
  };
  await group.start(spec, { attempts: 240 });
  const sql = fillIn(documentedBlock("-- PostgreSQL:"), "<postgresExporterPassword>", password);
  runClient(psql, asSuperuser, sql);
  const heldName = "held-session";
  const client: SessionClient = {
    binary: psql,
    sessionArgs: [...asSuperuser, "-X", "-q"],
    env: { PGAPPNAME: heldName },
    countSessions: () =>
      Number(
        runClient(
          psql,
          [...asSuperuser, "-X", "-At"],
          `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${heldName}';`,
        ),
      ),
  };
  return { ...serviceOf(group, spec, port), holdConnections: (count) => holdSessions(client, count) };
}

/**
 * MariaDB with a fresh data directory, and the exporter's user created by docs/clients.md's SQL;
 * `settings` are server options given as `--name=value` (e.g. a low `max-connections`).
 */
export async function startMariadb(
  group: ProcessGroup,
  dir: string,
  password: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<DatabaseService> {
  const data = ownedDirectory(join(dir, "data"));
  const sockets = ownedDirectory(join(dir, "run"));
  const socket = join(sockets, "mysqld.sock");
  const port = await freePort();
  // The OS user running the client logs in as the same MariaDB user through the socket.
  runAsService(
    requireTool(SERVICE_HELPERS.mariadbInstallDb),
    ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=socket", "--skip-test-db"],
    dir,
  );
  const client = requireTool(SERVICE_HELPERS.mariadbClient);
  const asAdministrator = [
    "--no-defaults",
    `--socket=${socket}`,
    "-u",
    runningAsRoot ? "root" : userInfo().username,
  ];
  const spec: ProcessSpec = {
    name: "mariadb",
    tool: SERVICES.mariadb,
    args: [
      "--no-defaults",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(sockets, "mariadbd.pid")}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--innodb-buffer-pool-size=32M",
      ...Object.entries(settings).map(([name, value]) => `--${name}=${value}`),
    ],
    readyUrl: `mysql://127.0.0.1:${port}`,
    readyProbe: () => succeeds(client, [...asAdministrator, "-e", "SELECT 1"]),
    cwd: dir,
    user: UNPRIVILEGED,
  };
  await group.start(spec, { attempts: 240 });
  const sql = fillIn(documentedBlock("-- MySQL/MariaDB:"), "<mysqlExporterPassword>", password);
  runClient(client, asAdministrator, sql);
  const sessions: SessionClient = {
    binary: client,
    // Batch mode: connects, then reads statements from stdin.
    sessionArgs: [...asAdministrator, "--batch"],
    countSessions: () =>
      Number(
        runClient(
          client,
          [...asAdministrator, "--batch", "--skip-column-names"],
          "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Sleep' AND USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1);",
        ),
      ),
  };
  return { ...serviceOf(group, spec, port), holdConnections: (count) => holdSessions(sessions, count) };
}

/** Redis with docs/clients.md's settings, on a free port instead of 6379. */
export async function startRedis(group: ProcessGroup, dir: string, password: string): Promise<RealService> {
  const home = ownedDirectory(dir);
  const port = await freePort();
  let settings = fillIn(documentedBlock("# Redis:"), "port 6379", `port ${port}`);
  settings = fillIn(settings, "<redisExporterPassword>", password);
  const configFile = join(home, "redis.conf");
  // The documented lines, plus a working directory and no persistence (a scratch instance).
  writeFileSync(configFile, `${settings}\ndir ${home}\nsave ""\nappendonly no\ndaemonize no\n`);
  if (runningAsRoot) chownSync(configFile, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const spec: ProcessSpec = {
    name: "redis",
    tool: SERVICES.redis,
    args: [configFile],
    readyUrl: `redis://127.0.0.1:${port}`,
    readyProbe: () => portAnswers(port),
    cwd: home,
    user: UNPRIVILEGED,
  };
  await group.start(spec);
  return serviceOf(group, spec, port);
}

/**
 * Sends one command to Redis on 127.0.0.1:port after AUTH with `password` (RESP over a plain
 * socket: no client binary needed); resolves with the reply's first line, rejects on an error reply.
 */
export function redisCommand(port: number, password: string, ...args: readonly string[]): Promise<string> {
  const encode = (parts: readonly string[]) =>
    `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join("")}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`redis ${args[0]}: no reply`));
    });
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      // Two replies: AUTH's line, then the command's line or bulk string (`$<length>` and the body).
      const authEnd = received.indexOf("\r\n");
      const replyEnd = received.indexOf("\r\n", authEnd + 2);
      if (authEnd < 0 || replyEnd < 0) return;
      const auth = received.slice(0, authEnd);
      const reply = received.slice(authEnd + 2, replyEnd);
      const length = reply.startsWith("$") ? Number(reply.slice(1)) : -1;
      if (
        length >= 0 &&
        Buffer.byteLength(received) < Buffer.byteLength(received.slice(0, replyEnd + 2)) + length
      )
        return;
      socket.end();
      if (!auth.startsWith("+OK")) reject(new Error(`redis AUTH: ${auth}`));
      else if (reply.startsWith("-")) reject(new Error(`redis ${args[0]}: ${reply}`));
      else resolve(length >= 0 ? received.slice(replyEnd + 2, replyEnd + 2 + length) : reply);
    });
    socket.once("error", reject);
    socket.once("connect", () => socket.write(encode(["AUTH", password]) + encode(args)));
  });
}

/** Runs SQL through a database client as the administrator; returns its output, throws on failure. */
function runClient(binary: string, args: readonly string[], sql: string): string {
  const result = spawnSync(binary, [...args], { input: sql, encoding: "utf8", timeout: 30_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${binary} refused the SQL (exit ${result.status}):\n${sql}\n${result.stderr}`);
  }
  return result.stdout;
}

/** True once something accepts TCP connections on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}
