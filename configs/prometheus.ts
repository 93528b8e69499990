/**
 * prometheus.yml, the file SD target files and Prometheus' command-line flags, rendered from
 * StackConfig. Prometheus expands no environment variables in its config, so every value (the
 * region above all) is written in here.
 *
 * Jobs: one per exporter kind and port. An agent job (node, process, cadvisor, alloy) joins the
 * monitor's own agent (static target, `instance="monitor"`), the EC2 clients (EC2 SD) and the
 * hosts outside AWS (file SD), so `up{job="node"}` counts every host once and every exporter of
 * one host carries the same `instance` label, which inhibition in Alertmanager relies on.
 */
import { stringify } from "yaml";
import {
  AGENT_PORTS,
  DISCOVERY_TAGS,
  FLEET_DISCOVERY_TAG,
  MONITOR_PORTS,
  SERIES_PER_HOST_ESTIMATE,
} from "../lib/catalog";
import type { ExternalHost, StackConfig } from "../lib/stack-config";
import { BLACKBOX_ADDRESS, blackboxScrapeJob } from "./blackbox";
import { enabledExporters } from "./exporters";
import { durationSeconds } from "./rules/duration";
import { type ScrapeJobKind, sampleLimit, scrapeLimitFields } from "./scrape-limits";

/** Job names; alert rules select on them, so they live in one place. */
export const JOB_NAMES = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  loki: "loki",
  grafana: "grafana",
  node: "node",
  process: "process",
  cadvisor: "cadvisor",
  alloy: "alloy",
  /** Only with traces on. */
  tempo: "tempo",
} as const;

/** `instance` label of every service and agent on the monitor host. */
export const MONITOR_INSTANCE = "monitor";

/** Samples one scrape may return (global `sample_limit`); a target above it fails its whole scrape. */
const SCRAPE_SAMPLE_LIMIT = 50_000;

/** Where Prometheus reaches the monitor's services, and where its own files live. */
export interface MonitorServiceAddresses {
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly loki: string;
  readonly grafana: string;
  readonly nodeExporter: string;
  /** Unset: the monitor runs no process exporter (the local trial stack, scripts/local.ts). */
  readonly processExporter?: string;
  readonly cadvisor: string;
  readonly alloy: string;
  /** Tempo's HTTP port (only with traces on). */
  readonly tempo: string;
  /** The blackbox exporter that runs the uptime probes (only with probes). */
  readonly blackboxExporter: string;
  /** Glob of rule files. */
  readonly ruleFiles: string;
  /** Directory of the file SD target files (`<job>.json`, from renderFileSdTargets). */
  readonly fileSdDir: string;
  /** EC2 API endpoint override (tests point it at a fake DescribeInstances server). */
  readonly ec2Endpoint?: string;
}

/** Docker compose service names on the monitor's network. */
const DEFAULT_MONITOR_ADDRESSES: MonitorServiceAddresses = {
  prometheus: `prometheus:${MONITOR_PORTS.prometheus}`,
  alertmanager: `alertmanager:${MONITOR_PORTS.alertmanager}`,
  loki: `loki:${MONITOR_PORTS.loki}`,
  grafana: `grafana:${MONITOR_PORTS.grafana}`,
  nodeExporter: `node-exporter:${AGENT_PORTS.nodeExporter}`,
  processExporter: `process-exporter:${AGENT_PORTS.processExporter}`,
  cadvisor: `cadvisor:${AGENT_PORTS.cadvisor}`,
  alloy: `alloy:${AGENT_PORTS.alloy}`,
  blackboxExporter: BLACKBOX_ADDRESS,
  tempo: "tempo:3200",
  ruleFiles: "/etc/prometheus/rules/*.yml",
  fileSdDir: "/etc/prometheus/file_sd",
};

/** Prometheus as a person reaches it: `ssh -N -L 9090:localhost:9090 ...` (the prometheusTunnel output). */
const PROMETHEUS_TUNNEL_URL = `http://localhost:${MONITOR_PORTS.prometheus}`;

export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";
/** The official image's data directory (on the monitor's data volume). */
export const PROMETHEUS_DATA_PATH = "/prometheus";
/** EC2 SD re-lists instances this often; each job makes its own DescribeInstances calls. */
const EC2_REFRESH_INTERVAL = "60s";

