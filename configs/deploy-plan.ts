/**
 * Which steps a host's deploy has, planned from its rendered files and compose file: a step per
 * compose service that mounts files (checked, swapped in, then reloaded or restarted), one per
 * directory the service re-reads by itself, and the compose file with everything else. Paths
 * only: contents may still be unknown here. configs/deploy-scripts.ts renders each step's shell.
 */
import YAML from "yaml";
import { assertRelativePath } from "../lib/shell";
import { COMPOSE_FILE } from "./agents/client-compose";
import {
  CONFIG_CHECKS,
  type ConfigCheck,
  READINESS_ENDPOINTS,
  READINESS_PROBE_IMAGE,
  RELOADABLE_SERVICES,
  SECRETS_READ_LIVE,
} from "./deploy-services";
import { CLOUD_INIT_FILE, type HostFiles, MONITOR_LOKI_RUNTIME_DIR } from "./host-files";

/** The monitor's file SD target files (relative to its deploy dir): a step of their own, no reload. */
const FILE_SD_DIR = "prometheus/file_sd";

/**
 * Directories whose files the service re-reads by itself (Prometheus watches file SD files, Loki
 * polls its runtime config, MONITOR_LOKI_RUNTIME_DIR): each is a step of its own that only swaps
 * files in, so a change there (adding or removing a host) never reloads or restarts anything.
 */
const SELF_WATCHED_DIRS: Readonly<Record<string, string>> = {
  "file-sd": FILE_SD_DIR,
  "loki-runtime": MONITOR_LOKI_RUNTIME_DIR,
};

/** Code-unit order: the same in every locale, as the manifests on the hosts expect. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ComposeMount {
  /** Relative to the compose file's directory, without `./`. */
  readonly source: string;
  readonly target: string;
}

interface ComposeServiceLayout {
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

interface ComposeLayout {
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
function composeLayout(composeYaml: string, directory: string): ComposeLayout {
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

interface DeployPlan {
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
