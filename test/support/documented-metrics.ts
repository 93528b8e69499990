/**
 * Metrics the dashboards read from programs other than the node exporter, process exporter,
 * Prometheus and Alertmanager (cAdvisor, Loki, Alloy, Grafana, and the optional exporters, whose
 * lists are part of their records), with their own labels and where each name is documented for
 * the version pinned in configs/images.ts. Of
 * those only the nginx, PostgreSQL, MySQL and Redis exporters run here
 * (test/exporter-services.test.ts). The dashboard tests hold every query to these lists;
 * series of the programs that do run here (node and process exporter, Prometheus, Alertmanager)
 * are checked against the real binaries instead, and are listed only where a query of those
 * programs also reads a metric of this list.
 */
import { CADVISOR_KEPT_CONTAINER_LABELS } from "../../configs/agents/cadvisor";
import { EXPORTERS } from "../../configs/exporters";
import type { ExporterRecord } from "../../configs/exporters/types";

const CADVISOR_DOC = "https://github.com/google/cadvisor/blob/v0.60.5/docs/storage/prometheus.md";

const CADVISOR_BASE_LABELS = [
  "id",
  "name",
  "image",
  ...CADVISOR_KEPT_CONTAINER_LABELS.map((label) => `container_label_${label.replace(/[^a-zA-Z0-9]/g, "_")}`),
];

/** A metric's own labels and where it is documented, as exporter records list theirs. */
export type DocumentedMetric = ExporterRecord["metrics"][string];

export interface CadvisorMetric extends DocumentedMetric {
  /** The metric kind (`--enable_metrics`) that gates it (none: always exported). */
  readonly kind?: string;
}

const cadvisor = (kind: string | undefined, extraLabels: readonly string[] = []): CadvisorMetric => ({
  ...(kind ? { kind } : {}),
  labels: [...CADVISOR_BASE_LABELS, ...extraLabels],
  source: CADVISOR_DOC,
});

/** cAdvisor v0.60.5 container metrics the containers dashboard reads. */
export const CADVISOR_METRICS: Readonly<Record<string, CadvisorMetric>> = {
  container_last_seen: cadvisor(undefined),
  container_start_time_seconds: cadvisor(undefined),
  container_spec_memory_limit_bytes: cadvisor(undefined),
  container_cpu_usage_seconds_total: cadvisor("cpu", ["cpu"]),
  // The CFS counters belong to the cpu group in cAdvisor's collector (container/prometheus.go).
  container_cpu_cfs_periods_total: cadvisor("cpu"),
  container_cpu_cfs_throttled_periods_total: cadvisor("cpu"),
  container_memory_working_set_bytes: cadvisor("memory"),
  container_network_receive_bytes_total: cadvisor("network", ["interface"]),
  container_network_transmit_bytes_total: cadvisor("network", ["interface"]),
  container_fs_reads_bytes_total: cadvisor("diskIO", ["device"]),
  container_fs_writes_bytes_total: cadvisor("diskIO", ["device"]),
  container_oom_events_total: cadvisor("oom_event"),
};

const PROMETHEUS_ALERTING_DOC =
  "https://prometheus.io/docs/prometheus/3.14/configuration/alerting_rules/ (ALERTS); rules/alerting.go alertForStateMetricName (ALERTS_FOR_STATE)";
const LOKI_OBSERVABILITY_DOC = "https://grafana.com/docs/loki/v3.7.x/operations/observability/";
const LOKI_VALIDATION_DOC = "https://grafana.com/docs/loki/v3.7.x/operations/request-validation-rate-limits/";
const ALLOY_LOKI_WRITE_DOC =
  "https://grafana.com/docs/alloy/v1.18/reference/components/loki/loki.write/ (Debug metrics)";
const ALLOY_CONTROLLER_DOC = "https://grafana.com/docs/alloy/v1.18/troubleshoot/controller_metrics/";
const GRAFANA_METRICS_SOURCE =
  "grafana/grafana v12.4.5 pkg/infra/metrics/metrics.go (api_response_status_total) and pkg/infra/httpclient/httpclientprovider/datasource_metrics_middleware.go (datasource_request_total)";
