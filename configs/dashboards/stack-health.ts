/**
 * Stack health: is the monitoring itself working? Scrape targets by job, rule evaluation,
 * Alertmanager's notifications, Loki's ingestion, each host's Alloy, and the active alerts.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import {
  alertList,
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

export const STACK_HEALTH_DASHBOARD_UID = "obs-stack-health";

const ENV = 'environment=~"$environment"';
const job = (name: string) => `job="${name}", ${ENV}`;

export function stackHealthDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: STACK_HEALTH_DASHBOARD_UID,
    title: "Stack health",
    description:
      "Prometheus targets and rules, Alertmanager notifications, Loki ingestion, Alloy on each host, active alerts.",
    variables: [environmentVariable(JOB_NAMES.prometheus)],
    sections: [
      row("Alerts"),
      panel(
        alertList("Active alerts", {
          description: "Firing and pending alerts of the Prometheus rules (data source-managed).",
        }),
      ),
      panel(
        table(
          "Firing alerts",
          PROMETHEUS,
          [
            {
              expr: 'sum by (alertname, severity, instance, job) (ALERTS{alertstate="firing"})',
              legend: "Series",
              instant: true,
            },
          ],
          {
            height: 10,
            hiddenColumns: ["Value"],
            description:
              "The same alerts from Prometheus' ALERTS series (works even if the alert list cannot reach the rules API). Not filtered by environment: aggregated alerts carry no environment label, and each stack has its own Prometheus.",
          },
        ),
      ),
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
        table("Targets down", PROMETHEUS, [{ expr: `up{${ENV}} == 0`, legend: "Down", instant: true }], {
          span: 12,
          height: 4,
          hiddenColumns: ["__name__", "Value"],
        }),
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
      row("Monitor services"),
      panel(
        upDownStat(
          "Monitor services",
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
