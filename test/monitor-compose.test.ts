/**
 * The monitor's compose file, parsed back: pinned images, what is published where, volumes,
 * secrets, and that the services' configs agree with the names and paths compose gives them.
 * Structural checks of the rendered compose files; `docker compose config` and `up` run against a
 * real engine in test/docker-deploy.test.ts.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import {
  PROCESS_EXPORTER_CONFIG_FILE,
  renderProcessExporterConfig,
} from "../configs/agents/process-exporter";
import { DATA_MOUNT_POINT } from "../configs/cloud-init";
import { EXPORTERS } from "../configs/exporters";
import { GATEWAY_USER } from "../configs/gateway";
import { renderGrafanaProvisioning } from "../configs/grafana";
import { clientFiles, monitorFiles, stackHostFiles, stackImages } from "../configs/host-files";
import { IMAGES, MONITOR_CONTAINER_USERS, withPinnedImages } from "../configs/images";
import {
  CONTAINER_SECRETS_DIR,
  MONITOR_PROMETHEUS_ADDRESSES,
  MONITOR_SECRETS_DIR,
  monitorSecretFiles,
  renderMonitorCompose,
} from "../configs/monitor-compose";
import { renderPrometheusConfig } from "../configs/prometheus";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import type { StackConfig } from "../lib/stack-config";
import { renderAlertmanagerYaml } from "./support/alertmanager";
import { provisionedDatasources } from "./support/grafana-provisioning";
import { isPinnedImage } from "./support/images";
import { sampleStackConfig } from "./support/sample-config";
import { withEveryExporter } from "./support/stacks";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

const config = sampleStackConfig();
/** The pinned image of every optional exporter that runs a container. */
const EXPORTER_IMAGES = EXPORTERS.flatMap((record) => (record.container ? [record.container.image] : []));
const compose: Parsed = YAML.parse(
  renderMonitorCompose(config, { deployInfo: { monitorPrivateIp: "10.42.1.10", lokiBucketName: "b" } }),
);
const services: Record<string, Parsed> = compose.services;

/** `host_ip:host_port:container_port` split; short forms (no host IP) return hostIp undefined. */
function parsePort(spec: string): { hostIp?: string; hostPort: string; containerPort: string } {
  const parts = spec.split(":");
  if (parts.length === 3)
    return { hostIp: parts[0], hostPort: parts[1] as string, containerPort: parts[2] as string };
  if (parts.length === 2) return { hostPort: parts[0] as string, containerPort: parts[1] as string };
  return { hostPort: spec, containerPort: spec };
}

function fileReferences(value: Parsed): string[] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key.endsWith("_file") && typeof child === "string" ? [child] : fileReferences(child),
  );
}

describe("isPinnedImage", () => {
  it("accepts exact versions and digests only", () => {
    expect(isPinnedImage("docker.io/prom/prometheus:v3.14.0")).toBe(true);
    expect(isPinnedImage("docker.io/grafana/grafana:12.4.5")).toBe(true);
    expect(isPinnedImage(`docker.io/grafana/loki@sha256:${"a".repeat(64)}`)).toBe(true);
    for (const floating of [
      "prom/prometheus",
      "prom/prometheus:latest",
      "grafana/loki:3",
      "grafana/loki:3.7",
      "registry.example.com:5000/loki",
      "grafana/loki@sha256:abc",
    ]) {
      expect(isPinnedImage(floating), floating).toBe(false);
    }
  });

  it("holds for every image in the catalogue and in the exporter records", () => {
    for (const image of [...Object.values(IMAGES), ...EXPORTER_IMAGES]) {
      expect(isPinnedImage(image), image).toBe(true);
    }
  });
});

