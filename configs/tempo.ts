/**
 * Grafana Tempo on the monitor, only when the stack turns traces on: its config (single binary,
 * blocks in the Loki bucket under their own prefix, WAL and generator data on the data volume,
 * the metrics generator writing span and service-graph metrics to Prometheus) and its compose
 * service. Written for the pinned TEMPO_VERSION (configs/images.ts; 3.x reworks the write path): every key is a yaml field of that tag's config
 * structs (cmd/tempo/app/config.go and the modules' configs). No Tempo binary runs here, so the
 * file is checked structurally (test/tempo.test.ts) and the docs say so.
 */
import { stringify } from "yaml";
import { MONITOR_PORTS } from "../lib/catalog";
import { TEMPO_PREFIX } from "../lib/retention";
import type { StackConfig } from "../lib/stack-config";

export const TEMPO_SERVICE = "tempo";
export const TEMPO_PORTS = {
  /** Query API (Grafana) and /metrics (Prometheus), on the compose network only. */
  http: 3200,
  grpc: 9095,
  otlpGrpc: 4317,
  otlpHttp: 4318,
} as const;
export const TEMPO_CONFIG_DIR = "/etc/tempo";
const TEMPO_CONFIG_FILE = `${TEMPO_CONFIG_DIR}/tempo.yml`;
/** Tempo's working directory in the container, on the monitor's data volume. */
export const TEMPO_DATA_DIR = "/var/tempo";

export interface TempoRenderOptions {
  /** The Loki bucket's name; a placeholder before deployment. */
  readonly bucketName?: string;
  /** Where the generator remote-writes (Prometheus by compose name). */
  readonly prometheusUrl?: string;
}

const TEMPO_BUCKET_PLACEHOLDER = "LOKI_BUCKET_KNOWN_AFTER_DEPLOY";

/** tempo.yml; undefined when traces are off. */
export function renderTempoConfig(config: StackConfig, options: TempoRenderOptions = {}): string | undefined {
  if (config.traces === undefined) return undefined;
  const prometheusUrl = options.prometheusUrl ?? `http://prometheus:${MONITOR_PORTS.prometheus}`;
  const document = {
    stream_over_http_enabled: true,
    server: { http_listen_port: TEMPO_PORTS.http, grpc_listen_port: TEMPO_PORTS.grpc, log_level: "info" },
    // No anonymous usage report leaves the monitor.
    usage_report: { reporting_enabled: false },
    distributor: {
      receivers: {
        otlp: {
          protocols: {
            grpc: { endpoint: `0.0.0.0:${TEMPO_PORTS.otlpGrpc}` },
            http: { endpoint: `0.0.0.0:${TEMPO_PORTS.otlpHttp}` },
          },
        },
      },
    },
    compactor: { compaction: { block_retention: config.traces.retention } },
    metrics_generator: {
      registry: { external_labels: { source: "tempo", environment: config.stack } },
      storage: {
        path: `${TEMPO_DATA_DIR}/generator/wal`,
        remote_write: [{ url: `${prometheusUrl}/api/v1/write`, send_exemplars: true }],
      },
      traces_storage: { path: `${TEMPO_DATA_DIR}/generator/traces` },
    },
    overrides: {
      defaults: { metrics_generator: { processors: ["service-graphs", "span-metrics", "local-blocks"] } },
    },
    storage: {
      trace: {
        backend: "s3",
        // No keys: the S3 client takes the monitor's instance role (IMDSv2, hop limit 2).
        s3: {
          bucket: options.bucketName ?? TEMPO_BUCKET_PLACEHOLDER,
          prefix: TEMPO_PREFIX.replace(/\/$/, ""),
          endpoint: `s3.${config.region}.amazonaws.com`,
          region: config.region,
        },
        wal: { path: `${TEMPO_DATA_DIR}/wal` },
        local: { path: `${TEMPO_DATA_DIR}/blocks` },
      },
    },
  };
  return stringify(document, { lineWidth: 0 });
}

export function tempoFlags(): string[] {
  return [`-config.file=${TEMPO_CONFIG_FILE}`];
}
