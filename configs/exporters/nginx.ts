/** nginx, through nginx-prometheus-exporter reading nginx's `stub_status` page. */

import { summedRate } from "../dashboards/exporter-panels";
import { after, exporterSymptom, series } from "../rules/rule-spec";
import { serviceDownAlert } from "../rules/service-down";
import type { ExporterRecord } from "./types";

/** nginx-prometheus-exporter's own default; Jenkins listens on 8080 too, hence the per-host setting. */
const DEFAULT_STATUS_URL = "http://127.0.0.1:8080/stub_status";
const STATUS_URL_KEY = "nginxStatusUrl";

/** Why a stub_status URL is unusable: the exporter runs on the host network and reads it over plain HTTP(S). */
function statusUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL like ${DEFAULT_STATUS_URL}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `"${value}" must be an http(s) URL like ${DEFAULT_STATUS_URL}`;
  }
  if (url.username || url.password || url.hash) {
    return `"${value}" must not carry credentials or a fragment`;
  }
  return undefined;
}

/** Where nginx-prometheus-exporter documents its metrics, at the pinned version. */
const METRICS_DOC =
  "https://github.com/nginx/nginx-prometheus-exporter/blob/v1.5.1/README.md#exported-metrics";
const identity = { name: "nginx", title: "nginx", upMetric: "nginx_up" } as const;
const JOB = `job="${identity.name}"`;
const SAMPLE = { job: identity.name, instance: "web-1" };

