/**
 * Host faults made for real and seen through the rendered host alerts: Debian sid's node exporter,
 * run with the rendered flags in a mount namespace of its own, watches three ext4 filesystems on
 * loop devices the test creates there and a textfile directory; a real Prometheus scrapes it with
 * the rendered prometheus.yml and evaluates the rendered rules. The rendered files are changed by
 * `pointAtLoopback` only (addresses, paths, and durations / 60: a `for: 1h` waits a minute here).
 *
 * Proved: while every file parses and the filesystems are writable and near empty, the fault
 * alerts stay quiet; a malformed `.prom` file raises HostTextfileCollectorError; a filesystem
 * remounted read-only raises HostFilesystemReadOnly; a filesystem filled past 85% within seconds
 * raises HostDiskFull and both fill-up predictions (HostDiskWillFillSoon, HostDiskWillFillImminently);
 * one with its inodes used up by empty files raises HostInodesExhausted.
 * Each goes pending, fires, and resolves once the fault is undone. Mounting needs root: the test
 * fails (never skips) without it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorFiles } from "../configs/host-files";
import { JOB_NAMES } from "../configs/prometheus";
import type { ExternalHost } from "../lib/stack-config";
import { nodeExporterWithMountsSpec } from "./support/exporters";
import { FAKE_VPC_ID, type FakeEc2, startFakeEc2 } from "./support/fake-ec2";
import { type FakeExporter, startFakeExporter } from "./support/fake-exporter";
import { freePort, getJson, ProcessGroup, pollUntil, type RunningProcess } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { startStubbedMonitorPrometheus } from "./support/stubbed-monitor";
import { requireTool, SYSTEM_HELPERS, TOOLS } from "./support/tools";

const HOST: ExternalHost = {
  name: "fs-1",
  address: "192.0.2.40",
  sshUser: "deploy",
  exporters: [],
  exporterSettings: {},
};
const config = sampleStackConfig({ stack: "node-faults", clients: [], externalHosts: [HOST] });

const FILL_ALERTS = ["HostDiskFull", "HostDiskWillFillSoon", "HostDiskWillFillImminently"] as const;
const FAULT_ALERTS = [
  "HostTextfileCollectorError",
  "HostFilesystemReadOnly",
  "HostInodesExhausted",
  ...FILL_ALERTS,
] as const;
/** Used share the fill stops at: past HostDiskFull's 85% (prod and sample) and under 20% free. */
const FILL_TO = 0.92;
const MIB = 1024 * 1024;
/** Inodes of the small-inode filesystem (mkfs.ext4 -N; it may round up). */
const INODES = 128;

/** Up to about 100 s: a scaled `for: 1h` is a minute, scrapes and evaluations every second. */
const LONG_WAIT = { attempts: 400, intervalMs: 250 };

