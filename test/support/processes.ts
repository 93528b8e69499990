/**
 * Real binaries (Prometheus, Alertmanager, exporters) for end-to-end tests: started on
 * 127.0.0.1 with free ports, waited for with bounded polling, always stopped by the group that
 * started them (call `stopAll` in afterAll, which runs even when a test failed).
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { createServer } from "node:net";
import { commandFor, TOOLS, type ToolSpec } from "./tools";

/** A port nobody listens on right now (the OS picks it; the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port the OS picked"));
      });
    });
  });
}

export interface PollOptions {
  /** Upper bound on attempts: every wait ends. */
  readonly attempts?: number;
  readonly intervalMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until it returns a value other than undefined, at most `attempts` times.
 * Throws with `description` (and the last probe error) when it never does.
 */
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { attempts = 120, intervalMs = 250 }: PollOptions = {},
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`gave up after ${attempts} attempts waiting for ${description}${cause}`);
}

/** GETs a loopback URL; undefined while the server is not answering. */
export async function getText(url: string): Promise<{ status: number; body: string } | undefined> {
  assertLoopback(url);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await getText(url);
  if (response === undefined || response.status !== 200) {
    throw new Error(`GET ${url} answered ${response?.status ?? "nothing"}: ${response?.body ?? ""}`);
  }
  return JSON.parse(response.body) as T;
}

export async function postJson(url: string, body: unknown): Promise<void> {
  assertLoopback(url);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
}

/** The whole body of a request to one of the tests' own loopback servers, as UTF-8. */
export function readRequestBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** Tests talk to loopback only. */
function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`refusing to contact ${url}: tests use loopback addresses only`);
  }
}

export interface ProcessSpec {
  readonly name: string;
  readonly tool: ToolSpec;
  readonly args: readonly string[];
  /** A loopback URL answering 200 once the process is ready. */
  readonly readyUrl: string;
  /** For a process that serves no HTTP (a database): ready once this resolves true; replaces readyUrl's check. */
  readonly readyProbe?: () => Promise<boolean>;
  readonly cwd?: string;
  /** Extra environment variables (merged over this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** The signal that stops it cleanly (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
  /** Runs as this user (when the tests run as root; a service that refuses root needs one). */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export class RunningProcess {
  private output = "";
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      // The tail is enough to explain a failure.
      this.output = (this.output + chunk.toString("utf8")).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exitPromise = new Promise((resolve) => {
      child.on("exit", () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** The process' id (for tools that act on it by id: nsenter, /proc/<pid>); undefined once it has exited. */
  get pid(): number | undefined {
    return this.exited ? undefined : this.child.pid;
  }

  /** The last lines the process wrote, for assertion messages. */
  get logs(): string {
    return this.output;
  }

  async waitUntilReady(options?: PollOptions): Promise<void> {
    await pollUntil(
      `${this.spec.name} at ${this.spec.readyUrl}`,
      async () => {
        if (this.exited) throw new Error(`${this.spec.name} exited early:\n${this.output}`);
        if (this.spec.readyProbe) return (await this.spec.readyProbe()) ? true : undefined;
        const response = await getText(this.spec.readyUrl);
        return response?.status === 200 ? true : undefined;
      },
      options,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${this.spec.name} output ---\n${this.output}`);
    });
  }

  /** Its stop signal (SIGTERM by default), then SIGKILL if it has not exited after a bounded wait. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill(this.spec.stopSignal ?? "SIGTERM");
    const stopped = await Promise.race([this.exitPromise.then(() => true), sleep(5_000).then(() => false)]);
    if (!stopped) {
      this.child.kill("SIGKILL");
      await Promise.race([this.exitPromise, sleep(5_000)]);
    }
  }
}

/** Everything one test file started; `stopAll` in afterAll ends each of them by its own handle. */
export class ProcessGroup {
  private readonly running: RunningProcess[] = [];

  async start(spec: ProcessSpec, options?: PollOptions): Promise<RunningProcess> {
    const command = commandFor(spec.tool, spec.args);
    const child = spawn(command.file, command.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(spec.user && process.getuid?.() === 0 ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    });
    const running = new RunningProcess(spec, child);
    this.running.push(running);
    await running.waitUntilReady(options);
    return running;
  }

  /** The most recently started process with this name (a restart replaces the stopped one). */
  find(name: string): RunningProcess {
    const found = this.running.filter((running) => running.spec.name === name).at(-1);
    if (found === undefined) throw new Error(`no process named ${name} was started`);
    return found;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.map((running) => running.stop()));
  }
}

export interface LocalPrometheusSpec {
  readonly name: string;
  readonly configFile: string;
  /** Its TSDB directory. */
  readonly dataDir: string;
  /** Flags beyond config, storage and listen address (a receiver, an agent mode). */
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The loopback port, when its config must name it (a self-scrape); a free one otherwise. */
  readonly port?: number;
}

/** Debian's Prometheus on a loopback port with `configFile`; resolves to its base URL once ready. */
export async function startLocalPrometheus(group: ProcessGroup, spec: LocalPrometheusSpec): Promise<string> {
  const port = spec.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  await group.start({
    name: spec.name,
    tool: TOOLS.prometheus,
    args: [
      `--config.file=${spec.configFile}`,
      `--storage.tsdb.path=${spec.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(spec.extraArgs ?? []),
    ],
    readyUrl: `${url}/-/ready`,
    ...(spec.env ? { env: spec.env } : {}),
  });
  return url;
}
