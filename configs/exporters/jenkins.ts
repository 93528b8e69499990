/** Jenkins, through its own Prometheus metrics plugin: no exporter container runs for it. */
import { serviceDownAlert } from "../rules/service-down";
import type { ExporterRecord } from "./types";

/** Jenkins' own HTTP port, where the plugin serves /prometheus. */
const PORT = 8080;
const METRICS_PATH = "/prometheus";

/** Where the Prometheus plugin documents its metrics (default namespace). */
const METRICS_DOC =
  "https://github.com/jenkinsci/prometheus-plugin/blob/master/docs/metrics/index.md (default namespace)";
const identity = { name: "jenkins", title: "Jenkins", upMetric: "up" } as const;

export const jenkins: ExporterRecord = {
  ...identity,
  settings: { name: identity.name },
  port: PORT,
  metricsPath: METRICS_PATH,
  alerts: [
    serviceDownAlert(identity, {
      alert: "JenkinsDown",
      summary: "Jenkins is down.",
      severity: "warning",
      sampleInstance: "ci-1",
      description: (instance) =>
        `Jenkins on ${instance} does not serve its ${METRICS_PATH} metrics endpoint: Jenkins is down or its Prometheus plugin is off.`,
      runbook: {
        meaning: `Prometheus cannot scrape Jenkins' own \`${METRICS_PATH}\` endpoint (the Prometheus metrics plugin) on port ${PORT}`,
        impact: "CI jobs do not run, or Jenkins runs without its metrics plugin.",
        diagnosis: [
          `\`curl -sI http://127.0.0.1:${PORT}${METRICS_PATH}\` on the host: connection refused means Jenkins is down (\`systemctl status jenkins\` / \`docker logs jenkins\`); 404 means the Prometheus metrics plugin is missing or disabled; 403 means the endpoint needs authentication.`,
        ],
        mitigation: [
          `Restart Jenkins; reinstall or enable the Prometheus metrics plugin; allow anonymous read of \`${METRICS_PATH}\` from the monitor's address.`,
        ],
      },
    }),
  ],
  dashboard: {
    description: "Jenkins through its Prometheus plugin (default namespace): executors and queue.",
    answers: "Is Jenkins up, are executors busy, is the queue growing",
    statusQuestion: "does its Prometheus endpoint answer?",
    panels: (s) => [
      {
        title: "Executors",
        question: "how many executors are busy and free?",
        queries: [
          { expr: `default_jenkins_executors_busy{${s}}`, legend: "{{instance}} busy" },
          { expr: `default_jenkins_executors_available{${s}}`, legend: "{{instance}} available" },
        ],
      },
      {
        title: "Build queue",
        question: "are builds waiting for an executor?",
        queries: [{ expr: `default_jenkins_executors_queue_length{${s}}`, legend: "{{instance}}" }],
      },
    ],
  },
  // Jenkins runs as `java -jar jenkins.war` (or the war's main class): a narrower case of `java`.
  processGroups: [
    { name: "jenkins", comm: ["java"], cmdline: ["jenkins(\\.war|\\.main|/war)"], beforeGeneralGroups: true },
  ],
  metrics: Object.fromEntries(
    [
      "default_jenkins_executors_busy",
      "default_jenkins_executors_available",
      "default_jenkins_executors_queue_length",
    ].map((name) => [name, { labels: [], source: METRICS_DOC }]),
  ),
  docs: {
    source: "Jenkins Prometheus plugin",
    serviceNeeds: `the Jenkins **Prometheus metrics** plugin, serving \`${METRICS_PATH}\` without authentication to the monitor's address; no container runs for it`,
    portNote: "Jenkins' own",
  },
};
