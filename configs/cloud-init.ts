/**
 * Cloud-init user data for the monitor and client hosts: a pure renderer (typed input -> bytes).
 *
 * User data only bootstraps a host: the Docker engine and compose plugin, and on the monitor the
 * data volume mounted at DATA_MOUNT_POINT. Services and their configs are deployed afterwards, so
 * user data rarely changes (a change stops and starts the instance; it never replaces it).
 *
 * Docker comes from Ubuntu's own archive (`docker.io`, `docker-compose-v2`) rather than Docker's apt
 * repository: both packages are in Ubuntu 24.04's main/universe archive, signed by keys the image
 * already trusts, so boot needs no third-party repository or key download, and the LTS archive only
 * takes security and bug fixes, so hosts built months apart run the same major versions.
 */
import { stringify } from "yaml";
import { MONITOR_CONTAINER_USERS } from "./images";

/** Where the monitor's data volume is mounted; every service keeps its state below it. */
export const DATA_MOUNT_POINT = "/srv/observability";

/** Filesystem label of the data volume (shows in `lsblk -f`). */
const DATA_VOLUME_LABEL = "obsdata";

export interface DataDirectory {
  /** Directory under DATA_MOUNT_POINT. */
  readonly name: string;
  /** Owner the container image runs as: it must be able to write here. */
  readonly uid: number;
  readonly gid: number;
}

/**
 * State directories on the data volume, one per monitor service, owned by the UID:GID its pinned
 * image runs as (configs/images.ts, the same users compose runs the containers as).
 */
const DATA_DIRECTORIES: readonly DataDirectory[] = Object.entries(MONITOR_CONTAINER_USERS).map(
  ([name, user]) => {
    const [uid, gid] = user.split(":").map(Number);
    return { name, uid: uid as number, gid: gid as number };
  },
);

/** The path of one service's state directory on the monitor. */
export function dataDirectoryPath(name: string): string {
  const directory = DATA_DIRECTORIES.find((entry) => entry.name === name);
  if (!directory) throw new Error(`unknown data directory ${name}`);
  return `${DATA_MOUNT_POINT}/${directory.name}`;
}

/** For `render` before deployment, when the EBS volume id is not known yet. */
export const DATA_VOLUME_ID_PLACEHOLDER = "vol-KNOWNAFTERDEPLOY";

const VOLUME_ID_PATTERN = /^vol-[0-9A-Za-z]+$/;

/** Script that finds the data volume by its id, formats it only if blank, mounts it and creates the state directories. */
const MOUNT_SCRIPT_PATH = "/usr/local/sbin/observability-mount-data";

/*
 * Arguments: <volume id> <mount point> <label> <name:uid:gid>...
 * On Nitro instances an EBS volume is an NVMe device whose serial is the volume id without its
 * dash; udev links it as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<hex>. Every
 * instance family the config accepts (lib/stack-config.ts) is Nitro-based. Finding it by id
 * (never by position) means the script can only ever touch this stack's volume. The attachment is
 * made after the instance starts, so the script waits for the device. A filesystem is created only
 * when blkid finds no signature at all (exit code 2): an existing volume brought to a replacement
 * instance keeps its data.
 */
