/**
 * The compose file and config files every host receives: the four agents plus the host's
 * optional exporters, pinned images, no port clashes, credentials only as files, and the same
 * bytes for the same input. Runs over the sample config and over every real stack file.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ALLOY_CONFIG_FILE, alloyService } from "../configs/agents/alloy";
import { CADVISOR_KEPT_CONTAINER_LABELS, cadvisorService } from "../configs/agents/cadvisor";
import { COMPOSE_FILE, renderClientFiles } from "../configs/agents/client-compose";
import type { ComposeFile, ComposeService } from "../configs/agents/compose-types";
import {
  type ContainerExporter,
  exporterService,
  exporterServiceName,
  runsContainer,
} from "../configs/agents/optional-exporters";
import { PROCESS_EXPORTER_CONFIG_FILE } from "../configs/agents/process-exporter";
import {
  EXPORTERS,
  exporterCredentialFiles,
  exporterHostSettings,
  exporterRecord,
  hostExporters,
} from "../configs/exporters";
import { containerRuleGroup } from "../configs/rules/containers";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import type { ClientHost, ExternalHost, StackConfig } from "../lib/stack-config";
import { listStackNames, loadStackConfigFromFiles } from "../lib/stack-files";
import { isPinnedImage } from "./support/images";
import { sampleStackConfig } from "./support/sample-config";
import { WITHOUT_SECRETS } from "./support/stack-files";
import { withEveryExporter } from "./support/stacks";

const ROOT = join(__dirname, "..");

/** The host's compose file, as the host receives it. */
function renderClientCompose(...args: Parameters<typeof renderClientFiles>): string {
  return renderClientFiles(...args)[COMPOSE_FILE] as string;
}

function composeOf(config: StackConfig, host: ClientHost | ExternalHost): ComposeFile {
  return parse(renderClientCompose(config, host, { monitorAddress: "10.0.1.5" })) as ComposeFile;
}

/** Host ports a service takes: published ports, or its listen flags when on the host network. */
function hostPorts(service: ComposeService): number[] {
  const published = (service.ports ?? []).map((mapping) => Number(mapping.split(":").at(-2)));
  if (service.network_mode !== "host") return published;
  const listening = (service.command ?? []).flatMap((arg) => {
    const match = /^--(?:web\.listen-address|server\.http\.listen-addr|port)=(?:.*:)?(\d+)$/.exec(arg);
    return match ? [Number(match[1])] : [];
  });
  return [...published, ...listening];
}

/** Every host of the sample config and of each stack file in the repository. */
function hostsToCheck(): { label: string; config: StackConfig; host: ClientHost | ExternalHost }[] {
  const sample = sampleStackConfig();
  const configs: { label: string; config: StackConfig }[] = [{ label: "sample", config: sample }];
  for (const stack of listStackNames(ROOT)) {
    configs.push({ label: stack, config: loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS) });
  }
  return [
    ...configs.flatMap(({ label, config }) =>
      [...config.clients, ...config.externalHosts].map((host) => ({
        label: `${label}/${host.name}`,
        config,
        host,
      })),
    ),
    { label: "sample/all-exporters", config: sample, host: everyExporterHost() },
  ];
}

/** The host withEveryExporter adds: every optional exporter on. */
function everyExporterHost(): ExternalHost {
  const host = withEveryExporter(sampleStackConfig()).externalHosts.at(-1);
  if (!host) throw new Error("withEveryExporter adds no host");
  return host;
}