/** dskit's server instrumentation, under Loki's `loki` metrics namespace. */
const LOKI_SERVER_SOURCE =
  "https://github.com/grafana/loki/blob/v3.7.6/pkg/loki/loki.go (server.MetricsNamespace = loki; dskit server/metrics.go request_duration_seconds)";
const LOKI_REQUEST_LABELS = ["method", "route", "status_code", "ws"];
const LOKI_COMPACTOR_SOURCE = "https://github.com/grafana/loki/blob/v3.7.6/pkg/compactor/metrics.go";
const PROMETHEUS_NOTIFIER_SOURCE =
  "https://github.com/prometheus/prometheus/blob/v3.5.0/notifier/metric.go (a series appears with the first alert sent)";
const PROMETHEUS_SELF = "Prometheus' own /metrics (checked against Debian's binary in the tests)";
const ALERTMANAGER_SELF = "Alertmanager's own /metrics (checked against Debian's binary in the tests)";

const doc = (source: string, labels: readonly string[] = []): DocumentedMetric => ({ labels, source });

/** Series of the monitor's services and the optional exporters, and their own labels. */
const TEMPO_SOURCE =
  "https://github.com/grafana/tempo/blob/v2.10.8/ (modules/distributor/distributor.go, modules/overrides/discarded_spans.go)";

