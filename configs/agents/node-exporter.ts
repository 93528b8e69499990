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

/** Where the host's root filesystem is mounted inside the container. */
const HOST_ROOT_MOUNT = "/host";

/**
 * Filesystem types that are not disks: Docker's overlay layers, tmpfs, snap squashfs images,
 * namespace files and kernel pseudo filesystems. Without this, every container start adds series.
 */
const EXCLUDED_FILESYSTEM_TYPES = [
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
const TEXTFILE_HOST_DIRECTORY = "/var/lib/node_exporter/textfile_collector";
const TEXTFILE_MOUNT = "/textfile";

/** Mount points under the host root that never hold data worth alerting on. */
const EXCLUDED_MOUNT_POINTS =
  "^/(dev|proc|run|sys|mnt|media|snap|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";

/** Virtual interfaces Docker creates per container and bridge: churn, no information. */
const EXCLUDED_NETWORK_DEVICES = "^(veth.*|br-.*|docker[0-9]+|lo)$";

/**
 * The flags of the pinned release (IMAGES.nodeExporter). The tests run Debian's node exporter with
 * exactly these, only the root path and listen address changed, so a renamed flag fails there.
 */
function nodeExporterFlags(options: AgentListenOptions): string[] {
  const bind = options.bindAddress ?? DEFAULT_BIND_ADDRESS;
  return [
    `--path.rootfs=${HOST_ROOT_MOUNT}`,
    `--web.listen-address=${bind}:${AGENT_PORTS.nodeExporter}`,
    "--collector.systemd",
    "--collector.processes",
    `--collector.filesystem.fs-types-exclude=^(${EXCLUDED_FILESYSTEM_TYPES.join("|")})$`,
    `--collector.filesystem.mount-points-exclude=${EXCLUDED_MOUNT_POINTS}`,
    `--collector.netdev.device-exclude=${EXCLUDED_NETWORK_DEVICES}`,
    `--collector.textfile.directory=${TEXTFILE_MOUNT}`,
  ];
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
