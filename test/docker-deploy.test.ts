/**
 * The whole deploy against real Docker: a monitor and a client, each a test host (Debian, sshd,
 * sudo, its own Docker engine with compose v2; test/support/docker-hosts.ts) on the test engine
 * (.ci/docker-engine). Every step runs the script the deploy renders (configs/deploy-scripts.ts),
 * in components/host-deployment.ts' dependency order, over real SSH as the login user
 * (test/support/docker-deploy.ts).
 *
 * Real here: sshd, sudo, Docker and compose (`config`, `up --wait` with the rendered health
 * checks, `restart`, `exec`), Prometheus and promtool, Alertmanager and amtool, node and process
 * exporter (Debian's binaries in images laid out like the upstream ones). Stand-ins (named so):
 * Grafana, Loki, the monitor's Alloy, cAdvisor (test/docker/standin.pl), and the Docker socket
 * proxy (a placeholder). The push gateway is real: Debian's nginx running the rendered gateway
 * config. The client is a host outside AWS, so it pushes its metrics: in its Alloy's place runs
 * Prometheus in agent mode with the scrapes and remote write of its rendered config.alloy.
 *
 * The rendered files are the deploy's own, with test image names and the test hosts' addresses
 * given through the renderers' inputs (DeployInfo.images, monitorPrivateIp, the client as a host
 * outside AWS). They are changed only in test/support/this-machine.ts (this machine, the test
 * image's Prometheus version, the client's push agent).
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dataDirectoryPath } from "../configs/cloud-init";
import {
  contentHash,
  MONITOR_DEPLOY_DIR,
  planDeploy,
  RUN_STDIN_AS_ROOT,
  renderFileUnitScript,
  unitFiles,
} from "../configs/deploy-scripts";
import { MONITOR_CONTAINER_USERS } from "../configs/images";
import type { StackConfig } from "../lib/stack-config";
import {
  CLIENT_NAME,
  type ContainerState,
  containers,
  type DeployedStack,
  deployMonitorAndClient,
  expectOk,
  hostGet,
  promQuery,
} from "./support/docker-deploy";
import { dockerEngine } from "./support/docker-engine";
import type { TestHost } from "./support/docker-hosts";
import { pollUntil } from "./support/processes";

const GRAFANA_ADMIN_PASSWORD = `grafana-${randomBytes(9).toString("hex")}`;

let stack: DeployedStack | undefined;
let monitor: TestHost;
let config: StackConfig;

function deployed(): DeployedStack {
  if (!stack) throw new Error("the deploy did not complete");
  return stack;
}

beforeAll(async () => {
  stack = await deployMonitorAndClient(dockerEngine(), GRAFANA_ADMIN_PASSWORD);
  monitor = stack.monitor;
  config = stack.config;
}, 900_000);

afterAll(() => {
  stack?.stop();
});

describe("the deploy on test hosts with a real Docker engine", () => {
  test("compose up --wait brought every monitor and client container up, health-checked ones healthy, on the test images", () => {
    const onMonitor = containers(monitor);
    expect(Object.keys(onMonitor).sort()).toEqual(
      [
        "alertmanager",
        "alloy",
        "cadvisor",
        "docker-socket-proxy",
        "gateway",
        "grafana",
        "loki",
        "node-exporter",
        "process-exporter",
        "prometheus",
      ].sort(),
    );
    for (const name of ["prometheus", "alertmanager", "grafana"])
      expect(onMonitor[name]?.health, name).toBe("healthy");
    for (const name of [
      "loki",
      "gateway",
      "docker-socket-proxy",
      "alloy",
      "cadvisor",
      "node-exporter",
      "process-exporter",
    ])
      expect(onMonitor[name]?.health, name).toBe("running");
    const onClient = containers(deployed().client);
    expect(Object.keys(onClient).sort()).toEqual([
      "alloy",
      "cadvisor",
      "docker-socket-proxy",
      "node-exporter",
      "process-exporter",
    ]);
    for (const state of Object.values(onClient)) expect(state.health).toBe("running");
    const images = expectOk("images", monitor.exec(["docker", "ps", "--format", "{{.Image}}"])).stdout;
    expect(images).toContain(deployed().engine.images.prometheus);
    expect(images).not.toContain("docker.io/");
  });

  test("the in-image promtool and amtool checked the staged files before they were swapped in", () => {
    expect(deployed().monitorDeploy.steps.prometheus?.stdout).toMatch(
      /SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/,
    );
    expect(deployed().monitorDeploy.steps.prometheus?.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(deployed().monitorDeploy.steps.alertmanager?.stdout).toMatch(
      /Checking '\/etc\/alertmanager\/alertmanager\.yml'\s+SUCCESS/,
    );
  });

  test("the client's metrics arrive by push through the gateway, labelled like a pulled host; the monitor's own are scraped", async () => {
    const up = await pollUntil(
      'up{job="node"} for both hosts',
      () => {
        const series = promQuery(monitor, 'up{job="node"} == 1');
        const instances = series.map((entry) => entry.metric.instance).sort();
        return instances.includes(CLIENT_NAME) && instances.includes("monitor") ? series : undefined;
      },
      { attempts: 90, intervalMs: 1_000 },
    );
    expect(up.find((entry) => entry.metric.instance === CLIENT_NAME)?.metric).toEqual({
      __name__: "up",
      job: "node",
      instance: CLIENT_NAME,
      host_type: "external",
      environment: config.stack,
    });
    const build = promQuery(monitor, `node_exporter_build_info{instance="${CLIENT_NAME}"}`);
    expect(build).toHaveLength(1);
    const processes = await pollUntil(
      "the client's process exporter",
      () => {
        const series = promQuery(monitor, `up{job="process",instance="${CLIENT_NAME}"} == 1`);
        return series.length === 1 ? series : undefined;
      },
      { attempts: 60, intervalMs: 1_000 },
    );
    expect(processes).toHaveLength(1);
    // Pushed, not pulled: Prometheus has no target on the client, and the samples came in
    // through its remote-write receiver (behind the gateway).
    const targets = JSON.parse(hostGet(monitor, "http://127.0.0.1:9090/api/v1/targets?state=any")) as {
      data: { activeTargets: { labels: Record<string, string> }[] };
    };
    expect(targets.data.activeTargets.length).toBeGreaterThan(0);
    expect(targets.data.activeTargets.filter((target) => target.labels.instance === CLIENT_NAME)).toEqual([]);
    const received = promQuery(
      monitor,
      'sum(prometheus_http_requests_total{job="prometheus", handler="/api/v1/write", code=~"2.."})',
    );
    expect(Number(received[0]?.value[1] ?? 0)).toBeGreaterThan(0);
    // The host is expected to push: HostUnreachable's silence term knows it, and is empty.
    expect(promQuery(monitor, `instance:pushed_up:expected{instance="${CLIENT_NAME}"}`)).toHaveLength(1);
    expect(promQuery(monitor, 'ALERTS{alertname="HostUnreachable"}')).toEqual([]);
  });

  test("the client exposes nothing: every TCP listener on it is on loopback but sshd's, and the monitor reaches none of its agents", () => {
    const client = deployed().client;
    const listeners = ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((file) =>
      expectOk(file, client.exec(["cat", file]))
        .stdout.split("\n")
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields[3] === "0A")
        .map((fields) => fields[1] as string),
    );
    // /proc/net/tcp addresses are hex in host byte order: 127.x.y.z ends in 7F; ::1 is fixed.
    const loopback = (local: string) => {
      const [address] = local.split(":") as [string];
      return (
        (address.length === 8 && address.endsWith("7F")) || address === "00000000000000000000000001000000"
      );
    };
    const port = (local: string) => Number.parseInt(local.split(":")[1] as string, 16);
    expect(listeners.length).toBeGreaterThan(0);
    expect(
      [...new Set(listeners.filter((local) => !loopback(local)).map(port))],
      listeners.join(" "),
    ).toEqual([22]);
    // Node exporter, process exporter, cAdvisor and Alloy listen on the client's loopback.
    for (const agent of [9100, 9256, 8089, 12345]) {
      expect(listeners.filter(loopback).map(port), String(agent)).toContain(agent);
      const fromMonitor = monitor.exec([
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
        `http://${deployed().client.address}:${agent}/metrics`,
      ]);
      expect(fromMonitor.stdout, String(agent)).toBe("000");
    }
  });

  test("the data directories are owned by the ids the services run as, and the services wrote their state there", () => {
    const state = containers(monitor);
    for (const [name, user] of Object.entries(MONITOR_CONTAINER_USERS)) {
      const owner = expectOk(
        "stat",
        monitor.exec(["stat", "-c", "%u:%g", dataDirectoryPath(name)]),
      ).stdout.trim();
      expect(owner, name).toBe(user);
      expect(state[name]?.user, name).toBe(user);
    }
    const written = (path: string) =>
      expectOk("find", monitor.exec(["find", path, "-mindepth", "1", "-printf", "%U:%G %P\\n"]))
        .stdout.split("\n")
        .filter(Boolean);
    expect(written(dataDirectoryPath("prometheus")).some((line) => line.startsWith("65534:65534 wal"))).toBe(
      true,
    );
    expect(written(dataDirectoryPath("alertmanager")).some((line) => line.startsWith("65534:65534 "))).toBe(
      true,
    );
    // The Grafana stand-in's `grafana cli` wrote the sha256 of the password it read from the secret file.
    const reset = expectOk(
      "cat",
      monitor.exec(["cat", `${dataDirectoryPath("grafana")}/standin-admin-password-reset.sha256`]),
    ).stdout.trim();
    expect(reset).toBe(createHash("sha256").update(GRAFANA_ADMIN_PASSWORD).digest("hex"));
  });

  test("the client reaches Loki only through the gateway, with its own credentials from its secret file", () => {
    const client = deployed().client;
    const push = deployed().push;
    const gateway = `http://${monitor.address}:3101`;
    // status and body of one request from the client host (curl; -K reads the user from stdin, off argv).
    const fromClient = (method: string, path: string, credentials?: string) => {
      const result = client.exec(
        [
          "curl",
          "-s",
          "-o",
          "-",
          "-w",
          "\n%{http_code}",
          "-X",
          method,
          ...(credentials ? ["-K", "-"] : []),
          `${gateway}${path}`,
        ],
        credentials ? `user = "${credentials}"\n` : undefined,
      );
      const lines = result.stdout.trimEnd().split("\n");
      return { status: Number(lines.pop()), body: lines.join("\n") };
    };
    const own = `${push.user}:${push.password}`;
    // With the right credentials the push reaches Loki (here its stand-in, which serves no push path).
    const accepted = fromClient("POST", "/loki/api/v1/push", own);
    expect(accepted.body).toContain("not served by the loki stand-in");
    expect(fromClient("POST", "/loki/api/v1/push").status).toBe(401);
    expect(fromClient("POST", "/loki/api/v1/push", `${push.user}:wrong-${push.password}`).status).toBe(401);
    for (const path of ["/ingester/shutdown", "/loki/api/v1/delete", "/loki/api/v1/query_range", "/ready"]) {
      const refused = fromClient("POST", path, own);
      expect(refused.status, path).toBe(404);
      expect(refused.body, path).not.toContain("stand-in");
    }
    // Loki's own port is not published on the monitor.
    const direct = client.exec([
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://${monitor.address}:3100/ready`,
    ]);
    expect(direct.stdout).toBe("000");
    // The password Alloy reads: 0400, root, the value the gateway's hash was made from.
    const stat = expectOk(
      "stat",
      client.exec(["stat", "-c", "%a %u:%g", "/opt/observability/agents/secrets/push_password"]),
    );
    expect(stat.stdout.trim()).toBe("400 0:0");
  });

  test("the Grafana and Loki stand-ins got the rendered provisioning, dashboards and config, as their users", () => {
    const grafana = JSON.parse(
      monitor.ssh("curl -s http://127.0.0.1:3000/standin").stdout ||
        hostGet(monitor, `http://${monitor.address}:3000/standin`),
    );
    expect(grafana.uid).toBe(472);
    const files = deployed().renderedMonitor(config);
    const dashboards = Object.keys(files).filter((path) => path.startsWith("grafana/dashboards/"));
    const seen = (grafana.files as Array<{ path: string; readable: boolean }>).map((file) => file.path);
    for (const path of dashboards)
      expect(seen).toContain(`/etc/grafana/dashboards/${path.slice("grafana/dashboards/".length)}`);
    expect(seen).toContain("/etc/grafana/provisioning/datasources/datasources.yml");
    const secrets = (grafana.files as Array<{ path: string; readable: boolean; mode: string }>).filter(
      (file) => file.path.startsWith("/run/secrets/"),
    );
    expect(secrets.map((file) => file.path).sort()).toEqual([
      "/run/secrets/grafana_admin_password",
      "/run/secrets/grafana_secret_key",
    ]);
    for (const secret of secrets) expect(secret).toMatchObject({ readable: true, mode: "0400" });
    const loki = JSON.parse(
      expectOk(
        "loki",
        monitor.exec(["docker", "exec", "loki", "wget", "-qO-", "http://127.0.0.1:3100/standin"]),
      ).stdout,
    );
    expect(loki.uid).toBe(10001);
    expect(loki.argv).toEqual(["-config.file=/etc/loki/loki.yml", "-target=all"]);
  });

  describe("changes", () => {
    test("a changed rule reloads Prometheus without restarting its container", async () => {
      const before = containers(monitor).prometheus as ContainerState;
      const changed = {
        ...config,
        alerting: { ...config.alerting, thresholds: { ...config.alerting.thresholds, cpuPercent: 87 } },
      };
      const files = deployed().renderedMonitor(changed);
      const plan = planDeploy(files, MONITOR_DEPLOY_DIR);
      const unit = plan.units.find((entry) => entry.name === "prometheus");
      if (!unit) throw new Error("no prometheus step");
      const result = expectOk(
        "prometheus",
        monitor.ssh(
          RUN_STDIN_AS_ROOT,
          renderFileUnitScript({
            hostName: "monitor",
            directory: MONITOR_DEPLOY_DIR,
            project: plan.project,
            unit,
            files: unitFiles(unit, files),
          }),
        ),
      );
      expect(result.stdout).toContain("prometheus reloaded its configuration");
      const rules = JSON.parse(hostGet(monitor, "http://127.0.0.1:9090/api/v1/rules"));
      const expressions = JSON.stringify(rules.data.groups);
      expect(expressions).toContain("> 87");
      const after = containers(monitor).prometheus as ContainerState;
      expect(after).toEqual(before);
      config = changed;
    });

    test("a broken rule file is refused by the in-image promtool: nothing swapped, the running rules still served", () => {
      const before = containers(monitor).prometheus as ContainerState;
      const files = deployed().renderedMonitor(config);
      const ruleFile = Object.keys(files).find((path) => path.startsWith("prometheus/rules/")) as string;
      const live = expectOk("cat", monitor.exec(["cat", `${MONITOR_DEPLOY_DIR}/${ruleFile}`])).stdout;
      const broken = {
        ...files,
        [ruleFile]: `${files[ruleFile]}  - alert: Broken\n    expr: rate(node_cpu_seconds_total[\n`,
      };
      const plan = planDeploy(broken, MONITOR_DEPLOY_DIR);
      const unit = plan.units.find((entry) => entry.name === "prometheus");
      if (!unit) throw new Error("no prometheus step");
      const result = monitor.ssh(
        RUN_STDIN_AS_ROOT,
        renderFileUnitScript({
          hostName: "monitor",
          directory: MONITOR_DEPLOY_DIR,
          project: plan.project,
          unit,
          files: unitFiles(unit, broken),
        }),
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("promtool rejected the new files");
      expect(expectOk("cat", monitor.exec(["cat", `${MONITOR_DEPLOY_DIR}/${ruleFile}`])).stdout).toBe(live);
      const rules = JSON.stringify(
        JSON.parse(hostGet(monitor, "http://127.0.0.1:9090/api/v1/rules")).data.groups,
      );
      expect(rules).toContain("> 87");
      expect(rules).not.toContain("Broken");
      expect(containers(monitor).prometheus).toEqual(before);
    });

    test("a second deploy with no change: the same triggers (Pulumi runs no step), and compose up recreates nothing", () => {
      const files = deployed().renderedMonitor(config);
      const plan = planDeploy(files, MONITOR_DEPLOY_DIR);
      const again = Object.fromEntries(
        plan.units.map((unit) => [unit.name, contentHash(unitFiles(unit, files))]),
      );
      expect(Object.keys(again).sort()).toEqual(Object.keys(deployed().monitorDeploy.triggers).sort());
      // The threshold changed above is in the rule files and drawn in dashboards: only those two steps differ.
      for (const name of Object.keys(again).filter((name) => name !== "prometheus" && name !== "grafana")) {
        expect(again[name], name).toBe(deployed().monitorDeploy.triggers[name]);
      }
      const before = containers(monitor);
      const compose = plan.units.find((unit) => unit.name === "compose");
      if (!compose) throw new Error("no compose step");
      expectOk(
        "compose",
        monitor.ssh(
          RUN_STDIN_AS_ROOT,
          renderFileUnitScript({
            hostName: "monitor",
            directory: MONITOR_DEPLOY_DIR,
            project: plan.project,
            unit: compose,
            files: unitFiles(compose, files),
          }),
        ),
      );
      expect(containers(monitor)).toEqual(before);
    });
  });
});
