/**
 * Processes: process-exporter's groups. The daemons named in WATCHED_DAEMONS have groups of
 * their own; everything else is grouped by command name by the catch-all rule. The first panel
 * shows only the watched daemons, so a stopped sshd or dockerd stands out.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { WATCHED_DAEMONS } from "../agents/process-exporter";
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
  table,
  timeseries,
} from "./common";

const PROCESSES_DASHBOARD_UID = "obs-processes";

const PROCESS = selectedHostsOf(JOB_NAMES.process);
const GROUPS = `${PROCESS}, groupname=~"$groupname"`;

/** Regex over `groupname` matching exactly the watched daemons' groups. */
function watchedGroupsRegex(): string {
  return WATCHED_DAEMONS.map((daemon) => daemon.name.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|");
}

export function processesDashboard(): Dashboard {
  const watched = `${PROCESS}, groupname=~"${watchedGroupsRegex()}"`;
  return buildDashboard({
    uid: PROCESSES_DASHBOARD_UID,
    title: "Processes",
    description:
      "Named process groups from process-exporter: watched daemons, CPU, memory, file descriptors.",
    variables: [
      environmentVariable(JOB_NAMES.process),
      hostVariable(JOB_NAMES.process),
      labelVariable(
        "groupname",
        "groupname",
        "Process group",
        `namedprocess_namegroup_num_procs{${PROCESS}}`,
      ),
    ],
    sections: [
      row("Daemons"),
      panel(
        table(
          "Watched daemons",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_num_procs{${watched}})`,
              legend: "Processes",
              instant: true,
            },
            {
              expr: `time() - min by (instance, groupname) (namedprocess_namegroup_oldest_start_time_seconds{${watched}})`,
              legend: "Running for",
              instant: true,
            },
          ],
          {
            span: 24,
            merge: true,
            unit: "s",
            description:
              "Daemons with a group of their own. A group appears once its daemon has run on the host; 0 processes means it stopped.",
          },
        ),
      ),
      row("Top groups"),
      panel(
        table(
          "Top groups now",
          PROMETHEUS,
          [
            {
              expr: `topk(10, sum by (instance, groupname) (rate(namedprocess_namegroup_cpu_seconds_total{${GROUPS}}[$__rate_interval])))`,
              legend: "CPU cores",
              instant: true,
            },
            {
              expr: `topk(10, sum by (instance, groupname) (namedprocess_namegroup_memory_bytes{${GROUPS}, memtype="resident"}))`,
              legend: "Resident memory",
              instant: true,
              unit: "bytes",
            },
            {
              expr: `topk(10, sum by (instance, groupname) (namedprocess_namegroup_open_filedesc{${GROUPS}}))`,
              legend: "Open files",
              instant: true,
            },
          ],
          {
            span: 24,
            height: 9,
            merge: true,
            description:
              "The ten groups using the most CPU, memory and open files right now; a group outside one top ten has a blank there.",
          },
        ),
      ),
      row("Resources"),
      panel(
        timeseries(
          "CPU by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (rate(namedprocess_namegroup_cpu_seconds_total{${GROUPS}}[$__rate_interval]))`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { unit: "short", min: 0, description: "CPU cores in use (user + system)." },
        ),
      ),
      panel(
        timeseries(
          "Resident memory by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_memory_bytes{${GROUPS}, memtype="resident"})`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { unit: "bytes", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Processes by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_num_procs{${GROUPS}})`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Threads by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_num_threads{${GROUPS}})`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Open files by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_open_filedesc{${GROUPS}})`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { min: 0, description: "File descriptors held (files, sockets, pipes); a steady climb is a leak." },
        ),
      ),
      panel(
        timeseries(
          "File descriptors: worst use of the limit",
          PROMETHEUS,
          [
            {
              expr: `max by (instance, groupname) (namedprocess_namegroup_worst_fd_ratio{${GROUPS}})`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { unit: "percentunit", min: 0, max: 1, thresholdLine: 0.8 },
        ),
      ),
      panel(
        timeseries(
          "Disk I/O by group",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (rate(namedprocess_namegroup_read_bytes_total{${GROUPS}}[$__rate_interval]))`,
              legend: "{{instance}} {{groupname}} read",
            },
            {
              expr: `sum by (instance, groupname) (rate(namedprocess_namegroup_write_bytes_total{${GROUPS}}[$__rate_interval]))`,
              legend: "{{instance}} {{groupname}} write",
            },
          ],
          { unit: "Bps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Zombie processes",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, groupname) (namedprocess_namegroup_states{${GROUPS}, state="Zombie"}) > 0`,
              legend: "{{instance}} {{groupname}}",
            },
          ],
          { min: 0, description: "Children their parent never reaped." },
        ),
      ),
    ],
  });
}
