/**
 * Traces, structurally (no Tempo or Alloy binary here; docs/traces.md says what was not run):
 * nothing of it exists with traces off; every key of the rendered tempo.yml is a field of Tempo
 * v2.10.8's config structs (test/support/tempo-fields.ts); retention, bucket prefix and lifecycle
 * agree; the generator writes to a Prometheus that accepts remote write; the Alloy OTLP pipeline
 * is wired end to end, listens on the host's loopback only and forwards inside the VPC only; the
 * Tempo datasource's links resolve to provisioned datasource uids.
 */
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { alloyTraceStatements } from "../configs/agents/alloy-traces";
import { clientComposeFile } from "../configs/agents/client-compose";
import { renderDashboards } from "../configs/dashboards";
import { clientFiles, monitorFiles } from "../configs/host-files";
import { IMAGES, TEMPO_VERSION } from "../configs/images";
import { monitorComposeData } from "../configs/monitor-compose";
import { renderTempoConfig, TEMPO_SERVICE } from "../configs/tempo";
import { TEMPO_PREFIX, traceLifecyclePlan } from "../lib/retention";
import { parsePrometheusDuration } from "../lib/stack-config";
import { collectReferences, definedComponents } from "./support/alloy";
import { provisionedDatasources } from "./support/grafana-provisioning";
import { sampleStackConfig } from "./support/sample-config";
import { withReliability } from "./support/stacks";
import { TEMPO_CONFIG_FIELDS, TEMPO_FREE_MAPS } from "./support/tempo-fields";

const MONITOR_IP = "10.42.1.10";
const config = withReliability(
  sampleStackConfig({
    externalHosts: [
      { name: "lab-1", address: "198.51.100.7", sshUser: "ops", exporters: [], exporterSettings: {} },
    ],
  }),
);

/** Every leaf path of a YAML document (list items share their list's path). */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (TEMPO_FREE_MAPS.includes(prefix)) return [prefix];
  if (Array.isArray(value)) {
    const scalars = value.every((item) => typeof item !== "object" || item === null);
    return scalars ? [prefix] : value.flatMap((item) => leafPaths(item, prefix));
  }
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) =>
      leafPaths(inner, prefix ? `${prefix}.${key}` : key),
    );
  }
  return [prefix];
}

describe("traces off", () => {
  it("adds no Tempo, OTLP receiver, datasource, rule, dashboard or bucket rule", () => {
    const off = sampleStackConfig();
    expect(renderTempoConfig(off)).toBeUndefined();
    expect(monitorComposeData(off).services[TEMPO_SERVICE]).toBeUndefined();
    expect(Object.keys(monitorFiles(off)).filter((path) => /tempo|traces/.test(path))).toEqual([]);
    expect(provisionedDatasources(off).map((source) => source.type)).not.toContain("tempo");
    for (const files of [monitorFiles(off), clientFiles(off, off.clients[0] as never)]) {
      expect(files["alloy/config.alloy"]).not.toContain("otelcol");
    }
  });
});

describe("Tempo's config", () => {
  const tempo = YAML.parse(renderTempoConfig(config, { bucketName: "dev-loki-abc" }) ?? "");

  it("uses only fields of Tempo v2.10.8's config structs", () => {
    expect(IMAGES.tempo).toBe(`docker.io/grafana/tempo:${TEMPO_VERSION}`);
    expect(TEMPO_VERSION).toBe("2.10.8");
    const unknown = leafPaths(tempo).filter((path) => !(path in TEMPO_CONFIG_FIELDS));
    expect(unknown).toEqual([]);
  });

  it("keeps blocks in the Loki bucket under their own prefix for the configured retention, no keys", () => {
    expect(tempo.compactor.compaction.block_retention).toBe("7d");
    expect(tempo.storage.trace.backend).toBe("s3");
    expect(tempo.storage.trace.s3).toEqual({
      bucket: "dev-loki-abc",
      prefix: TEMPO_PREFIX.replace(/\/$/, ""),
      endpoint: `s3.${config.region}.amazonaws.com`,
      region: config.region,
    });
    const retentionMs = parsePrometheusDuration("7d") as number;
    const plan = traceLifecyclePlan(retentionMs);
    expect(plan.prefix).toBe(TEMPO_PREFIX);
    expect(plan.expireAfterDays * 86_400_000).toBeGreaterThan(retentionMs);
    expect(traceLifecyclePlan(parsePrometheusDuration("36h") as number).expireAfterDays).toBe(3);
  });

  it("writes WAL and generator data under the data directory the data volume backs", () => {
    const service = monitorComposeData(config).services[TEMPO_SERVICE];
    expect(service?.volumes).toContain("/srv/observability/tempo:/var/tempo");
    for (const path of [
      tempo.storage.trace.wal.path,
      tempo.storage.trace.local.path,
      tempo.metrics_generator.storage.path,
      tempo.metrics_generator.traces_storage.path,
    ]) {
      expect(path.startsWith("/var/tempo/")).toBe(true);
    }
  });

  it("remote-writes generator metrics to Prometheus, which accepts remote write only with traces on", () => {
    expect(tempo.metrics_generator.storage.remote_write).toEqual([
      { url: "http://prometheus:9090/api/v1/write", send_exemplars: true },
    ]);
    expect(tempo.overrides.defaults.metrics_generator.processors).toEqual([
      "service-graphs",
      "span-metrics",
      "local-blocks",
    ]);
    expect(monitorComposeData(config).services.prometheus?.command).toContain(
      "--web.enable-remote-write-receiver",
    );
    // Without traces the receiver is on only for hosts outside AWS (they push their metrics).
    expect(
      monitorComposeData(sampleStackConfig({ externalHosts: [] })).services.prometheus?.command,
    ).not.toContain("--web.enable-remote-write-receiver");
  });

  it("takes OTLP on the monitor's VPC address only; its query port stays on the compose network", () => {
    const service = monitorComposeData(config, { deployInfo: { monitorPrivateIp: MONITOR_IP } }).services[
      TEMPO_SERVICE
    ];
    expect(service?.ports).toEqual([`${MONITOR_IP}:4317:4317`, `${MONITOR_IP}:4318:4318`]);
    expect(service?.image).toBe(IMAGES.tempo);
  });
});

