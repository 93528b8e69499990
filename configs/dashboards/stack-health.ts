/**
 * Stack health: is the monitoring itself working? Prometheus (targets, rules, discovery, series),
 * Alertmanager (notifications), Loki (ingestion, discarded lines), each host's Alloy (up,
 * component health, bytes sent and dropped) and Grafana (API responses, datasource requests).
 * The alerts themselves are on the alerts overview.
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
  problemCountStat,
  row,
  table,
  timeseries,
  upDownStat,
} from "./common";

const STACK_HEALTH_DASHBOARD_UID = "obs-stack-health";

const ENV = 'environment=~"$environment"';
const job = (name: string) => `job="${name}", ${ENV}`;

export function stackHealthDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: STACK_HEALTH_DASHBOARD_UID,
    title: "Stack health",
    description:
      "Prometheus targets and rules, Alertmanager notifications, Loki ingestion, Alloy on each host, Grafana.",
    variables: [environmentVariable(JOB_NAMES.prometheus)],
    sections: [
      row("Prometheus"),
      panel(problemCountStat("Targets down", [{ expr: `count(up{${ENV}} == 0) or vector(0)` }], { span: 6 })),
      panel(
        problemCountStat(
          "Config reload failed",
          [{ expr: `1 - min(prometheus_config_last_reload_successful{${job(JOB_NAMES.prometheus)}})` }],
          { span: 6 },
        ),
      ),
      panel(
        table(
          "Which targets are down",
          PROMETHEUS,
          [{ expr: `up{${ENV}} == 0`, legend: "Down", instant: true }],
          {
            span: 12,
            height: 4,
            hiddenColumns: ["__name__", "Value"],
          },
        ),
      ),
      panel(
        timeseries(
          "Targets up by job",
          PROMETHEUS,
          [
            { expr: `sum by (job) (up{${ENV}})`, legend: "{{job}} up" },
            { expr: `count by (job) (up{${ENV}})`, legend: "{{job}} total" },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Rule evaluation failures",
          PROMETHEUS,
          [
            {
              expr: `sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total{${job(JOB_NAMES.prometheus)}}[$__rate_interval]))`,
              legend: "{{rule_group}}",
            },
          ],
          { min: 0, thresholdLine: 1 },
        ),
      ),
      panel(
        timeseries(
          "Service discovery failures",
          PROMETHEUS,
          [
            {
              expr: `sum by (mechanism) (increase(prometheus_sd_refresh_failures_total{${job(JOB_NAMES.prometheus)}}[$__rate_interval]))`,
              legend: "{{mechanism}}",
            },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Head series",
          PROMETHEUS,
          [{ expr: `prometheus_tsdb_head_series{${job(JOB_NAMES.prometheus)}}`, legend: "series" }],
          { min: 0, description: "Active series in memory; a jump means a new high-cardinality label." },
        ),
      ),
      row("Alertmanager"),
      panel(
        timeseries(
          "Notifications sent",
          PROMETHEUS,
          [
            {
              expr: `sum by (integration) (increase(alertmanager_notifications_total{${job(JOB_NAMES.alertmanager)}}[$__rate_interval]))`,
              legend: "{{integration}}",
            },
          ],
          { min: 0, bars: true },
        ),
      ),
      panel(
        timeseries(
          "Notifications failed",
          PROMETHEUS,
          [
            {
              expr: `sum by (integration) (increase(alertmanager_notifications_failed_total{${job(JOB_NAMES.alertmanager)}}[$__rate_interval]))`,
              legend: "{{integration}}",
            },
          ],
          { min: 0, bars: true, thresholdLine: 1 },
        ),
      ),
      row("Logs pipeline"),
      panel(
        timeseries(
          "Loki ingestion",
          PROMETHEUS,
          [
            {
              expr: `sum(rate(loki_distributor_bytes_received_total{${job(JOB_NAMES.loki)}}[$__rate_interval]))`,
              legend: "bytes/s",
            },
          ],
          { unit: "Bps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Loki lines received and discarded",
          PROMETHEUS,
          [
            {
              expr: `sum(rate(loki_distributor_lines_received_total{${job(JOB_NAMES.loki)}}[$__rate_interval]))`,
              legend: "received",
            },
            {
              expr: `sum by (reason) (rate(loki_discarded_samples_total{${job(JOB_NAMES.loki)}}[$__rate_interval]))`,
              legend: "discarded: {{reason}}",
            },
          ],
          {
            min: 0,
            description:
              "Lines per second; discarded lines (rate limits, too old, too long) are lost logs. Reason names are Loki's.",
          },
        ),
      ),
      panel(
        timeseries(
          "Lines received by host",
          LOKI,
          [{ expr: `sum by (host) (count_over_time({${ENV}} [$__auto]))`, legend: "{{host}}" }],
          {
            min: 0,
            bars: true,
            stacked: true,
            description: "A host whose bar vanishes stopped shipping logs.",
          },
        ),
      ),
      panel(
        upDownStat("Alloy", [{ expr: `up{${job(JOB_NAMES.alloy)}}`, legend: "{{instance}}" }], { span: 12 }),
      ),
      panel(
        timeseries(
          "Alloy: bytes sent to Loki and entries dropped",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance) (rate(loki_write_sent_bytes_total{${job(JOB_NAMES.alloy)}}[$__rate_interval]))`,
              legend: "{{instance}} sent B/s",
            },
            {
              expr: `sum by (instance) (rate(loki_write_dropped_entries_total{${job(JOB_NAMES.alloy)}}[$__rate_interval]))`,
              legend: "{{instance}} dropped/s",
            },
          ],
          { min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Alloy components by health",
          PROMETHEUS,
          [
            {
              expr: `sum by (instance, health_type) (alloy_component_controller_running_components{${job(JOB_NAMES.alloy)}})`,
              legend: "{{instance}} {{health_type}}",
            },
          ],
          {
            min: 0,

            description:
              "Alloy's components per health; anything not healthy (unhealthy, exited) means a log source or the push to Loki is broken.",
          },
        ),
      ),
      row("Grafana"),
      panel(
        timeseries(
          "Grafana API responses by code",
          PROMETHEUS,
          [
            {
              expr: `sum by (code) (rate(grafana_api_response_status_total{${job(JOB_NAMES.grafana)}}[$__rate_interval]))`,
              legend: "{{code}}",
            },
          ],
          { unit: "reqps", min: 0, description: "500s here are Grafana failing, not the datasources." },
        ),
      ),
      panel(
        timeseries(
          "Grafana datasource requests",
          PROMETHEUS,
          [
            {
              expr: `sum by (datasource, code) (rate(grafana_datasource_request_total{${job(JOB_NAMES.grafana)}}[$__rate_interval]))`,
              legend: "{{datasource}} {{code}}",
            },
          ],
          {
            unit: "reqps",
            min: 0,
            description: "Queries Grafana sends to Prometheus, Loki and Alertmanager, by HTTP code.",
          },
        ),
      ),
      row("Monitor services"),
      panel(
        upDownStat(
          "Monitor services up",
          [
            {
              expr: `up{job=~"${[JOB_NAMES.prometheus, JOB_NAMES.alertmanager, JOB_NAMES.loki, JOB_NAMES.grafana].join("|")}", ${ENV}}`,
              legend: "{{job}}",
            },
          ],
          { span: 24 },
        ),
      ),
    ],
  });
}
