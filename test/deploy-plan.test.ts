/**
 * The deploy's plan (configs/deploy-plan.ts): which steps a host gets from its rendered files and
 * compose file, what each checks and how it applies, and which services are recreated for a
 * secret change. test/deploy.test.ts runs the scripts of these steps.
 */
import { describe, expect, test } from "vitest";
import YAML from "yaml";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import { AGENTS_DEPLOY_DIR, MONITOR_DEPLOY_DIR, planDeploy } from "../configs/deploy-scripts";
import { exporterCredentialFiles, exporterRecord } from "../configs/exporters";
import { CLOUD_INIT_FILE, clientFiles, MONITOR_LOKI_RUNTIME_DIR, monitorFiles } from "../configs/host-files";
import { IMAGES } from "../configs/images";
import { LOKI_RUNTIME_FILE_NAME, renderLokiConfig } from "../configs/loki";
import { monitorSecretFiles } from "../configs/monitor-compose";
import { renderFileSdTargets } from "../configs/prometheus";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import { sampleStackConfig } from "./support/sample-config";

/** Where the monitor's file SD target files are deployed (relative to its deploy directory). */
const FILE_SD_DIR = "prometheus/file_sd";

describe("planDeploy", () => {
  const config = sampleStackConfig();
  const monitor = monitorFiles(config, { monitorPrivateIp: "10.42.1.10" });
  const plan = planDeploy(monitor, MONITOR_DEPLOY_DIR);
  const unit = (name: string) => {
    const found = plan.units.find((entry) => entry.name === name);
    if (!found) throw new Error(`no unit ${name}`);
    return found;
  };

  test("every deployed file belongs to exactly one step; user data is not deployed", () => {
    const paths = plan.units.flatMap((entry) => entry.paths);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.sort()).toEqual(
      Object.keys(monitor)
        .filter((path) => path !== CLOUD_INIT_FILE)
        .sort(),
    );
    expect(paths).not.toContain(CLOUD_INIT_FILE);
  });

  test("file SD targets are their own step, with nothing to reload", () => {
    expect(unit("file-sd").paths).toEqual(
      Object.keys(renderFileSdTargets(config))
        .map((name) => `${FILE_SD_DIR}/${name}`)
        .sort(),
    );
    expect(unit("file-sd").apply).toEqual({ kind: "none" });
    expect(unit("prometheus").paths.some((path) => path.startsWith(FILE_SD_DIR))).toBe(false);
  });

  test("Loki's runtime overrides are their own step, with nothing to restart; loki.yml stays with the loki step", () => {
    expect(unit("loki-runtime").paths).toEqual([`${MONITOR_LOKI_RUNTIME_DIR}/${LOKI_RUNTIME_FILE_NAME}`]);
    expect(unit("loki-runtime").apply).toEqual({ kind: "none" });
    expect(unit("loki").paths).toEqual(["loki/loki.yml"]);
    // Loki sees the file where its config points, through the directory the compose file mounts.
    const lokiVolumes: string[] = YAML.parse(monitor[COMPOSE_FILE] as string).services.loki.volumes;
    const lokiMount = lokiVolumes
      .map((volume) => volume.split(":"))
      .map(([source = "", target = ""]) => ({ source: source.replace(/^\.\//, ""), target }))
      .find((mount) => MONITOR_LOKI_RUNTIME_DIR.startsWith(`${mount.source}/`));
    expect(lokiMount).toBeDefined();
    expect(
      `${lokiMount?.target}${MONITOR_LOKI_RUNTIME_DIR.slice(lokiMount?.source.length)}/${LOKI_RUNTIME_FILE_NAME}`,
    ).toBe(YAML.parse(renderLokiConfig(sampleStackConfig())).runtime_config.file);
  });

  test("Prometheus and Alertmanager are checked with their own tool and reloaded on loopback, never restarted", () => {
    expect(unit("prometheus").apply).toEqual({
      kind: "reload",
      service: "prometheus",
      port: MONITOR_PORTS.prometheus,
    });
    expect(unit("prometheus").check?.entrypoint).toBe("promtool");
    expect(unit("prometheus").paths).toContain("prometheus/prometheus.yml");
    expect(unit("alertmanager").apply).toEqual({
      kind: "reload",
      service: "alertmanager",
      port: MONITOR_PORTS.alertmanager,
    });
    expect(unit("alertmanager").check?.entrypoint).toBe("amtool");
  });

  test("Alloy, its config directory mounted and its port on loopback, is reloaded; Loki's main config restarts it", () => {
    expect(unit("alloy").paths).toEqual(["alloy/config.alloy"]);
    expect(unit("alloy").apply).toEqual({ kind: "reload", service: "alloy", port: AGENT_PORTS.alloy });
    // Loki publishes no port (the push gateway fronts it): its /ready is probed by service name
    // from a container of the pinned Prometheus image on the compose network.
    expect(unit("loki").apply).toEqual({
      kind: "restart",
      service: "loki",
      readyUrl: "http://loki:3100/ready",
      probeNetwork: { network: "observability_default", image: IMAGES.prometheus },
    });
    // The gateway has no readiness path: any HTTP answer on its published port counts.
    expect(unit("gateway").apply).toEqual({
      kind: "restart",
      service: "gateway",
      readyUrl: "http://127.0.0.1:3101/",
      anyAnswer: true,
    });
    expect(unit("loki").check).toMatchObject({
      entrypoint: "loki",
      args: ["-config.file=/etc/loki/loki.yml", "-verify-config"],
    });
    expect(unit("grafana").apply).toEqual({
      kind: "restart",
      service: "grafana",
      readyUrl: "http://127.0.0.1:3000/api/health",
    });
  });

  test("a restarted service that publishes no readiness port is probed over the compose network where the probe image runs, else restarted without a wait", () => {
    const unpublishedCompose = (monitor[COMPOSE_FILE] as string).replace(
      /"(?:0\.0\.0\.0|127\.0\.0\.1):3000:3000"/,
      '"3000"',
    );
    expect(unpublishedCompose).not.toBe(monitor[COMPOSE_FILE]);
    const grafanaApply = (compose: string) =>
      planDeploy({ ...monitor, [COMPOSE_FILE]: compose }, MONITOR_DEPLOY_DIR).units.find(
        (entry) => entry.name === "grafana",
      )?.apply;
    expect(grafanaApply(unpublishedCompose)).toEqual({
      kind: "restart",
      service: "grafana",
      readyUrl: "http://grafana:3000/api/health",
      probeNetwork: { network: "observability_default", image: IMAGES.prometheus },
    });
    // No service of the host runs the probe image: nothing is pulled to probe, no wait.
    const withoutProbeImage = unpublishedCompose.replaceAll(
      IMAGES.prometheus,
      "docker.io/prom/prometheus:v0.0.0",
    );
    expect(withoutProbeImage).not.toBe(unpublishedCompose);
    expect(grafanaApply(withoutProbeImage)).toEqual({ kind: "restart", service: "grafana" });
  });

  test("a client's Alloy, published on all interfaces, is reloaded through loopback too", () => {
    const client = config.clients[0];
    if (!client) throw new Error("the sample config has a client");
    const clientUnit = planDeploy(clientFiles(config, client), AGENTS_DEPLOY_DIR).units.find(
      (entry) => entry.name === "alloy",
    );
    expect(clientUnit?.apply).toEqual({ kind: "reload", service: "alloy", port: AGENT_PORTS.alloy });
  });

  test("only a port published on 127.0.0.1 or 0.0.0.0, the same inside and out, counts as reachable from loopback", () => {
    const port = MONITOR_PORTS.prometheus;
    const applyWith = (ports: string[]) =>
      planDeploy(
        {
          [COMPOSE_FILE]: `name: p\nservices:\n  prometheus:\n    image: i\n    volumes: ["./prometheus:/etc/prometheus"]\n    ports: ${JSON.stringify(ports)}\n`,
          "prometheus/prometheus.yml": "global: {}\n",
        },
        "/d",
      ).units.find((entry) => entry.name === "prometheus")?.apply.kind;
    expect(applyWith([`127.0.0.1:${port}:${port}`])).toBe("reload");
    expect(applyWith([`0.0.0.0:${port}:${port}`])).toBe("reload");
    for (const ports of [
      [`10.0.0.5:${port}:${port}`],
      [`${port}:${port}`],
      [`127.0.0.1:${port}:1`],
      [`0.0.0.0:1:${port}`],
    ]) {
      expect(applyWith(ports), ports.join()).toBe("restart");
    }
  });

  test("a reloadable service whose config is a single bind-mounted file is restarted (a renamed file keeps its old inode)", () => {
    const withFileMount = {
      ...monitor,
      [COMPOSE_FILE]: (monitor[COMPOSE_FILE] as string).replace(
        '"./alloy:/etc/alloy:ro"',
        '"./alloy/config.alloy:/etc/alloy/config.alloy:ro"',
      ),
    };
    expect(withFileMount[COMPOSE_FILE]).not.toBe(monitor[COMPOSE_FILE]);
    const fileMounted = planDeploy(withFileMount, MONITOR_DEPLOY_DIR).units.find(
      (entry) => entry.name === "alloy",
    );
    expect(fileMounted?.apply).toEqual({
      kind: "restart",
      service: "alloy",
      readyUrl: `http://127.0.0.1:${AGENT_PORTS.alloy}/-/ready`,
    });
  });

  test("the compose step holds the compose file and checks it", () => {
    expect(unit("compose").paths).toEqual([COMPOSE_FILE]);
    expect(unit("compose").checkCompose).toBe(true);
    expect(unit("compose").apply).toEqual({ kind: "compose-up" });
  });

  test("the services recreated for a secret change are exactly those the monitor's secret files name, but the gateway", () => {
    const expected: Record<string, string[]> = {};
    for (const file of monitorSecretFiles(config)) {
      for (const service of file.services) {
        // The gateway reads its hash file per request: rewritten in place, it needs no recreate.
        if (service === "gateway") continue;
        expected[service] = [...(expected[service] ?? []), file.hostPath];
      }
    }
    for (const list of Object.values(expected)) list.sort();
    expect(plan.secretReaders).toEqual(expected);
  });

  test("a client's exporter credentials are read from its agents directory", () => {
    const client = config.clients.find((host) => host.exporters.includes("postgres"));
    if (!client) throw new Error("the sample config has a postgres client");
    const clientPlan = planDeploy(clientFiles(config, client), AGENTS_DEPLOY_DIR);
    expect(clientPlan.secretReaders["postgres-exporter"]).toEqual(
      exporterCredentialFiles(exporterRecord("postgres"))
        .map((file) => `${AGENTS_DEPLOY_DIR}/${file.path}`)
        .sort(),
    );
  });
});