/** Shown as the discovery VPC when the stack creates its VPC and it does not exist yet. */
const VPC_ID_PLACEHOLDER = "<vpc-id: known after pulumi up>";

/** Shown as the managed store's remote-write URL before `pulumi up` has created the workspace. */
const MANAGED_STORE_URL_PLACEHOLDER =
  "https://aps-workspaces.REGION.amazonaws.com/workspaces/KNOWN-AFTER-DEPLOY/api/v1/remote_write";

/** Values of the rendered config that exist only once AWS has answered. */
export interface PrometheusDeployValues {
  /** The stack's VPC: EC2 discovery lists instances of this VPC only. */
  readonly vpcId?: string;
  /** The managed store's remote-write endpoint (config.metrics.managedStore). */
  readonly managedStoreRemoteWriteUrl?: string;
}

/**
 * The VPC EC2 discovery is scoped to: the deployed VPC's id, else the existing VPC the stack
 * config names, else a placeholder (a stack that creates its VPC, rendered before `pulumi up`).
 */
function discoveryVpcId(config: StackConfig, deployed: PrometheusDeployValues = {}): string {
  if (deployed.vpcId !== undefined) return deployed.vpcId;
  return config.network.mode === "existing" ? config.network.vpcId : VPC_ID_PLACEHOLDER;
}

/** Prometheus' default metrics path: left out of the rendered job. */
const DEFAULT_METRICS_PATH = "/metrics";

/** How a scrape job finds its targets and who runs the exporter. */
interface ScrapeJobSpec {
  readonly job: string;
  readonly port: number;
  readonly metricsPath?: string;
  /** Static address of the monitor's own instance of this agent, if it runs one. */
  readonly monitorAddress?: string;
  /** Set for optional exporters: only hosts that enabled it are scraped. */
  readonly optionalExporter?: string;
}

/** Hosts `up{job="node"}` should count: every client, every external host and the monitor. */
export function expectedNodeTargets(config: StackConfig): number {
  return config.clients.length + config.externalHosts.length + 1;
}

/** Scrape jobs that discover hosts (agents and optional exporters), in a fixed order. */
function hostJobs(config: StackConfig, addresses: MonitorServiceAddresses): ScrapeJobSpec[] {
  const agentJobs: ScrapeJobSpec[] = [
    { job: JOB_NAMES.node, port: AGENT_PORTS.nodeExporter, monitorAddress: addresses.nodeExporter },
    {
      job: JOB_NAMES.process,
      port: AGENT_PORTS.processExporter,
      ...(addresses.processExporter !== undefined ? { monitorAddress: addresses.processExporter } : {}),
    },
    { job: JOB_NAMES.cadvisor, port: AGENT_PORTS.cadvisor, monitorAddress: addresses.cadvisor },
    { job: JOB_NAMES.alloy, port: AGENT_PORTS.alloy, monitorAddress: addresses.alloy },
  ];
  const exporterJobs: ScrapeJobSpec[] = enabledExporters(config).map((record) => ({
    job: record.name,
    port: record.port,
    optionalExporter: record.name,
    ...(record.metricsPath !== DEFAULT_METRICS_PATH ? { metricsPath: record.metricsPath } : {}),
  }));
  return [...agentJobs, ...exporterJobs];
}

/** Regex over the `Exporters` tag (comma list, e.g. `nginx,redis`) that matches one exporter. */
function exportersTagRegex(exporter: string): string {
  return `(.*,)?${exporter}(,.*)?`;
}

