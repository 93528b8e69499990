import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import {
  DATA_MOUNT_POINT,
  DATA_VOLUME_ID_PLACEHOLDER,
  renderClientUserData,
  renderMonitorUserData,
} from "../configs/cloud-init";

const VOLUME_ID = "vol-0123456789abcdef0";

interface CloudConfig {
  packages: string[];
  package_update: boolean;
  package_upgrade: boolean;
  write_files: { path: string; content: string; permissions: string; owner: string }[];
  runcmd: string[][];
}

function parseCloudConfig(text: string): CloudConfig {
  return parse(text) as CloudConfig;
}

/** The user each pinned image runs as (from the images themselves, not from our code). */
const IMAGE_USERS: Record<string, { uid: number; gid: number }> = {
  prometheus: { uid: 65534, gid: 65534 },
  alertmanager: { uid: 65534, gid: 65534 },
  grafana: { uid: 472, gid: 0 },
  loki: { uid: 10001, gid: 10001 },
};

describe("user data for every host", () => {
  for (const [role, text] of [
    ["monitor", renderMonitorUserData({ dataVolumeId: VOLUME_ID })],
    ["client", renderClientUserData()],
  ] as const) {
    test(`${role}: a #cloud-config document that installs Docker and compose from Ubuntu's archive`, () => {
      expect(text.split("\n")[0]).toBe("#cloud-config");
      const document = parseCloudConfig(text);
      expect(document.packages).toEqual(expect.arrayContaining(["docker.io", "docker-compose-v2"]));
      expect(document.package_update).toBe(true);
      expect(document.package_upgrade).toBe(false);
      expect(document.runcmd.at(-1)).toEqual(["systemctl", "enable", "--now", "docker"]);
      const daemon = document.write_files.find((file) => file.path === "/etc/docker/daemon.json");
      expect(JSON.parse(daemon?.content ?? "{}")["log-opts"]).toEqual({ "max-size": "10m", "max-file": "5" });
    });
  }

  test("rendering is deterministic", () => {
    expect(renderMonitorUserData({ dataVolumeId: VOLUME_ID })).toBe(
      renderMonitorUserData({ dataVolumeId: VOLUME_ID }),
    );
    expect(renderClientUserData()).toBe(renderClientUserData());
  });

  test("clients mount no data volume", () => {
    const document = parseCloudConfig(renderClientUserData());
    expect(document.runcmd).toEqual([["systemctl", "enable", "--now", "docker"]]);
    expect(renderClientUserData()).not.toContain(DATA_MOUNT_POINT);
  });
});

