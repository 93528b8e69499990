/**
 * The push path of a host outside AWS, on loopback: a real node exporter on the host's loopback,
 * an agent that scrapes it with the host's rendered push settings (pushedScrapeJobs, the push URL,
 * the host's user name and password file) and remote-writes through real nginx running the
 * monitor's rendered gateway config, into real Prometheus 3.5 started with the rendered
 * remote-write flag and the rendered host rules.
 *
 * Alloy does not run here: the agent is Prometheus in agent mode (`--agent`), configured with the
 * same scrape (job name, labels, sample limit) and remote_write with basic_auth and password_file
 * as the rendered Alloy config. The test checks the rendered Alloy config carries those values.
 */
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ALLOY_CONFIG_FILE, PUSH_PASSWORD_PATH } from "../configs/agents/alloy";
import { renderClientFiles } from "../configs/agents/client-compose";
import { GATEWAY_CONFIG_FILE, GATEWAY_CONTAINER_CONFIG_PATH, renderHtpasswd } from "../configs/gateway";
import { monitorFiles } from "../configs/host-files";
import { monitorComposeData } from "../configs/monitor-compose";
import { JOB_NAMES, pushedScrapeJobs } from "../configs/prometheus";
import type { StackConfig } from "../lib/stack-config";
import { gatewayOnLoopback, scaledDuration } from "./support/loopback";
import { freePort, getJson, ProcessGroup, pollUntil, startLocalPrometheus } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { UNPRIVILEGED } from "./support/services";
import { tempDirMaker } from "./support/temp-files";
import { SERVICES, TOOLS } from "./support/tools";

const makeTempDir = tempDirMaker("outside-push-");
const group = new ProcessGroup();
const runningAsRoot = process.getuid?.() === 0;

const base = sampleStackConfig();
/** A short scrape interval, so the silence window (three scrapes) passes in seconds. */
const config: StackConfig = {
  ...base,
  metrics: { ...base.metrics, scrapeInterval: "2s", evaluationInterval: "1s" },
};
const host = config.externalHosts[0] as StackConfig["externalHosts"][number];
const secret = () => randomBytes(24).toString("base64url").replace(/[-_]/g, "x").slice(0, 32);
const password = secret();
/** An EC2 client's own push password: valid for its logs, not for metrics. */
const ec2Password = secret();

let prometheusUrl = "";
let gatewayPort = 0;
let agentArgs: string[] = [];
let agent: Awaited<ReturnType<ProcessGroup["start"]>> | undefined;
/** The labels of the host's pushed node `up` (name aside), as Prometheus stored them. */
let pushedUpLabels: Record<string, string> = {};

