/**
 * The failure modes the field's reference rule sets page on, each answered by this stack's
 * alerts or by the reason it leaves the mode out (docs/alerts.md's coverage table). Each row names
 * the reference alert it was compared with; the rules themselves are this stack's own. The
 * optional exporters' sets live in their records.
 */
import { EXPORTERS } from "../exporters";

export interface CoverageRow {
  /** The failure mode in words. */
  readonly mode: string;
  /** The reference set's alert(s) for it. */
  readonly reference: string;
  /** This stack's alerts covering it; empty when it is left out. */
  readonly ours: readonly string[];
  /** Why it is left out (required when `ours` is empty), or a note on how it is covered. */
  readonly note?: string;
}

export interface ReferenceSet {
  readonly name: string;
  /** Where and at which version the set was read. */
  readonly source: string;
  readonly rows: readonly CoverageRow[];
}

const SINGLE_AM = "one Alertmanager runs (`--cluster.listen-address=`): there is no cluster to disagree";

const CORE_SETS: readonly ReferenceSet[] = [
  {
    name: "node-mixin",
    source: "prometheus/node_exporter v1.12.0, docs/node-mixin/alerts/alerts.libsonnet",
    rows: [
      {
        mode: "filesystem fills within 24h",
        reference: "NodeFilesystemSpaceFillingUp (warning)",
        ours: ["HostDiskWillFillSoon"],
        note: "horizon from `diskFillHours` (24h by default)",
      },
      {
        mode: "filesystem fills within 4h",
        reference: "NodeFilesystemSpaceFillingUp (critical)",
        ours: ["HostDiskWillFillImminently"],
        note: "mutes the 24h warning on the same mount",
      },
      {
        mode: "filesystem almost out of space",
        reference: "NodeFilesystemAlmostOutOfSpace",
        ours: ["HostDiskFull"],
        note: "one level at `diskPercent`; the 4h prediction pages",
      },
      {
        mode: "inodes filling up",
        reference: "NodeFilesystemFilesFillingUp",
        ours: ["HostInodesExhausted"],
        note: "threshold at `inodePercent` instead of a prediction",
      },
      {
        mode: "almost out of inodes",
        reference: "NodeFilesystemAlmostOutOfFiles",
        ours: ["HostInodesExhausted"],
      },
      {
        mode: "network receive errors",
        reference: "NodeNetworkReceiveErrs",
        ours: ["HostNetworkReceiveErrors"],
      },
      {
        mode: "network transmit errors",
        reference: "NodeNetworkTransmitErrs",
        ours: ["HostNetworkTransmitErrors"],
      },
      {
        mode: "conntrack table nearly full",
        reference: "NodeHighNumberConntrackEntriesUsed",
        ours: ["HostConntrackNearlyFull"],
      },
      {
        mode: "textfile collector error",
        reference: "NodeTextFileCollectorScrapeError",
        ours: ["HostTextfileCollectorError"],
      },
      { mode: "clock skew", reference: "NodeClockSkewDetected", ours: ["HostClockSkew"] },
      {
        mode: "clock not synchronising",
        reference: "NodeClockNotSynchronising",
        ours: ["HostClockNotSynchronising"],
      },
      {
        mode: "RAID array degraded",
        reference: "NodeRAIDDegraded",
        ours: [],
        note: "hosts run on EBS volumes, redundant below the block device; the stack builds no md RAID",
      },
      {
        mode: "RAID member disk failed",
        reference: "NodeRAIDDiskFailure",
        ours: [],
        note: "as above: no md RAID on these hosts",
      },
      {
        mode: "file descriptors near the limit",
        reference: "NodeFileDescriptorLimit (warning, critical)",
        ours: ["HostFileDescriptorsNearLimit"],
        note: "one level at 80%",
      },
      { mode: "CPU busy", reference: "NodeCPUHighUsage", ours: ["HostHighCpu"] },
      { mode: "load far above the core count", reference: "NodeSystemSaturation", ours: ["HostLoadHigh"] },
      {
        mode: "major page faults (thrashing)",
        reference: "NodeMemoryMajorPagesFaults",
        ours: ["HostMemoryMajorPageFaults"],
      },
      { mode: "memory nearly full", reference: "NodeMemoryHighUtilization", ours: ["HostHighMemory"] },
      { mode: "disk I/O saturated", reference: "NodeDiskIOSaturation", ours: ["HostDiskIoSaturated"] },
      { mode: "systemd unit failed", reference: "NodeSystemdServiceFailed", ours: ["HostSystemdUnitFailed"] },
      {
        mode: "systemd unit crash-looping",
        reference: "NodeSystemdServiceCrashlooping",
        ours: [],
        note: "needs `--collector.systemd.enable-restarts-metrics`, not set; a unit that exhausts its restarts is failed (HostSystemdUnitFailed), and the services here run as containers (ContainerRestarting)",
      },
      {
        mode: "bonded interface degraded",
        reference: "NodeBondingDegraded",
        ours: [],
        note: "EC2 network interfaces are not bonded",
      },
    ],
  },
  {
    name: "prometheus-mixin",
    source: "prometheus/prometheus v3.14.0, documentation/prometheus-mixin/alerts.libsonnet",
    rows: [
      {
        mode: "configuration reload failed",
        reference: "PrometheusBadConfig",
        ours: ["PrometheusConfigReloadFailed"],
      },
      {
        mode: "service discovery failing",
        reference: "PrometheusSDRefreshFailure",
        ours: ["PrometheusSDFailing"],
      },
      {
        mode: "Kubernetes SD list/watch failing",
        reference: "PrometheusKubernetesListWatchFailures",
        ours: [],
        note: "no Kubernetes discovery: EC2 and file SD only",
      },
      {
        mode: "alert queue running full",
        reference: "PrometheusNotificationQueueRunningFull",
        ours: ["PrometheusNotificationQueueFull"],
      },
      {
        mode: "errors sending to some Alertmanagers",
        reference: "PrometheusErrorSendingAlertsToSomeAlertmanagers",
        ours: ["PrometheusAlertmanagerSendErrors"],
      },
      {
        mode: "errors sending to every Alertmanager",
        reference: "PrometheusErrorSendingAlertsToAnyAlertmanager",
        ours: ["PrometheusAlertmanagerSendErrors", "PrometheusDroppingAlerts"],
        note: "one Alertmanager: some is all",
      },
      {
        mode: "no Alertmanager connected",
        reference: "PrometheusNotConnectedToAlertmanagers",
        ours: ["PrometheusNoAlertmanager"],
      },
      {
        mode: "TSDB block reloads failing",
        reference: "PrometheusTSDBReloadsFailing",
        ours: ["PrometheusTsdbReloadsFailing"],
      },
      {
        mode: "TSDB compactions failing",
        reference: "PrometheusTSDBCompactionsFailing",
        ours: ["PrometheusTsdbCompactionsFailing"],
      },
      {
        mode: "not ingesting samples",
        reference: "PrometheusNotIngestingSamples",
        ours: ["PrometheusTsdbWalFailing", "TooFewTargets"],
        note: "one Prometheus evaluates its own ingestion poorly; writes failing (WAL) and targets gone are what stop it",
      },
      {
        mode: "duplicate sample timestamps",
        reference: "PrometheusDuplicateTimestamps",
        ours: ["PrometheusSamplesRejected"],
      },
      {
        mode: "out-of-order samples",
        reference: "PrometheusOutOfOrderTimestamps",
        ours: ["PrometheusSamplesRejected"],
      },
      {
        mode: "remote storage failing",
        reference: "PrometheusRemoteStorageFailures",
        ours: ["ManagedPrometheusWriteFailing"],
        note: "only with `managedPrometheus` (the only remote write)",
      },
      {
        mode: "remote write behind",
        reference: "PrometheusRemoteWriteBehind",
        ours: ["ManagedPrometheusWriteBehind"],
        note: "only with `managedPrometheus`",
      },
      {
        mode: "remote write wants more shards",
        reference: "PrometheusRemoteWriteDesiredShards",
        ours: ["ManagedPrometheusWriteBehind"],
        note: "too few shards shows as falling behind",
      },
      {
        mode: "rule evaluation failing",
        reference: "PrometheusRuleFailures",
        ours: ["PrometheusRuleEvaluationFailures"],
      },
      {
        mode: "rule evaluations missed",
        reference: "PrometheusMissingRuleEvaluations",
        ours: ["PrometheusRuleEvaluationsMissed"],
      },
      {
        mode: "target limit hit",
        reference: "PrometheusTargetLimitHit",
        ours: ["ScrapePoolLimitHit"],
        note: "per-job `target_limit` from the measured series per host",
      },
      {
        mode: "label limit hit",
        reference: "PrometheusLabelLimitHit",
        ours: ["ScrapePoolLimitHit"],
        note: "per-job label limits",
      },
      {
        mode: "scrape body size limit hit",
        reference: "PrometheusScrapeBodySizeLimitHit",
        ours: [],
        note: "no `body_size_limit` is set; the global `sample_limit` bounds a scrape instead",
      },
      {
        mode: "scrape sample limit hit",
        reference: "PrometheusScrapeSampleLimitHit",
        ours: ["PrometheusScrapeSampleLimitHit", "ScrapeSampleLimitExceeded", "TargetNearSampleLimit"],
        note: "per-job `sample_limit`, with a warning before it is reached",
      },
      {
        mode: "target sync failing",
        reference: "PrometheusTargetSyncFailure",
        ours: ["PrometheusTargetSyncFailing"],
      },
      { mode: "query load high", reference: "PrometheusHighQueryLoad", ours: ["PrometheusQueryLoadHigh"] },
      {
        mode: "HA group not ingesting",
        reference: "PrometheusHAGroupNotIngestingSamples",
        ours: [],
        note: "one Prometheus, no HA group",
      },
      {
        mode: "HA group down",
        reference: "PrometheusHAGroupDown",
        ours: [],
        note: "one Prometheus, no HA group; the outside heartbeat (Watchdog) catches it down",
      },
      {
        mode: "HA group crash-looping",
        reference: "PrometheusHAGroupCrashlooping",
        ours: [],
        note: "one Prometheus, no HA group; a crash loop of its container raises ContainerRestarting",
      },
    ],
  },
  {
    name: "alertmanager-mixin",
    source: "prometheus/alertmanager v0.34.0, doc/alertmanager-mixin/alerts.libsonnet",
    rows: [
      {
        mode: "configuration reload failed",
        reference: "AlertmanagerFailedReload",
        ours: ["AlertmanagerConfigReloadFailed"],
      },
      {
        mode: "cluster members inconsistent",
        reference: "AlertmanagerMembersInconsistent",
        ours: [],
        note: SINGLE_AM,
      },
      {
        mode: "notifications failing",
        reference: "AlertmanagerFailedToSendAlerts",
        ours: ["AlertmanagerNotificationsFailing"],
      },
      {
        mode: "cluster failing to notify (critical and other integrations)",
        reference: "AlertmanagerClusterFailedToSendAlerts",
        ours: ["AlertmanagerNotificationsFailing"],
        note: "one instance: its failures are the cluster's",
      },
      {
        mode: "configuration inconsistent across the cluster",
        reference: "AlertmanagerConfigInconsistent",
        ours: [],
        note: SINGLE_AM,
      },
      { mode: "cluster down", reference: "AlertmanagerClusterDown", ours: ["AlertmanagerDown"] },
      {
        mode: "cluster crash-looping",
        reference: "AlertmanagerClusterCrashlooping",
        ours: ["ContainerRestarting"],
      },
      {
        mode: "cluster peers failing",
        reference: "AlertmanagerClusterFailedPeers",
        ours: [],
        note: SINGLE_AM,
      },
    ],
  },
  {
    name: "Loki operational alerts",
    source:
      "grafana/loki v3.7.6, production/loki-mixin/alerts.libsonnet, and docs/sources/operations/request-validation-rate-limits (discarded lines)",
    rows: [
      { mode: "request errors", reference: "LokiRequestErrors", ours: ["LokiRequestErrors"] },
      { mode: "request panics", reference: "LokiRequestPanics", ours: ["LokiPanics"] },
      { mode: "request latency", reference: "LokiRequestLatency", ours: ["LokiRequestLatency"] },
      {
        mode: "more than one compactor",
        reference: "LokiTooManyCompactorsRunning",
        ours: [],
        note: "Loki runs as one process (single binary): one compactor",
      },
      {
        mode: "compaction/retention not running",
        reference: "LokiCompactorHasNotSuccessfullyRunCompaction",
        ours: ["LokiCompactorStalled"],
      },
      {
        mode: "ingestion rate-limited",
        reference: "loki_discarded_samples_total{reason=rate_limited}",
        ours: ["LokiIngestionRateLimited"],
      },
      {
        mode: "lines discarded by validation",
        reference: "loki_discarded_samples_total (other reasons)",
        ours: ["LokiDiscardingLogs"],
      },
    ],
  },
];

/** The core sets, then each optional exporter's (its record's `alertCoverage`). */
export const REFERENCE_SETS: readonly ReferenceSet[] = [
  ...CORE_SETS,
  ...EXPORTERS.flatMap((record) => (record.alertCoverage ? [record.alertCoverage] : [])),
];

/** Modes answered by at least one alert, and all modes, over every reference set. */
export function coverageCounts(): { covered: number; total: number } {
  const rows = REFERENCE_SETS.flatMap((set) => set.rows);
  return { covered: rows.filter((row) => row.ours.length > 0).length, total: rows.length };
}
