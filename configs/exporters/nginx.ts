/** nginx, through nginx-prometheus-exporter reading nginx's `stub_status` page. */

import { summedRate } from "../dashboards/exporter-panels";
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

const identity = { name: "nginx", title: "nginx", upMetric: "nginx_up" } as const;

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
  ],
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
  docs: {
    source: "nginx-prometheus-exporter",
    serviceNeeds: `\`stub_status\` served at \`${DEFAULT_STATUS_URL}\` (a \`server { listen 127.0.0.1:8080; location = /stub_status { stub_status; } }\` block), or another URL in the host's \`${STATUS_URL_KEY}\``,
  },
};
