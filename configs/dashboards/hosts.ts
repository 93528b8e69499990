/**
 * Hosts overview: node exporter on every host (clients, outside hosts and the monitor). The
 * graphs draw the stack's alert thresholds, so what the graph shows and what pages agree.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import {
  buildDashboard,
  environmentVariable,
  hostVariable,
  LOKI,
  PROMETHEUS,
  panel,
  problemCountStat,
  row,
  selectedHostsOf,
  stat,
  timeseries,
  upDownStat,
} from "./common";

export const HOSTS_DASHBOARD_UID = "obs-hosts";

/** Every node exporter series of the selected hosts. */
const NODE = selectedHostsOf(JOB_NAMES.node);
/** Real filesystems only (the exporter already drops Docker's and the kernel's pseudo ones). */
const FILESYSTEMS = `${NODE}, fstype!="", mountpoint!=""`;

export function hostsDashboard(config: StackConfig): Dashboard {
  const { thresholds } = config.alerting;
  const fillSeconds = thresholds.diskFillHours * 3600;
  return buildDashboard({
    uid: HOSTS_DASHBOARD_UID,
    title: "Hosts overview",
    description: "CPU, memory, disks, network and load of every host, from node exporter.",
    variables: [environmentVariable(JOB_NAMES.node), hostVariable(JOB_NAMES.node)],
    sections: [
      row("Fleet"),
      panel(
        upDownStat("Host status", [{ expr: `up{${NODE}}`, legend: "{{instance}}" }], {
          span: 12,
          description:
            "Whether Prometheus reaches each host's node exporter (HostDown alert after it stays DOWN).",
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
        stat("Uptime", [{ expr: `time() - node_boot_time_seconds{${NODE}}`, legend: "{{instance}}" }], {
          span: 8,
          unit: "s",
        }),
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
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.cpuPercent },
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
          { min: 0, description: "Above 1 means runnable tasks wait for a CPU." },
        ),
      ),
      row("Memory"),
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
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.memoryPercent },
        ),
      ),
      panel(
        timeseries(
          "Swap used",
          PROMETHEUS,
          [
            {
              expr: `node_memory_SwapTotal_bytes{${NODE}} - node_memory_SwapFree_bytes{${NODE}}`,
              legend: "{{instance}}",
            },
          ],
          { unit: "bytes", min: 0 },
        ),
      ),
      row("Disks"),
      panel(
        timeseries(
          "Filesystem used",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes{${FILESYSTEMS}})`,
              legend: "{{instance}} {{mountpoint}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.diskPercent },
        ),
      ),
      panel(
        timeseries(
          `Free space predicted in ${thresholds.diskFillHours}h`,
          PROMETHEUS,
          [
            {
              expr: `predict_linear(node_filesystem_avail_bytes{${FILESYSTEMS}}[6h], ${fillSeconds})`,
              legend: "{{instance}} {{mountpoint}}",
            },
          ],
          {
            unit: "bytes",
            thresholdLine: 0,
            description: `Linear prediction from the last 6h, as the disk-fill alert makes it: below 0 means the filesystem fills within ${thresholds.diskFillHours}h.`,
          },
        ),
      ),
      panel(
        timeseries(
          "Inodes used",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - node_filesystem_files_free{${FILESYSTEMS}} / node_filesystem_files{${FILESYSTEMS}})`,
              legend: "{{instance}} {{mountpoint}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.inodePercent },
        ),
      ),
      panel(
        timeseries(
          "Disk I/O",
          PROMETHEUS,
          [
            {
              expr: `rate(node_disk_read_bytes_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} read",
            },
            {
              expr: `rate(node_disk_written_bytes_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} write",
            },
          ],
          { unit: "Bps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Disk busy",
          PROMETHEUS,
          [
            {
              expr: `100 * rate(node_disk_io_time_seconds_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, span: 24 },
        ),
      ),
      row("Network"),
      panel(
        timeseries(
          "Network traffic",
          PROMETHEUS,
          [
            {
              expr: `8 * rate(node_network_receive_bytes_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} in",
            },
            {
              expr: `8 * rate(node_network_transmit_bytes_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} out",
            },
          ],
          { unit: "bps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Network errors and drops",
          PROMETHEUS,
          [
            {
              expr: `rate(node_network_receive_errs_total{${NODE}}[$__rate_interval]) + rate(node_network_receive_drop_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} in",
            },
            {
              expr: `rate(node_network_transmit_errs_total{${NODE}}[$__rate_interval]) + rate(node_network_transmit_drop_total{${NODE}}[$__rate_interval])`,
              legend: "{{instance}} {{device}} out",
            },
          ],
          { unit: "pps", min: 0 },
        ),
      ),
      row("Processes"),
      panel(
        timeseries(
          "Processes by state",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, state) (node_processes_state{${NODE}})`,
              legend: "{{instance}} {{state}}",
            },
          ],
          {
            min: 0,
            description:
              "From the processes collector: zombies (Z) and uninterruptible (D) build-ups show here.",
          },
        ),
      ),
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
            description: "Log lines Alloy shipped from each host (Loki `host` = Prometheus `instance`).",
          },
        ),
      ),
    ],
  });
}
