/**
 * Hosts overview: the fleet at a glance, from node exporter on every host (clients, outside
 * hosts and the monitor). Every per-host value links to the host detail dashboard with that host
 * selected. The graphs draw the stack's alert thresholds, so what the graph shows and what pages
 * agree.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import {
  buildDashboard,
  type DataLink,
  dashboardLinkUrl,
  environmentVariable,
  hostVariable,
  LOKI,
  PROMETHEUS,
  panel,
  problemCountStat,
  row,
  selectedHostsOf,
  stat,
  table,
  timeseries,
  upDownStat,
} from "./common";

const HOSTS_DASHBOARD_UID = "obs-hosts";
export const HOST_DETAIL_DASHBOARD_UID = "obs-host-detail";

/** Every node exporter series of the selected hosts. */
const NODE = selectedHostsOf(JOB_NAMES.node);
/** Real filesystems only (the exporter already drops Docker's and the kernel's pseudo ones). */
const FILESYSTEMS = `${NODE}, fstype!="", mountpoint!=""`;

/**
 * Opens the host detail of the host a value belongs to (series label or table column), passing
 * on the linking dashboard's variables named in `carry`.
 */
export function hostDetailLinks(
  source: "series" | "table",
  carry: readonly string[] = ["environment"],
): DataLink[] {
  const host =
    source === "series"
      ? `\${__field.labels.instance:percentencode}`
      : `\${__data.fields.instance:percentencode}`;
  return [
    { title: "Host detail", url: dashboardLinkUrl(HOST_DETAIL_DASHBOARD_UID, { instance: host }, carry) },
  ];
}

export function hostsDashboard(config: StackConfig): Dashboard {
  const { thresholds } = config.alerting;
  const seriesLinks = hostDetailLinks("series");
  return buildDashboard({
    uid: HOSTS_DASHBOARD_UID,
    title: "Hosts overview",
    description:
      "Every host at a glance from node exporter: up/down, CPU, memory, disks, network and load. Click a host for its detail.",
    variables: [environmentVariable(JOB_NAMES.node), hostVariable(JOB_NAMES.node)],
    sections: [
      row("Fleet"),
      panel(
        upDownStat("Host status", [{ expr: `up{${NODE}}`, legend: "{{instance}}" }], {
          span: 16,
          links: seriesLinks,
          description:
            "Whether Prometheus reaches each host's node exporter (HostUnreachable alert after it stays DOWN).",
        }),
      ),
      panel(
        problemCountStat(
          "Hosts down",
          [{ expr: `count(up{job="${JOB_NAMES.node}", environment=~"$environment"} == 0) or vector(0)` }],
          { span: 4 },
        ),
      ),
      panel(
        stat("Hosts scraped", [{ expr: `count(up{job="${JOB_NAMES.node}", environment=~"$environment"})` }], {
          span: 4,
          description: "Hosts Prometheus discovered; fewer than expected fires TooFewTargets.",
        }),
      ),
      panel(
        table(
          "Hosts at a glance",
          PROMETHEUS,
          [
            {
              expr: `time() - max by (instance) (node_boot_time_seconds{${NODE}})`,
              legend: "Uptime",
              instant: true,
              unit: "s",
            },
            {
              expr: `count by (instance) (node_cpu_seconds_total{${NODE}, mode="idle"})`,
              legend: "CPUs",
              instant: true,
            },
            {
              expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{${NODE}, mode="idle"}[$__rate_interval])))`,
              legend: "CPU busy",
              instant: true,
              unit: "percent",
            },
            {
              expr: `100 * (1 - max by (instance) (node_memory_MemAvailable_bytes{${NODE}}) / max by (instance) (node_memory_MemTotal_bytes{${NODE}}))`,
              legend: "Memory used",
              instant: true,
              unit: "percent",
            },
            {
              expr: `max by (instance) (100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes{${FILESYSTEMS}}))`,
              legend: "Fullest filesystem",
              instant: true,
              unit: "percent",
            },
            {
              expr: `max by (instance) (node_load1{${NODE}}) / count by (instance) (node_cpu_seconds_total{${NODE}, mode="idle"})`,
              legend: "Load per CPU",
              instant: true,
            },
          ],
          {
            span: 24,
            height: 9,
            merge: true,
            links: hostDetailLinks("table"),
            description: "One row per host, values now. Click a row for the host's detail.",
          },
        ),
      ),
      row("CPU and load"),
      panel(
        timeseries(
          "CPU busy",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{${NODE}, mode="idle"}[$__rate_interval])))`,
              legend: "{{instance}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.cpuPercent, links: seriesLinks },
        ),
      ),
      panel(
        timeseries(
          "Load per CPU (1m)",
          PROMETHEUS,
          [
            {
              expr: `node_load1{${NODE}} / on (instance) count by (instance) (node_cpu_seconds_total{${NODE}, mode="idle"})`,
              legend: "{{instance}}",
            },
          ],
          { min: 0, links: seriesLinks, description: "Above 1 means runnable tasks wait for a CPU." },
        ),
      ),
      row("Memory and disks"),
      panel(
        timeseries(
          "Memory used",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - node_memory_MemAvailable_bytes{${NODE}} / node_memory_MemTotal_bytes{${NODE}})`,
              legend: "{{instance}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.memoryPercent, links: seriesLinks },
        ),
      ),
      panel(
        timeseries(
          "Fullest filesystem",
          PROMETHEUS,
          [
            {
              expr: `max by (instance) (100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes{${FILESYSTEMS}}))`,
              legend: "{{instance}}",
            },
          ],
          {
            unit: "percent",
            min: 0,
            max: 100,
            thresholdLine: thresholds.diskPercent,
            links: seriesLinks,
            description: "Each host's most used filesystem; the host detail shows them all.",
          },
        ),
      ),
      panel(
        timeseries(
          "Disk I/O",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance) (rate(node_disk_read_bytes_total{${NODE}}[$__rate_interval]) + rate(node_disk_written_bytes_total{${NODE}}[$__rate_interval]))`,
              legend: "{{instance}}",
            },
          ],
          { unit: "Bps", min: 0, links: seriesLinks, description: "Bytes read plus written, all disks." },
        ),
      ),
      panel(
        timeseries(
          "Network traffic",
          PROMETHEUS,
          [
            {
              expr: `8 * sum by (instance) (rate(node_network_receive_bytes_total{${NODE}}[$__rate_interval]))`,
              legend: "{{instance}} in",
            },
            {
              expr: `8 * sum by (instance) (rate(node_network_transmit_bytes_total{${NODE}}[$__rate_interval]))`,
              legend: "{{instance}} out",
            },
          ],
          { unit: "bps", min: 0, links: seriesLinks },
        ),
      ),
      row("Logs"),
      panel(
        timeseries(
          "Host log lines",
          LOKI,
          [
            {
              expr: 'sum by (host) (count_over_time({environment=~"$environment", host=~"$instance"} [$__auto]))',
              legend: "{{host}}",
            },
          ],
          {
            min: 0,
            bars: true,
            span: 24,
            description: "Log lines Alloy shipped from each host (Loki `host` = Prometheus `instance`).",
          },
        ),
      ),
    ],
  });
}
