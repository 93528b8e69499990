/**
 * Stand-ins for what a deploy test cannot have, put first on PATH of the test SSH server's
 * sessions (test/support/sshd.ts):
 *
 * - `docker`: records its argv and answers like an engine would. `docker run` (the config
 *   check) also records the files it would see under each `-v` source. Told what to do by
 *   marker files (see `HostStandIns.set`): engine down, check fails, restart fails, compose
 *   config / up fails, containers running. `docker run --entrypoint wget` is a readiness probe
 *   over the compose network and answers like curl's readiness GETs.
 * - `curl`: records its argv (the reload POST); can fail the next reload with a body.
 * - `sudo`: runs its command (always a stand-in: a real sudo would reset PATH to secure_path
 *   and drop the stand-ins; the tests run as root anyway).
 * - `cloud-init`: `status --wait` exits with the code in a marker (default 0).
 * - `sleep`: returns at once, so the readiness loop's 5 s waits do not make a test wait.
 * - recording pass-throughs for the programs the host scripts start (install, mv, cp, ...):
 *   they log their argv and run the real program, so a test can show that no secret value was
 *   ever a program argument.
 *
 * Every recorded call is one line `<program> <args joined by spaces>` in `calls.log`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Programs the host scripts start that are recorded and then really run. */
const RECORDED_PROGRAMS = [
  "base64",
  "cat",
  "chmod",
  "chown",
  "cp",
  "dirname",
  "grep",
  "install",
  "mkdir",
  "mountpoint",
  "mv",
  "rm",
  "tail",
  "timeout",
] as const;

export type Marker =
  /** `docker info` and `docker compose version` fail: the engine is not ready. */
  | "docker-down"
  /** `docker ps` lists a container for every filter: the services are running. */
  | "running"
  /** The next `docker run` (promtool / amtool check) prints the marker's text on stderr and fails. */
  | "fail-check"
  /** The next reload POST prints the marker's text (the service's answer) and fails like curl --fail-with-body. */
  | "fail-reload"
  /** The next `docker restart` fails with the marker's text. */
  | "fail-restart"
  /** The next `docker compose ... config` fails with the marker's text. */
  | "fail-compose-config"
  /** The next `docker compose ... up` fails with the marker's text. */
  | "fail-compose-up"
  /** `cloud-init status --wait` exits with the marker's text as its code. */
  | "cloud-init-exit"
  /**
   * Readiness GETs (curl without -X POST, `docker run --entrypoint wget`) fail while the file named on the marker's first line
   * contains the text on its second: a service that never becomes ready with those files.
   */
  | "unready-if"
  /** What `docker logs` prints (a service's last log lines). */
  | "logs";

export interface HostStandIns {
  /** Directory to put first on PATH. */
  readonly bin: string;
  set(marker: Marker, text?: string): void;
  clear(marker: Marker): void;
  /** Recorded calls since the last `resetCalls`, one per line. */
  calls(): string[];
  /** The raw call log (for leak checks: values may span lines). */
  callLog(): string;
  resetCalls(): void;
}

function script(lines: readonly string[]): string {
  return `#!/bin/bash\n${lines.join("\n")}\n`;
}

/** A marker that, when present, prints its text on stderr, is removed (one-shot) and fails the call. */
function oneShotFailure(markers: string, marker: Marker, exitCode: number): string[] {
  const path = `${markers}/${marker}`;
  return [`  if [ -f '${path}' ]; then cat '${path}' >&2; rm -f '${path}'; exit ${exitCode}; fi`];
}

/**
 * A readiness GET's answer, shared by curl and the `docker run ... wget` probe: exits 22 while
 * the `unready-if` marker's file holds its text, else answers; logs `  ready` / `  not ready`.
 */
function readinessAnswer(log: string, markers: string): string[] {
  const unready = `${markers}/unready-if`;
  return [
    `  if [ -f '${unready}' ]; then`,
    `    file="$(sed -n 1p '${unready}')"; text="$(sed -n 2p '${unready}')"`,
    '    content="$(<"$file")"; if [ -n "$text" ] && [[ "$content" == *"$text"* ]]; then',
    `      printf '  not ready\\n' >>'${log}'; exit 22`,
    "    fi",
    "  fi",
    `  printf '  ready\\n' >>'${log}'`,
  ];
}