describe("client compose file", () => {
  const cases = hostsToCheck();

  it("covers the real stacks as well as the sample", () => {
    expect(listStackNames(ROOT).length).toBeGreaterThanOrEqual(2);
    expect(cases.length).toBeGreaterThan(3);
  });

  it.each(cases.map((c) => [c.label, c] as const))(
    "%s: runs the agents, the socket proxy and exactly the host's exporters",
    (_, c) => {
      const compose = composeOf(c.config, c.host);
      expect(compose.name).toBe("observability-agents");
      const expected = [
        "node-exporter",
        "process-exporter",
        "cadvisor",
        "alloy",
        "docker-socket-proxy",
        ...hostExporters(c.host).filter(runsContainer).map(exporterServiceName),
      ];
      expect(Object.keys(compose.services).sort()).toEqual([...new Set(expected)].sort());
    },
  );

  it.each(cases.map((c) => [c.label, c] as const))(
    "%s: pinned images, restart policy, rotated logs",
    (_, c) => {
      for (const [name, service] of Object.entries(composeOf(c.config, c.host).services)) {
        expect(isPinnedImage(service.image), `${name}: ${service.image}`).toBe(true);
        expect(service.restart, name).toBe("unless-stopped");
        expect(service.logging?.driver, name).toBe("json-file");
        expect(service.logging?.options["max-size"], name).toMatch(/^\d+[kmg]$/);
        expect(service.logging?.options["max-file"], name).toMatch(/^\d+$/);
      }
    },
  );

  it.each(cases.map((c) => [c.label, c] as const))(
    "%s: each service on its catalogue port, no clashes",
    (_, c) => {
      const services = composeOf(c.config, c.host).services;
      const ports = Object.values(services).flatMap(hostPorts);
      expect(new Set(ports).size).toBe(ports.length);
      const catalogue = new Set<number>([
        ...Object.values(AGENT_PORTS),
        ...hostExporters(c.host)
          .filter(runsContainer)
          .map((record) => record.port),
      ]);
      expect(new Set(ports)).toEqual(catalogue);
      expect(hostPorts(services.cadvisor as ComposeService)).toEqual([AGENT_PORTS.cadvisor]);
      expect(ports).not.toContain(8080);
      expect(ports).not.toContain(MONITOR_PORTS.loki);
    },
  );

  it.each(cases.map((c) => [c.label, c] as const))(
    "%s: credentials only as files the compose file points at",
    (_, c) => {
      const compose = composeOf(c.config, c.host);
      const yamlText = renderClientCompose(c.config, c.host);
      expect(yamlText).not.toMatch(/DATA_SOURCE_NAME|REDIS_PASSWORD:|MONGODB_PASSWORD|password=/i);
      const declared = compose.secrets ?? {};
      for (const [name, service] of Object.entries(compose.services)) {
        for (const secret of service.secrets ?? [])
          expect(declared[secret], `${name} uses ${secret}`).toBeDefined();
        for (const value of Object.values(service.environment ?? {})) {
          const mounted = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
          if (mounted) expect(service.secrets, `${name} reads ${value}`).toContain(mounted);
        }
        for (const file of service.env_file ?? []) expect(file).toMatch(/^\.\/secrets\//);
      }
      for (const { file } of Object.values(declared)) expect(file).toMatch(/^\.\/secrets\//);
    },
  );

  it("renders the same bytes every time and regardless of the order exporters are listed", () => {
    const config = sampleStackConfig();
    const host = config.clients[1] as ClientHost;
    const reversed: ClientHost = { ...host, exporters: [...host.exporters].reverse() };
    expect(renderClientCompose(config, host)).toBe(renderClientCompose(config, host));
    expect(renderClientCompose(config, reversed)).toBe(renderClientCompose(config, host));
  });

  it("gives each host its files: compose, Alloy config with its name, process-exporter config", () => {
    const config = sampleStackConfig();
    const host = config.clients[0] as ClientHost;
    const files = renderClientFiles(config, host, { monitorAddress: "10.42.1.5" });
    expect(Object.keys(files).sort()).toEqual(
      [ALLOY_CONFIG_FILE, COMPOSE_FILE, PROCESS_EXPORTER_CONFIG_FILE].sort(),
    );
    expect(files[ALLOY_CONFIG_FILE]).toContain(`host = "${host.name}"`);
    expect(files[ALLOY_CONFIG_FILE]).toContain(`environment = "${config.stack}"`);
    expect(files[ALLOY_CONFIG_FILE]).toContain("http://10.42.1.5:3101/loki/api/v1/push");
    // Files and directories a service mounts from the compose directory are filled by the files rendered.
    const compose = parse(files[COMPOSE_FILE] ?? "") as ComposeFile;
    const relativeMounts = Object.values(compose.services)
      .flatMap((service) => service.volumes ?? [])
      .filter((volume) => volume.startsWith("./"))
      .map((volume) => volume.slice(2).split(":")[0] as string);
    expect(relativeMounts.length).toBeGreaterThan(0);
    for (const mount of relativeMounts) {
      expect(
        Object.keys(files).some((path) => path === mount || path.startsWith(`${mount}/`)),
        mount,
      ).toBe(true);
    }
  });

  it("binds every agent of a host outside AWS to its loopback, whatever bind address is asked for", () => {
    const config = withEveryExporter(sampleStackConfig());
    const host = config.externalHosts.at(-1) as ExternalHost;
    const compose = parse(renderClientCompose(config, host, { bindAddress: "10.8.0.2" })) as ComposeFile;
    const mappings = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) expect(mapping.startsWith("127.0.0.1:"), mapping).toBe(true);
    const listening = Object.values(compose.services)
      .filter((service) => service.network_mode === "host")
      .flatMap((service) => service.command ?? [])
      .filter((arg) => /^--(?:web\.listen-address|server\.http\.listen-addr)=/.test(arg));
    expect(listening).toContain(`--web.listen-address=127.0.0.1:${AGENT_PORTS.nodeExporter}`);
    expect(listening).toContain(`--server.http.listen-addr=127.0.0.1:${AGENT_PORTS.alloy}`);
    for (const flag of listening) expect(flag, flag).toMatch(/=127\.0\.0\.1:\d+$/);
    // Alloy scrapes the agents on the host's loopback: it runs in the host's network, unpublished.
    expect(compose.services.alloy?.network_mode).toBe("host");
    expect(compose.services.alloy?.ports).toBeUndefined();
  });

  it("lets an EC2 client's agents bind to one address", () => {
    const config = sampleStackConfig();
    const host = config.clients[0] as ClientHost;
    const compose = parse(renderClientCompose(config, host, { bindAddress: "10.0.1.7" })) as ComposeFile;
    const mappings = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) expect(mapping.startsWith("10.0.1.7:"), mapping).toBe(true);
    expect(compose.services["node-exporter"]?.command).toContain(
      `--web.listen-address=10.0.1.7:${AGENT_PORTS.nodeExporter}`,
    );
  });

  it("mounts Alloy's config directory, so a config renamed into place is seen by a reload", () => {
    const config = sampleStackConfig();
    const compose = composeOf(config, config.clients[0] as ClientHost);
    const volumes = compose.services.alloy?.volumes ?? [];
    const [directory] = ALLOY_CONFIG_FILE.split("/");
    expect(volumes).toContain(`./${directory}:/etc/alloy:ro`);
    expect(volumes.some((volume) => volume.startsWith(`./${ALLOY_CONFIG_FILE}:`))).toBe(false);
    // The file Alloy loads is still the one the deploy writes, seen through the directory mount.
    expect(compose.services.alloy?.command).toEqual(alloyService().command);
    expect(compose.services.alloy?.command).toContain("/etc/alloy/config.alloy");
    expect(compose.services.alloy?.ports).toEqual([`0.0.0.0:${AGENT_PORTS.alloy}:${AGENT_PORTS.alloy}`]);
  });

  it("runs the agents and the socket proxy on a host that enables no exporter", () => {
    const config = sampleStackConfig();
    const host = { ...(config.clients[0] as ClientHost), exporters: [] };
    expect(Object.keys(composeOf(config, host).services).sort()).toEqual([
      "alloy",
      "cadvisor",
      "docker-socket-proxy",
      "node-exporter",
      "process-exporter",
    ]);
  });
});

