/**
 * The remote side of the deploy, as pure renderers: the shell each step runs, for the steps
 * configs/deploy-plan.ts plans from a host's rendered files (its API is re-exported here, so the
 * deploy has one entry). components/host-deployment.ts turns every step into one
 * @pulumi/command remote Command.
 *
 * The logic that runs on hosts is plain shell in configs/host-scripts/ (shellchecked, exercised
 * over real SSH by test/host-scripts.test.ts). A step's script is that file's text followed by a
 * generated tail holding only data and function calls, every argument through `shellQuote`
 * (lib/shell.ts); nothing from config is pasted into shell unquoted. File contents travel on the
 * command's stdin inside quoted here-documents (or base64), so they never reach a command line,
 * and `pulumi preview --diff` shows changed lines as text. Secret values travel the same way
 * inside a stdin that stays a Pulumi secret; they are written with shell builtins (`printf`), so
 * they never appear in any process's argv either.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertAbsolutePath, assertRelativePath, shellQuote } from "../lib/shell";
import { AGENTS_DIR, COMPOSE_FILE } from "./agents/client-compose";
import { compareStrings, type DeployUnit, type UnitApply } from "./deploy-plan";
import { READY_TIMEOUT_SECONDS } from "./deploy-services";
import type { HostFiles } from "./host-files";

export { type DeployUnit, deployedFiles, planDeploy, unitFiles } from "./deploy-plan";

/** Where the monitor's compose project and config files live (root volume: all of it is re-rendered on deploy). */
export const MONITOR_DEPLOY_DIR = "/opt/observability/monitor";
/** Where every client's and outside host's agents live. */
export const AGENTS_DEPLOY_DIR = AGENTS_DIR;
/** Bookkeeping inside a deploy directory: per-step manifests and staging copies. */
export const DEPLOY_STATE_DIR = ".deploy";

/** How long `docker compose up --wait` may take before the step fails (first image pulls included). */
const COMPOSE_WAIT_TIMEOUT_SECONDS = 600;
/** Readiness: cloud-init may take a while (packages), then Docker gets this many checks 5 s apart. */
const CLOUD_INIT_TIMEOUT_SECONDS = 1200;
const DOCKER_READY_ATTEMPTS = 60;

// ---------------------------------------------------------------------------------------------
// Quoting and hashing
// ---------------------------------------------------------------------------------------------

/** A command line from argv, every word quoted. */
function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/**
 * `sha256:<hex>` over the files sorted by path: the same map gives the same hash whatever the
 * order it was built in, and any change to a path or a byte of content changes it.
 */
export function contentHash(files: Readonly<Record<string, string>>): string {
  const entries = Object.entries(files).sort(([a], [b]) => compareStrings(a, b));
  return `sha256:${createHash("sha256").update(JSON.stringify(entries)).digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// Scripts: a plain library file from configs/host-scripts/ + a tail of data and function calls
// ---------------------------------------------------------------------------------------------

/** The plain shell files the scripts are built from (read once, at render time: still pure). */
export const HOST_SCRIPTS_DIR = join(__dirname, "host-scripts");
const DEPLOY_LIBRARY_FILE = join(HOST_SCRIPTS_DIR, "deploy-lib.sh");
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