function dockerStandIn(log: string, markers: string): string {
  return script([
    `log='${log}'`,
    `printf '%s\\n' "docker $*" >>"$log"`,
    `down() { [ -f '${markers}/docker-down' ]; }`,
    'case "$1" in',
    "info)",
    "  if down; then echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1; fi",
    "  echo 'Server Version: stand-in'",
    "  ;;",
    "ps)",
    `  if [ -f '${markers}/running' ]; then echo 0123456789ab; fi`,
    "  ;;",
    "run)",
    // A readiness probe over the compose network (`--entrypoint wget`), not a config check.
    '  if [[ " $* " == *" --entrypoint wget "* ]]; then',
    ...readinessAnswer(log, markers).map((line) => `  ${line}`),
    "    exit 0",
    "  fi",
    ...oneShotFailure(markers, "fail-check", 1),
    // What the check would see: the files under every -v source.
    '  previous=""',
    '  for argument in "$@"; do',
    '    if [ "$previous" = -v ]; then',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    '      source="${argument%%:*}"',
    `      (cd "$source" && find . -type f | sort | sed 's|^|  staged |') >>"$log"`,
    "    fi",
    '    previous="$argument"',
    "  done",
    "  ;;",
    "restart)",
    ...oneShotFailure(markers, "fail-restart", 1),
    "  ;;",
    "logs)",
    `  if [ -f '${markers}/logs' ]; then cat '${markers}/logs'; else echo 'stand-in: no log lines'; fi`,
    "  ;;",
    "compose)",
    "  if down; then echo 'docker: unknown command: docker compose' >&2; exit 1; fi",
    '  for argument in "$@"; do',
    '    case "$argument" in',
    "    version) echo 'Docker Compose version v2.99.0 (stand-in)'; exit 0 ;;",
    "    config)",
    ...oneShotFailure(markers, "fail-compose-config", 15).map((line) => `    ${line}`),
    "      exit 0 ;;",
    "    up)",
    ...oneShotFailure(markers, "fail-compose-up", 1).map((line) => `    ${line}`),
    "      exit 0 ;;",
    "    esac",
    "  done",
    "  ;;",
    "esac",
    "exit 0",
  ]);
}

function curlStandIn(log: string, markers: string): string {
  const marker = `${markers}/fail-reload`;
  return script([
    `printf '%s\\n' "curl $*" >>'${log}'`,
    'case " $* " in',
    "*' -X POST '*)",
    // --fail-with-body: the body on stdout, curl's own line on stderr, exit 22.
    `  if [ -f '${marker}' ]; then cat '${marker}'; rm -f '${marker}'; echo 'curl: (22) The requested URL returned error: 500' >&2; exit 22; fi`,
    "  ;;",
    "*)",
    // A readiness GET: answers unless the marker's file holds the marker's text.
    ...readinessAnswer(log, markers),
    "  ;;",
    "esac",
  ]);
}

/** Writes the stand-ins into `<dir>/bin`; markers and the call log go next to it. */
export function installHostStandIns(dir: string): HostStandIns {
  const bin = join(dir, "bin");
  const markers = join(dir, "markers");
  const log = join(dir, "calls.log");
  for (const path of [bin, markers]) mkdirSync(path, { recursive: true });
  writeFileSync(log, "");
  const write = (name: string, text: string) => {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  };
  write("docker", dockerStandIn(log, markers));
  write("curl", curlStandIn(log, markers));
  write(
    "sudo",
    script([`printf '%s\\n' "sudo $*" >>'${log}'`, 'if [ "$1" = -n ]; then shift; fi', 'exec "$@"']),
  );
  write(
    "cloud-init",
    script([
      `printf '%s\\n' "cloud-init $*" >>'${log}'`,
      `if [ -f '${markers}/cloud-init-exit' ]; then exit "$(cat '${markers}/cloud-init-exit')"; fi`,
    ]),
  );
  write("sleep", script([`printf '%s\\n' "sleep $*" >>'${log}'`]));
  for (const program of RECORDED_PROGRAMS) {
    const real = spawnSync(
      "bash",
      ["-c", `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v ${program}`],
      {
        encoding: "utf8",
      },
    ).stdout.trim();
    if (!real.startsWith("/")) throw new Error(`${program} is not installed: the host scripts need it`);
    write(program, script([`printf '%s\\n' "${program} $*" >>'${log}'`, `exec '${real}' "$@"`]));
  }
  return {
    bin,
    set(marker, text = "") {
      writeFileSync(join(markers, marker), text);
    },
    clear(marker) {
      rmSync(join(markers, marker), { force: true });
    },
    calls() {
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    },
    callLog() {
      return existsSync(log) ? readFileSync(log, "utf8") : "";
    },
    resetCalls() {
      writeFileSync(log, "");
    },
  };
}
