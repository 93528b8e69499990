/**
 * The remote side of the deploy, as pure renderers: which steps a host gets (planned from its
 * rendered files and compose file), and the shell each step runs. components/host-deployment.ts
 * turns every step into one @pulumi/command remote Command.
 *
 * The logic that runs on hosts is plain shell in configs/host-scripts/ (shellchecked, exercised
 * over real SSH by test/host-scripts.test.ts). A step's script is that file's text followed by a
 * generated tail holding only data and function calls, every argument through `shellQuote`;
 * nothing from config is pasted into shell unquoted. File contents travel on the command's stdin inside quoted here-documents (or base64),
 * so they never reach a command line, and `pulumi preview --diff` shows changed lines as text.
 * Secret values travel the same way inside a stdin that stays a Pulumi secret; they are written
 * with shell builtins (`printf`), so they never appear in any process's argv either.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import { AGENTS_DIR, COMPOSE_FILE } from "./agents/client-compose";
import { ALERTMANAGER_PATHS } from "./alertmanager";
import { BLACKBOX_CONFIG_FILE, BLACKBOX_SERVICE } from "./blackbox";
import { GATEWAY_BINARY, GATEWAY_CONTAINER_CONFIG_PATH, GATEWAY_SERVICE } from "./gateway";
import { CLOUD_INIT_FILE, type HostFiles, MONITOR_LOKI_RUNTIME_DIR } from "./host-files";
import { IMAGES } from "./images";
import { LOKI_CONFIG_PATH } from "./loki";
import { PROMETHEUS_CONFIG_PATH } from "./prometheus";

/** Where the monitor's compose project and config files live (root volume: all of it is re-rendered on deploy). */
export const MONITOR_DEPLOY_DIR = "/opt/observability/monitor";
/** Where every client's and outside host's agents live. */
export const AGENTS_DEPLOY_DIR = AGENTS_DIR;
/** Bookkeeping inside a deploy directory: per-step manifests and staging copies. */
export const DEPLOY_STATE_DIR = ".deploy";
/** The monitor's file SD target files (relative to its deploy dir): a step of their own, no reload. */
export const FILE_SD_DIR = "prometheus/file_sd";
/** Loki's runtime overrides (relative to the monitor's deploy dir): a step of their own, no restart. */
export const LOKI_RUNTIME_DIR = MONITOR_LOKI_RUNTIME_DIR;

/**
 * Directories whose files the service re-reads by itself (Prometheus watches file SD files, Loki
 * polls its runtime config): each is a step of its own that only swaps files in, so a change there
 * (adding or removing a host) never reloads or restarts anything.
 */
const SELF_WATCHED_DIRS: Readonly<Record<string, string>> = {
  "file-sd": FILE_SD_DIR,
  "loki-runtime": LOKI_RUNTIME_DIR,
};

/** How long `docker compose up --wait` may take before the step fails (first image pulls included). */
const COMPOSE_WAIT_TIMEOUT_SECONDS = 600;
/** Readiness: cloud-init may take a while (packages), then Docker gets this many checks 5 s apart. */
const CLOUD_INIT_TIMEOUT_SECONDS = 1200;
const DOCKER_READY_ATTEMPTS = 60;

// ---------------------------------------------------------------------------------------------
// Quoting and hashing
// ---------------------------------------------------------------------------------------------

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One shell word that stands for exactly `value` in bash and POSIX sh: left bare when it holds
 * only characters no shell treats specially, otherwise single-quoted with each `'` as `'\''`.
 * A NUL byte cannot be carried by any shell word: refused (the message never repeats the value).
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell word cannot contain a NUL byte");
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A command line from argv, every word quoted. */
function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `sha256:<hex>` over the files sorted by path: the same map gives the same hash whatever the
 * order it was built in, and any change to a path or a byte of content changes it.
 */
export function contentHash(files: Readonly<Record<string, string>>): string {
  const entries = Object.entries(files).sort(([a], [b]) => compareStrings(a, b));
  return `sha256:${createHash("sha256").update(JSON.stringify(entries)).digest("hex")}`;
}

const RELATIVE_PATH = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/;

/** Refuses anything but a plain relative path (no `..`, no leading `/` or `-`, no odd characters). */
function assertRelativePath(path: string): string {
  if (!RELATIVE_PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`deploy path ${JSON.stringify(path)} is not a plain relative path`);
  }
  return path;
}