describe("optional exporters' compose services", () => {
  const containerExporters = EXPORTERS.filter(runsContainer);
  const serviceOf = (record: ContainerExporter) =>
    exporterService(record, { hostSettings: exporterHostSettings(record, everyExporterHost()) });

  it("runs no container for an exporter whose service serves its own metrics", () => {
    const selfServed = EXPORTERS.filter((record) => !runsContainer(record));
    expect(selfServed.map((record) => record.name)).toEqual(["jenkins"]);
    for (const record of selfServed) {
      expect(exporterCredentialFiles(record)).toEqual([]);
      expect(record.upMetric).toBe("up");
    }
  });

  it.each(containerExporters.map((record) => [record.name, record] as const))(
    "%s: host network, listening on its record's port, on the bind address",
    (_, record) => {
      const service = serviceOf(record);
      expect(service.network_mode).toBe("host");
      expect(service.container_name).toBe(`${record.name}-exporter`);
      expect(service.command).toContain(`--web.listen-address=0.0.0.0:${record.port}`);
      const bound = exporterService(record, { bindAddress: "10.8.0.2", hostSettings: {} });
      expect(bound.command).toContain(`--web.listen-address=10.8.0.2:${record.port}`);
      expect(bound.command).not.toContain(`--web.listen-address=0.0.0.0:${record.port}`);
    },
  );

  it.each(containerExporters.map((record) => [record.name, record] as const))(
    "%s: every credential file it needs is listed for the deploy, owner-readable only",
    (_, record) => {
      const service = serviceOf(record);
      const files = exporterCredentialFiles(record);
      const referenced = [
        ...(service.secrets ?? []),
        ...(service.env_file ?? []).map((f) => f.replace(/^\.\//, "")),
      ];
      expect(referenced.sort()).toEqual(
        files.map((f) => (f.delivery === "env-file" ? f.path : f.name)).sort(),
      );
      for (const file of files) {
        expect(file.mode === "0400" || file.mode === "0600").toBe(true);
        expect(file.path.startsWith("secrets/")).toBe(true);
        // The Docker engine reads an env file as root; a mounted secret keeps its owner, the image's user.
        if (file.delivery === "env-file") expect(file.ownerUid).toBe(0);
        else expect(file.ownerUid).toBeGreaterThan(0);
      }
    },
  );

  it("reads database credentials from files where the exporter supports it", () => {
    const service = (name: string) => serviceOf(exporterRecord(name) as ContainerExporter);
    const postgres = service("postgres");
    expect(postgres.environment?.DATA_SOURCE_PASS_FILE).toBe("/run/secrets/postgres_exporter_password");
    expect(postgres.environment?.DATA_SOURCE_URI).not.toMatch(/@/);
    expect(service("mysql").command).toContain("--config.my-cnf=/run/secrets/mysqld_exporter_my_cnf");
    expect(service("redis").environment?.REDIS_PASSWORD_FILE).toBe("/run/secrets/redis_exporter_passwords");
    // percona/mongodb_exporter reads credentials from the environment only: an env_file, never inline.
    const mongodb = service("mongodb");
    expect(mongodb.env_file).toEqual(["./secrets/mongodb-exporter.env"]);
    expect(mongodb.environment?.MONGODB_URI).not.toMatch(/@/);
  });

  it("points the nginx exporter at the host's stub_status URL, its record's default unless set", () => {
    const nginx = exporterRecord("nginx") as ContainerExporter;
    const field = nginx.settings.hostFields?.find((candidate) => candidate.key === "nginxStatusUrl");
    expect(field?.default).toBe("http://127.0.0.1:8080/stub_status");
    expect(exporterHostSettings(nginx, everyExporterHost())).toEqual({ nginxStatusUrl: field?.default });
    expect(serviceOf(nginx).command).toContain(`--nginx.scrape-uri=${field?.default}`);
    expect(
      exporterService(nginx, { hostSettings: { nginxStatusUrl: "http://127.0.0.1:81/status" } }).command,
    ).toContain("--nginx.scrape-uri=http://127.0.0.1:81/status");
  });
});

describe("cAdvisor", () => {
  /** cAdvisor's metric kinds (container.MetricKind in its source); anything else stops it at startup. */
  const METRIC_KINDS = [
    "cpu",
    "sched",
    "percpu",
    "memory",
    "memory_numa",
    "cpuLoad",
    "diskIO",
    "disk",
    "network",
    "tcp",
    "advtcp",
    "udp",
    "app",
    "process",
    "hugetlb",
    "perf_event",
    "referenced_memory",
    "cpu_topology",
    "resctrl",
    "cpuset",
    "oom_event",
    "pressure",
  ];

  const cadvisorFlags = () => cadvisorService().command ?? [];
  const enabledKinds = () =>
    (cadvisorFlags().find((flag) => flag.startsWith("--enable_metrics=")) ?? "").split("=")[1]?.split(",") ??
    [];

  it("listens on its own port, Docker containers only", () => {
    expect(cadvisorFlags()).toContain(`--port=${AGENT_PORTS.cadvisor}`);
    for (const record of EXPORTERS) expect(AGENT_PORTS.cadvisor, record.name).not.toBe(record.port);
    expect(cadvisorFlags()).toContain("--docker_only=true");
  });

  it("collects exactly the kinds it names: CPU, memory, network, disk, disk I/O and OOM events", () => {
    const flags = cadvisorFlags();
    expect(flags).toContain("--enable_metrics=cpu,memory,network,disk,diskIO,oom_event");
    for (const kind of enabledKinds()) expect(METRIC_KINDS).toContain(kind);
    // --enable_metrics overrides --disable_metrics; both would only confuse the reader.
    expect(flags.filter((flag) => flag.startsWith("--disable_metrics"))).toEqual([]);
    // The kinds cAdvisor v0.60.5 leaves off by default (cmd/cadvisor.go ignoreMetrics) stay off.
    const defaultOff = ["memory_numa", "tcp", "udp", "advtcp", "sched", "process", "hugetlb"];
    const alsoDefaultOff = ["referenced_memory", "cpu_topology", "resctrl", "cpuset"];
    for (const kind of [...defaultOff, ...alsoDefaultOff]) {
      expect(enabledKinds()).not.toContain(kind);
    }
  });

  it("keeps the container labels the container alerts group by", () => {
    const exprs = containerRuleGroup("30s")
      .rules.map((rule) => rule.expr)
      .join("\n");
    const used = [...new Set(exprs.match(/container_label_[a-z_]+/g) ?? [])];
    expect(used.length).toBeGreaterThan(0);
    const kept = CADVISOR_KEPT_CONTAINER_LABELS.map(
      (label) => `container_label_${label.replace(/[^a-z0-9]/g, "_")}`,
    );
    for (const label of used) expect(kept).toContain(label);
  });
});