describe("monitor compose file", () => {
  it("runs the monitor services and the monitor's own agents", () => {
    for (const name of [
      "prometheus",
      "alertmanager",
      "loki",
      "grafana",
      "node-exporter",
      "process-exporter",
      "cadvisor",
      "alloy",
    ]) {
      expect(services[name], name).toBeDefined();
    }
  });

  it("runs the clients' process exporter, with their config, published on loopback only", () => {
    const service = services["process-exporter"];
    expect(service.image).toBe(IMAGES.processExporter);
    expect(service.pid).toBe("host");
    expect(service.ports.length).toBeGreaterThan(0);
    for (const spec of service.ports) expect(parsePort(spec).hostIp, spec).toBe("127.0.0.1");
    const config = service.volumes.find((volume: string) =>
      volume.startsWith(`./${PROCESS_EXPORTER_CONFIG_FILE}:`),
    );
    expect(config, JSON.stringify(service.volumes)).toBeDefined();
    expect(monitorFiles(sampleStackConfig())[PROCESS_EXPORTER_CONFIG_FILE]).toBe(
      renderProcessExporterConfig(),
    );
  });

  it("pins every image", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(isPinnedImage(service.image), `${name}: ${service.image}`).toBe(true);
    }
  });

  it("publishes Prometheus and Alertmanager on loopback only", () => {
    for (const name of ["prometheus", "alertmanager"]) {
      expect(services[name].ports.length).toBeGreaterThan(0);
      for (const spec of services[name].ports) {
        expect(parsePort(spec).hostIp, `${name} ${spec}`).toBe("127.0.0.1");
      }
    }
  });

  it("publishes nothing on all interfaces but the push gateway (Grafana on loopback without a domain), never a port without a host IP", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const spec of (service.ports ?? []) as string[]) {
        const { hostIp } = parsePort(spec);
        expect(hostIp, `${name} ${spec} binds every interface implicitly`).toBeDefined();
        if (name !== "gateway") expect(hostIp, `${name} ${spec}`).not.toBe("0.0.0.0");
      }
    }
    expect(services.grafana.ports).toEqual(["127.0.0.1:3000:3000"]);
    expect(services.gateway.ports).toEqual(["0.0.0.0:3101:3101"]);
  });

  it("publishes Grafana on every interface only for its load balancer or the explicit insecure setting", () => {
    const grafanaPorts = (exposure: StackConfig["grafana"]["exposure"]) =>
      YAML.parse(renderMonitorCompose({ ...config, grafana: { exposure } })).services.grafana.ports;
    expect(
      grafanaPorts({
        mode: "https",
        domain: "grafana.example.com",
        hostedZoneId: "Z0123456789ABCDEFGHIJ",
        secondSubnet: { cidr: "10.42.2.0/24" },
      }),
    ).toEqual(["0.0.0.0:3000:3000"]);
    expect(grafanaPorts({ mode: "insecure-http" })).toEqual(["0.0.0.0:3000:3000"]);
  });

  it("publishes no Loki port: outside the compose network, Loki is reached through the gateway only", () => {
    expect(services.loki.ports).toBeUndefined();
    const published = Object.values(services).flatMap((service) => (service.ports ?? []) as string[]);
    expect(published.some((spec) => parsePort(spec).containerPort === "3100")).toBe(false);
    expect(services.gateway.depends_on).toEqual(["loki"]);
  });

  it("runs the gateway unprivileged on a read-only root, reading the hash files as 0400 secrets it owns", () => {
    const gateway = services.gateway;
    expect(gateway.user).toBe(GATEWAY_USER);
    expect(gateway.read_only).toBe(true);
    expect(gateway.cap_drop).toEqual(["ALL"]);
    expect(gateway.secrets).toEqual(["push_htpasswd", "push_htpasswd_metrics"]);
    const secret = monitorSecretFiles(config).find((file) => file.name === "push_htpasswd");
    expect(secret).toMatchObject({ owner: "101:101", source: "push-htpasswd", services: ["gateway"] });
    const metrics = monitorSecretFiles(config).find((file) => file.name === "push_htpasswd_metrics");
    expect(metrics).toMatchObject({
      owner: "101:101",
      source: "push-htpasswd-metrics",
      services: ["gateway"],
    });
  });

  it("keeps each service's state on the data volume, owned by the user the container runs as", () => {
    for (const [name, user] of Object.entries(MONITOR_CONTAINER_USERS)) {
      const service = services[name];
      const hostPath = `${DATA_MOUNT_POINT}/${name}`;
      const dataMount = (service.volumes as string[]).find((volume) => volume.startsWith(`${hostPath}:`));
      expect(dataMount, `${name} mounts ${hostPath}`).toBeDefined();
      expect(dataMount?.endsWith(":ro")).toBe(false);
      expect(service.user).toBe(user);
    }
  });

  it("mounts rendered configs read-only", () => {
    for (const name of ["prometheus", "alertmanager", "loki", "grafana"]) {
      const configMounts = (services[name].volumes as string[]).filter((volume) => volume.startsWith("./"));
      expect(configMounts.length, name).toBeGreaterThan(0);
      for (const volume of configMounts) expect(volume.endsWith(":ro"), volume).toBe(true);
    }
  });

  it("publishes the monitor's Alloy on loopback only, for the deploy's reload, and mounts its config directory", () => {
    expect(services.alloy.ports).toEqual([`127.0.0.1:${AGENT_PORTS.alloy}:${AGENT_PORTS.alloy}`]);
    expect(services.alloy.volumes).toContain("./alloy:/etc/alloy:ro");
    expect(
      (services.alloy.volumes as string[]).some((volume) => volume.startsWith("./alloy/config.alloy:")),
    ).toBe(false);
  });

  it("restarts every service and rotates every container log", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.restart, name).toBe("unless-stopped");
      expect(service.logging.driver, name).toBe("json-file");
      expect(service.logging.options["max-size"], name).toMatch(/^\d+[kmg]$/);
    }
  });

  it("spells every service out (no YAML anchors or aliases) and quotes every string", () => {
    const document = YAML.parseDocument(renderMonitorCompose(config));
    let aliases = 0;
    YAML.visit(document, {
      Alias() {
        aliases += 1;
      },
      Scalar(role, node) {
        // Map keys stay plain; every string value and list item is quoted.
        if (role !== "key" && typeof node.value === "string") {
          expect(node.type, String(node.value)).not.toBe("PLAIN");
        }
      },
    });
    expect(aliases).toBe(0);
  });

  it("health-checks the services whose images can run a probe", () => {
    for (const name of ["prometheus", "alertmanager", "grafana"]) {
      expect(services[name].healthcheck.test[0], name).toBe("CMD");
    }
  });
});