function ec2RelabelConfigs(spec: ScrapeJobSpec, stack: string, fleet: boolean): Record<string, unknown>[] {
  const relabel: Record<string, unknown>[] = [];
  if (spec.optionalExporter) {
    // Keep EC2 targets only if their Exporters tag lists this exporter. Targets from static or
    // file SD have no instance id, so the joined value is ";" and they are kept: file SD lists
    // only the hosts that enabled the exporter.
    relabel.push({
      source_labels: ["__meta_ec2_instance_id", `__meta_ec2_tag_${DISCOVERY_TAGS.exporters}`],
      separator: ";",
      regex: `;|.+;${exportersTagRegex(spec.optionalExporter)}`,
      action: "keep",
    });
  }
  relabel.push(
    // Scrape the private address: exporter ports are open to the monitor's security group only.
    {
      source_labels: ["__meta_ec2_private_ip"],
      regex: "(.+)",
      target_label: "__address__",
      replacement: `$1:${spec.port}`,
    },
    // The Name tag is the host's name on every exporter: one `instance` per host.
    {
      source_labels: [`__meta_ec2_tag_${DISCOVERY_TAGS.name}`],
      regex: "(.+)",
      target_label: "instance",
    },
    // Enrolled fleet hosts (docs/fleet.md) by instance id: an Auto Scaling group names them all alike.
    ...(fleet
      ? [
          {
            source_labels: [`__meta_ec2_tag_${FLEET_DISCOVERY_TAG}`, "__meta_ec2_instance_id"],
            separator: ";",
            regex: "true;(.+)",
            target_label: "instance",
          },
        ]
      : []),
    {
      source_labels: ["__meta_ec2_instance_id"],
      regex: ".+",
      target_label: "host_type",
      replacement: "client",
    },
    {
      source_labels: ["__meta_ec2_availability_zone"],
      regex: "(.+)",
      target_label: "availability_zone",
    },
    { target_label: "environment", replacement: stack },
  );
  return relabel;
}

function scrapeConfigForHostJob(
  spec: ScrapeJobSpec,
  config: StackConfig,
  addresses: MonitorServiceAddresses,
  vpcId: string,
): Record<string, unknown> {
  const ec2: Record<string, unknown> = {
    region: config.region,
    ...(addresses.ec2Endpoint ? { endpoint: addresses.ec2Endpoint } : {}),
    port: spec.port,
    refresh_interval: EC2_REFRESH_INTERVAL,
    // The VPC first: an instance elsewhere in the region, tagged (or named) like a host of this
    // stack, is never listed, so it can neither be scraped nor mute a real host by inhibition.
    filters: [
      { name: "vpc-id", values: [vpcId] },
      { name: `tag:${DISCOVERY_TAGS.scrape}`, values: ["true"] },
      { name: `tag:${DISCOVERY_TAGS.environment}`, values: [config.stack] },
      { name: "instance-state-name", values: ["running"] },
    ],
  };
  return {
    job_name: spec.job,
    ...(spec.metricsPath ? { metrics_path: spec.metricsPath } : {}),
    ...scrapeLimitFields(spec.job, hostJobKind(spec)),
    ...(spec.monitorAddress
      ? {
          static_configs: [
            { targets: [spec.monitorAddress], labels: { instance: MONITOR_INSTANCE, host_type: "monitor" } },
          ],
        }
      : {}),
    ec2_sd_configs: [ec2],
    file_sd_configs: [{ files: [fileSdPath(addresses.fileSdDir, spec.job)] }],
    relabel_configs: ec2RelabelConfigs(spec, config.stack, config.fleetEnrolment),
  };
}

function fileSdPath(directory: string, job: string): string {
  return `${directory.replace(/\/+$/, "")}/${fileSdFileName(job)}`;
}

function fileSdFileName(job: string): string {
  return `${job}.json`;
}

/** Every scrape job with a sample limit, and that limit: the rules compare each target with it. */
export function scrapeJobSampleLimits(
  config: StackConfig,
): { readonly job: string; readonly limit: number }[] {
  const services = [JOB_NAMES.prometheus, JOB_NAMES.alertmanager, JOB_NAMES.loki, JOB_NAMES.grafana];
  return [
    ...services.map((job) => ({ job, limit: sampleLimit(job, "service") })),
    ...hostJobs(config, DEFAULT_MONITOR_ADDRESSES).map((spec) => ({
      job: spec.job,
      limit: sampleLimit(spec.job, hostJobKind(spec)),
    })),
  ];
}

/** Agents run on every host; optional exporters only where a host enables them. */
function hostJobKind(spec: ScrapeJobSpec): ScrapeJobKind {
  return spec.optionalExporter === undefined ? "agent" : "exporter";
}

