/**
 * Traces (traces on): what Tempo receives and throws away, and the RED view of every traced
 * service from the span metrics Tempo's metrics generator writes to Prometheus (`service` label:
 * the spans' service.name). Traces themselves open in Explore on the Tempo datasource.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { JOB_NAMES } from "../prometheus";
import { buildDashboard, labelVariable, PROMETHEUS, panel, row, timeseries, upDownStat } from "./common";

const TRACES_DASHBOARD_UID = "obs-traces";

const SERVICES = 'service=~"$service"';

export function tracesDashboard(): Dashboard {
  return buildDashboard({
    uid: TRACES_DASHBOARD_UID,
    title: "Traces",
    description:
      "Tempo's intake and the request rate, errors and latency of every traced service (span metrics).",
    variables: [labelVariable("service", "service", "Service", "traces_spanmetrics_calls_total")],
    sections: [
      row("Tempo"),
      panel(
        upDownStat("Tempo", [{ expr: `up{job="${JOB_NAMES.tempo}"}`, legend: "{{instance}}" }], { span: 6 }),
      ),
      panel(
        timeseries(
          "Spans received and discarded",
          PROMETHEUS,
          [
            {
              expr: "sum(rate(tempo_distributor_spans_received_total[$__rate_interval]))",
              legend: "received",
            },
            {
              expr: "sum by (reason) (rate(tempo_discarded_spans_total[$__rate_interval]))",
              legend: "discarded: {{reason}}",
            },
          ],
          {
            span: 18,
            unit: "short",
            min: 0,
            description: "Spans per second; any discarded line fires TempoDiscardingSpans.",
          },
        ),
      ),
      row("Services (span metrics)"),
      panel(
        timeseries(
          "Request rate",
          PROMETHEUS,
          [
            {
              expr: `sum by (service) (rate(traces_spanmetrics_calls_total{${SERVICES}, span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"}[$__rate_interval]))`,
              legend: "{{service}}",
            },
          ],
          { unit: "reqps", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Error ratio",
          PROMETHEUS,
          [
            {
              expr: `sum by (service) (rate(traces_spanmetrics_calls_total{${SERVICES}, status_code="STATUS_CODE_ERROR"}[$__rate_interval])) / sum by (service) (rate(traces_spanmetrics_calls_total{${SERVICES}}[$__rate_interval]))`,
              legend: "{{service}}",
            },
          ],
          { unit: "percentunit", min: 0, description: "Share of spans with status ERROR." },
        ),
      ),
      panel(
        timeseries(
          "Latency p95",
          PROMETHEUS,
          [
            {
              expr: `histogram_quantile(0.95, sum by (service, le) (rate(traces_spanmetrics_latency_bucket{${SERVICES}}[$__rate_interval])))`,
              legend: "{{service}}",
            },
          ],
          { unit: "s", min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Service graph requests",
          PROMETHEUS,
          [
            {
              expr: "sum by (client, server) (rate(traces_service_graph_request_total[$__rate_interval]))",
              legend: "{{client}} → {{server}}",
            },
          ],
          {
            unit: "reqps",
            min: 0,
            description: "Calls between services, from Tempo's service-graphs processor.",
          },
        ),
      ),
    ],
  });
}
