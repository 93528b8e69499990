/**
 * The one place that resolves every real program the tests run: the Prometheus family and the
 * optional exporters from Debian unstable (sid), extracted into `.tools/sid` by
 * `.ci/fetch-debian-tools`, and the services the exporters watch (nginx, PostgreSQL, Redis,
 * MariaDB) from the machine's own Debian packages. A missing program fails the test with the
 * command that provides it, never skips it.
 *
 * Why sid: the stack deploys Prometheus 3.x, Alertmanager 0.3x and node exporter 1.1x, and sid
 * carries those major lines (bookworm's are 2.42, 0.25 and 1.5). `toolVersions` reports what ran.
 */
import { execFile, type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where `.ci/fetch-debian-tools` extracts sid's packages (a Debian root: usr/bin, usr/share). */
export const SID_TOOLS_DIR = resolve(__dirname, "..", "..", ".tools", "sid");
const FETCH_SID_TOOLS =
  "run `bash .ci/fetch-debian-tools` (it downloads Debian sid's builds into .tools/sid)";

export interface ToolSpec {
  /** Name in messages and in the version report. */
  readonly name: string;
  readonly binary: string;
  /** What provides the binary when it is missing. */
  readonly install: string;
  /** The Debian package it comes from (its version is in .tools/sid/VERSIONS for sid's tools). */
  readonly debianPackage?: string;
  /** Arguments that print its version. */
  readonly versionArgs?: readonly string[];
  /**
   * Debian's Alertmanager reads its default notification templates from a fixed path,
   * /usr/share/prometheus/alertmanager, which holds bookworm's 0.25 templates or nothing: it must
   * see sid's there (see `commandFor`). Debian's amtool has none and reads no such path.
   */
  readonly readsDebianTemplates?: boolean;
}

function sidTool(
  name: string,
  program: string,
  debianPackage: string,
  extra: Partial<ToolSpec> = {},
): ToolSpec {
  return {
    name,
    binary: join(SID_TOOLS_DIR, "usr", "bin", program),
    install: FETCH_SID_TOOLS,
    debianPackage,
    ...extra,
  };
}

function aptTool(name: string, binary: string, aptPackage: string, versionArgs: readonly string[]): ToolSpec {
  return {
    name,
    binary,
    install: `apt-get update && apt-get install -y ${aptPackage} (bash .ci/run installs it)`,
    debianPackage: aptPackage,
    versionArgs,
  };
}

/** The Prometheus family and the exporters, as Debian sid builds them. */
export const TOOLS = {
  promtool: sidTool("promtool", "promtool", "promtool"),
  prometheus: sidTool("prometheus", "prometheus", "prometheus"),
  amtool: sidTool("amtool", "amtool", "prometheus-alertmanager"),
  alertmanager: sidTool("alertmanager", "prometheus-alertmanager", "prometheus-alertmanager", {
    readsDebianTemplates: true,
  }),
  nodeExporter: sidTool("node exporter", "prometheus-node-exporter", "prometheus-node-exporter"),
  processExporter: sidTool("process exporter", "prometheus-process-exporter", "prometheus-process-exporter"),
  blackboxExporter: sidTool(
    "blackbox exporter",
    "prometheus-blackbox-exporter",
    "prometheus-blackbox-exporter",
  ),
  nginxExporter: sidTool("nginx exporter", "prometheus-nginx-exporter", "prometheus-nginx-exporter"),
  postgresExporter: sidTool(
    "postgres exporter",
    "prometheus-postgres-exporter",
    "prometheus-postgres-exporter",
  ),
  redisExporter: sidTool("redis exporter", "prometheus-redis-exporter", "prometheus-redis-exporter"),
  mysqldExporter: sidTool("mysqld exporter", "prometheus-mysqld-exporter", "prometheus-mysqld-exporter"),
} as const satisfies Record<string, ToolSpec>;

/** The newest PostgreSQL server binary directory Debian installed (/usr/lib/postgresql/<major>/bin). */
function postgresBin(program: string): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => /^\d+$/.test(entry))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return join(root, majors[0] ?? "<none installed>", "bin", program);
}