export const DOCUMENTED_METRICS: Readonly<Record<string, DocumentedMetric>> = {
  tempo_discarded_spans_total: doc(TEMPO_SOURCE, ["tenant", "reason"]),
  tempo_distributor_spans_received_total: doc(TEMPO_SOURCE, ["tenant"]),
  up: doc("https://prometheus.io/docs/concepts/jobs_instances/ (automatically generated series)"),
  scrape_samples_post_metric_relabeling: doc(
    "https://prometheus.io/docs/concepts/jobs_instances/ (automatically generated series; test/scrape-limits.test.ts reads it from Prometheus 3)",
  ),
  prometheus_target_scrape_pool_exceeded_target_limit_total: doc(PROMETHEUS_SELF),
  prometheus_target_scrape_pool_exceeded_label_limits_total: doc(PROMETHEUS_SELF),
  ALERTS: doc(PROMETHEUS_ALERTING_DOC, ["alertname", "alertstate", "severity"]),
  ALERTS_FOR_STATE: doc(PROMETHEUS_ALERTING_DOC, ["alertname", "severity"]),
  prometheus_config_last_reload_successful: doc(PROMETHEUS_SELF),
  // client_golang's process collector; HostUnreachable's push term reads Prometheus' own
  // (test/outside-push-loopback.test.ts runs that term against Debian's binary).
  process_start_time_seconds: doc(PROMETHEUS_SELF),
  prometheus_rule_evaluation_failures_total: doc(PROMETHEUS_SELF, ["rule_group"]),
  prometheus_sd_refresh_failures_total: doc(PROMETHEUS_SELF, ["mechanism"]),
  prometheus_tsdb_head_series: doc(PROMETHEUS_SELF),
  prometheus_tsdb_compactions_failed_total: doc(PROMETHEUS_SELF),
  prometheus_tsdb_reloads_failures_total: doc(PROMETHEUS_SELF),
  prometheus_tsdb_wal_corruptions_total: doc(PROMETHEUS_SELF),
  prometheus_tsdb_wal_writes_failed_total: doc(PROMETHEUS_SELF),
  prometheus_tsdb_wal_truncations_failed_total: doc(PROMETHEUS_SELF),
  prometheus_tsdb_checkpoint_creations_failed_total: doc(PROMETHEUS_SELF),
  prometheus_notifications_queue_length: doc(PROMETHEUS_SELF),
  prometheus_notifications_queue_capacity: doc(PROMETHEUS_SELF),
  prometheus_notifications_dropped_total: doc(PROMETHEUS_SELF),
  prometheus_notifications_errors_total: doc(PROMETHEUS_NOTIFIER_SOURCE, ["alertmanager"]),
  prometheus_notifications_sent_total: doc(PROMETHEUS_NOTIFIER_SOURCE, ["alertmanager"]),
  prometheus_notifications_alertmanagers_discovered: doc(PROMETHEUS_SELF),
  prometheus_target_scrapes_exceeded_sample_limit_total: doc(PROMETHEUS_SELF),
  prometheus_target_scrapes_sample_out_of_order_total: doc(PROMETHEUS_SELF),
  prometheus_target_scrapes_sample_duplicate_timestamp_total: doc(PROMETHEUS_SELF),
  prometheus_target_sync_failed_total: doc(
    "https://github.com/prometheus/prometheus/blob/v3.5.0/scrape/metrics.go (a series appears with the first failure)",
    ["scrape_job"],
  ),
  prometheus_rule_group_iterations_missed_total: doc(PROMETHEUS_SELF, ["rule_group"]),
  prometheus_engine_queries: doc(PROMETHEUS_SELF),
  prometheus_engine_queries_concurrent_max: doc(PROMETHEUS_SELF),
  alertmanager_config_last_reload_successful: doc(ALERTMANAGER_SELF),
  probe_success: doc(
    "https://github.com/prometheus/blackbox_exporter/blob/v0.28.0/prober/handler.go (read from Debian's blackbox exporter in test/probes.test.ts)",
  ),
  probe_ssl_earliest_cert_expiry: doc(
    "https://github.com/prometheus/blackbox_exporter/blob/v0.28.0/prober/http.go",
  ),
  ...Object.fromEntries(
    [
      "prometheus_remote_storage_samples_failed_total",
      "prometheus_remote_storage_highest_timestamp_in_seconds",
      "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
    ].map((name) => [
      name,
      doc(
        "Prometheus' remote-write queue metrics (storage/remote/queue_manager.go at v3.5.0; read from a real remote write in test/managed-prometheus.test.ts)",
        ["remote_name", "url"],
      ),
    ]),
  ),
  loki_request_duration_seconds_count: doc(LOKI_SERVER_SOURCE, LOKI_REQUEST_LABELS),
  loki_request_duration_seconds_bucket: doc(LOKI_SERVER_SOURCE, [...LOKI_REQUEST_LABELS, "le"]),
  loki_panic_total: doc("https://github.com/grafana/loki/blob/v3.7.6/pkg/util/server/recovery.go"),
  loki_compactor_apply_retention_last_successful_run_timestamp_seconds: doc(LOKI_COMPACTOR_SOURCE),
  loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds: doc(
    LOKI_COMPACTOR_SOURCE,
    ["retention"],
  ),
  alertmanager_alerts: doc(ALERTMANAGER_SELF, ["state"]),
  alertmanager_notifications_total: doc(ALERTMANAGER_SELF, ["integration"]),
  alertmanager_notifications_failed_total: doc(ALERTMANAGER_SELF, ["integration", "reason"]),
  loki_distributor_bytes_received_total: doc(LOKI_OBSERVABILITY_DOC, ["tenant"]),
  loki_distributor_lines_received_total: doc(LOKI_OBSERVABILITY_DOC, ["tenant"]),
  loki_discarded_samples_total: doc(LOKI_VALIDATION_DOC, ["reason", "tenant"]),
  loki_write_sent_bytes_total: doc(ALLOY_LOKI_WRITE_DOC, ["component_id", "component_path", "host"]),
  loki_write_dropped_entries_total: doc(ALLOY_LOKI_WRITE_DOC, [
    "component_id",
    "component_path",
    "host",
    "reason",
  ]),
  alloy_component_controller_running_components: doc(ALLOY_CONTROLLER_DOC, ["health_type"]),
  grafana_api_response_status_total: doc(GRAFANA_METRICS_SOURCE, ["code"]),
  grafana_datasource_request_total: doc(GRAFANA_METRICS_SOURCE, [
    "datasource",
    "datasource_type",
    "code",
    "method",
  ]),
  // The optional exporters' series, each from its record (configs/exporters/<name>.ts).
  ...Object.fromEntries(EXPORTERS.flatMap((record) => Object.entries(record.metrics))),
};
