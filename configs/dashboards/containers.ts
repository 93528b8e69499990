/**
 * Containers: cAdvisor's per-container CPU, memory, network, disk I/O and lifecycle. Only
 * the labels our cAdvisor keeps are used: `name` (the container name), `image`, `interface`,
 * and of the container labels only the compose project and service
 * (CADVISOR_KEPT_CONTAINER_LABELS); per-CPU series are disabled, so there is no `cpu` label.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import {
  buildDashboard,
  environmentVariable,
  hostVariable,
  labelVariable,
  PROMETHEUS,
  panel,
  row,
  selectedHostsOf,
  stat,
  table,
  timeseries,
} from "./common";

const CONTAINERS_DASHBOARD_UID = "obs-containers";

const CADVISOR = selectedHostsOf(JOB_NAMES.cadvisor);
/** Containers only: cAdvisor's machine-level series have no `name`. */
const CONTAINERS = `${CADVISOR}, name=~"$container"`;
const SERVICE_LABEL = "container_label_com_docker_compose_service";

export function containersDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: CONTAINERS_DASHBOARD_UID,
    title: "Containers",
    description:
      "Per-container CPU and throttling, memory against limits, network, disk I/O and restarts on every host, from cAdvisor.",
    variables: [
      environmentVariable(JOB_NAMES.cadvisor),
      hostVariable(JOB_NAMES.cadvisor),
      labelVariable("container", "name", "Container", `container_last_seen{${CADVISOR}, name!=""}`),
    ],
    sections: [
      row("Overview"),
      panel(
        stat(
          "Running containers",
          [{ expr: `count by (instance) (container_last_seen{${CONTAINERS}})`, legend: "{{instance}}" }],
          {
            span: 24,
          },
        ),
      ),
      row("Resources"),
      panel(
        timeseries(
          "CPU",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (rate(container_cpu_usage_seconds_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}}",
            },
          ],
          { unit: "short", min: 0, description: "CPU cores in use (1 = one full core)." },
        ),
      ),
      panel(
        timeseries(
          "CPU throttling",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (rate(container_cpu_cfs_throttled_periods_total{${CONTAINERS}}[$__rate_interval])) / sum by (instance, name) (rate(container_cpu_cfs_periods_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}}",
            },
          ],
          {
            unit: "percentunit",
            min: 0,
            max: 1,
            description:
              "Share of CPU periods in which the container hit its CPU limit and was paused. Only containers with a CPU limit have periods.",
          },
        ),
      ),
      panel(
        timeseries(
          "Memory (working set)",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (container_memory_working_set_bytes{${CONTAINERS}})`,
              legend: "{{instance}} {{name}}",
            },
          ],
          {
            unit: "bytes",
            min: 0,
            description: "What the kernel counts against a memory limit (the OOM killer's view).",
          },
        ),
      ),
      panel(
        timeseries(
          "Memory used of limit",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (container_memory_working_set_bytes{${CONTAINERS}}) / sum by (instance, name) (container_spec_memory_limit_bytes{${CONTAINERS}} > 0)`,
              legend: "{{instance}} {{name}}",
            },
          ],
          {
            unit: "percentunit",
            min: 0,
            max: 1,
            thresholdLine: 0.9,
            description:
              "Working set against the container's memory limit; near 100% the OOM killer ends it. Containers without a limit are left out.",
          },
        ),
      ),
      panel(
        timeseries(
          "Network",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (rate(container_network_receive_bytes_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}} in",
            },
            {
              expr: `sum by (instance, name) (rate(container_network_transmit_bytes_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}} out",
            },
          ],
          {
            unit: "Bps",
            min: 0,
            description:
              "Containers on the host network (node exporter) have no interface of their own and show nothing here.",
          },
        ),
      ),
      panel(
        timeseries(
          "Disk I/O",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (rate(container_fs_reads_bytes_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}} read",
            },
            {
              expr: `sum by (instance, name) (rate(container_fs_writes_bytes_total{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}} write",
            },
          ],
          { unit: "Bps", min: 0 },
        ),
      ),
      row("Lifecycle"),
      panel(
        timeseries(
          "Restarts",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, name) (changes(container_start_time_seconds{${CONTAINERS}}[$__rate_interval]))`,
              legend: "{{instance}} {{name}}",
            },
          ],
          {
            span: 24,
            min: 0,
            bars: true,
            description:
              "Starts of the same container (its start time changed): a crash loop shows as a steady row of bars.",
          },
        ),
      ),
      panel(
        table(
          "Containers: last seen, restarts and OOM kills in the time range",
          PROMETHEUS,
          [
            {
              expr: `time() - max by (instance, name, ${SERVICE_LABEL}) (max_over_time(container_last_seen{${CONTAINERS}}[$__range]))`,
              legend: "Last seen (ago)",
              instant: true,
            },
            {
              expr: `sum by (instance, name, ${SERVICE_LABEL}) (changes(container_start_time_seconds{${CONTAINERS}}[$__range]))`,
              legend: "Restarts",
              instant: true,
            },
            {
              expr: `sum by (instance, name, ${SERVICE_LABEL}) (increase(container_oom_events_total{${CONTAINERS}}[$__range]))`,
              legend: "OOM kills",
              instant: true,
            },
          ],
          {
            span: 24,
            height: 10,
            merge: true,
            description:
              "A container that stopped keeps its last-seen age growing until it leaves the range; ContainerStopped alerts on it. Restarts count start-time changes of the same container.",
          },
        ),
      ),
    ],
  });
}