describe("Alloy's OTLP pipeline", () => {
  const client = config.clients[0] as (typeof config.clients)[number];
  const external = config.externalHosts[0] as (typeof config.externalHosts)[number];

  it("is wired receiver -> attributes -> batch -> exporter, every reference defined", () => {
    const statements = alloyTraceStatements("web-1", `${MONITOR_IP}:4317`);
    const defined = new Set(definedComponents(statements));
    expect([...defined]).toEqual([
      "otelcol.receiver.otlp.host",
      "otelcol.processor.attributes.host",
      "otelcol.processor.batch.default",
      "otelcol.exporter.otlp.tempo",
    ]);
    for (const reference of collectReferences(statements)) {
      expect(defined.has(reference.replace(/\.input$/, "")), reference).toBe(true);
    }
  });

  it("forwards from an EC2 client to Tempo's VPC address and sets the host attribute", () => {
    const alloy = clientFiles(config, client, { monitorPrivateIp: MONITOR_IP })["alloy/config.alloy"] ?? "";
    expect(alloy).toContain(`endpoint = "${MONITOR_IP}:4317"`);
    expect(alloy).toContain(`key = "host.name"`);
    expect(alloy).toContain(`value = "${client.name}"`);
    const monitorAlloy = monitorFiles(config)["alloy/config.alloy"] ?? "";
    expect(monitorAlloy).toContain('endpoint = "tempo:4317"');
  });

  it("listens on the host's loopback only, and not at all on hosts outside AWS", () => {
    const ports = clientComposeFile(config, client).services.alloy?.ports ?? [];
    expect(ports.filter((port) => /431[78]/.test(port))).toEqual([
      "127.0.0.1:4317:4317",
      "127.0.0.1:4318:4318",
    ]);
    const externalPorts = clientComposeFile(config, external).services.alloy?.ports ?? [];
    expect(externalPorts.filter((port) => /431[78]/.test(port))).toEqual([]);
    expect(clientFiles(config, external)["alloy/config.alloy"]).not.toContain("otelcol");
  });
});

describe("Grafana", () => {
  it("links traces to logs and metrics through provisioned datasource uids", () => {
    const sources = provisionedDatasources(config) as unknown as {
      uid: string;
      type: string;
      jsonData: never;
    }[];
    const uids = new Set(sources.map((source) => source.uid));
    const tempo = sources.find((source) => source.type === "tempo") as unknown as {
      type: string;
      url: string;
      jsonData: Record<string, { datasourceUid?: string; tags?: { key: string; value: string }[] }>;
    };
    expect(tempo.type).toBe("tempo");
    expect(tempo.url).toBe("http://tempo:3200");
    const linked = Object.values(tempo.jsonData)
      .map((entry) => entry.datasourceUid)
      .filter((uid): uid is string => uid !== undefined);
    expect(linked.sort()).toEqual(["loki", "loki", "prometheus", "prometheus"]);
    for (const uid of linked) expect(uids.has(uid), uid).toBe(true);
    // Logs by host and by compose service: labels Alloy sets on every Docker stream.
    expect(tempo.jsonData.tracesToLogsV2?.tags).toEqual([
      { key: "host.name", value: "host" },
      { key: "service.name", value: "compose_service" },
    ]);
  });

  it("provisions the traces dashboard only with traces on", () => {
    expect(Object.keys(renderDashboards(config))).toContain("traces.json");
    expect(Object.keys(renderDashboards(sampleStackConfig()))).not.toContain("traces.json");
  });
});