describe("monitor data volume", () => {
  const document = parseCloudConfig(renderMonitorUserData({ dataVolumeId: VOLUME_ID }));
  const script = document.write_files.find((file) => file.path === document.runcmd[0]?.[0]);

  test("is mounted by volume id, with one directory per service owned by its image's user", () => {
    const mount = document.runcmd[0] ?? [];
    expect(mount.slice(1, 3)).toEqual([VOLUME_ID, DATA_MOUNT_POINT]);
    const directories = Object.fromEntries(
      mount.slice(4).map((spec) => {
        const [name, uid, gid] = spec.split(":");
        return [name, { uid: Number(uid), gid: Number(gid) }];
      }),
    );
    expect(directories).toEqual(IMAGE_USERS);
    expect(script?.permissions).toBe("0755");
  });

  test("is mounted before Docker starts, and Docker requires the mount on every boot", () => {
    const mountIndex = document.runcmd.findIndex((command) => command[0] === script?.path);
    const dockerIndex = document.runcmd.findIndex(
      (command) => command.join(" ") === "systemctl enable --now docker",
    );
    expect(mountIndex).toBe(0);
    expect(dockerIndex).toBeGreaterThan(mountIndex);
    const dropIn = document.write_files.find((file) =>
      file.path.startsWith("/etc/systemd/system/docker.service.d/"),
    );
    expect(dropIn?.content).toContain(`RequiresMountsFor=${DATA_MOUNT_POINT}`);
  });

  test("refuses a volume id that is not one (it ends up on a command line)", () => {
    for (const bad of ["", "vol-", "vol-1; rm -rf /", "/dev/sdf", "i-0123456789abcdef0"]) {
      expect(() => renderMonitorUserData({ dataVolumeId: bad })).toThrow(/data volume id/);
    }
    expect(() => renderMonitorUserData({ dataVolumeId: DATA_VOLUME_ID_PLACEHOLDER })).not.toThrow();
  });

  test("the mount script is valid bash", () => {
    const result = spawnSync("bash", ["-n"], { input: script?.content ?? "", encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

/**
 * Runs the real mount script with stand-ins for the disk tools (blkid, mkfs.ext4, mount, ...) that
 * log their arguments, against a fake /dev/disk/by-id and fstab in a temporary directory.
 */
describe("mount script behaviour", () => {
  const document = parseCloudConfig(renderMonitorUserData({ dataVolumeId: VOLUME_ID }));
  const mountCommand = document.runcmd[0] ?? [];
  const script = document.write_files.find((file) => file.path === mountCommand[0])?.content ?? "";
  const workDirs: string[] = [];

  afterEach(() => {
    for (const dir of workDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function sandbox(options: { blkidProbeExit: number; deviceAppears: boolean }) {
    const dir = mkdtempSync(join(tmpdir(), "mount-data-"));
    workDirs.push(dir);
    const bin = join(dir, "bin");
    const byId = join(dir, "by-id");
    mkdirSync(bin);
    mkdirSync(byId);
    const log = join(dir, "calls.log");
    const fstab = join(dir, "fstab");
    writeFileSync(fstab, "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n");
    if (options.deviceAppears) {
      writeFileSync(join(byId, `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace("-", "")}`), "");
    }
    const stub = (name: string, body: string) => {
      const file = join(bin, name);
      writeFileSync(file, `#!/bin/bash\necho "${name} $*" >> "${log}"\n${body}\n`);
      chmodSync(file, 0o755);
    };
    stub("blkid", `if [ "$1" = "-p" ]; then exit ${options.blkidProbeExit}; fi\necho 1111-2222`);
    stub("mkfs.ext4", "exit 0");
    stub("systemctl", "exit 0");
    stub("mount", `touch "${dir}/mounted"`);
    stub("mountpoint", `[ -e "${dir}/mounted" ]`);
    stub("install", "exit 0");
    stub("sleep", "exit 0");
    const scriptFile = join(dir, "mount-data");
    writeFileSync(scriptFile, script);
    chmodSync(scriptFile, 0o755);
    const mountPoint = join(dir, "srv");
    const run = () =>
      spawnSync(scriptFile, [VOLUME_ID, mountPoint, ...mountCommand.slice(3)], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          OBSERVABILITY_DEVICE_DIR: byId,
          OBSERVABILITY_FSTAB: fstab,
        },
      });
    const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
    return { run, calls, fstab, mountPoint, byId };
  }

  test("a blank volume is formatted once, put in fstab once, mounted, and gets its directories", () => {
    const box = sandbox({ blkidProbeExit: 2, deviceAppears: true });
    const first = box.run();
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const device = join(box.byId, `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace("-", "")}`);
    expect(box.calls()).toContain(`mkfs.ext4 -q -L obsdata ${device}`);
    for (const [name, { uid, gid }] of Object.entries(IMAGE_USERS)) {
      expect(box.calls()).toContain(`install -d -m 0750 -o ${uid} -g ${gid} ${box.mountPoint}/${name}`);
    }
    expect(box.run().status).toBe(0);
    const entries = readFileSync(box.fstab, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("UUID=1111-2222 "));
    expect(entries).toEqual([
      `UUID=1111-2222 ${box.mountPoint} ext4 defaults,nofail,x-systemd.device-timeout=60s 0 2`,
    ]);
  });

  test("a volume that already holds a filesystem is never formatted", () => {
    const box = sandbox({ blkidProbeExit: 0, deviceAppears: true });
    expect(box.run().status).toBe(0);
    expect(box.calls().filter((call) => call.startsWith("mkfs"))).toEqual([]);
    expect(box.calls()).toContain(`mount ${box.mountPoint}`);
  });

  test("a probe error stops the script without formatting or creating directories", () => {
    const box = sandbox({ blkidProbeExit: 4, deviceAppears: true });
    const result = box.run();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("refusing to format");
    expect(box.calls().filter((call) => call.startsWith("mkfs") || call.startsWith("install"))).toEqual([]);
  });

  test("a volume that never appears fails the boot step instead of using the root disk", () => {
    const box = sandbox({ blkidProbeExit: 2, deviceAppears: false });
    const result = box.run();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`data volume ${VOLUME_ID} never appeared`);
    expect(box.calls().filter((call) => !call.startsWith("sleep"))).toEqual([]);
  });
});