describe("config files the services are started with", () => {
  const files = monitorFiles(config);

  /** The rendered file behind a path inside a container, through its read-only directory mount. */
  function renderedFileFor(service: string, containerPath: string): string | undefined {
    for (const volume of services[service].volumes as string[]) {
      const [source, target, mode] = volume.split(":");
      if (!source?.startsWith("./") || mode !== "ro" || !target) continue;
      if (containerPath.startsWith(`${target}/`)) {
        return `${source.slice(2)}/${containerPath.slice(target.length + 1)}`;
      }
    }
    return undefined;
  }

  it("are rendered files reached through directory mounts, so a replaced file is seen on restart", () => {
    const configFlags: [string, RegExp][] = [
      ["prometheus", /^--config\.file=(.+)$/],
      ["alertmanager", /^--config\.file=(.+)$/],
      ["loki", /^-config\.file=(.+)$/],
    ];
    for (const [service, pattern] of configFlags) {
      const flag = (services[service].command as string[]).map((arg) => pattern.exec(arg)).find(Boolean);
      expect(flag, service).toBeTruthy();
      const rendered = renderedFileFor(service, (flag as RegExpExecArray)[1] as string);
      expect(rendered, service).toBeDefined();
      expect(files[rendered as string], `${service} reads ${rendered}`).toBeDefined();
    }
  });

  it("include the dashboards where the dashboard provider looks for them", () => {
    const provider = YAML.parse(files["grafana/provisioning/dashboards/provider.yml"] as string);
    const providerPath: string = provider.providers[0].options.path;
    const dashboards = Object.keys(files).filter(
      (path) => path.endsWith(".json") && path.startsWith("grafana/"),
    );
    expect(dashboards.length).toBeGreaterThan(0);
    for (const path of dashboards) {
      const fileName = path.slice(path.lastIndexOf("/") + 1);
      expect(renderedFileFor("grafana", `${providerPath}/${fileName}`), path).toBe(path);
      expect(() => JSON.parse(files[path] as string), path).not.toThrow();
    }
  });

  it("include Grafana's provisioning under the directory Grafana reads it from", () => {
    for (const path of ["datasources/datasources.yml", "dashboards/provider.yml"]) {
      const rendered = renderedFileFor(
        "grafana",
        `${services.grafana.environment.GF_PATHS_PROVISIONING}/${path}`,
      );
      expect(rendered && files[rendered], path).toBeDefined();
    }
  });
});

