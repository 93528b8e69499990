/**
 * Loki's single-binary config for the monitor, written for the Loki release pinned in images.ts.
 *
 * Storage client: Loki 3.7 still reads the long-standing S3 client (`common.storage.s3`, the same
 * block as `storage_config.aws`). The Thanos object-store client (`use_thanos_objstore: true`
 * with `storage_config.object_store.s3`) is opt-in in 3.x; main is making it the only client for
 * 4.0, where the legacy block is ignored. We pin 3.7.x and write the legacy block, which is the
 * default and documented path for this version; test/loki.test.ts fails on a Loki 4 image so the
 * bump cannot happen without rewriting the storage block (see docs/render.md).
 *
 * Credentials: none in the file. With no keys set, the AWS SDK's default chain finds the monitor's
 * instance profile (through IMDSv2, hop limit 2 so containers on the bridge network reach it).
 *
 * Bucket layout, which the bucket's lifecycle rule depends on (lib/retention.ts):
 *   `index/`       TSDB index tables (`path_prefix` below), never expired by lifecycle;
 *   `fake/...`     chunks of the only tenant (`auth_enabled: false` means tenant "fake").
 */
import YAML from "yaml";
import { MONITOR_PORTS } from "../lib/catalog";
import { LOKI_INDEX_PREFIX, LOKI_TENANT, lokiRetentionPeriod } from "../lib/retention";
import type { StackConfig } from "../lib/stack-config";
import { LOKI_VERSION } from "./images";

/** Where the compose file mounts the config directory and the data volume in the Loki container. */
export const LOKI_CONFIG_DIR = "/etc/loki";
export const LOKI_CONFIG_PATH = `${LOKI_CONFIG_DIR}/loki.yml`;
export const LOKI_DATA_DIR = "/loki";

/**
 * Loki's runtime configuration: a file Loki re-reads every LOKI_RUNTIME_RELOAD_PERIOD, holding the
 * limits sized by host count (lokiLimits) as overrides for our tenant. It sits in its own
 * subdirectory of the config directory, which compose mounts as a directory, so a file renamed
 * into place is seen; the deploy installs it as a step of its own that needs no restart, and
 * loki.yml itself never depends on how many hosts there are.
 */
export const LOKI_RUNTIME_SUBDIR = "runtime";
export const LOKI_RUNTIME_FILE_NAME = "overrides.yaml";
const LOKI_RUNTIME_CONFIG_PATH = `${LOKI_CONFIG_DIR}/${LOKI_RUNTIME_SUBDIR}/${LOKI_RUNTIME_FILE_NAME}`;
const LOKI_RUNTIME_RELOAD_PERIOD = "10s";

/** Shown in rendered files when the bucket is created later by `pulumi up`. */
const LOKI_BUCKET_PLACEHOLDER = "<loki-bucket-name: known after pulumi up>";

/**
 * First day of the only schema period. A fixed date in the past: changing it later would orphan
 * the index written under the old period, so it never moves (add a new period instead).
 */
const LOKI_SCHEMA_START = "2025-01-01";

/** Compactor timings; the lifecycle safety net must expire chunks after all of this has passed. */
const LOKI_COMPACTION_INTERVAL = "10m";
const LOKI_RETENTION_DELETE_DELAY = "2h";

/**
 * Fleet sizing. Per host: Docker containers plus /var/log files and the journal, each split by
 * level, stay well under 500 streams; 1 MB/s sustained covers a busy host. Floors are Loki's
 * own defaults so a tiny fleet never gets less than stock Loki.
 */
const STREAMS_PER_HOST = 500;
const MIN_STREAMS = 5000;
const INGESTION_MB_PER_HOST = 1;
const MIN_INGESTION_MB = 4;

export type LokiStorage = "s3" | "filesystem";

export interface LokiOptions {
  /** `s3` for the AWS monitor; `filesystem` for a host without a bucket. Default `s3`. */
  readonly storage?: LokiStorage;
  /** The bucket's name once it exists; the placeholder otherwise. */
  readonly bucketName?: string;
}

/** Hosts sending logs: the monitor itself, every client and every host outside AWS. */
function loggingHostCount(config: StackConfig): number {
  return 1 + config.clients.length + config.externalHosts.length;
}

export interface LokiLimits {
  readonly ingestionRateMb: number;
  readonly ingestionBurstSizeMb: number;
  readonly maxGlobalStreamsPerUser: number;
}

/** The floors alone: what loki.yml gives every tenant before the runtime overrides apply. */
const LOKI_BASE_LIMITS: LokiLimits = limitsFor(0);

function lokiLimits(config: StackConfig): LokiLimits {
  return limitsFor(loggingHostCount(config));
}

function limitsFor(hosts: number): LokiLimits {
  const ingestionRateMb = Math.max(MIN_INGESTION_MB, hosts * INGESTION_MB_PER_HOST);
  return {
    ingestionRateMb,
    // Twice the rate absorbs a host catching up after a restart without dropping lines.
    ingestionBurstSizeMb: ingestionRateMb * 2,
    maxGlobalStreamsPerUser: Math.max(MIN_STREAMS, hosts * STREAMS_PER_HOST),
  };
}