/** The services the optional exporters watch, from the machine's Debian (bookworm) packages. */
export const SERVICES = {
  nginx: aptTool("nginx", "/usr/sbin/nginx", "nginx", ["-v"]),
  postgres: aptTool("postgres", postgresBin("postgres"), "postgresql", ["--version"]),
  redis: aptTool("redis-server", "/usr/bin/redis-server", "redis-server", ["--version"]),
  mariadb: aptTool("mariadbd", "/usr/sbin/mariadbd", "mariadb-server", ["--version"]),
} as const satisfies Record<string, ToolSpec>;

/** The same packages' setup and client programs (their versions are the services'). */
export const SERVICE_HELPERS = {
  initdb: aptTool("initdb", postgresBin("initdb"), "postgresql", ["--version"]),
  psql: aptTool("psql", postgresBin("psql"), "postgresql", ["--version"]),
  mariadbInstallDb: aptTool("mariadb-install-db", "/usr/bin/mariadb-install-db", "mariadb-server", []),
  mariadbClient: aptTool("mariadb", "/usr/bin/mariadb", "mariadb-server", ["--version"]),
} as const satisfies Record<string, ToolSpec>;

/** The machine's own utilities a test uses to build a fault: namespaces, loop-mounted filesystems. */
export const SYSTEM_HELPERS = {
  unshare: aptTool("unshare", "/usr/bin/unshare", "util-linux", ["--version"]),
  nsenter: aptTool("nsenter", "/usr/bin/nsenter", "util-linux", ["--version"]),
  mkfsExt4: aptTool("mkfs.ext4", "/usr/sbin/mkfs.ext4", "e2fsprogs", ["-V"]),
} as const satisfies Record<string, ToolSpec>;

/** Path of the tool's binary, or an Error telling how to get it. */
export function requireTool(tool: ToolSpec): string {
  if (!existsSync(tool.binary)) {
    throw new Error(`${tool.name}: ${tool.binary} is missing; ${tool.install}`);
  }
  return tool.binary;
}

const DEBIAN_TEMPLATES_DIR = "/usr/share/prometheus/alertmanager";
const TEMPLATE_FILES = ["default.tmpl", "email.tmpl"] as const;

/** True when Debian's fixed template path already holds sid's templates (a test image may put them there). */
function sidTemplatesInPlace(): boolean {
  const sidDir = join(SID_TOOLS_DIR, DEBIAN_TEMPLATES_DIR);
  return TEMPLATE_FILES.every((file) => {
    const here = join(DEBIAN_TEMPLATES_DIR, file);
    return existsSync(here) && readFileSync(here).equals(readFileSync(join(sidDir, file)));
  });
}

/**
 * Sets up /usr/share as sid's usr/share laid over the machine's, then runs the program; both in a
 * private mount namespace, so nothing outside this one process sees the change.
 */
const OVERLAY_SHARE = [
  'mount -t overlay overlay -o "lowerdir=$0:/usr/share" /usr/share || {',
  '  echo "cannot lay sid\'s templates over /usr/share: copy $0/prometheus/alertmanager/*.tmpl to /usr/share/prometheus/alertmanager (.ci/run does where no package owns it)" >&2',
  "  exit 1",
  "}",
  'exec "$@"',
].join("\n");

/**
 * The command line that runs `tool` with `args`. Alertmanager runs in a private mount namespace
 * where /usr/share/prometheus/alertmanager shows sid's templates (unless they are there already):
 * without 0.33's `default.tmpl` (0.25's lacks `slack.default.color`) every default Slack field
 * renders empty, and without any, Alertmanager refuses its config. `unshare` and `sh` exec in
 * place, so the process started is the program itself and signals reach it.
 */