export const nginx: ExporterRecord = {
  ...identity,
  settings: {
    name: identity.name,
    hostFields: [
      {
        key: STATUS_URL_KEY,
        default: DEFAULT_STATUS_URL,
        example: "http://127.0.0.1:8081/stub_status",
        description:
          "URL of nginx's stub_status page on the host, read by the nginx exporter (move it off 8080 when Jenkins runs there).",
        problem: statusUrlProblem,
      },
    ],
  },
  port: 9113,
  metricsPath: "/metrics",
  container: {
    image: "docker.io/nginx/nginx-prometheus-exporter:1.5.1",
    imageCheckedAgainst: "1.5.1 release (Docker Hub tags have no `v`)",
    command: ({ listenAddress, hostSettings }) => [
      `--nginx.scrape-uri=${hostSettings[STATUS_URL_KEY] ?? DEFAULT_STATUS_URL}`,
      `--web.listen-address=${listenAddress}`,
    ],
  },
  alerts: [
    serviceDownAlert(identity, {
      alert: "NginxDown",
      summary: "The nginx web server is down.",
      severity: "critical",
      sampleInstance: "web-1",
      runbook: {
        meaning: "the nginx exporter runs but cannot read nginx's `stub_status` page",
        impact: "The site or proxy nginx serves is down on that host.",
        diagnosis: [
          `\`systemctl status nginx\` or \`docker ps\` for the nginx container; \`curl -s ${DEFAULT_STATUS_URL}\` on the host (the exporter's \`--nginx.scrape-uri\`: the host's \`${STATUS_URL_KEY}\`, that URL unless set); \`nginx -t\` for config errors.`,
        ],
        mitigation: [
          "Restart nginx once `nginx -t` passes; if only `stub_status` is missing, restore the `location /stub_status` block the exporter needs.",
        ],
      },
    }),
    exporterSymptom(
      {
        name: "NginxDroppedConnections",
        expr:
          `sum by (instance, job) (rate(nginx_connections_accepted{${JOB}}[5m]) - ` +
          `rate(nginx_connections_handled{${JOB}}[5m])) > 0`,
        for: "5m",
        severity: "warning",
        condition: "accepted connections not handled (5m)",
        summary: "The nginx web server drops connections.",
        labels: ["instance"],
        description: (l) =>
          `nginx on ${l.instance} accepts connections it then drops unhandled: it reached worker_connections or ` +
          "its file descriptor limit.",
        firing: {
          name: "fires while connections are dropped",
          series: [
            series("nginx_connections_accepted", SAMPLE, "0+100x20"),
            series("nginx_connections_handled", SAMPLE, "0+90x20"),
          ],
          evalTime: after("5m"),
          labels: SAMPLE,
        },
        quiet: [
          {
            name: "stays quiet when every connection is handled",
            series: [
              series("nginx_connections_accepted", SAMPLE, "0+100x20"),
              series("nginx_connections_handled", SAMPLE, "0+100x20"),
            ],
            evalTime: after("5m"),
          },
        ],
      },
      {
        meaning:
          "`nginx_connections_accepted` grew faster than `nginx_connections_handled` for 5 minutes: nginx closed accepted connections without serving them.",
        impact: "Clients see connection resets.",
        diagnosis: ["nginx's error log: `worker_connections are not enough` or `Too many open files`."],
        mitigation: ["Raise `worker_connections` and `worker_rlimit_nofile`; add workers or hosts."],
      },
    ),
  ],
  alertCoverage: {
    name: "nginx (the common community set)",
    source: "nginx/nginx-prometheus-exporter v1.5.1 (stub_status metrics; no mixin of its own)",
    rows: [
      { mode: "nginx down", reference: "(community) NginxDown", ours: ["NginxDown"] },
      {
        mode: "dropped connections",
        reference: "(community) accepted minus handled",
        ours: ["NginxDroppedConnections"],
      },
      {
        mode: "HTTP 4xx/5xx rates, latency",
        reference: "(community) NginxHighHttp4xx/5xxErrorRate, NginxLatencyHigh",
        ours: [],
        note: "stub_status has no status codes or latencies; the blackbox probes (ProbeFailing) watch the site itself",
      },
    ],
  },
  dashboard: {
    description: "nginx stub_status through nginx-prometheus-exporter: requests and connections.",
    answers: "Is nginx up, how many requests and connections",
    statusQuestion: "can the exporter reach nginx's stub_status?",
    panels: (s) => [
      {
        title: "Requests",
        question: "how many requests per second?",
        unit: "reqps",
        queries: [{ expr: summedRate("nginx_http_requests_total", s), legend: "{{instance}}" }],
      },
      {
        title: "Connections by state",
        question: "how many connections are active, reading, writing, waiting?",
        queries: [
          { expr: `nginx_connections_active{${s}}`, legend: "{{instance}} active" },
          { expr: `nginx_connections_reading{${s}}`, legend: "{{instance}} reading" },
          { expr: `nginx_connections_writing{${s}}`, legend: "{{instance}} writing" },
          { expr: `nginx_connections_waiting{${s}}`, legend: "{{instance}} waiting" },
        ],
      },
      {
        title: "Connections accepted vs handled",
        question: "is nginx dropping connections (accepted above handled)?",
        unit: "cps",
        queries: [
          { expr: summedRate("nginx_connections_accepted", s), legend: "{{instance}} accepted" },
          { expr: summedRate("nginx_connections_handled", s), legend: "{{instance}} handled" },
        ],
      },
    ],
  },
  processGroups: [{ name: "nginx", comm: ["nginx"] }],
  metrics: Object.fromEntries(
    [
      "nginx_up",
      "nginx_http_requests_total",
      "nginx_connections_active",
      "nginx_connections_reading",
      "nginx_connections_writing",
      "nginx_connections_waiting",
      "nginx_connections_accepted",
      "nginx_connections_handled",
    ].map((name) => [name, { labels: [], source: METRICS_DOC }]),
  ),
  docs: {
    source: "nginx-prometheus-exporter",
    serviceNeeds: `\`stub_status\` served at \`${DEFAULT_STATUS_URL}\` (a \`server { listen 127.0.0.1:8080; location = /stub_status { stub_status; } }\` block), or another URL in the host's \`${STATUS_URL_KEY}\``,
  },
};