interface VectorResult {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(expr: string): Promise<VectorResult[]> {
  const reply = await getJson<{ data: { result: VectorResult[] } }>(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  return reply.data.result;
}

function postWrite(user: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: gatewayPort,
        method: "POST",
        path: "/api/v1/write",
        headers: {
          authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`,
          "content-type": "application/x-protobuf",
          "content-length": "0",
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  const dir = makeTempDir();
  if (runningAsRoot) chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const rendered = monitorFiles(config);

  // Prometheus with the rendered receiver flag and the rendered host rules (`for` scaled).
  const prometheusPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  const flags = monitorComposeData(config).services.prometheus?.command ?? [];
  expect(flags).toContain("--web.enable-remote-write-receiver");
  const rules = parse(rendered["prometheus/rules/host.yml"] as string) as {
    groups: { rules: Record<string, unknown>[] }[];
  };
  for (const rule of rules.groups.flatMap((g) => g.rules)) {
    if (typeof rule.for === "string") rule.for = scaledDuration(rule.for);
  }
  const serverDir = join(dir, "server");
  mkdirSync(serverDir);
  writeFileSync(join(serverDir, "host.yml"), stringify(rules));
  writeFileSync(
    join(serverDir, "prometheus.yml"),
    stringify({
      global: { evaluation_interval: "1s", external_labels: { environment: config.stack } },
      rule_files: [join(serverDir, "host.yml")],
      // Its own process_start_time_seconds: the rule's uptime gate reads it.
      scrape_configs: [
        {
          job_name: JOB_NAMES.prometheus,
          scrape_interval: "1s",
          static_configs: [{ targets: [`127.0.0.1:${prometheusPort}`] }],
        },
      ],
    }),
  );
  await startLocalPrometheus(group, {
    name: "prometheus",
    configFile: join(serverDir, "prometheus.yml"),
    dataDir: join(serverDir, "data"),
    port: prometheusPort,
    extraArgs: flags.filter((flag) => flag === "--web.enable-remote-write-receiver"),
  });

  // The gateway: the rendered nginx.conf, moved to loopback, in front of that Prometheus.
  const runtime = join(dir, "run");
  mkdirSync(runtime);
  if (runningAsRoot) chownSync(runtime, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  // The hash files as the program writes them: every host's (logs; an EC2 client, web-1, among
  // them) and the metrics writers' (the outside host only).
  const own = { user: host.name, password, salt: "outsideSalt01234" };
  const hashFile = (name: string, credentials: Parameters<typeof renderHtpasswd>[0]) => {
    const path = join(dir, name);
    writeFileSync(path, renderHtpasswd(credentials), { mode: 0o400 });
    if (runningAsRoot) chownSync(path, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    return path;
  };
  const htpasswdPath = hashFile("push_htpasswd", [
    own,
    { user: "web-1", password: ec2Password, salt: "ec2Salt012345678" },
  ]);
  const metricsHtpasswdPath = hashFile("push_htpasswd_metrics", [own]);
  gatewayPort = await freePort();
  const configPath = join(dir, "nginx.conf");
  writeFileSync(
    configPath,
    gatewayOnLoopback(rendered[GATEWAY_CONFIG_FILE] as string, {
      listen: `127.0.0.1:${gatewayPort}`,
      upstreams: { loki: `127.0.0.1:${await freePort()}`, prometheus: `127.0.0.1:${prometheusPort}` },
      htpasswdPath,
      metricsHtpasswdPath,
      runtimeDir: runtime,
      accessLog: join(runtime, "access.log"),
    }),
  );
  const command = (monitorComposeData(config).services.gateway?.command ?? []).map((arg) =>
    arg === GATEWAY_CONTAINER_CONFIG_PATH ? configPath : arg,
  );
  await group.start({
    name: "gateway",
    tool: SERVICES.nginx,
    args: command,
    readyUrl: `http://127.0.0.1:${gatewayPort}/`,
    readyProbe: async () => (await postWrite("nobody", "x").catch(() => 0)) === 401,
    cwd: dir,
    user: UNPRIVILEGED,
  });

