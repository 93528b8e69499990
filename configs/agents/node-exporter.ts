/**
 * Node exporter on every host (clients and the monitor): a container that sees the host's PID
 * namespace, network and root filesystem (read-only at /host), with the systemd and processes
 * collectors on and Docker's tmpfs/overlay/nsfs mounts left out of the filesystem metrics.
 */
import { AGENT_PORTS } from "../../lib/catalog";
import { IMAGES } from "../images";
import {
  type AgentListenOptions,
  type ComposeService,
  DEFAULT_BIND_ADDRESS,
  IMAGE_LABEL,
  ROTATED_JSON_LOGS,
} from "./compose-types";

/** The node exporter release IMAGES.nodeExporter pins; flags below are written for it. */
export const PINNED_NODE_EXPORTER_VERSION = "1.12.0";

/** Where the host's root filesystem is mounted inside the container. */
export const HOST_ROOT_MOUNT = "/host";

/**
 * Filesystem types that are not disks: Docker's overlay layers, tmpfs, snap squashfs images,
 * namespace files and kernel pseudo filesystems. Without this, every container start adds series.
 */
export const EXCLUDED_FILESYSTEM_TYPES = [
  "autofs",
  "binfmt_misc",
  "bpf",
  "cgroup2?",
  "configfs",
  "debugfs",
  "devpts",
  "devtmpfs",
  "erofs",
  "fusectl",
  "hugetlbfs",
  "iso9660",
  "mqueue",
  "nsfs",
  "overlay",
  "proc",
  "procfs",
  "pstore",
  "ramfs",
  "rpc_pipefs",
  "securityfs",
  "selinuxfs",
  "squashfs",
  "sysfs",
  "tmpfs",
  "tracefs",
] as const;

/**
 * Where jobs on the host drop `*.prom` files for the textfile collector (backup results, cron
 * outcomes), and where the container sees that directory (read-only). An explicit directory also
 * keeps a build's own default (Debian's points at a directory that may not exist) from turning
 * HostTextfileCollectorError on.
 */
export const TEXTFILE_HOST_DIRECTORY = "/var/lib/node_exporter/textfile_collector";
export const TEXTFILE_MOUNT = "/textfile";

/** Mount points under the host root that never hold data worth alerting on. */
export const EXCLUDED_MOUNT_POINTS =
  "^/(dev|proc|run|sys|mnt|media|snap|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";

/** Virtual interfaces Docker creates per container and bridge: churn, no information. */
export const EXCLUDED_NETWORK_DEVICES = "^(veth.*|br-.*|docker[0-9]+|lo)$";

/**
 * One command-line flag and the first node exporter release that accepts it under this name.
 * Flag names changed over time (`ignored-fs-types` became `fs-types-exclude` in 1.3), so a flag
 * only goes to binaries at least that new.
 */
export interface VersionedFlag {
  readonly name: string;
  readonly value?: string;
  readonly since: string;
}

export interface NodeExporterFlagOptions extends AgentListenOptions {
  /** Root filesystem path inside the container; `/` when running on the host itself. */
  readonly rootfs?: string;
  readonly port?: number;
  /** Textfile collector directory; the container's mount of TEXTFILE_HOST_DIRECTORY by default. */
  readonly textfileDirectory?: string;
}

/** Every flag the pinned node exporter runs with. */
export function nodeExporterFlagSpecs(options: NodeExporterFlagOptions = {}): readonly VersionedFlag[] {
  const bind = options.bindAddress ?? DEFAULT_BIND_ADDRESS;
  const port = options.port ?? AGENT_PORTS.nodeExporter;
  return [
    { name: "--path.rootfs", value: options.rootfs ?? HOST_ROOT_MOUNT, since: "0.17.0" },
    { name: "--web.listen-address", value: `${bind}:${port}`, since: "0.15.0" },
    // Unit states for dashboards and the failed-unit view; needs the host's D-Bus socket.
    { name: "--collector.systemd", since: "0.15.0" },
    // Process/thread counts and states (fork bombs, zombie build-up).
    { name: "--collector.processes", since: "0.16.0" },
    {
      name: "--collector.filesystem.fs-types-exclude",
      value: `^(${EXCLUDED_FILESYSTEM_TYPES.join("|")})$`,
      since: "1.3.0",
    },
    { name: "--collector.filesystem.mount-points-exclude", value: EXCLUDED_MOUNT_POINTS, since: "1.3.0" },
    { name: "--collector.netdev.device-exclude", value: EXCLUDED_NETWORK_DEVICES, since: "1.3.0" },
    {
      name: "--collector.textfile.directory",
      value: options.textfileDirectory ?? TEXTFILE_MOUNT,
      since: "0.15.0",
    },
  ];
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .replace(/^v/, "")
    .split(/[.+-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
  const pb = b
    .replace(/^v/, "")
    .split(/[.+-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function formatFlag(flag: VersionedFlag): string {
  return flag.value === undefined ? flag.name : `${flag.name}=${flag.value}`;
}

/**
 * The flags for a given node exporter version: those it knows, in order. Used with the pinned
 * version for the containers, and with the local binary's version by the tests.
 */
export function nodeExporterFlagsFor(version: string, options: NodeExporterFlagOptions = {}): string[] {
  return nodeExporterFlagSpecs(options)
    .filter((flag) => compareVersions(version, flag.since) >= 0)
    .map(formatFlag);
}

/** Flags for the pinned image. */
export function nodeExporterFlags(options: NodeExporterFlagOptions = {}): string[] {
  return nodeExporterFlagsFor(PINNED_NODE_EXPORTER_VERSION, options);
}

/** The compose service: host PID and network so it reports the host, not the container. */
export function nodeExporterService(options: AgentListenOptions = {}): ComposeService {
  return {
    image: IMAGES.nodeExporter,
    container_name: "node-exporter",
    restart: "unless-stopped",
    command: nodeExporterFlags({ bindAddress: options.bindAddress }),
    network_mode: "host",
    pid: "host",
    volumes: [
      // rslave: mounts made on the host after start (new volumes) show up inside too.
      `/:${HOST_ROOT_MOUNT}:ro,rslave`,
      // The systemd collector talks to systemd over the system bus.
      "/run/dbus/system_bus_socket:/var/run/dbus/system_bus_socket:ro",
      // Docker creates the directory on the host when it is missing.
      `${TEXTFILE_HOST_DIRECTORY}:${TEXTFILE_MOUNT}:ro`,
    ],
    labels: { [IMAGE_LABEL]: IMAGES.nodeExporter },
    logging: ROTATED_JSON_LOGS,
  };
}