function storageBlock(config: StackConfig, storage: LokiStorage, bucketName: string | undefined) {
  if (storage === "filesystem") {
    return {
      filesystem: {
        chunks_directory: `${LOKI_DATA_DIR}/chunks`,
        rules_directory: `${LOKI_DATA_DIR}/rules`,
      },
    };
  }
  return {
    s3: {
      region: config.region,
      bucketnames: bucketName ?? LOKI_BUCKET_PLACEHOLDER,
      // Virtual-hosted style is what AWS S3 expects; path style is for MinIO and friends.
      s3forcepathstyle: false,
      insecure: false,
    },
  };
}

/** The config as data, for tests and for callers that want to inspect it. */
function lokiConfigData(config: StackConfig, options: LokiOptions = {}) {
  const storage = options.storage ?? "s3";
  return {
    // Single tenant. Loki is on the compose network only; outside hosts reach its push path
    // alone, through the authenticating gateway (configs/gateway.ts).
    auth_enabled: false,
    server: {
      http_listen_port: MONITOR_PORTS.loki,
      grpc_listen_port: 9096,
      log_level: "info",
    },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: LOKI_DATA_DIR,
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
      storage: storageBlock(config, storage, options.bucketName),
    },
    schema_config: {
      configs: [
        {
          from: LOKI_SCHEMA_START,
          store: "tsdb",
          object_store: storage,
          schema: "v13",
          index: { path_prefix: LOKI_INDEX_PREFIX, prefix: "index_", period: "24h" },
        },
      ],
    },
    storage_config: {
      tsdb_shipper: {
        active_index_directory: `${LOKI_DATA_DIR}/tsdb-index`,
        cache_location: `${LOKI_DATA_DIR}/tsdb-cache`,
      },
    },
    ingester: {
      // The WAL lives on the data volume so a restart replays what was not yet flushed.
      wal: { enabled: true, dir: `${LOKI_DATA_DIR}/wal` },
    },
    compactor: {
      working_directory: `${LOKI_DATA_DIR}/compactor`,
      compaction_interval: LOKI_COMPACTION_INTERVAL,
      retention_enabled: true,
      retention_delete_delay: LOKI_RETENTION_DELETE_DELAY,
      retention_delete_worker_count: 150,
      delete_request_store: storage,
    },
    // Alert and recording rules for logs are not used; keep the ruler off the bucket.
    ruler: {
      storage: { type: "local", local: { directory: `${LOKI_DATA_DIR}/rules` } },
      rule_path: `${LOKI_DATA_DIR}/rules-temp`,
    },
    // Re-read while Loki runs: the fleet-sized limits for our tenant (lokiRuntimeConfigData).
    runtime_config: { file: LOKI_RUNTIME_CONFIG_PATH, period: LOKI_RUNTIME_RELOAD_PERIOD },
    // Defaults for every tenant: the floors only, so this file does not change with the host
    // count; the runtime overrides raise them, and fields they leave out keep these values.
    limits_config: {
      retention_period: lokiRetentionPeriod(config.logs.retentionDays),
      // With retention on, Loki's default would let any caller delete logs through the API.
      deletion_mode: config.logs.deletionEnabled ? "filter-and-delete" : "disabled",
      ingestion_rate_mb: LOKI_BASE_LIMITS.ingestionRateMb,
      ingestion_burst_size_mb: LOKI_BASE_LIMITS.ingestionBurstSizeMb,
      max_global_streams_per_user: LOKI_BASE_LIMITS.maxGlobalStreamsPerUser,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
      allow_structured_metadata: true,
      volume_enabled: true,
    },
    query_range: {
      results_cache: { cache: { embedded_cache: { enabled: true, max_size_mb: 100 } } },
    },
    analytics: { reporting_enabled: false },
  };
}

export function renderLokiConfig(config: StackConfig, options: LokiOptions = {}): string {
  const document = new YAML.Document(lokiConfigData(config, options));
  document.commentBefore = ` Loki ${LOKI_VERSION} single binary for stack "${config.stack}". Rendered by configs/loki.ts; edit the code, not this file.`;
  return document.toString({ lineWidth: 0 });
}

/** The runtime configuration as data: the fleet-sized limits as overrides for our one tenant. */
function lokiRuntimeConfigData(config: StackConfig) {
  const limits = lokiLimits(config);
  return {
    overrides: {
      [LOKI_TENANT]: {
        ingestion_rate_mb: limits.ingestionRateMb,
        ingestion_burst_size_mb: limits.ingestionBurstSizeMb,
        max_global_streams_per_user: limits.maxGlobalStreamsPerUser,
      },
    },
  };
}

export function renderLokiRuntimeConfig(config: StackConfig): string {
  const document = new YAML.Document(lokiRuntimeConfigData(config));
  document.commentBefore = ` Loki runtime overrides for stack "${config.stack}" (${loggingHostCount(config)} hosts sending logs), re-read every ${LOKI_RUNTIME_RELOAD_PERIOD}. Rendered by configs/loki.ts; edit the code, not this file.`;
  return document.toString({ lineWidth: 0 });
}

/** Container command: the rendered file only. No `-config.expand-env`: nothing in it is env. */
export function lokiFlags(): string[] {
  return [`-config.file=${LOKI_CONFIG_PATH}`, "-target=all"];
}
