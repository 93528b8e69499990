/**
 * `npm run local` (scripts/local.ts) for real: the command runs here and drives the Docker
 * engine of a test host (the "operator's machine": test/support/docker-hosts.ts) through
 * DOCKER_HOST, with the test images (`--images`, an image map). Real: Docker, compose, Prometheus,
 * Alertmanager, node exporter. Stand-ins: Grafana, Loki, Alloy, cAdvisor (test/docker/standin.pl).
 * The rendered files are changed only by test/support/this-machine.ts.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import { type DockerEngine, dockerEngine, testImageMap } from "./support/docker-engine";
import {
  createTestNetwork,
  removeTestHosts,
  startTestHost,
  type TestHost,
  type TestNetwork,
} from "./support/docker-hosts";
import { pollUntil } from "./support/processes";
import { forThisMachine, PROMETHEUS_CONFIG_FILE } from "./support/this-machine";

const REPO = join(__dirname, "..");
const PASSWORD = `local-${randomBytes(9).toString("hex")}`;

let engine: DockerEngine;
let root: string;
let network: TestNetwork | undefined;
let host: TestHost;
let hostContainer: string | undefined;
let stackDir: string;
let imagesFile: string;
let hostEnv: Record<string, string>;

function local(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/tsx/dist/cli.mjs"), join(REPO, "scripts/local.ts"), ...args],
    {
      cwd: REPO,
      env: { ...process.env, ...hostEnv },
      encoding: "utf8",
      timeout: 600_000,
    },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function onHost(args: readonly string[]): string {
  const result = host.exec(args);
  expect(result.status, `${args.join(" ")}: ${result.stdout}${result.stderr}`).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  engine = dockerEngine();
  root = mkdtempSync(join(tmpdir(), "local-stack-"));
  stackDir = join(root, "stack");
  mkdirSync(stackDir);
  mkdirSync(join(root, "engine"));
  mkdirSync(join(root, "host"));
  const suffix = randomBytes(4).toString("hex");
  const testNetwork = createTestNetwork(engine, `obs-test-local-${suffix}`);
  network = testNetwork;
  hostContainer = `obs-test-laptop-${suffix}`;
  host = await startTestHost(engine, testNetwork, hostContainer, join(root, "host"), {
    address: testNetwork.address(10),
    addressPool: "10.79.0.0/16",
    runArgs: [
      "-e",
      "HOST_ENGINE_SOCKET=/run/host-engine/docker.sock",
      "-v",
      `${join(root, "engine")}:/run/host-engine`,
      // Compose resolves bind mounts on the engine's machine: the stack directory is at the same path there.
      "-v",
      `${stackDir}:${stackDir}`,
    ],
    images: [
      engine.images.prometheus,
      engine.images.alertmanager,
      engine.images.nodeExporter,
      engine.images.grafana,
      engine.images.loki,
      engine.images.alloy,
      engine.images.cadvisor,
      engine.images.gateway,
      engine.images.socketProxy,
      engine.images.mailpit,
    ],
  });
  hostEnv = {
    DOCKER_HOST: `unix://${join(root, "engine", "docker.sock")}`,
    DOCKER_CONFIG: engine.env.DOCKER_CONFIG ?? "",
    OBSERVABILITY_LOCAL_GRAFANA_PASSWORD: PASSWORD,
    PATH: `${join(root, "bin")}:${process.env.PATH}`,
  };
  // `docker` on PATH is Debian's client (the engine's version), as on an operator's machine.
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "bin", "docker"), '#!/bin/sh\nexec /usr/bin/docker "$@"\n', { mode: 0o755 });
  imagesFile = join(root, "images.json");
  writeFileSync(imagesFile, JSON.stringify(testImageMap(engine.images)));
}, 600_000);

afterAll(() => {
  if (engine && hostContainer) removeTestHosts(engine, [hostContainer], network);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("npm run local", () => {
  test("up: every service healthy or running, published on 127.0.0.1 only, Prometheus scraping the local agents", async () => {
    const rendered = local(["render", "--dir", stackDir, "--images", imagesFile]);
    expect(rendered.status, rendered.stderr).toBe(0);
    const changed = [COMPOSE_FILE, PROMETHEUS_CONFIG_FILE];
    const files = Object.fromEntries(
      changed.map((path) => [path, readFileSync(join(stackDir, path), "utf8")]),
    );
    for (const [path, content] of Object.entries(forThisMachine(files)))
      writeFileSync(join(stackDir, path), content);
    const up = local(["up", "--dir", stackDir, "--keep-files"]);
    expect(up.status, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stdout).toContain("http://127.0.0.1:3000");
    expect(up.stdout).toContain(`cat ${join(stackDir, "secrets", "grafana_admin_password")}`);
    expect(`${up.stdout}${up.stderr}`).not.toContain(PASSWORD);
    // Posted first: Alertmanager's group_wait runs while the checks below do (read in the mail test).
    const alert = [
      {
        labels: { alertname: "LocalStackMailCheck", severity: "warning", instance: "monitor" },
        annotations: { summary: "A check of the local mail path." },
      },
    ];
    onHost([
      "curl",
      "--fail",
      "-s",
      "-X",
      "POST",
      "-H",
      "Content-Type: application/json",
      "-d",
      JSON.stringify(alert),
      "http://127.0.0.1:9093/api/v2/alerts",
    ]);

    const secret = statSync(join(stackDir, "secrets", "grafana_admin_password"));
    expect(secret.mode & 0o777).toBe(0o444);
    expect(statSync(join(stackDir, "secrets")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(stackDir, "secrets", "grafana_admin_password"), "utf8")).toBe(PASSWORD);

    const states = onHost(["docker", "ps", "--format", "{{.Names}} {{.Status}} {{.Image}}"])
      .split("\n")
      .filter(Boolean);
    expect(states.map((line) => line.split(" ")[0]).sort()).toEqual(
      [
        "alertmanager",
        "alloy",
        "cadvisor",
        "docker-socket-proxy",
        "gateway",
        "grafana",
        "loki",
        "mailpit",
        "node-exporter",
        "prometheus",
      ].sort(),
    );
    for (const name of ["prometheus", "alertmanager", "grafana"]) {
      expect(
        states.find((line) => line.startsWith(`${name} `)),
        name,
      ).toContain("(healthy)");
    }
    expect(states.join("\n")).not.toContain("docker.io/");
    const allBindings = onHost([
      "sh",
      "-c",
      "docker inspect -f '{{json .HostConfig.PortBindings}}' $(docker ps -q)",
    ]);
    const hostIps = [...allBindings.matchAll(/"HostIp":"([^"]*)"/g)].map((match) => match[1]);
    expect(hostIps.length).toBeGreaterThanOrEqual(7);
    expect(new Set(hostIps)).toEqual(new Set(["127.0.0.1"]));
    expect(
      onHost(["docker", "inspect", "-f", "{{.HostConfig.NetworkMode}}", "node-exporter"]).trim(),
    ).not.toBe("host");

    const up1 = await pollUntil(
      "Prometheus scraping the local agents",
      () => {
        const body = JSON.parse(onHost(["curl", "-s", "http://127.0.0.1:9090/api/v1/query?query=up%3D%3D1"]));
        const jobs = new Set(
          (body.data.result as Array<{ metric: { job: string } }>).map((entry) => entry.metric.job),
        );
        return ["node", "cadvisor", "alloy", "prometheus", "alertmanager"].every((job) => jobs.has(job))
          ? jobs
          : undefined;
      },
      { attempts: 90, intervalMs: 1_000 },
    );
    expect(up1.has("node")).toBe(true);

    const grafana = JSON.parse(onHost(["curl", "-s", "http://127.0.0.1:3000/standin"]));
    const seen = (grafana.files as Array<{ path: string }>).map((file) => file.path);
    expect(seen.filter((path) => path.startsWith("/etc/grafana/dashboards/")).length).toBeGreaterThan(3);
    expect(seen).toContain("/etc/grafana/provisioning/datasources/datasources.yml");
    expect(grafana.uid).toBe(472);
  });

  test("an alert reaches the local mail catcher through the rendered Alertmanager routes, by real SMTP", async () => {
    // The alert was posted to Alertmanager right after `up` (the test above).
    const messages = await pollUntil(
      "the alert mail in the mail catcher",
      () => {
        const body = JSON.parse(onHost(["curl", "-s", "http://127.0.0.1:8025/api/v1/messages"]));
        const found = (body.messages as Array<{ Subject: string; To: string }>).filter((message) =>
          message.Subject.includes("LocalStackMailCheck"),
        );
        return found.length > 0 ? found : undefined;
      },
      { attempts: 120, intervalMs: 1_000 },
    );
    expect(messages[0]?.Subject).toContain("FIRING");
    expect(messages[0]?.To).toContain("oncall@localhost");
  });

  test("down removes the containers; the state volumes stay for the next up", () => {
    const down = local(["down", "--dir", stackDir]);
    expect(down.status, down.stderr).toBe(0);
    expect(onHost(["docker", "ps", "-aq"]).trim()).toBe("");
    expect(onHost(["docker", "volume", "ls", "--format", "{{.Name}}"])).toContain("prometheus-data");
  });
});