function monitorServiceJob(job: string, address: string, stack: string): Record<string, unknown> {
  return {
    job_name: job,
    ...scrapeLimitFields(job, "service"),
    static_configs: [{ targets: [address], labels: { instance: MONITOR_INSTANCE, host_type: "monitor" } }],
    relabel_configs: [{ target_label: "environment", replacement: stack }],
  };
}

function resolveAddresses(overrides: Partial<MonitorServiceAddresses>): MonitorServiceAddresses {
  return { ...DEFAULT_MONITOR_ADDRESSES, ...overrides };
}

/**
 * Metric retention, in prometheus.yml (`storage.tsdb.retention`, valid since Prometheus 3.8, which
 * deprecated the `--storage.tsdb.retention.*` flags). Prometheus applies a changed value on
 * reload, without a restart. The values use the flags' formats (a duration, a size like 40GB).
 */
function retentionSettings(config: StackConfig): { time: string; size?: string } {
  return {
    time: config.metrics.retentionTime,
    ...(config.metrics.retentionSize ? { size: config.metrics.retentionSize } : {}),
  };
}

/** The full prometheus.yml. */
export function renderPrometheusConfig(
  config: StackConfig,
  addresses: Partial<MonitorServiceAddresses> = {},
  deployed: PrometheusDeployValues = {},
): string {
  const resolved = resolveAddresses(addresses);
  const vpcId = discoveryVpcId(config, deployed);
  const document = {
    global: {
      scrape_interval: config.metrics.scrapeInterval,
      evaluation_interval: config.metrics.evaluationInterval,
      // A target exposing more fails its whole scrape (PrometheusScrapeSampleLimitHit) instead of
      // flooding the TSDB with series.
      sample_limit: SCRAPE_SAMPLE_LIMIT,
      // Attached to every alert and to anything federated or remote-written from here.
      external_labels: { environment: config.stack },
    },
    storage: { tsdb: { retention: retentionSettings(config) } },
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [resolved.alertmanager] }] }],
    },
    ...(config.metrics.managedStore
      ? { remote_write: [managedStoreRemoteWrite(config, deployed.managedStoreRemoteWriteUrl)] }
      : {}),
    rule_files: [resolved.ruleFiles],
    scrape_configs: [
      monitorServiceJob(JOB_NAMES.prometheus, resolved.prometheus, config.stack),
      monitorServiceJob(JOB_NAMES.alertmanager, resolved.alertmanager, config.stack),
      monitorServiceJob(JOB_NAMES.loki, resolved.loki, config.stack),
      monitorServiceJob(JOB_NAMES.grafana, resolved.grafana, config.stack),
      ...hostJobs(config, resolved).map((spec) => scrapeConfigForHostJob(spec, config, resolved, vpcId)),
      ...optionalJob(blackboxScrapeJob(config, resolved.blackboxExporter)),
      ...(config.traces ? [monitorServiceJob(JOB_NAMES.tempo, resolved.tempo, config.stack)] : []),
    ],
  };
  return stringify(document, { lineWidth: 0 });
}

/** The `remote_name` of the managed store's queue: its metrics and the alerts on them carry it. */
export const MANAGED_STORE_REMOTE_NAME = "managed-prometheus";
/** Samples per request: Amazon Managed Service for Prometheus' recommended batch. */
const MANAGED_STORE_SAMPLES_PER_SEND = 1000;
/** Samples one shard moves per second at about five round trips a second. */
const SAMPLES_PER_SHARD_SECOND = 5 * MANAGED_STORE_SAMPLES_PER_SEND;
/** Headroom over the steady rate, for catching up after the store was unreachable. */
const CATCH_UP_FACTOR = 3;

/**
 * Remote write to the managed store, signed with SigV4 by the credentials of the default chain:
 * on the monitor that is its instance role (through IMDSv2), so no key is written anywhere. The
 * queue is sized for the stack's hosts; Prometheus adds shards up to max_shards as it falls behind.
 */
