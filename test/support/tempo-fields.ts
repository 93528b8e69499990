/**
 * The yaml field paths of Tempo's config that configs/tempo.ts may write, each one read from the
 * config structs at the pinned tag (grafana/tempo v2.10.8) with the file it is declared in. No
 * Tempo binary runs here: test/tempo.test.ts holds every key of the rendered tempo.yml to this
 * list, so a misspelt or moved key fails here instead of at Tempo's start-up (Tempo refuses
 * unknown keys). `distributor.receivers` is the OpenTelemetry Collector's receiver config, passed
 * through by Tempo (modules/distributor/receiver/shim.go); its OTLP keys are the collector's.
 */
export const TEMPO_CONFIG_FIELDS: Readonly<Record<string, string>> = {
  stream_over_http_enabled: "cmd/tempo/app/config.go",
  "server.http_listen_port": "dskit server.Config (vendor/github.com/grafana/dskit/server/server.go)",
  "server.grpc_listen_port": "dskit server.Config",
  "server.log_level": "dskit server.Config",
  "usage_report.reporting_enabled": "pkg/usagestats/config.go",
  "distributor.receivers.otlp.protocols.grpc.endpoint": "OTel collector otlpreceiver (receivers passthrough)",
  "distributor.receivers.otlp.protocols.http.endpoint": "OTel collector otlpreceiver (receivers passthrough)",
  "compactor.compaction.block_retention": "tempodb/config.go (CompactorConfig)",
  "metrics_generator.registry.external_labels": "modules/generator/registry/config.go",
  "metrics_generator.storage.path": "modules/generator/storage/config.go",
  "metrics_generator.storage.remote_write.url": "prometheus config.RemoteWriteConfig (vendored)",
  "metrics_generator.storage.remote_write.send_exemplars": "prometheus config.RemoteWriteConfig (vendored)",
  "metrics_generator.traces_storage.path": "modules/generator/config.go (wal.Config)",
  "overrides.defaults.metrics_generator.processors": "modules/overrides/config.go",
  "storage.trace.backend": "tempodb/config.go",
  "storage.trace.s3.bucket": "tempodb/backend/s3/config.go",
  "storage.trace.s3.prefix": "tempodb/backend/s3/config.go",
  "storage.trace.s3.endpoint": "tempodb/backend/s3/config.go",
  "storage.trace.s3.region": "tempodb/backend/s3/config.go",
  "storage.trace.wal.path": "tempodb/wal/wal.go (wal.Config)",
  "storage.trace.local.path": "tempodb/backend/local/config.go",
};

/** Maps whose keys are data (label names), not config fields. */
export const TEMPO_FREE_MAPS: readonly string[] = ["metrics_generator.registry.external_labels"];
