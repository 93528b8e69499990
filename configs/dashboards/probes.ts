/**
 * Uptime probes: each probe's state, how long it takes, the HTTP status it got, and how many days
 * its TLS certificate has left (blackbox exporter series, job `blackbox`).
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { BLACKBOX_JOB } from "../blackbox";
import { CERT_EXPIRY_METRIC, PROBE_SUCCESS_METRIC } from "../rules/probes";
import {
  buildDashboard,
  labelVariable,
  PROMETHEUS,
  panel,
  row,
  table,
  timeseries,
  upDownStat,
} from "./common";

const PROBES_DASHBOARD_UID = "obs-probes";

const SELECTED = `job="${BLACKBOX_JOB}", probe=~"$probe"`;

export function probesDashboard(certExpiryDays: number): Dashboard {
  return buildDashboard({
    uid: PROBES_DASHBOARD_UID,
    title: "Uptime probes",
    description:
      "HTTP(S) and TCP probes run by the blackbox exporter on the monitor: state, latency, status and certificates.",
    variables: [labelVariable("probe", "probe", "Probe", `${PROBE_SUCCESS_METRIC}{job="${BLACKBOX_JOB}"}`)],
    sections: [
      row("State"),
      panel(
        upDownStat("Probe state", [{ expr: `${PROBE_SUCCESS_METRIC}{${SELECTED}}`, legend: "{{probe}}" }], {
          span: 24,
        }),
      ),
      panel(
        table(
          "Probes",
          PROMETHEUS,
          [
            { expr: `${PROBE_SUCCESS_METRIC}{${SELECTED}}`, legend: "Up", instant: true },
            { expr: `probe_http_status_code{${SELECTED}}`, legend: "HTTP status", instant: true },
            { expr: `probe_duration_seconds{${SELECTED}}`, legend: "Duration", instant: true, unit: "s" },
            {
              expr: `(${CERT_EXPIRY_METRIC}{${SELECTED}} - time()) / 86400`,
              legend: "Certificate days left",
              instant: true,
              unit: "d",
            },
            {
              expr: `avg_over_time(${PROBE_SUCCESS_METRIC}{${SELECTED}}[$__range])`,
              legend: "Success in range",
              instant: true,
              unit: "percentunit",
            },
          ],
          { span: 24, merge: true, hiddenColumns: ["__name__", "job", "environment"] },
        ),
      ),
      row("Timing"),
      panel(
        timeseries(
          "Probe duration",
          PROMETHEUS,
          [{ expr: `probe_duration_seconds{${SELECTED}}`, legend: "{{probe}}" }],
          {
            unit: "s",
            min: 0,
          },
        ),
      ),
      panel(
        timeseries(
          "Time by phase (HTTP)",
          PROMETHEUS,
          [
            {
              expr: `sum by (probe, phase) (probe_http_duration_seconds{${SELECTED}})`,
              legend: "{{probe}} {{phase}}",
            },
          ],
          { unit: "s", min: 0, stacked: true, description: "resolve, connect, tls, processing, transfer." },
        ),
      ),
      row("Certificates"),
      panel(
        timeseries(
          "Certificate days left",
          PROMETHEUS,
          [{ expr: `(${CERT_EXPIRY_METRIC}{${SELECTED}} - time()) / 86400`, legend: "{{probe}}" }],
          {
            unit: "d",
            thresholdLine: certExpiryDays,
            description: `ProbeCertificateExpiring fires below ${certExpiryDays} days (probeCertExpiryDays).`,
          },
        ),
      ),
    ],
  });
}