const MOUNT_SCRIPT = `#!/bin/bash
set -euo pipefail
volume_id="$1"; mount_point="$2"; label="$3"; shift 3
# Overridable only so that tests can run this script against stand-in files.
by_id="\${OBSERVABILITY_DEVICE_DIR:-/dev/disk/by-id}"
fstab="\${OBSERVABILITY_FSTAB:-/etc/fstab}"
serial="\${volume_id/-/}"
candidates=("$by_id/nvme-Amazon_Elastic_Block_Store_$serial" "$by_id/nvme-Amazon_Elastic_Block_Store_$serial-ns-1")
device=""
for attempt in $(seq 1 120); do
  for candidate in "\${candidates[@]}"; do
    if [ -e "$candidate" ]; then device="$(readlink -f "$candidate")"; break 2; fi
  done
  echo "waiting for data volume $volume_id (attempt $attempt)"
  sleep 5
done
if [ -z "$device" ]; then echo "data volume $volume_id never appeared" >&2; exit 1; fi
set +e
blkid -p "$device" >/dev/null 2>&1
probe=$?
set -e
if [ "$probe" -eq 2 ]; then
  echo "data volume $volume_id is blank: creating an ext4 filesystem"
  mkfs.ext4 -q -L "$label" "$device"
elif [ "$probe" -ne 0 ]; then
  echo "blkid could not probe $device (exit $probe): refusing to format" >&2; exit 1
fi
uuid="$(blkid -s UUID -o value "$device" || true)"
if [ -z "$uuid" ]; then echo "$device holds no filesystem with a UUID (partitioned?): refusing to touch it" >&2; exit 1; fi
mkdir -p "$mount_point"
if ! grep -q "^UUID=$uuid " "$fstab"; then
  echo "UUID=$uuid $mount_point ext4 defaults,nofail,x-systemd.device-timeout=60s 0 2" >> "$fstab"
fi
systemctl daemon-reload
mountpoint -q "$mount_point" || mount "$mount_point"
mountpoint -q "$mount_point"
for spec in "$@"; do
  IFS=: read -r name uid gid <<< "$spec"
  install -d -m 0750 -o "$uid" -g "$gid" "$mount_point/$name"
done
`;

/** Keep container logs bounded on the root volume; Alloy ships them to Loki anyway. */
const DOCKER_DAEMON_CONFIG = {
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "5" },
};

/** Docker must not start containers on the monitor before the data volume is mounted. */
const DOCKER_WAITS_FOR_DATA = `[Unit]\nRequiresMountsFor=${DATA_MOUNT_POINT}\n`;

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
}

function baseDocument(writeFiles: WriteFile[], runcmd: string[][]): Record<string, unknown> {
  return {
    package_update: true,
    // Whole-system upgrades at boot make two hosts built a day apart differ; unattended-upgrades
    // (on by default in Ubuntu) applies security fixes instead.
    package_upgrade: false,
    packages: ["docker.io", "docker-compose-v2"],
    write_files: [
      {
        path: "/etc/docker/daemon.json",
        content: `${JSON.stringify(DOCKER_DAEMON_CONFIG, null, 2)}\n`,
        permissions: "0644",
        owner: "root:root",
      },
      ...writeFiles,
    ],
    runcmd: [...runcmd, ["systemctl", "enable", "--now", "docker"]],
  };
}

function toCloudConfig(document: Record<string, unknown>): string {
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}

export interface MonitorUserDataInput {
  /** EBS id of the monitor's data volume, e.g. `vol-0123456789abcdef0`. */
  readonly dataVolumeId: string;
}

/** User data for the monitor: Docker, plus the data volume mounted with per-service directories. */
export function renderMonitorUserData(input: MonitorUserDataInput): string {
  if (!VOLUME_ID_PATTERN.test(input.dataVolumeId)) {
    throw new Error(
      `data volume id must look like vol-0123456789abcdef0, got ${JSON.stringify(input.dataVolumeId)}`,
    );
  }
  const mountCommand = [
    MOUNT_SCRIPT_PATH,
    input.dataVolumeId,
    DATA_MOUNT_POINT,
    DATA_VOLUME_LABEL,
    ...DATA_DIRECTORIES.map((directory) => `${directory.name}:${directory.uid}:${directory.gid}`),
  ];
  return toCloudConfig(
    baseDocument(
      [
        { path: MOUNT_SCRIPT_PATH, content: MOUNT_SCRIPT, permissions: "0755", owner: "root:root" },
        {
          path: "/etc/systemd/system/docker.service.d/observability-data.conf",
          content: DOCKER_WAITS_FOR_DATA,
          permissions: "0644",
          owner: "root:root",
        },
      ],
      // Mount before Docker is (re)started so that no container ever writes to the root volume.
      [mountCommand, ["systemctl", "daemon-reload"]],
    ),
  );
}

/** User data for a client host: Docker and the compose plugin only. */
export function renderClientUserData(): string {
  return toCloudConfig(baseDocument([], []));
}