describe("monitor secrets", () => {
  it("come from files under the secrets directory, declared for the services that use them", () => {
    const declared = Object.keys(compose.secrets);
    for (const [name, secret] of Object.entries(compose.secrets) as [string, Parsed][]) {
      expect(secret.file).toBe(`${MONITOR_SECRETS_DIR}/${name}`);
    }
    for (const service of Object.values(services)) {
      for (const name of (service.secrets ?? []) as string[]) expect(declared).toContain(name);
    }
    expect(monitorSecretFiles(config).map((secret) => secret.name)).toEqual(declared);
  });

  it("are where Grafana's __FILE settings point", () => {
    const environment = renderGrafanaProvisioning(config).environment;
    const fileSettings = Object.entries(environment).filter(([key]) => key.endsWith("__FILE"));
    expect(fileSettings.length).toBeGreaterThan(0);
    for (const [, path] of fileSettings) {
      expect(path.startsWith(`${CONTAINER_SECRETS_DIR}/`)).toBe(true);
      expect(services.grafana.secrets).toContain(path.slice(CONTAINER_SECRETS_DIR.length + 1));
    }
    expect(services.grafana.environment).toEqual(environment);
  });

  it("are where Alertmanager's *_file fields point", () => {
    const alertmanager = YAML.parse(renderAlertmanagerYaml(config, { secretsDir: CONTAINER_SECRETS_DIR }));
    const references = fileReferences(alertmanager);
    expect(references.length).toBeGreaterThan(0);
    for (const path of references) {
      expect(path.startsWith(`${CONTAINER_SECRETS_DIR}/`), path).toBe(true);
      expect(services.alertmanager.secrets).toContain(path.slice(CONTAINER_SECRETS_DIR.length + 1));
    }
  });

  it("are only mounted, never written into the compose file", () => {
    const text = renderMonitorCompose(config);
    for (const service of Object.values(services)) {
      for (const [key, value] of Object.entries((service.environment ?? {}) as Record<string, string>)) {
        if (/PASSWORD|SECRET|TOKEN|KEY/.test(key))
          expect(value.startsWith(`${CONTAINER_SECRETS_DIR}/`)).toBe(true);
      }
    }
    expect(text).not.toMatch(/hooks\.slack\.com|BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

describe("names the services use for each other", () => {
  it("Grafana's datasource hosts are compose services listening on those ports", () => {
    const inCompose = provisionedDatasources(config).filter((source) =>
      ["prometheus", "loki", "alertmanager"].includes(source.uid),
    );
    expect(inCompose.length).toBe(3);
    for (const { url } of inCompose) {
      const { hostname, port } = new URL(url);
      expect(services[hostname], hostname).toBeDefined();
      // Loki publishes no port (the gateway fronts it): it listens on its configured port.
      const containerPorts =
        hostname === "loki"
          ? [String(MONITOR_PORTS.loki)]
          : (services[hostname].ports as string[]).map((spec) => parsePort(spec).containerPort);
      expect(containerPorts).toContain(port);
    }
  });

  it("every monitor-side Prometheus target is a compose service or the Docker host alias", () => {
    const prometheus = YAML.parse(renderPrometheusConfig(config, MONITOR_PROMETHEUS_ADDRESSES));
    const staticTargets: string[] = prometheus.scrape_configs.flatMap((job: Parsed) =>
      (job.static_configs ?? []).flatMap((group: Parsed) => group.targets as string[]),
    );
    const alertmanagerTargets: string[] = prometheus.alerting.alertmanagers.flatMap((entry: Parsed) =>
      entry.static_configs.flatMap((group: Parsed) => group.targets as string[]),
    );
    expect(staticTargets.length).toBeGreaterThan(0);
    for (const target of [...staticTargets, ...alertmanagerTargets]) {
      const host = target.slice(0, target.lastIndexOf(":"));
      if (host === "host.docker.internal") {
        expect(services.prometheus.extra_hosts).toContain("host.docker.internal:host-gateway");
        expect(services["node-exporter"].network_mode).toBe("host");
      } else {
        expect(services[host], `${target} is not a compose service`).toBeDefined();
      }
    }
  });
});

describe("images pinned by registry digest", () => {
  /** A digest per reference, derived from it, so a swapped digest would show. */
  const digestOf = (image: string) => `sha256:${createHash("sha256").update(image).digest("hex")}`;
  const everyHost = withEveryExporter(sampleStackConfig());
  const digests = Object.fromEntries(stackImages(everyHost).map((image) => [image, digestOf(image)]));

  /** The image a service with `image` runs once pinned with `byDigest`. */
  const pinnedImage = (image: string, byDigest: Record<string, string> | undefined) =>
    withPinnedImages({ service: { image } }, byDigest).service?.image;

  it("keeps the tag for readers and adds the digest compose pulls by", () => {
    expect(pinnedImage(IMAGES.prometheus, digests)).toBe(
      `${IMAGES.prometheus}@${digestOf(IMAGES.prometheus)}`,
    );
    expect(isPinnedImage(pinnedImage(IMAGES.prometheus, digests) ?? "")).toBe(true);
    expect(pinnedImage(IMAGES.prometheus, undefined)).toBe(IMAGES.prometheus);
  });

  it("a missing, malformed or doubled digest throws instead of leaving one image on its tag", () => {
    expect(() => pinnedImage(IMAGES.loki, {})).toThrow(
      /no registry digest was resolved for docker.io\/grafana\/loki/,
    );
    expect(() => pinnedImage(IMAGES.loki, { [IMAGES.loki]: "sha256:abc" })).toThrow(/not a sha256 digest/);
    expect(() => pinnedImage(`${IMAGES.loki}@${digestOf(IMAGES.loki)}`, digests)).toThrow(/already pinned/);
  });

  it("every compose file of every host runs tag@digest for each of its images, and nothing else changes", () => {
    const hosts = [
      {
        name: "monitor",
        plain: monitorFiles(everyHost),
        pinned: monitorFiles(everyHost, { imageDigests: digests }),
      },
      ...[...everyHost.clients, ...everyHost.externalHosts].map((host) => ({
        name: host.name,
        plain: clientFiles(everyHost, host),
        pinned: clientFiles(everyHost, host, { imageDigests: digests }),
      })),
    ];
    for (const host of hosts) {
      const plain: Parsed = YAML.parse(host.plain[COMPOSE_FILE] as string);
      const pinned: Parsed = YAML.parse(host.pinned[COMPOSE_FILE] as string);
      for (const [name, service] of Object.entries<Parsed>(pinned.services)) {
        const tag = plain.services[name].image as string;
        expect(service.image, `${host.name}/${name}`).toBe(`${tag}@${digestOf(tag)}`);
        expect({ ...service, image: tag }, `${host.name}/${name}`).toEqual(plain.services[name]);
      }
      // Only the compose file depends on digests.
      for (const path of Object.keys(host.plain).filter((file) => file !== COMPOSE_FILE)) {
        expect(host.pinned[path], `${host.name}/${path}`).toBe(host.plain[path]);
      }
    }
  });

  it("stackImages lists exactly the images the stack's compose files run, sorted", () => {
    const used = new Set<string>();
    for (const files of Object.values(stackHostFiles(everyHost))) {
      const parsed: Parsed = YAML.parse(files[COMPOSE_FILE] as string);
      for (const service of Object.values<Parsed>(parsed.services)) used.add(service.image);
    }
    expect(stackImages(everyHost)).toEqual([...used].sort());
    expect(EXPORTER_IMAGES.length).toBeGreaterThan(0);
    expect(stackImages(everyHost)).toEqual(expect.arrayContaining(EXPORTER_IMAGES));
    // Without optional exporters none of their images is looked up.
    const plain = stackImages(sampleStackConfig({ clients: [], externalHosts: [] }));
    for (const image of EXPORTER_IMAGES) expect(plain).not.toContain(image);
  });
});

describe("image map (DeployInfo.images)", () => {
  const config = sampleStackConfig();
  const images = {
    [IMAGES.prometheus]: "obs-test/prometheus:3.5.0-sid",
    [IMAGES.nodeExporter]: "obs-test/node-exporter:1.11.0-sid",
  };

  it("runs the mapped images under their own names, image label included; everything else stays pinned", () => {
    const monitor = YAML.parse(monitorFiles(config, { images })[COMPOSE_FILE] as string);
    expect(monitor.services.prometheus.image).toBe("obs-test/prometheus:3.5.0-sid");
    expect(monitor.services.prometheus.labels["observability.image"]).toBe("obs-test/prometheus:3.5.0-sid");
    expect(monitor.services["node-exporter"].image).toBe("obs-test/node-exporter:1.11.0-sid");
    expect(monitor.services.alertmanager.image).toBe(IMAGES.alertmanager);
    const [host] = config.externalHosts;
    if (!host) throw new Error("the sample config has an outside host");
    const client = YAML.parse(clientFiles(config, host, { images })[COMPOSE_FILE] as string);
    expect(client.services["node-exporter"].image).toBe("obs-test/node-exporter:1.11.0-sid");
    expect(client.services.alloy.image).toBe(IMAGES.alloy);
  });

  it("refuses to pin a mapped image by a registry digest it does not have", () => {
    const digests = Object.fromEntries(
      stackImages(config).map((image) => [image, `sha256:${"a".repeat(64)}`]),
    );
    expect(() => monitorFiles(config, { images, imageDigests: digests })).toThrow(
      "no registry digest was resolved for obs-test/prometheus:3.5.0-sid",
    );
  });
});