interface AlertSeries {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe("node exporter faults against the rendered host alerts", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "node-faults-"));
  const textfileDir = join(workDir, "textfile");
  const mounts = {
    fill: join(workDir, "fill"),
    readonly: join(workDir, "readonly"),
    inodes: join(workDir, "inodes"),
  };
  const ourMounts = Object.values(mounts).join("|");
  let nodeExporter: RunningProcess | undefined;
  let prometheusUrl = "";
  let stub: FakeExporter | undefined;
  let fakeEc2: FakeEc2 | undefined;

  const query = async (expr: string): Promise<AlertSeries[]> =>
    (
      await getJson<{ data: { result: AlertSeries[] } }>(
        `${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`,
      )
    ).data.result;

  /** `alertname/alertstate[/mountpoint]` of the host's ALERTS series of these rules, sorted. */
  async function alertStates(names: readonly string[], extra = ""): Promise<string[]> {
    const result = await query(`ALERTS{alertname=~"${names.join("|")}", instance="${HOST.name}"${extra}}`);
    return result.map((series) => `${series.metric.alertname}/${series.metric.alertstate}`).sort();
  }

  /**
   * Waits until, of the host's fault alerts matching `extra`, exactly `names` are firing; then
   * checks that each was pending first (its scaled `for`).
   */
  async function waitForFiring(names: readonly string[], extra: string): Promise<void> {
    const expected = names.map((name) => `${name}/firing`).sort();
    await pollUntil(
      `${expected.join(", ")} on ${HOST.name}`,
      async () => {
        const states = await alertStates(FAULT_ALERTS, extra);
        if (JSON.stringify(states) === JSON.stringify(expected)) return true;
        throw new Error(`alerts now: ${states.join(", ") || "none"}`);
      },
      LONG_WAIT,
    );
    const pending = await query(
      `max_over_time(ALERTS{alertname=~"${names.join("|")}", alertstate="pending", instance="${HOST.name}"${extra}}[5m])`,
    );
    expect(pending.map((series) => series.metric.alertname).sort()).toEqual([...names].sort());
  }

  async function waitForResolved(names: readonly string[], extra: string): Promise<void> {
    await pollUntil(
      `${names.join(", ")} resolved on ${HOST.name}`,
      async () => ((await alertStates(names, extra)).length === 0 ? true : undefined),
      LONG_WAIT,
    );
  }

  /** A path inside the exporter's mount namespace (where the loop filesystems are mounted). */
  const inNamespace = (path: string) => {
    const pid = nodeExporter?.pid;
    if (pid === undefined) throw new Error("the node exporter is not running");
    return `/proc/${pid}/root${path}`;
  };

  function remount(mountPoint: string, mode: "ro" | "rw"): void {
    const pid = String(nodeExporter?.pid);
    const args = ["--target", pid, "--mount", "--", "mount", "-o", `remount,${mode}`, mountPoint];
    const result = spawnSync(requireTool(SYSTEM_HELPERS.nsenter), args, {
      encoding: "utf8",
      timeout: 10_000,
    });
    if (result.status !== 0) throw new Error(`nsenter ${args.join(" ")}: ${result.stderr}`);
  }

  const onMount = (mountPoint: string) => `, mountpoint="${mountPoint}"`;
  /** Alerts of no filesystem (the label is absent). */
  const NO_MOUNT = ', mountpoint=""';

  beforeAll(async () => {
    for (const tool of [TOOLS.prometheus, TOOLS.nodeExporter, ...Object.values(SYSTEM_HELPERS)]) {
      requireTool(tool);
    }
    if (process.getuid?.() !== 0) {
      throw new Error("mounting the test's loop filesystems needs root: run the tests as root (CI does)");
    }
    // Three small ext4 filesystems (loop devices are the only way to a real disk type here; tmpfs
    // is excluded by the rendered flags and rules), one with few inodes, and a textfile directory
    // with one good file.
    for (const [name, sizeMiB, options] of [
      ["fill", 32, []],
      ["readonly", 8, []],
      ["inodes", 8, ["-N", String(INODES)]],
    ] as const) {
      const image = join(workDir, `${name}.img`);
      writeFileSync(image, "");
      truncateSync(image, sizeMiB * MIB);
      const mkfs = spawnSync(requireTool(SYSTEM_HELPERS.mkfsExt4), ["-q", "-F", ...options, image], {
        encoding: "utf8",
      });
      if (mkfs.status !== 0) throw new Error(`mkfs.ext4 ${image}: ${mkfs.stderr}`);
      mkdirSync(mounts[name]);
    }
    mkdirSync(textfileDir);
    writeFileSync(
      join(textfileDir, "backup.prom"),
      "# HELP backup_last_success_timestamp_seconds When the last backup finished.\n" +
        "# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e+09\n",
    );

    const nodeAddress = `127.0.0.1:${await freePort()}`;
    nodeExporter = await group.start(
      nodeExporterWithMountsSpec("node exporter", Number(nodeAddress.split(":")[1]), {
        textfileDirectory: textfileDir,
        mounts: [
          { image: join(workDir, "fill.img"), mountPoint: mounts.fill },
          { image: join(workDir, "readonly.img"), mountPoint: mounts.readonly },
          { image: join(workDir, "inodes.img"), mountPoint: mounts.inodes },
        ],
      }),
    );

    // Prometheus with the rendered monitor files; every job but the host's node exporter answers from a stub.
    stub = await startFakeExporter();
    fakeEc2 = await startFakeEc2([], config.region);
    prometheusUrl = await startStubbedMonitorPrometheus(group, {
      rendered: monitorFiles(config, { vpcId: FAKE_VPC_ID }),
      dir: join(workDir, "monitor"),
      stubAddress: stub.address,
      hostName: HOST.name,
      hostTargets: { [JOB_NAMES.node]: nodeAddress },
      ec2Endpoint: fakeEc2.url,
    });

    // The filesystems and the textfile collector scraped several times, and the rules evaluated since.
    await pollUntil("several scrapes of the host's node exporter with every test filesystem", async () => {
      const scraped = await query(
        `count_over_time(node_filesystem_avail_bytes{instance="${HOST.name}", mountpoint=~"${ourMounts}", fstype="ext4"}[10s]) >= 4`,
      );
      const textfile = await query(
        `max_over_time(node_textfile_scrape_error{instance="${HOST.name}"}[10s]) == 0`,
      );
      return scraped.length === Object.keys(mounts).length && textfile.length === 1 ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await group.stopAll();
    await Promise.allSettled([stub?.close(), fakeEc2?.close()]);
    rmSync(workDir, { recursive: true, force: true });
  });

  it("stays quiet while every .prom file parses and both filesystems are writable and near empty", async () => {
    const rules = await getJson<{ data: { groups: { rules: { name: string; health: string }[] }[] } }>(
      `${prometheusUrl}/api/v1/rules`,
    );
    const loaded = rules.data.groups.flatMap((ruleGroup) => ruleGroup.rules);
    for (const name of FAULT_ALERTS) {
      expect(loaded.find((rule) => rule.name === name)?.health, name).toBe("ok");
    }
    const ours = `, mountpoint=~"${ourMounts}|"`;
    // Never pending or firing since Prometheus started, not only inactive now.
    expect(
      await query(
        `max_over_time(ALERTS{alertname=~"${FAULT_ALERTS.join("|")}", instance="${HOST.name}"${ours}}[5m])`,
      ),
    ).toEqual([]);
  });

  // The three faults touch different things: they run at the same time.
  it.concurrent("a malformed .prom file raises HostTextfileCollectorError, which resolves once it is gone", async () => {
    const broken = join(textfileDir, "broken.prom");
    writeFileSync(broken, "backup_last_success_timestamp_seconds not-a-number\n");
    try {
      await waitForFiring(["HostTextfileCollectorError"], NO_MOUNT);
      expect(await query(`node_textfile_scrape_error{instance="${HOST.name}"} == 1`)).toHaveLength(1);
    } finally {
      unlinkSync(broken);
    }
    await waitForResolved(["HostTextfileCollectorError"], NO_MOUNT);
  });

  it.concurrent("a filesystem remounted read-only raises HostFilesystemReadOnly, which resolves once it is writable", async () => {
    remount(mounts.readonly, "ro");
    try {
      await waitForFiring(["HostFilesystemReadOnly"], onMount(mounts.readonly));
      const [series] = await query(`ALERTS{alertname="HostFilesystemReadOnly", instance="${HOST.name}"}`);
      expect(series?.metric).toMatchObject({
        mountpoint: mounts.readonly,
        fstype: "ext4",
        severity: "critical",
      });
      expect(series?.metric.device).toMatch(/^\/dev\/loop\d+$/);
    } finally {
      remount(mounts.readonly, "rw");
    }
    await waitForResolved(["HostFilesystemReadOnly"], onMount(mounts.readonly));
  });

  it.concurrent("a filesystem out of inodes raises HostInodesExhausted, which resolves once its files are gone", async () => {
    const dir = inNamespace(mounts.inodes);
    const used = () => {
      const stats = statfsSync(dir);
      return 1 - stats.ffree / stats.files;
    };
    // Empty files until FILL_TO of the inodes are taken (bounded by the inode count).
    const files: string[] = [];
    try {
      for (let index = 0; used() < FILL_TO && index < 4 * INODES; index += 1) {
        const file = join(dir, `empty-${index}`);
        writeFileSync(file, "");
        files.push(file);
      }
      expect(used()).toBeGreaterThanOrEqual(FILL_TO);
      await waitForFiring(["HostInodesExhausted"], onMount(mounts.inodes));
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
    await waitForResolved(["HostInodesExhausted"], onMount(mounts.inodes));
  });

  it.concurrent("a filesystem filled past 85% within seconds raises HostDiskFull and both fill-up predictions, which resolve once it is emptied", async () => {
    const dir = inNamespace(mounts.fill);
    const used = () => {
      const stats = statfsSync(dir);
      return 1 - stats.bavail / stats.blocks;
    };
    // A megabyte every 200 ms: scrapes (every second) see the free space fall, not one jump.
    const files: string[] = [];
    try {
      for (let index = 0; used() < FILL_TO && index < 64; index += 1) {
        const file = join(dir, `filler-${index}`);
        writeFileSync(file, Buffer.alloc(MIB, 1));
        files.push(file);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(used()).toBeGreaterThanOrEqual(FILL_TO);
      await waitForFiring(FILL_ALERTS, onMount(mounts.fill));
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
    await waitForResolved(FILL_ALERTS, onMount(mounts.fill));
  });
});
