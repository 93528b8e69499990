/**
 * Structural tests for the Loki config. There is no Loki binary here (see docs/render.md), so
 * the rendered YAML is parsed back and its invariants checked, including the contract with the
 * bucket's lifecycle rule.
 */
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { IMAGES, LOKI_VERSION } from "../configs/images";
import {
  LOKI_CONFIG_DIR,
  LOKI_DATA_DIR,
  LOKI_RUNTIME_FILE_NAME,
  LOKI_RUNTIME_SUBDIR,
  lokiFlags,
  renderLokiConfig,
  renderLokiRuntimeConfig,
} from "../configs/loki";
import { LOKI_INDEX_PREFIX, lokiLifecyclePlan, lokiRetentionPeriod } from "../lib/retention";
import type { ClientHost } from "../lib/stack-config";
import { sampleStackConfig } from "./support/sample-config";

/** What rendered files show for the bucket before `pulumi up` has created it. */
const BUCKET_PLACEHOLDER = "<loki-bucket-name: known after pulumi up>";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

function parse(text: string): Parsed {
  return YAML.parse(text);
}

/** Loki/Prometheus duration ("720h", "2h", "10m", "30s") in seconds. */
function seconds(duration: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(duration);
  if (!match) throw new Error(`unexpected duration ${duration}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** Every key path in a parsed document, e.g. `common.storage.s3.region`. */
function keyPaths(value: Parsed, prefix = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...keyPaths(child, path)];
  });
}

function stringValues(value: Parsed): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(stringValues);
}

function client(name: string): ClientHost {
  return {
    name,
    instanceType: "t3.micro",
    architecture: "x86_64",
    rootVolumeGb: 16,
    exporters: [],
    exporterSettings: {},
  };
}

/**
 * Loki's tenant when `auth_enabled: false` is the literal "fake" (Loki's no-auth tenant id).
 * Written out here, not imported, so a change to lib/retention's LOKI_TENANT is caught.
 */
const LOKI_NO_AUTH_TENANT = "fake";

describe("renderLokiConfig (S3)", () => {
  const config = sampleStackConfig();
  const loki = parse(renderLokiConfig(config, { storage: "s3", bucketName: "obs-test-logs-abc123" }));

  it("is a single-binary, single-tenant config with usage reporting off", () => {
    expect(loki.auth_enabled).toBe(false);
    expect(loki.common.replication_factor).toBe(1);
    expect(loki.common.ring.kvstore.store).toBe("inmemory");
    expect(loki.analytics.reporting_enabled).toBe(false);
    expect(loki.server.http_listen_port).toBe(3100);
  });

  it("uses one TSDB period on schema v13 with a 24h index period", () => {
    expect(loki.schema_config.configs).toHaveLength(1);
    const [period] = loki.schema_config.configs;
    expect(period.store).toBe("tsdb");
    expect(period.schema).toBe("v13");
    expect(period.object_store).toBe("s3");
    expect(period.index.period).toBe("24h");
    expect(period.from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("points at the bucket in the stack's region", () => {
    expect(loki.common.storage.s3.region).toBe("eu-west-1");
    expect(loki.common.storage.s3.bucketnames).toBe("obs-test-logs-abc123");
    expect(loki.common.storage.s3.s3forcepathstyle).toBe(false);
  });

  it("uses a clear placeholder, not env expansion, when the bucket is not known yet", () => {
    const rendered = renderLokiConfig(config, { storage: "s3" });
    expect(parse(rendered).common.storage.s3.bucketnames).toBe(BUCKET_PLACEHOLDER);
    expect(rendered).not.toContain("${");
    expect(lokiFlags().join(" ")).not.toContain("expand-env");
  });

  it("carries no credentials: the instance profile is found by the default chain", () => {
    const forbidden = /access_key|secret|session_token|password|credential/i;
    expect(keyPaths(loki).filter((path) => forbidden.test(path))).toEqual([]);
    expect(stringValues(loki).filter((value) => /AKIA|ASIA/.test(value))).toEqual([]);
  });

  it("enables compactor retention equal to the stack's log retention, deletes tracked in S3", () => {
    expect(loki.compactor.retention_enabled).toBe(true);
    expect(loki.compactor.delete_request_store).toBe("s3");
    expect(loki.limits_config.retention_period).toBe(lokiRetentionPeriod(30));
    expect(seconds(loki.limits_config.retention_period)).toBe(30 * 86400);
    for (const days of [1, 7, 90]) {
      const other = parse(
        renderLokiConfig(sampleStackConfig({ logs: { ...sampleStackConfig().logs, retentionDays: days } })),
      );
      expect(seconds(other.limits_config.retention_period)).toBe(days * 86400);
    }
  });

  it("keeps every local path (compactor, WAL, index) on the data volume", () => {
    const localPaths = [
      loki.common.path_prefix,
      loki.compactor.working_directory,
      loki.ingester.wal.dir,
      loki.storage_config.tsdb_shipper.active_index_directory,
      loki.storage_config.tsdb_shipper.cache_location,
    ];
    for (const path of localPaths) {
      expect(path === LOKI_DATA_DIR || path.startsWith(`${LOKI_DATA_DIR}/`)).toBe(true);
    }
  });

  it("rejects old samples and caps streams", () => {
    expect(loki.limits_config.reject_old_samples).toBe(true);
    expect(seconds(loki.limits_config.reject_old_samples_max_age)).toBeGreaterThan(0);
    expect(loki.limits_config.max_global_streams_per_user).toBeGreaterThan(0);
    expect(loki.limits_config.ingestion_burst_size_mb).toBeGreaterThanOrEqual(
      loki.limits_config.ingestion_rate_mb,
    );
  });

  it("does not change with the number of hosts: the fleet-sized limits live in the runtime file", () => {
    const manyClients = Array.from({ length: 40 }, (_, index) => client(`app-${index}`));
    const none = renderLokiConfig(sampleStackConfig({ clients: [], externalHosts: [] }));
    expect(renderLokiConfig(sampleStackConfig({ clients: manyClients }))).toBe(none);
    // Stock Loki's own defaults (4 MB/s, 5000 streams) for every tenant until the overrides apply.
    expect(parse(none).limits_config.ingestion_rate_mb).toBe(4);
    expect(parse(none).limits_config.max_global_streams_per_user).toBe(5000);
  });

  it("re-reads the runtime file from its own directory under the mounted config directory", () => {
    expect(loki.runtime_config.file).toBe(
      `${LOKI_CONFIG_DIR}/${LOKI_RUNTIME_SUBDIR}/${LOKI_RUNTIME_FILE_NAME}`,
    );
    expect(LOKI_RUNTIME_SUBDIR).not.toContain("/");
    expect(seconds(loki.runtime_config.period)).toBeGreaterThan(0);
    expect(seconds(loki.runtime_config.period)).toBeLessThanOrEqual(60);
  });
});

describe("renderLokiRuntimeConfig", () => {
  const runtimeOf = (config: ReturnType<typeof sampleStackConfig>) => parse(renderLokiRuntimeConfig(config));
  const tenantOf = (config: ReturnType<typeof sampleStackConfig>) =>
    runtimeOf(config).overrides[LOKI_NO_AUTH_TENANT];

  it("holds overrides for Loki's no-auth tenant only, in Loki's per-tenant limit fields", () => {
    const runtime = runtimeOf(sampleStackConfig());
    expect(Object.keys(runtime)).toEqual(["overrides"]);
    expect(Object.keys(runtime.overrides)).toEqual([LOKI_NO_AUTH_TENANT]);
    expect(Object.keys(runtime.overrides[LOKI_NO_AUTH_TENANT]).sort()).toEqual([
      "ingestion_burst_size_mb",
      "ingestion_rate_mb",
      "max_global_streams_per_user",
    ]);
  });

  it("caps streams and lets bursts exceed the rate", () => {
    const tenant = tenantOf(sampleStackConfig());
    expect(tenant.max_global_streams_per_user).toBeGreaterThan(0);
    expect(tenant.ingestion_burst_size_mb).toBeGreaterThanOrEqual(tenant.ingestion_rate_mb);
  });

  it("sizes ingestion and stream limits with the fleet", () => {
    const small = tenantOf(sampleStackConfig({ clients: [], externalHosts: [] }));
    const manyClients = Array.from({ length: 40 }, (_, index) => client(`app-${index}`));
    const large = tenantOf(sampleStackConfig({ clients: manyClients, externalHosts: [] }));
    expect(large.ingestion_rate_mb).toBeGreaterThan(small.ingestion_rate_mb);
    expect(large.max_global_streams_per_user).toBeGreaterThan(small.max_global_streams_per_user);
    // 41 hosts (the monitor too): 1 MB/s and 500 streams each.
    expect(large.ingestion_rate_mb).toBe(41);
    expect(large.max_global_streams_per_user).toBe(41 * 500);
    // Never below stock Loki (4 MB/s, 5000 streams) for a one-host fleet.
    expect(small.ingestion_rate_mb).toBeGreaterThanOrEqual(4);
    expect(small.max_global_streams_per_user).toBeGreaterThanOrEqual(5000);
  });
});

describe("Loki layout and the bucket's lifecycle rule", () => {
  for (const retentionDays of [1, 7, 30, 365]) {
    it(`agree for ${retentionDays} day(s) of retention`, () => {
      const loki = parse(
        renderLokiConfig(sampleStackConfig({ logs: { ...sampleStackConfig().logs, retentionDays } })),
      );
      const plan = lokiLifecyclePlan(retentionDays);
      const [period] = loki.schema_config.configs;

      // Chunks of the single tenant are written under "<tenant>/": that is what the rule expires.
      expect(loki.auth_enabled).toBe(false);
      expect(plan.chunkPrefix).toBe(`${LOKI_NO_AUTH_TENANT}/`);

      // The index lives under its own prefix, which the rule's prefix never covers.
      const indexPrefix: string = period.index.path_prefix;
      expect(indexPrefix).toBe(LOKI_INDEX_PREFIX);
      expect(indexPrefix.startsWith(plan.chunkPrefix)).toBe(false);
      expect(plan.chunkPrefix.startsWith(indexPrefix)).toBe(false);
      expect(plan.chunkPrefix).not.toBe("");

      // The rule expires chunks only after the compactor would have deleted them itself.
      const compactorDeletesBy =
        seconds(loki.limits_config.retention_period) +
        seconds(loki.compactor.retention_delete_delay) +
        seconds(loki.compactor.compaction_interval);
      expect(plan.expireChunksAfterDays * 86400).toBeGreaterThanOrEqual(compactorDeletesBy);
      expect(plan.abortIncompleteMultipartAfterDays).toBeGreaterThanOrEqual(1);
    });
  }
});

describe("renderLokiConfig (filesystem)", () => {
  const text = renderLokiConfig(sampleStackConfig(), { storage: "filesystem" });
  const loki = parse(text);

  it("stores chunks on the data volume and mentions no bucket", () => {
    expect(loki.common.storage.filesystem.chunks_directory.startsWith(`${LOKI_DATA_DIR}/`)).toBe(true);
    expect(loki.common.storage.s3).toBeUndefined();
    expect(loki.schema_config.configs[0].object_store).toBe("filesystem");
    expect(loki.compactor.delete_request_store).toBe("filesystem");
    expect(text).not.toContain(BUCKET_PLACEHOLDER);
    expect(text).not.toMatch(/bucket/i);
  });

  it("keeps retention, schema and limits identical to the S3 variant", () => {
    const s3 = parse(renderLokiConfig(sampleStackConfig(), { storage: "s3", bucketName: "b" }));
    expect(loki.limits_config).toEqual(s3.limits_config);
    expect(loki.schema_config.configs[0].schema).toBe(s3.schema_config.configs[0].schema);
    expect(loki.compactor.retention_enabled).toBe(true);
  });
});

describe("Loki version pin", () => {
  it("is a 3.x release, the line whose S3 client this config is written for", () => {
    // Loki 4 drops the legacy S3 block in favour of the Thanos object-store client: bumping the
    // image past 3.x must come with a rewritten storage block (docs/render.md).
    expect(LOKI_VERSION.split(".")[0]).toBe("3");
    expect(IMAGES.loki.endsWith(`:${LOKI_VERSION}`)).toBe(true);
  });

  it("renders the same bytes every time", () => {
    const config = sampleStackConfig();
    expect(renderLokiConfig(config, { bucketName: "b" })).toBe(renderLokiConfig(config, { bucketName: "b" }));
  });
});

describe("Loki's delete API", () => {
  it("is disabled unless logDeletionEnabled turns it on", () => {
    const off = parse(renderLokiConfig(sampleStackConfig()));
    expect(off.limits_config.deletion_mode).toBe("disabled");
    const on = parse(
      renderLokiConfig(sampleStackConfig({ logs: { ...sampleStackConfig().logs, deletionEnabled: true } })),
    );
    expect(on.limits_config.deletion_mode).toBe("filter-and-delete");
  });
});