  // The host: a node exporter on its loopback, and the agent with the rendered push settings.
  const nodePort = await freePort();
  await group.start({
    name: "node-exporter",
    tool: TOOLS.nodeExporter,
    args: [`--web.listen-address=127.0.0.1:${nodePort}`],
    readyUrl: `http://127.0.0.1:${nodePort}/metrics`,
  });
  const nodeJob = pushedScrapeJobs(config, host).find((job) => job.job === JOB_NAMES.node);
  if (nodeJob === undefined) throw new Error("no node job among the pushed jobs");
  const alloy = renderClientFiles(config, host, { monitorAddress: "192.0.2.1" })[ALLOY_CONFIG_FILE] as string;
  for (const expected of [
    `job_name = "${nodeJob.job}"`,
    `__address__ = "${nodeJob.address}"`,
    `instance = "${host.name}"`,
    `url = "http://192.0.2.1:3101/api/v1/write"`,
    `password_file = "${PUSH_PASSWORD_PATH}"`,
  ]) {
    expect(alloy.replace(/ +/g, " ")).toContain(expected.replace(/ +/g, " "));
  }
  const agentDir = join(dir, "agent");
  mkdirSync(agentDir);
  const passwordFile = join(agentDir, "push_password");
  writeFileSync(passwordFile, password, { mode: 0o400 });
  const agentPort = await freePort();
  writeFileSync(
    join(agentDir, "agent.yml"),
    stringify({
      global: { scrape_interval: config.metrics.scrapeInterval },
      scrape_configs: [
        {
          job_name: nodeJob.job,
          sample_limit: nodeJob.sampleLimit,
          static_configs: [{ targets: [`127.0.0.1:${nodePort}`], labels: nodeJob.labels }],
        },
      ],
      remote_write: [
        {
          url: `http://127.0.0.1:${gatewayPort}/api/v1/write`,
          basic_auth: { username: host.name, password_file: passwordFile },
          queue_config: { batch_send_deadline: "1s" },
        },
      ],
    }),
  );
  agentArgs = [
    "--agent",
    `--config.file=${join(agentDir, "agent.yml")}`,
    `--storage.agent.path=${join(agentDir, "wal")}`,
    `--web.listen-address=127.0.0.1:${agentPort}`,
  ];
  agent = await group.start({
    name: "agent",
    tool: TOOLS.prometheus,
    args: agentArgs,
    readyUrl: `http://127.0.0.1:${agentPort}/-/ready`,
  });
}, 90_000);

afterAll(async () => {
  await group.stopAll();
});

describe("an outside host's metrics pushed through the gateway (real nginx, real Prometheus)", () => {
  it("arrive labelled like a pulled host", async () => {
    const series = await pollUntil(
      "the pushed up series",
      async () => {
        const result = await query(`up{job="node", instance="${host.name}"}`);
        return result.length > 0 ? result : undefined;
      },
      { attempts: 60, intervalMs: 500 },
    );
    expect(series[0]?.metric).toMatchObject({
      job: "node",
      instance: host.name,
      host_type: "external",
      environment: config.stack,
    });
    expect(series[0]?.value[1]).toBe("1");
    const { __name__: _name, ...labels } = series[0]?.metric ?? {};
    pushedUpLabels = labels;
    expect((await query(`node_uname_info{instance="${host.name}", job="node"}`)).length).toBe(1);
  });

  it("refuses writes with wrong credentials or from a host that may not write metrics", async () => {
    expect(await postWrite(host.name, `${password}x`)).toBe(401);
    expect(await postWrite(host.name, "")).toBe(401);
    // web-1 is an EC2 client (Prometheus scrapes it): not in the metrics writers' hash file.
    expect(await postWrite("web-1", ec2Password)).toBe(401);
    expect(await postWrite("web-1", password)).toBe(401);
  });

  it("fires HostUnreachable for the host once its agent stops sending", async () => {
    // Quiet while the host pushes (an alert from before its first push has resolved).
    await pollUntil(
      "no HostUnreachable while the host pushes",
      async () => ((await query(`ALERTS{alertname="HostUnreachable"}`)).length === 0 ? true : undefined),
      { attempts: 40, intervalMs: 500 },
    );
    await agent?.stop();
    const firing = await pollUntil(
      "HostUnreachable firing",
      async () => {
        const result = await query(`ALERTS{alertname="HostUnreachable", alertstate="firing"}`);
        return result.length > 0 ? result : undefined;
      },
      { attempts: 90, intervalMs: 500 },
    );
    expect(firing.map((alert) => alert.metric.instance)).toEqual([host.name]);
    // Labelled exactly like the host's pushed `up` (what a failed scrape of it would carry), so
    // it is one alert per host and Alertmanager's inhibition matches its other alerts.
    expect(firing[0]?.metric).toEqual({
      __name__: "ALERTS",
      alertname: "HostUnreachable",
      alertstate: "firing",
      severity: "critical",
      ...pushedUpLabels,
    });
  }, 60_000);
});
