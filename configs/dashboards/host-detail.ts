/**
 * Host detail: one host in depth, what Node Exporter Full is used for: CPU by mode, load and
 * pressure, memory breakdown, every filesystem, disk I/O and latency, network, processes and
 * file descriptors, and the host's log volume. Reached from the hosts overview with the host
 * selected (`var-instance`), or by picking the host here.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import {
  buildDashboard,
  environmentVariable,
  LOKI,
  PROMETHEUS,
  panel,
  row,
  singleHostVariable,
  stat,
  table,
  timeseries,
  upDownStat,
} from "./common";
import { HOST_DETAIL_DASHBOARD_UID } from "./hosts";

const NODE = `job="${JOB_NAMES.node}", environment=~"$environment", instance="$instance"`;
const FILESYSTEMS = `${NODE}, fstype!="", mountpoint!=""`;
const CPUS = `count(node_cpu_seconds_total{${NODE}, mode="idle"})`;
const rate = (metric: string, extra = "") =>
  `rate(${metric}{${NODE}${extra ? `, ${extra}` : ""}}[$__rate_interval])`;

export function hostDetailDashboard(config: StackConfig): Dashboard {
  const { thresholds } = config.alerting;
  const fillSeconds = thresholds.diskFillHours * 3600;
  return buildDashboard({
    uid: HOST_DETAIL_DASHBOARD_UID,
    title: "Host detail",
    description:
      "One host from node exporter: CPU, load, memory, filesystems, disk I/O, network, processes and logs.",
    variables: [environmentVariable(JOB_NAMES.node), singleHostVariable(JOB_NAMES.node)],
    sections: [
      row("Summary"),
      panel(upDownStat("Status", [{ expr: `up{${NODE}}` }], { span: 3 })),
      panel(stat("Uptime", [{ expr: `time() - node_boot_time_seconds{${NODE}}` }], { span: 3, unit: "s" })),
      panel(stat("CPUs", [{ expr: CPUS }], { span: 3 })),
      panel(stat("Memory", [{ expr: `node_memory_MemTotal_bytes{${NODE}}` }], { span: 3, unit: "bytes" })),
      panel(
        stat(
          "CPU busy now",
          [{ expr: `100 * (1 - avg(${rate("node_cpu_seconds_total", 'mode="idle"')}))` }],
          {
            span: 3,
            unit: "percent",
          },
        ),
      ),
      panel(
        stat(
          "Memory used now",
          [
            {
              expr: `100 * (1 - node_memory_MemAvailable_bytes{${NODE}} / node_memory_MemTotal_bytes{${NODE}})`,
            },
          ],
          { span: 3, unit: "percent" },
        ),
      ),
      panel(
        stat(
          "Root filesystem used",
          [
            {
              expr: `100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}, mountpoint="/"} / node_filesystem_size_bytes{${FILESYSTEMS}, mountpoint="/"})`,
            },
          ],
          { span: 3, unit: "percent" },
        ),
      ),
      panel(stat("Load per CPU (5m)", [{ expr: `node_load5{${NODE}} / scalar(${CPUS})` }], { span: 3 })),
      row("CPU"),
      panel(
        timeseries(
          "CPU by mode",
          PROMETHEUS,
          [
            {
              expr: `100 * sum by (mode) (${rate("node_cpu_seconds_total", 'mode!="idle"')}) / scalar(${CPUS})`,
              legend: "{{mode}}",
            },
          ],
          {
            unit: "percent",
            min: 0,
            max: 100,
            stacked: true,
            thresholdLine: thresholds.cpuPercent,
            description:
              "Share of all CPUs per mode: high iowait means waiting for disks, steal for the hypervisor.",
          },
        ),
      ),
      panel(
        timeseries(
          "Load average",
          PROMETHEUS,
          [
            { expr: `node_load1{${NODE}}`, legend: "1m" },
            { expr: `node_load5{${NODE}}`, legend: "5m" },
            { expr: `node_load15{${NODE}}`, legend: "15m" },
            { expr: CPUS, legend: "CPUs" },
          ],
          { min: 0, description: "Load above the CPU count means tasks wait to run." },
        ),
      ),
      panel(
        timeseries(
          "Pressure stall (PSI)",
          PROMETHEUS,
          [
            { expr: rate("node_pressure_cpu_waiting_seconds_total"), legend: "CPU waiting" },
            { expr: rate("node_pressure_memory_waiting_seconds_total"), legend: "memory waiting" },
            { expr: rate("node_pressure_io_waiting_seconds_total"), legend: "I/O waiting" },
          ],
          {
            unit: "percentunit",
            min: 0,
            span: 24,
            description:
              "Share of time some task waited for CPU, memory or I/O (kernel pressure stall information): the clearest sign of a saturated resource.",
          },
        ),
      ),
      row("Memory"),
      panel(
        timeseries(
          "Memory breakdown",
          PROMETHEUS,
          [
            {
              expr: `node_memory_MemTotal_bytes{${NODE}} - node_memory_MemAvailable_bytes{${NODE}}`,
              legend: "used",
            },
            { expr: `node_memory_Cached_bytes{${NODE}}`, legend: "page cache" },
            { expr: `node_memory_Buffers_bytes{${NODE}}`, legend: "buffers" },
            { expr: `node_memory_MemFree_bytes{${NODE}}`, legend: "free" },
            {
              expr: `node_memory_SwapTotal_bytes{${NODE}} - node_memory_SwapFree_bytes{${NODE}}`,
              legend: "swap used",
            },
          ],
          {
            unit: "bytes",
            min: 0,
            description: "Used = total minus available (what applications hold; cache can be reclaimed).",
          },
        ),
      ),
      panel(
        timeseries(
          "Memory used",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - node_memory_MemAvailable_bytes{${NODE}} / node_memory_MemTotal_bytes{${NODE}})`,
              legend: "used",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.memoryPercent },
        ),
      ),
      row("Disk space"),
      panel(
        table(
          "Filesystems",
          PROMETHEUS,
          [
            {
              expr: `max by (mountpoint, device, fstype) (node_filesystem_size_bytes{${FILESYSTEMS}})`,
              legend: "Size",
              instant: true,
              unit: "bytes",
            },
            {
              expr: `max by (mountpoint, device, fstype) (node_filesystem_avail_bytes{${FILESYSTEMS}})`,
              legend: "Available",
              instant: true,
              unit: "bytes",
            },
            {
              expr: `max by (mountpoint, device, fstype) (100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes{${FILESYSTEMS}}))`,
              legend: "Used",
              instant: true,
              unit: "percent",
            },
          ],
          {
            span: 24,
            height: 6,
            // One row per filesystem: the three queries keep the same labels, so they merge.
            merge: true,
            description: "Every real filesystem of the host, now.",
          },
        ),
      ),
      panel(
        timeseries(
          "Filesystem used",
          PROMETHEUS,
          [
            {
              expr: `100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes{${FILESYSTEMS}})`,
              legend: "{{mountpoint}}",
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
              legend: "{{mountpoint}}",
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
              legend: "{{mountpoint}}",
            },
          ],
          { unit: "percent", min: 0, max: 100, thresholdLine: thresholds.inodePercent, span: 24 },
        ),
      ),
      row("Disk I/O"),
      panel(
        timeseries(
          "Disk throughput",
          PROMETHEUS,
          [
            { expr: rate("node_disk_read_bytes_total"), legend: "{{device}} read" },
            { expr: rate("node_disk_written_bytes_total"), legend: "{{device}} write" },
          ],
          { unit: "Bps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Disk IOPS",
          PROMETHEUS,
          [
            { expr: rate("node_disk_reads_completed_total"), legend: "{{device}} reads" },
            { expr: rate("node_disk_writes_completed_total"), legend: "{{device}} writes" },
          ],
          { unit: "iops", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Disk busy",
          PROMETHEUS,
          [{ expr: `100 * ${rate("node_disk_io_time_seconds_total")}`, legend: "{{device}}" }],
          { unit: "percent", min: 0, max: 100, description: "Time the device had I/O in flight." },
        ),
      ),
      panel(
        timeseries(
          "Disk latency",
          PROMETHEUS,
          [
            {
              expr: `${rate("node_disk_read_time_seconds_total")} / ${rate("node_disk_reads_completed_total")}`,
              legend: "{{device}} read",
            },
            {
              expr: `${rate("node_disk_write_time_seconds_total")} / ${rate("node_disk_writes_completed_total")}`,
              legend: "{{device}} write",
            },
          ],
          { unit: "s", min: 0, description: "Average time per completed operation (no line while idle)." },
        ),
      ),
      row("Network"),
      panel(
        timeseries(
          "Network traffic",
          PROMETHEUS,
          [
            { expr: `8 * ${rate("node_network_receive_bytes_total")}`, legend: "{{device}} in" },
            { expr: `8 * ${rate("node_network_transmit_bytes_total")}`, legend: "{{device}} out" },
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
              expr: `${rate("node_network_receive_errs_total")} + ${rate("node_network_receive_drop_total")}`,
              legend: "{{device}} in",
            },
            {
              expr: `${rate("node_network_transmit_errs_total")} + ${rate("node_network_transmit_drop_total")}`,
              legend: "{{device}} out",
            },
          ],
          { unit: "pps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "TCP connections",
          PROMETHEUS,
          [
            { expr: `node_netstat_Tcp_CurrEstab{${NODE}}`, legend: "established" },
            { expr: `node_sockstat_TCP_tw{${NODE}}`, legend: "time wait" },
          ],
          { min: 0, span: 24 },
        ),
      ),
      row("System"),
      panel(
        timeseries(
          "Processes by state",
          PROMETHEUS,
          [{ expr: `sum by (state) (node_processes_state{${NODE}})`, legend: "{{state}}" }],
          {
            min: 0,
            description: "Zombies (Z) and uninterruptible (D) build-ups show here.",
          },
        ),
      ),
      panel(
        timeseries(
          "Context switches and interrupts",
          PROMETHEUS,
          [
            { expr: rate("node_context_switches_total"), legend: "context switches" },
            { expr: rate("node_intr_total"), legend: "interrupts" },
          ],
          { unit: "ops", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "File descriptors",
          PROMETHEUS,
          [
            { expr: `node_filefd_allocated{${NODE}}`, legend: "allocated" },
            { expr: `node_filefd_maximum{${NODE}}`, legend: "maximum" },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Host log lines by source",
          LOKI,
          [
            {
              expr: 'sum by (source) (count_over_time({environment=~"$environment", host="$instance"} [$__auto]))',
              legend: "{{source}}",
            },
          ],
          { min: 0, bars: true, stacked: true },
        ),
      ),
    ],
  });
}