export function commandFor(tool: ToolSpec, args: readonly string[]): { file: string; args: string[] } {
  const binary = requireTool(tool);
  if (!tool.readsDebianTemplates || sidTemplatesInPlace()) return { file: binary, args: [...args] };
  const share = join(SID_TOOLS_DIR, "usr", "share");
  if (/[:,]/.test(share)) throw new Error(`${share}: an overlay lower directory cannot contain ':' or ','`);
  // As root a mount namespace is enough; otherwise a user namespace maps us to root inside it.
  const userNamespace = process.getuid?.() === 0 ? [] : ["--user", "--map-root-user"];
  return {
    file: "unshare",
    args: [
      ...userNamespace,
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      OVERLAY_SHARE,
      share,
      binary,
      ...args,
    ],
  };
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion; callers assert on status and output. */
export function runTool(tool: ToolSpec, args: readonly string[], options: { cwd?: string } = {}): ToolResult {
  const command = commandFor(tool, args);
  const result: SpawnSyncReturns<string> = spawnSync(command.file, command.args, {
    cwd: options.cwd,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs a tool to completion without blocking, so several can run at once; resolves (never
 * rejects) with what it printed and its exit status (null when it could not start or was killed).
 */
export function runToolAsync(tool: ToolSpec, args: readonly string[]): Promise<ToolResult> {
  const command = commandFor(tool, args);
  return new Promise((resolve) => {
    execFile(
      command.file,
      command.args,
      { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === "number" ? error.code : error ? null : 0;
        resolve({
          status: code,
          stdout,
          stderr: error && code === null ? `${stderr}\n${error.message}` : stderr,
        });
      },
    );
  });
}

/** Formats a failed run for an assertion message. */
export function describeRun(tool: ToolSpec, args: readonly string[], result: ToolResult): string {
  return `${tool.binary} ${args.join(" ")} exited ${result.status}\n${result.stdout}\n${result.stderr}`;
}

/** `package=version` lines of .tools/sid/VERSIONS. */
function sidPackageVersions(): Record<string, string> {
  const file = join(SID_TOOLS_DIR, "VERSIONS");
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

/** The x.y[.z] a program reports for `--version` (or its own version flag); undefined if none. */
export function reportedVersion(tool: ToolSpec): string | undefined {
  const result = spawnSync(tool.binary, [...(tool.versionArgs ?? ["--version"])], {
    encoding: "utf8",
    timeout: 10_000,
  });
  const output = `${result.stdout ?? ""}\n${result.stderr ?? ""}`;
  // The first line that names a version: `prometheus, version 3.5.3+ds1 (...)`, `nginx/1.22.1`,
  // `postgres (PostgreSQL) 15.14`, `Redis server v=7.0.15`, `mariadbd  Ver 10.11.14-MariaDB`.
  const match = /(?:version[:= ]+|[/ ]v?=?|Ver )v?(\d+\.\d+(?:\.\d+)?)/i.exec(output);
  return match?.[1];
}

export interface ToolVersion {
  readonly name: string;
  readonly binary: string;
  /** What the binary says, else its Debian package's version, else "MISSING". */
  readonly version: string;
  readonly debianPackage?: string;
  readonly packageVersion?: string;
  /** sid (`.tools/sid`) or the machine's own Debian release. */
  readonly origin: "sid" | "machine";
}

/** The installed version of a package of the machine's own Debian. */
function installedPackageVersion(aptPackage: string): string | undefined {
  // dpkg-query's own field syntax, not a JavaScript placeholder.
  const format = ["-f=$", "{Version}"].join("");
  const result = spawnSync("dpkg-query", ["-W", format, aptPackage], { encoding: "utf8" });
  return result.status === 0 && result.stdout !== "" ? result.stdout : undefined;
}

/** Every program the tests run, with the version it reports: printed once per test run. */
export function toolVersions(): ToolVersion[] {
  const packages = sidPackageVersions();
  const sidTools = new Set<ToolSpec>(Object.values(TOOLS));
  return [...Object.values(TOOLS), ...Object.values(SERVICES)].map((tool) => {
    const packageVersion = !tool.debianPackage
      ? undefined
      : sidTools.has(tool)
        ? packages[tool.debianPackage]
        : installedPackageVersion(tool.debianPackage);
    const base = {
      name: tool.name,
      binary: tool.binary,
      debianPackage: tool.debianPackage,
      origin: sidTools.has(tool) ? ("sid" as const) : ("machine" as const),
    };
    if (!existsSync(tool.binary)) return { ...base, version: "MISSING" };
    const version = reportedVersion(tool) ?? packageVersion?.replace(/[+~-].*$/, "") ?? "unknown";
    return { ...base, version, ...(packageVersion ? { packageVersion } : {}) };
  });
}

/** Compares dotted versions numerically (a leading `v` ignored): negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) =>
    version
      .replace(/^v/, "")
      .split(/[.+-]/)
      .map((part) => Number.parseInt(part, 10) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * `url_file` on webhook receivers (the rendered heartbeat reads its URL so) exists since
 * Alertmanager 0.26: the pinned image and the binary the tests run must be at least this.
 */
export const ALERTMANAGER_URL_FILE_SINCE = "0.26.0";