function managedStoreRemoteWrite(config: StackConfig, url: string | undefined): Record<string, unknown> {
  const samplesPerSecond =
    (expectedNodeTargets(config) * SERIES_PER_HOST_ESTIMATE) / durationSeconds(config.metrics.scrapeInterval);
  const maxShards = Math.min(
    200,
    Math.max(10, Math.ceil((CATCH_UP_FACTOR * samplesPerSecond) / SAMPLES_PER_SHARD_SECOND)),
  );
  return {
    name: MANAGED_STORE_REMOTE_NAME,
    url: url ?? MANAGED_STORE_URL_PLACEHOLDER.replace("REGION", config.region),
    sigv4: { region: config.region },
    queue_config: {
      capacity: 2.5 * MANAGED_STORE_SAMPLES_PER_SEND,
      max_samples_per_send: MANAGED_STORE_SAMPLES_PER_SEND,
      max_shards: maxShards,
    },
  };
}

function optionalJob(job: Record<string, unknown> | undefined): Record<string, unknown>[] {
  return job === undefined ? [] : [job];
}

/** What an outside host's Alloy scrapes on its own loopback and remote-writes to the monitor. */
export interface PushedScrapeJob {
  readonly job: string;
  /** host:port on the host's loopback. */
  readonly address: string;
  readonly metricsPath?: string;
  /** The labels Prometheus' own host jobs give a target: instance, host_type, environment. */
  readonly labels: Readonly<Record<string, string>>;
  readonly sampleLimit: number;
}

/** The labels Prometheus' own host jobs would give an outside host, on every series it pushes. */
export function pushedHostLabels(config: StackConfig, host: ExternalHost): Record<string, string> {
  return { instance: host.name, host_type: "external", environment: config.stack };
}

/**
 * The jobs an outside host's Alloy runs in place of Prometheus' pull: the same job names, the
 * same labels (`instance=<host>`, `host_type=external`, `environment`) and the same sample limits,
 * so its series look like a pulled host's and every rule and dashboard applies unchanged.
 */
export function pushedScrapeJobs(config: StackConfig, host: ExternalHost): PushedScrapeJob[] {
  return hostJobs(config, DEFAULT_MONITOR_ADDRESSES)
    .filter(
      (spec) =>
        spec.optionalExporter === undefined ||
        (host.exporters as readonly string[]).includes(spec.optionalExporter),
    )
    .map((spec) => ({
      job: spec.job,
      address: `127.0.0.1:${spec.port}`,
      ...(spec.metricsPath ? { metricsPath: spec.metricsPath } : {}),
      labels: pushedHostLabels(config, host),
      sampleLimit: sampleLimit(spec.job, hostJobKind(spec)),
    }));
}

/**
 * File SD target files, one per host job, keyed by file name (`node.json`, ...). Hosts outside
 * AWS push their metrics (pushedScrapeJobs), so no host is listed; every file is still written,
 * empty, so a monitor upgraded from pulling outside hosts drops their old targets (Prometheus
 * re-reads the files without a restart).
 */
export function renderFileSdTargets(config: StackConfig): Record<string, string> {
  const files: Record<string, string> = {};
  for (const spec of hostJobs(config, DEFAULT_MONITOR_ADDRESSES)) {
    files[fileSdFileName(spec.job)] = "[]\n";
  }
  return files;
}

/** Command-line flags of the Prometheus container. Retention is in prometheus.yml (retentionSettings). */
export function prometheusFlags(options: { readonly remoteWriteReceiver?: boolean } = {}): string[] {
  const flags = [
    `--config.file=${PROMETHEUS_CONFIG_PATH}`,
    `--storage.tsdb.path=${PROMETHEUS_DATA_PATH}`,
    // Where a person reaches this Prometheus: the SSH tunnel of the prometheusTunnel output.
    // Notifications never link here (they open the alert's expression in Grafana Explore).
    `--web.external-url=${PROMETHEUS_TUNNEL_URL}`,
  ];
  // Tempo's metrics generator (traces on) and the push gateway (hosts outside AWS) write here; the
  // port is on loopback and the compose network, never on a routable interface.
  if (options.remoteWriteReceiver) flags.push("--web.enable-remote-write-receiver");
  // POST /-/reload applies a new config or rule file without a restart.
  flags.push("--web.enable-lifecycle");
  return flags;
}
