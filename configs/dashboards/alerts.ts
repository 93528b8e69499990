/**
 * Alerts overview: what fires now and what fired over time, by severity and host. Read from
 * Prometheus' own alert series: `ALERTS` (one series per pending or firing alert, with its
 * labels and `alertstate`) and `ALERTS_FOR_STATE` (its value is when the alert became active),
 * plus Grafana's alert list panel and what Alertmanager holds (silenced and inhibited alerts).
 *
 * Aggregated alerts (TooFewTargets, Watchdog) have no `instance`: the Host variable's "All" is an
 * empty-matching regex so they stay in view.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { JOB_NAMES } from "../prometheus";
import { SEVERITIES } from "../rules";
import {
  alertList,
  buildDashboard,
  customVariable,
  labelVariable,
  PROMETHEUS,
  panel,
  problemCountStat,
  row,
  stat,
  table,
  timeseries,
} from "./common";
import { hostDetailLinks } from "./hosts";

const ALERTS_DASHBOARD_UID = "obs-alerts";

const ANY_OR_NONE = ".*";
const SELECTED = 'severity=~"$severity", instance=~"$instance"';
const FIRING = `ALERTS{alertstate="firing", ${SELECTED}}`;
const PENDING = `ALERTS{alertstate="pending", ${SELECTED}}`;

export function alertsDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: ALERTS_DASHBOARD_UID,
    title: "Alerts overview",
    description:
      "Alerts of the Prometheus rules: firing and pending now, over time, by severity and host, and what Alertmanager silences or inhibits.",
    variables: [
      customVariable("severity", "Severity", SEVERITIES),
      labelVariable("instance", "instance", "Host", "ALERTS").allValue(ANY_OR_NONE),
    ],
    sections: [
      row("Now"),
      panel(
        problemCountStat("Firing (critical)", [
          {
            expr: `count(ALERTS{alertstate="firing", severity="critical", instance=~"$instance"}) or vector(0)`,
          },
        ]),
      ),
      panel(
        problemCountStat("Firing (warning)", [
          {
            expr: `count(ALERTS{alertstate="firing", severity="warning", instance=~"$instance"}) or vector(0)`,
          },
        ]),
      ),
      panel(
        stat("Pending", [{ expr: `count(${PENDING}) or vector(0)` }], {
          description: "Conditions true now that have not yet lasted their `for` duration.",
        }),
      ),
      panel(
        stat(
          "Watchdog",
          [{ expr: 'count(ALERTS{alertstate="firing", alertname="Watchdog"}) or vector(0)' }],
          {
            description:
              "1 while the alerting pipeline works: Watchdog always fires. 0 means Prometheus' rules are not being evaluated.",
          },
        ),
      ),
      panel(
        alertList("Alert list", {
          description:
            "Firing and pending alerts of the Prometheus rules (data source-managed), as Grafana reads them.",
        }),
      ),
      panel(
        table(
          "Active alerts and since when",
          PROMETHEUS,
          [
            {
              expr: `time() - max by (alertname, severity, instance, job) (ALERTS_FOR_STATE{${SELECTED}})`,
              legend: "Active for",
              instant: true,
              unit: "s",
            },
          ],
          {
            height: 10,
            // Alerts carry no environment label: the detail keeps its own selection.
            links: hostDetailLinks("table", []),
            description:
              "Every pending or firing alert with how long its condition has held (ALERTS_FOR_STATE keeps the start time). Click a row for the host's detail.",
          },
        ),
      ),
      row("Over time"),
      panel(
        timeseries(
          "Firing alerts by severity",
          PROMETHEUS,
          [{ expr: `count by (severity) (${FIRING})`, legend: "{{severity}}" }],
          { min: 0, stacked: true, bars: true, description: "How many alerts fired at each moment." },
        ),
      ),
      panel(
        timeseries(
          "Firing alerts by host",
          PROMETHEUS,
          [{ expr: `count by (instance) (${FIRING})`, legend: "{{instance}}" }],
          {
            min: 0,
            stacked: true,
            bars: true,
            links: hostDetailLinks("series", []),
            description: "The empty legend is alerts about no single host (aggregates, Watchdog).",
          },
        ),
      ),
      panel(
        timeseries(
          "Alert states over time",
          PROMETHEUS,
          [
            {
              expr: `max by (alertname, alertstate, instance) (ALERTS{${SELECTED}})`,
              legend: "{{alertname}} {{instance}} {{alertstate}}",
            },
          ],
          {
            min: 0,
            span: 24,
            description: "One line per alert while it was pending or firing: when each began and ended.",
          },
        ),
      ),
      panel(
        table(
          "Alerts that fired in the time range",
          PROMETHEUS,
          [
            {
              expr: `sum by (alertname, severity, instance) (count_over_time(${FIRING}[$__range]))`,
              legend: "Evaluations firing",
              instant: true,
            },
          ],
          {
            span: 24,
            description:
              "Every alert that fired at some point in the range, resolved ones included; the count is rule evaluations spent firing (longer = more).",
          },
        ),
      ),
      row("Alertmanager"),
      panel(
        timeseries(
          "Alerts held by Alertmanager",
          PROMETHEUS,
          [
            {
              expr: `sum by (state) (alertmanager_alerts{job="${JOB_NAMES.alertmanager}"})`,
              legend: "{{state}}",
            },
          ],
          {
            min: 0,
            span: 24,
            description:
              "active: notified; suppressed: silenced or inhibited (a silence left behind hides alerts here).",
          },
        ),
      ),
    ],
  });
}