const ABSOLUTE_PATH = /^(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$/;

function assertAbsolutePath(path: string): string {
  if (!ABSOLUTE_PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`deploy path ${JSON.stringify(path)} is not a plain absolute path`);
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Planning: which steps a host gets
// ---------------------------------------------------------------------------------------------

export interface ComposeMount {
  /** Relative to the compose file's directory, without `./`. */
  readonly source: string;
  readonly target: string;
}

export interface ComposeServiceLayout {
  readonly image: string;
  /** Bind mounts of files from the deploy directory (`./x:/y`). */
  readonly mounts: readonly ComposeMount[];
  /**
   * Ports the host's loopback reaches: published as `127.0.0.1:p:p` or `0.0.0.0:p:p` (all
   * interfaces include loopback), on the same port inside and out.
   */
  readonly loopbackPorts: readonly number[];
  /** Where the host reaches each port published on the same port inside and out (0.0.0.0 as 127.0.0.1). */
  readonly publishedAddresses: Readonly<Record<number, string>>;
  /** Host paths of the secret files it reads (compose `secrets:` and `env_file:`), absolute. */
  readonly secretPaths: readonly string[];
}

export interface ComposeLayout {
  readonly project: string;
  /** The network compose puts every service on when the file names none: `<project>_default`. */
  readonly defaultNetwork: string;
  readonly services: Readonly<Record<string, ComposeServiceLayout>>;
}

interface RawService {
  image?: unknown;
  volumes?: unknown;
  ports?: unknown;
  secrets?: unknown;
  env_file?: unknown;
}

function stringList(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

function relativeToDeployDir(path: string, directory: string): string {
  return path.startsWith("/") ? path : `${directory}/${path.replace(/^\.\//, "")}`;
}

/** What the deploy needs to know about a rendered compose file (short volume syntax, as our renderers write). */
export function composeLayout(composeYaml: string, directory: string): ComposeLayout {
  const document = YAML.parse(composeYaml) as {
    name?: unknown;
    services?: Record<string, RawService>;
    secrets?: Record<string, { file?: unknown }>;
  };
  if (typeof document?.name !== "string" || document.name === "") {
    throw new Error("the compose file has no project `name`: the deploy finds its containers by it");
  }
  const topSecrets = document.secrets ?? {};
  const services: Record<string, ComposeServiceLayout> = {};
  for (const [service, raw] of Object.entries(document.services ?? {})) {
    const mounts: ComposeMount[] = [];
    for (const volume of stringList(raw.volumes)) {
      const [source, target] = volume.split(":");
      if (source?.startsWith("./") && target !== undefined) {
        mounts.push({ source: assertRelativePath(source.slice(2)), target });
      }
    }
    const publishedAddresses: Record<number, string> = {};
    for (const port of stringList(raw.ports)) {
      const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+):(\d+)$/.exec(port);
      if (match && match[2] === match[3]) {
        publishedAddresses[Number(match[2])] = match[1] === "0.0.0.0" ? "127.0.0.1" : (match[1] as string);
      }
    }
    const loopbackPorts = stringList(raw.ports)
      .map((port) => /^(?:127\.0\.0\.1|0\.0\.0\.0):(\d+):(\d+)$/.exec(port))
      .filter((match): match is RegExpExecArray => match !== null && match[1] === match[2])
      .map((match) => Number(match[1]));
    const secretPaths = [
      ...stringList(raw.secrets).map((name) => {
        const file = topSecrets[name]?.file;
        if (typeof file !== "string") throw new Error(`compose secret ${name} has no file`);
        return relativeToDeployDir(file, directory);
      }),
      ...stringList(raw.env_file).map((file) => relativeToDeployDir(file, directory)),
    ];
    services[service] = {
      image: typeof raw.image === "string" ? raw.image : "",
      mounts,
      loopbackPorts,
      publishedAddresses,
      secretPaths,
    };
  }
  return { project: document.name, defaultNetwork: `${document.name}_default`, services };
}

/** A config check run inside the service's own pinned image on the staged files, before the swap. */
export interface ConfigCheck {
  readonly entrypoint: string;
  readonly args: readonly string[];
}

/** Services whose config is checked by their own tool before it replaces the running one. */
const CONFIG_CHECKS: Readonly<Record<string, ConfigCheck>> = {
  prometheus: { entrypoint: "promtool", args: ["check", "config", PROMETHEUS_CONFIG_PATH] },
  alertmanager: { entrypoint: "amtool", args: ["check-config", ALERTMANAGER_PATHS.configFile] },
  [BLACKBOX_SERVICE]: {
    entrypoint: "blackbox_exporter",
    args: ["--config.check", `--config.file=${BLACKBOX_CONFIG_FILE}`],
  },
  // Loki parses and validates the file (strict YAML: an unknown key fails) and exits.
  loki: { entrypoint: "loki", args: [`-config.file=${LOKI_CONFIG_PATH}`, "-verify-config"] },
  // Syntax and directives only: the hash file is read per request, not at start.
  [GATEWAY_SERVICE]: {
    entrypoint: GATEWAY_BINARY,
    args: ["-t", "-e", "stderr", "-c", GATEWAY_CONTAINER_CONFIG_PATH],
  },
};

/**
 * Services that read their secret files on every use (nginx opens the gateway's hash file per
 * request). put_secret rewrites a file in place, so the running container sees the new content:
 * they are never recreated for a secret change (a host added or removed changes the hashes).
 */
const SECRETS_READ_LIVE: ReadonlySet<string> = new Set([GATEWAY_SERVICE]);

/**
 * Where each service says it is ready (a 2xx answer): after a restart the deploy waits for it,
 * and rolls back when it does not come. Grafana's /api/health answers once its database is
 * migrated and provisioning loaded; Loki's /ready once its ring is joined. The gateway has no
 * readiness path of its own (everything but the push path is a 404): any HTTP answer on its port
 * means nginx is serving with the new config (`anyAnswer`).
 *
 * A service that publishes the port is probed from the host's loopback with curl; one that does
 * not (Loki, behind the gateway) from a throwaway container on the compose network, by its
 * service name, with READINESS_PROBE_IMAGE's wget.
 */
const READINESS_ENDPOINTS: Readonly<
  Record<string, { readonly port: number; readonly path: string; readonly anyAnswer?: true }>
> = {
  prometheus: { port: MONITOR_PORTS.prometheus, path: "/-/ready" },
  alertmanager: { port: MONITOR_PORTS.alertmanager, path: "/-/ready" },
  loki: { port: MONITOR_PORTS.loki, path: "/ready" },
  grafana: { port: MONITOR_PORTS.grafana, path: "/api/health" },
  [GATEWAY_SERVICE]: { port: MONITOR_PORTS.gateway, path: "/", anyAnswer: true },
  alloy: { port: AGENT_PORTS.alloy, path: "/-/ready" },
  "process-exporter": { port: AGENT_PORTS.processExporter, path: "/metrics" },
};

/**
 * The image whose wget probes a service that publishes no port, over the compose network: the
 * pinned Prometheus image (busybox wget; its own healthcheck uses it). Used only on a host whose
 * compose file runs it, so the image is already there and nothing is pulled.
 */
const READINESS_PROBE_IMAGE = IMAGES.prometheus;

/** How long a restarted service may take to answer its readiness endpoint (tries 2 s apart). */
const READY_TIMEOUT_SECONDS = 180;

/**
 * Services that re-read their config on `POST /-/reload` and answer non-2xx when it is rejected
 * (then they keep running the last valid config, and the deploy rolls the files back).
 * Prometheus needs --web.enable-lifecycle; Alloy serves it on its HTTP port.
 */
const RELOADABLE_SERVICES: Readonly<Record<string, number>> = {
  prometheus: MONITOR_PORTS.prometheus,
  alertmanager: MONITOR_PORTS.alertmanager,
  alloy: AGENT_PORTS.alloy,
};

export type UnitApply =
  /** `docker compose up -d --remove-orphans --wait` (the compose unit). */
  | { readonly kind: "compose-up" }
  /** `POST http://127.0.0.1:<port>/-/reload`, if the container runs (else compose up starts it). */
  | { readonly kind: "reload"; readonly service: string; readonly port: number }
  /**
   * `docker restart`, if the container runs: for services that cannot reload (Loki's main
   * config). Then, where the service has a readiness endpoint, a bounded wait for it: from the
   * host's loopback, or with `probeNetwork` from a container on that network (`readyUrl` then
   * names the service); `anyAnswer`: any HTTP status counts, not only 2xx.
   */
  | {
      readonly kind: "restart";
      readonly service: string;
      readonly readyUrl?: string;
      readonly anyAnswer?: true;
      readonly probeNetwork?: { readonly network: string; readonly image: string };
    }
  /** Nothing: the service re-reads these files by itself (file SD, Loki's runtime config). */
  | { readonly kind: "none" };

export interface ServiceCheck extends ConfigCheck {
  readonly image: string;
  readonly mounts: readonly ComposeMount[];
}

/** One step that installs a group of files (validate, swap, apply). */
export interface DeployUnit {
  /** `compose`, a SELF_WATCHED_DIRS step (`file-sd`, `loki-runtime`) or the compose service the files belong to. */
  readonly name: string;
  /** Relative paths of the files it installs, sorted. */
  readonly paths: readonly string[];
  /** Directories (relative) the compose file bind-mounts but no file fills: created empty. */
  readonly emptyMountDirs: readonly string[];
  readonly check?: ServiceCheck;
  readonly checkCompose: boolean;
  readonly apply: UnitApply;
}

export interface DeployPlan {
  readonly project: string;
  readonly units: readonly DeployUnit[];
  /**
   * Services that read secret files, with those files: recreated when the secrets change
   * (SECRETS_READ_LIVE's services excepted: they see the rewritten files by themselves).
   */
  readonly secretReaders: Readonly<Record<string, readonly string[]>>;
}

function underMount(path: string, mount: ComposeMount): boolean {
  return path === mount.source || path.startsWith(`${mount.source}/`);
}

/** Files the deploy copies: everything rendered except cloud-init user data (it boots EC2 hosts). */
export function deployedFiles(files: HostFiles): HostFiles {
  const { [CLOUD_INIT_FILE]: _userData, ...rest } = files;
  for (const path of Object.keys(rest)) assertRelativePath(path);
  return rest;
}

/**
 * The steps for one host, from its rendered files: a unit per compose service that mounts files
 * (its own trigger, check and reload/restart), each SELF_WATCHED_DIRS directory on its own, and the compose
 * file with everything no service mounts. Paths only: contents may still be unknown here.
 */
export function planDeploy(files: HostFiles, directory: string): DeployPlan {
  const deployed = deployedFiles(files);
  const composeYaml = deployed[COMPOSE_FILE];
  if (composeYaml === undefined) throw new Error(`the host's files have no ${COMPOSE_FILE}`);
  const layout = composeLayout(composeYaml, directory);
  const paths = Object.keys(deployed).sort(compareStrings);
  const watchedDirs = Object.entries(SELF_WATCHED_DIRS);
  const isSelfWatched = (path: string) =>
    watchedDirs.some(([, directory]) => path.startsWith(`${directory}/`));
  const claimed = new Set<string>();
  const units: DeployUnit[] = [];

  for (const [service, spec] of Object.entries(layout.services).sort(([a], [b]) => compareStrings(a, b))) {
    if (spec.mounts.length === 0) continue;
    const own = paths.filter(
      (path) => path !== COMPOSE_FILE && !isSelfWatched(path) && spec.mounts.some((m) => underMount(path, m)),
    );
    const emptyMountDirs = spec.mounts
      .map((mount) => mount.source)
      .filter((source) => !paths.some((path) => underMount(path, { source, target: "" })));
    for (const path of own) claimed.add(path);
    const port = RELOADABLE_SERVICES[service];
    const check = CONFIG_CHECKS[service];
    // A reload only helps where the service sees new files: directory mounts (a replaced file
    // under a file bind mount keeps its old inode in the container) on a port the host's
    // loopback reaches.
    const reloadable =
      port !== undefined &&
      spec.loopbackPorts.includes(port) &&
      own.every((path) => !spec.mounts.some((mount) => mount.source === path));
    units.push({
      name: service,
      paths: own,
      emptyMountDirs,
      ...(check ? { check: { ...check, image: spec.image, mounts: spec.mounts } } : {}),
      checkCompose: false,
      apply: reloadable ? { kind: "reload", service, port } : restartApply(service, spec, layout),
    });
  }
  for (const [name, directory] of watchedDirs) {
    const watched = paths.filter((path) => path.startsWith(`${directory}/`));
    if (watched.length === 0) continue;
    units.push({ name, paths: watched, emptyMountDirs: [], checkCompose: false, apply: { kind: "none" } });
  }
  const rest = paths.filter((path) => !claimed.has(path) && !isSelfWatched(path));
  units.push({
    name: "compose",
    paths: rest,
    emptyMountDirs: [],
    checkCompose: true,
    apply: { kind: "compose-up" },
  });

  const secretReaders = Object.fromEntries(
    Object.entries(layout.services)
      .filter(([service, spec]) => spec.secretPaths.length > 0 && !SECRETS_READ_LIVE.has(service))
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([service, spec]) => [service, [...spec.secretPaths].sort(compareStrings)]),
  );
  return { project: layout.project, units, secretReaders };
}

/**
 * A restart, with the readiness URL: on the host's loopback where the service publishes its
 * endpoint's port, else on the compose network where the probe image is on the host.
 */
function restartApply(service: string, spec: ComposeServiceLayout, layout: ComposeLayout): UnitApply {
  const endpoint = READINESS_ENDPOINTS[service];
  if (endpoint === undefined) return { kind: "restart", service };
  const anyAnswer = endpoint.anyAnswer === undefined ? {} : { anyAnswer: endpoint.anyAnswer };
  const address = spec.publishedAddresses[endpoint.port];
  if (address !== undefined) {
    return {
      kind: "restart",
      service,
      readyUrl: `http://${address}:${endpoint.port}${endpoint.path}`,
      ...anyAnswer,
    };
  }
  const probeOnHost = Object.values(layout.services).some((other) => other.image === READINESS_PROBE_IMAGE);
  // busybox wget fails on any non-2xx answer: an any-answer endpoint needs the loopback probe.
  if (!probeOnHost || endpoint.anyAnswer) return { kind: "restart", service };
  return {
    kind: "restart",
    service,
    readyUrl: `http://${service}:${endpoint.port}${endpoint.path}`,
    probeNetwork: { network: layout.defaultNetwork, image: READINESS_PROBE_IMAGE },
  };
}

/** The unit's files out of the host's full file map. */
export function unitFiles(unit: DeployUnit, files: HostFiles): HostFiles {
  const selected: HostFiles = {};
  for (const path of unit.paths) {
    const content = files[path];
    if (content === undefined) throw new Error(`planned file ${path} is missing from the rendered files`);
    selected[path] = content;
  }
  return selected;
}
// ---------------------------------------------------------------------------------------------
// Scripts: a plain library file from configs/host-scripts/ + a tail of data and function calls
// ---------------------------------------------------------------------------------------------

/** The plain shell files the scripts are built from (read once, at render time: still pure). */
export const HOST_SCRIPTS_DIR = join(__dirname, "host-scripts");
export const DEPLOY_LIBRARY_FILE = join(HOST_SCRIPTS_DIR, "deploy-lib.sh");
const READINESS_LIBRARY_FILE = join(HOST_SCRIPTS_DIR, "readiness.sh");

const libraries = new Map<string, string>();

function library(path: string): string {
  let text = libraries.get(path);
  if (text === undefined) {
    text = readFileSync(path, "utf8");
    libraries.set(path, text);
  }
  return text;
}

/** A tail line: a function of the library called with every argument quoted. */
function call(name: string, ...args: readonly string[]): string {
  return [name, ...args.map(shellQuote)].join(" ");
}

/**
 * A bash script for `bash -s`: the library, then the tail. The `{ ... }` group makes bash read
 * the whole script, here-documents included, before running any of it, and stdin is then
 * closed so that no command inside can swallow the rest of the script (and bash, reading its
 * next command from the closed stdin, ends with the status of the last call).
 */
function stdinScript(title: string, tail: readonly string[]): string {
  return [
    `# ${title}`,
    "# Rendered by configs/deploy-scripts.ts: configs/host-scripts/deploy-lib.sh, then the calls for this step.",
    "# Runs as root through `sudo -n bash -s`.",
    "{",
    library(DEPLOY_LIBRARY_FILE).trimEnd(),
    "",
    "# ---- this step ----",
    "exec </dev/null",
    ...tail,
    "}",
    "",
  ].join("\n");
}

/** The `create` of every step whose script arrives on stdin. */
export const RUN_STDIN_AS_ROOT = "sudo -n bash -s";

function heredocDelimiter(content: string): string {
  const digest = createHash("sha256").update(content).digest("hex");
  for (let length = 12; length <= digest.length; length += 4) {
    const delimiter = `OBSERVABILITY_EOF_${digest.slice(0, length)}`;
    if (!content.split("\n").includes(delimiter)) return delimiter;
  }
  throw new Error("no here-document delimiter fits this content");
}

/** Tail lines that stage `content` as the unit file `path`, byte for byte. */
function stageFileLines(path: string, content: string): string[] {
  assertRelativePath(path);
  // A quoted here-document is copied verbatim (no expansion) and always ends in a newline, so it
  // carries text that ends in one; anything else goes through base64.
  if (content.endsWith("\n") && !content.includes("\0") && !content.includes("\r")) {
    const delimiter = heredocDelimiter(content);
    return [`${call("stage_file", path)} <<'${delimiter}'`, `${content}${delimiter}`];
  }
  const encoded = Buffer.from(content, "utf8").toString("base64");
  const lines = encoded.match(/.{1,76}/g) ?? [];
  const delimiter = heredocDelimiter(lines.join("\n"));
  return [`${call("stage_file_base64", path)} <<'${delimiter}'`, ...lines, delimiter];
}

/** How wait_ready probes: curl for 2xx by default, else `any-answer` or `network NETWORK IMAGE`. */
function readyProbeArgs(apply: Extract<UnitApply, { kind: "restart" }>): string[] {
  if (apply.probeNetwork !== undefined)
    return ["network", apply.probeNetwork.network, apply.probeNetwork.image];
  return apply.anyAnswer ? ["any-answer"] : [];
}

/** The tail line that makes the running service use the swapped-in files (rolled back on failure). */
function applyLines(unit: DeployUnit): string[] {
  const apply = unit.apply;
  switch (apply.kind) {
    case "compose-up":
      return [call("apply_unit", "compose-up", COMPOSE_FILE, String(COMPOSE_WAIT_TIMEOUT_SECONDS))];
    case "reload":
      return [call("apply_unit", "reload", apply.service, String(apply.port))];
    case "restart":
      return [
        apply.readyUrl === undefined
          ? call("apply_unit", "restart", apply.service)
          : call(
              "apply_unit",
              "restart",
              apply.service,
              apply.readyUrl,
              String(Math.ceil(READY_TIMEOUT_SECONDS / 2)),
              ...readyProbeArgs(apply),
            ),
      ];
    case "none":
      return [];
  }
}

export interface FileUnitScriptInput {
  readonly hostName: string;
  readonly directory: string;
  readonly project: string;
  readonly unit: DeployUnit;
  /** Exactly the unit's files (unitFiles). */
  readonly files: HostFiles;
}

/**
 * stdin of one file unit (configs/host-scripts/deploy-lib.sh does the work): stage the files,
 * check them with the service's own tool (and the compose file with `docker compose config`),
 * back up the live ones and rename each new one into place, delete files this unit installed
 * last time and no longer renders, then reload / restart / compose up, restoring the backup and
 * failing if that does not work.
 */
export function renderFileUnitScript(input: FileUnitScriptInput): string {
  const { unit, directory, project } = input;
  assertAbsolutePath(directory);
  assertRelativePath(unit.name);
  const paths = Object.keys(input.files).sort(compareStrings);
  if (paths.join("\n") !== [...unit.paths].join("\n")) {
    throw new Error(`unit ${unit.name}: the files given are not the planned ones`);
  }
  const tail: string[] = [call("unit_begin", directory, unit.name, project), ""];
  for (const path of paths) tail.push(...stageFileLines(path, input.files[path] as string));
  if (unit.check) {
    const { image, entrypoint, mounts, args } = unit.check;
    tail.push(
      "",
      call(
        "check_with_image",
        image,
        entrypoint,
        ...mounts.map((mount) => `${assertRelativePath(mount.source)}:${mount.target}`),
        "--",
        ...args,
      ),
    );
  }
  if (unit.checkCompose) tail.push("", call("check_compose", COMPOSE_FILE));
  tail.push("", call("swap_in"));
  if (unit.emptyMountDirs.length > 0) tail.push(call("make_dirs", ...unit.emptyMountDirs));
  tail.push(...applyLines(unit), call("unit_done"));
  return stdinScript(`${input.hostName}: ${unit.name} files`, tail);
}

export interface SecretFile {
  /** Absolute host path. */
  readonly path: string;
  /** `uid:gid` the reading container runs as. */
  readonly owner: string;
  readonly mode: "0400" | "0600";
}

const OWNER = /^\d+:\d+$/;

/**
 * stdin of the secrets step (itself a Pulumi secret, run with stderr-only logging): one
 * `put_secret` call per file with the value in a quoted here-document (data the shell never
 * parses; read by the `read` builtin, written in place by the `printf` builtin, never passed to
 * a program), then `secrets_done` deletes files written last time and no longer needed.
 * Nothing is echoed.
 */
export function renderSecretFilesScript(
  hostName: string,
  manifestPath: string,
  files: ReadonlyArray<SecretFile & { readonly content: string }>,
): string {
  assertAbsolutePath(manifestPath);
  const tail: string[] = [call("secrets_begin", manifestPath)];
  const sorted = [...files].sort((a, b) => compareStrings(a.path, b.path));
  for (const file of sorted) {
    assertAbsolutePath(file.path);
    if (!OWNER.test(file.owner)) throw new Error(`secret file ${file.path}: owner must be uid:gid`);
    if (file.content.includes("\0"))
      throw new Error(`secret file ${file.path}: a NUL byte cannot be written`);
    // The here-document adds a final newline, which put_secret takes off again.
    const delimiter = heredocDelimiter(file.content);
    tail.push(
      `${call("put_secret", file.path, file.owner, file.mode)} <<'${delimiter}'`,
      file.content,
      delimiter,
    );
  }
  tail.push(call("secrets_done"));
  return stdinScript(`${hostName}: secret files`, tail);
}

export interface ReadinessInput {
  /** EC2 hosts: wait for cloud-init (it installs Docker). Hosts outside AWS have none to wait for. */
  readonly waitForCloudInit: boolean;
  /** Mount points that must be mounted (the monitor's data volume). */
  readonly requiredMounts: readonly string[];
}

/**
 * The readiness step (`create`, plain POSIX sh as the login user): configs/host-scripts/readiness.sh
 * then one `host_ready` call. Passwordless sudo, cloud-init done, the data volume mounted, the
 * Docker engine answering and the compose plugin present. SSH itself is retried by the provider
 * (dialErrorLimit) while the host boots.
 */
export function renderReadinessScript(input: ReadinessInput): string {
  for (const mount of input.requiredMounts) assertAbsolutePath(mount);
  return [
    library(READINESS_LIBRARY_FILE).trimEnd(),
    "",
    call(
      "host_ready",
      String(input.waitForCloudInit ? CLOUD_INIT_TIMEOUT_SECONDS : 0),
      String(DOCKER_READY_ATTEMPTS),
      ...input.requiredMounts,
    ),
    "",
  ].join("\n");
}

function composeCommand(directory: string, composeFile: string, args: readonly string[]): string {
  return shellCommand(["docker", "compose", "--project-directory", directory, "-f", composeFile, ...args]);
}

/** Recreates the services that read secret files, so they read the new values (after the secrets step). */
export function renderRecreateCommand(directory: string, services: readonly string[]): string {
  assertAbsolutePath(directory);
  return `sudo -n ${composeCommand(directory, `${directory}/${COMPOSE_FILE}`, [
    "up",
    "--detach",
    "--no-deps",
    "--force-recreate",
    "--wait",
    "--wait-timeout",
    String(COMPOSE_WAIT_TIMEOUT_SECONDS),
    ...services,
  ])}`;
}

/**
 * The delete command of a host outside AWS: its containers, volumes, files and secrets go when it
 * leaves the stack. (EC2 hosts need none: their instance goes with them.)
 */
export function renderTeardownCommand(directory: string, secretPaths: readonly string[]): string {
  assertAbsolutePath(directory);
  const compose = `${directory}/${COMPOSE_FILE}`;
  const lines = [
    `if [ -f ${shellQuote(compose)} ]; then sudo -n ${composeCommand(directory, compose, ["down", "--remove-orphans", "--volumes"])}; fi`,
  ];
  for (const path of secretPaths) lines.push(`sudo -n rm -f -- ${shellQuote(assertAbsolutePath(path))}`);
  lines.push(`sudo -n rm -rf -- ${shellQuote(directory)}`);
  return lines.join("\n");
}

/** Runs a command given as a single string in the deploy directory, as root. */
export function inDirectoryAsRoot(directory: string, command: string): string {
  return `cd ${shellQuote(assertAbsolutePath(directory))} && sudo -n ${command}`;
}
