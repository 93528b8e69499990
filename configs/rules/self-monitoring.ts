/**
 * Alerts on the monitoring stack itself: is Prometheus loading its config, discovering targets
 * and evaluating rules, can Alertmanager deliver, are Loki, Alloy, Grafana and the exporters up,
 * are all expected hosts scraped, and the Watchdog that proves the whole pipeline works.
 * Metric names used here exist in Prometheus 3.x and Alertmanager 0.3x (the tests read them from
 * the real binaries).
 */
import { RULE_RATE_WINDOW } from "../../lib/catalog";
import type { StackConfig } from "../../lib/stack-config";
import { EXPORTERS, enabledExporters } from "../exporters";
import { expectedNodeTargets, JOB_NAMES, MONITOR_INSTANCE } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import { EXPORTER_MUTE_LABELS } from "./exporters";
import { stackHealthRules } from "./stack-health";
import type { AlertRule, AlertTestCase, InputSeries, RuleGroup } from "./types";
import { seriesSelector } from "./types";

const SERVICE_DOWN_FOR = "5m";
const PROMETHEUS = { job: JOB_NAMES.prometheus, instance: MONITOR_INSTANCE };
const ALERTMANAGER = { job: JOB_NAMES.alertmanager, instance: MONITOR_INSTANCE };

/** Minutes to evaluate at so a condition true from `startMinute` has held for `forDuration`. */
function firingEval(forDuration: string, startMinute: number): string {
  return formatDuration((startMinute + minutesCovering(forDuration) + 1) * 60);
}

/** Cases for an `up{job=...} == 0` alert on one target: down long enough, and a short blip. */
function upCases(
  labels: Record<string, string>,
  forDuration: string,
  description: (instance: string, job: string) => string,
): AlertTestCase[] {
  const forMinutes = minutesCovering(forDuration);
  return [
    {
      name: "fires when the target stays down",
      inputSeries: [{ series: seriesSelector("up", labels), values: `1x2 0x${forMinutes + 5}` }],
      evalTime: firingEval(forDuration, 3),
      expectedAlerts: [{ labels, description: description(labels.instance ?? "", labels.job ?? "") }],
    },
    {
      name: "stays quiet through a restart shorter than the for duration",
      inputSeries: [{ series: seriesSelector("up", labels), values: `1x2 0x1 1x${forMinutes + 5}` }],
      evalTime: firingEval(forDuration, 3),
      expectedAlerts: [],
    },
  ];
}

function serviceDown(
  name: string,
  job: string,
  severity: AlertRule["severity"],
  summary: string,
  consequence: string,
  sampleInstance = MONITOR_INSTANCE,
): AlertRule {
  const description = (instance: string, jobName: string) =>
    `Prometheus cannot scrape ${jobName} on ${instance}: ${consequence}`;
  return {
    name,
    expr: `up{job="${job}"} == 0`,
    for: SERVICE_DOWN_FOR,
    severity,
    condition: `\`up{job="${job}"} == 0\``,
    summary,
    description: description("{{ $labels.instance }}", "{{ $labels.job }}"),
    cases: upCases({ job, instance: sampleInstance }, SERVICE_DOWN_FOR, description),
  };
}

function configReloadFailed(): AlertRule {
  const forDuration = "5m";
  const description = (instance: string) =>
    `Prometheus on ${instance} failed to load its new configuration and keeps running the previous one; ` +
    "a restart would fail. Check with promtool check config.";
  const series = (values: string): InputSeries[] => [
    { series: seriesSelector("prometheus_config_last_reload_successful", PROMETHEUS), values },
  ];
  return {
    name: "PrometheusConfigReloadFailed",
    expr: `prometheus_config_last_reload_successful{job="${JOB_NAMES.prometheus}"} == 0`,
    for: forDuration,
    severity: "warning",
    condition: "last config reload failed",
    summary: "Prometheus failed to reload its configuration.",
    description: description("{{ $labels.instance }}"),
    cases: [
      {
        name: "fires while the last reload failed",
        inputSeries: series("1x2 0x15"),
        evalTime: firingEval(forDuration, 3),
        expectedAlerts: [{ labels: PROMETHEUS, description: description(MONITOR_INSTANCE) }],
      },
      {
        name: "stays quiet once a later reload succeeds",
        inputSeries: series("1x2 0x1 1x15"),
        evalTime: firingEval(forDuration, 3),
        expectedAlerts: [],
      },
    ],
  };
}

function serviceDiscoveryFailing(): AlertRule {
  const forDuration = "15m";
  const window = "10m";
  const evalTime = firingEval(forDuration, 1);
  const samples = minutesCovering(forDuration) + 10;
  const description = (mechanism: string, instance: string, count: string) =>
    `${mechanism} service discovery on ${instance} failed ${count} times in the last ${window}: ` +
    "targets it should find are missing or stale.";
  const refreshFailures = (mechanism: string, values: string): InputSeries => ({
    series: seriesSelector("prometheus_sd_refresh_failures_total", { ...PROMETHEUS, mechanism }),
    values,
  });
  return {
    name: "PrometheusSDFailing",
    expr:
      `sum by (instance, mechanism) (increase(prometheus_sd_refresh_failures_total{job="${JOB_NAMES.prometheus}"}[${window}])) > 0 ` +
      `or label_replace(sum by (instance) (increase(prometheus_sd_file_read_errors_total{job="${JOB_NAMES.prometheus}"}[${window}])) > 0, "mechanism", "file", "", "")`,
    for: forDuration,
    severity: "warning",
    condition: `EC2 or file SD errors in every ${window} window`,
    summary: "Prometheus service discovery keeps failing.",
    description: description(
      "{{ $labels.mechanism }}",
      "{{ $labels.instance }}",
      '{{ $value | printf "%.0f" }}',
    ),
    cases: [
      {
        name: "fires when EC2 discovery fails on every refresh",
        inputSeries: [refreshFailures("ec2", `0+1x${samples}`)],
        evalTime,
        expectedAlerts: [
          {
            labels: { instance: MONITOR_INSTANCE, mechanism: "ec2" },
            description: description("ec2", MONITOR_INSTANCE, "10"),
          },
        ],
      },
      {
        name: "fires when a file SD target file cannot be read",
        inputSeries: [
          {
            series: seriesSelector("prometheus_sd_file_read_errors_total", PROMETHEUS),
            values: `0+1x${samples}`,
          },
        ],
        evalTime,
        expectedAlerts: [
          {
            labels: { instance: MONITOR_INSTANCE, mechanism: "file" },
            description: description("file", MONITOR_INSTANCE, "10"),
          },
        ],
      },
      {
        name: "stays quiet after a single transient failure",
        inputSeries: [refreshFailures("ec2", `0x2 1x${samples}`)],
        evalTime,
        expectedAlerts: [],
      },
    ],
  };
}

function ruleEvaluationFailures(): AlertRule {
  const forDuration = "10m";
  const samples = minutesCovering(forDuration) + 10;
  const description = (group: string, instance: string) =>
    `Rules in group ${group} on ${instance} fail to evaluate: the alerts they define cannot fire.`;
  const failures = (values: string): InputSeries[] => [
    {
      series: seriesSelector("prometheus_rule_evaluation_failures_total", {
        ...PROMETHEUS,
        rule_group: "/etc/prometheus/rules/host.yml;host",
      }),
      values,
    },
  ];
  return {
    name: "PrometheusRuleEvaluationFailures",
    expr: `sum by (instance, rule_group) (increase(prometheus_rule_evaluation_failures_total{job="${JOB_NAMES.prometheus}"}[${RULE_RATE_WINDOW}])) > 0`,
    for: forDuration,
    severity: "critical",
    condition: "rule evaluation failures in every 5m window",
    summary: "Prometheus fails to evaluate alert rules.",
    description: description("{{ $labels.rule_group }}", "{{ $labels.instance }}"),
    cases: [
      {
        name: "fires when a group keeps failing",
        inputSeries: failures(`0+1x${samples}`),
        evalTime: firingEval(forDuration, 1),
        expectedAlerts: [
          {
            labels: { instance: MONITOR_INSTANCE, rule_group: "/etc/prometheus/rules/host.yml;host" },
            description: description("/etc/prometheus/rules/host.yml;host", MONITOR_INSTANCE),
          },
        ],
      },
      {
        name: "stays quiet when the counter does not move",
        inputSeries: failures(`3x${samples}`),
        evalTime: firingEval(forDuration, 1),
        expectedAlerts: [],
      },
    ],
  };
}

function alertmanagerNotificationsFailing(): AlertRule {
  const forDuration = "5m";
  const samples = minutesCovering(forDuration) + 12;
  const description = (integration: string, instance: string, share: string) =>
    `Alertmanager on ${instance} fails to deliver ${share} of its ${integration} notifications.`;
  const notifications = (integration: string, attemptsPerMinute: number, failuresPerMinute: number) => [
    {
      series: seriesSelector("alertmanager_notifications_total", { ...ALERTMANAGER, integration }),
      values: `0+${attemptsPerMinute}x${samples}`,
    },
    {
      series: seriesSelector("alertmanager_notifications_failed_total", { ...ALERTMANAGER, integration }),
      values: `0+${failuresPerMinute}x${samples}`,
    },
  ];
  return {
    name: "AlertmanagerNotificationsFailing",
    expr:
      `sum by (instance, integration) (rate(alertmanager_notifications_failed_total{job="${JOB_NAMES.alertmanager}"}[${RULE_RATE_WINDOW}])) ` +
      `/ sum by (instance, integration) (rate(alertmanager_notifications_total{job="${JOB_NAMES.alertmanager}"}[${RULE_RATE_WINDOW}])) > 0.01`,
    for: forDuration,
    severity: "warning",
    condition: "> 1% of notifications to one integration fail (5m)",
    summary: "Alertmanager fails to send notifications.",
    description: description(
      "{{ $labels.integration }}",
      "{{ $labels.instance }}",
      "{{ $value | humanizePercentage }}",
    ),
    cases: [
      {
        name: "fires when half of the email notifications fail",
        inputSeries: [...notifications("email", 4, 2), ...notifications("slack", 4, 0)],
        evalTime: firingEval(forDuration, 5),
        expectedAlerts: [
          {
            labels: { instance: MONITOR_INSTANCE, integration: "email" },
            description: description("email", MONITOR_INSTANCE, "50%"),
          },
        ],
      },
      {
        name: "stays quiet when every notification succeeds",
        inputSeries: notifications("email", 4, 0),
        evalTime: firingEval(forDuration, 5),
        expectedAlerts: [],
      },
    ],
  };
}

/**
 * Exporter jobs whose own `up` is the signal. Node has HostUnreachable; a service serving its own
 * metrics (no exporter container) has its service-down alert on that `up`.
 */
function exporterJobs(config: StackConfig): string[] {
  return [
    JOB_NAMES.process,
    JOB_NAMES.cadvisor,
    ...enabledExporters(config)
      .filter((record) => record.container !== undefined)
      .map((record) => record.name),
  ];
}

/** The services that serve their own metrics, for the condition in words. */
const SELF_SERVED = EXPORTERS.filter((record) => record.container === undefined).map(
  (record) => record.title,
);

function exporterDown(config: StackConfig): AlertRule {
  const jobs = exporterJobs(config);
  const description = (job: string, instance: string) =>
    `The ${job} exporter on ${instance} does not answer scrapes: its metrics and the alerts built on them are blind.`;
  const sample = { job: JOB_NAMES.cadvisor, instance: "web-1" };
  // A down exporter's service alerts cannot fire (their series are gone); mute them all the same.
  const muted = enabledExporters(config)
    .filter((record) => record.container !== undefined)
    .flatMap((record) => record.alerts.map((alert) => alert.rule.name));
  return {
    ...(muted.length > 0 ? { mutes: { alerts: muted, equal: [...EXPORTER_MUTE_LABELS] } } : {}),
    name: "ExporterDown",
    expr: `up{job=~"${jobs.join("|")}"} == 0`,
    for: SERVICE_DOWN_FOR,
    severity: "warning",
    condition: `\`up == 0\` for process, cadvisor and each enabled optional exporter${SELF_SERVED.length > 0 ? ` but ${SELF_SERVED.join(", ")}` : ""}`,
    summary: "An exporter does not answer Prometheus' scrapes.",
    description: description("{{ $labels.job }}", "{{ $labels.instance }}"),
    cases: [
      ...upCases(sample, SERVICE_DOWN_FOR, (instance, job) => description(job, instance)),
      {
        name: "leaves a down node exporter to HostUnreachable",
        inputSeries: [
          { series: seriesSelector("up", { job: JOB_NAMES.node, instance: "web-1" }), values: "0x20" },
        ],
        evalTime: firingEval(SERVICE_DOWN_FOR, 0),
        expectedAlerts: [],
      },
    ],
  };
}

function tooFewTargets(config: StackConfig): AlertRule {
  const expected = expectedNodeTargets(config);
  const hosts = [
    MONITOR_INSTANCE,
    ...config.clients.map((client) => client.name),
    ...config.externalHosts.map((host) => host.name),
  ];
  const forDuration = config.alerting.thresholds.hostDownFor;
  const samples = minutesCovering(forDuration) + 6;
  const upSeries = (names: readonly string[]): InputSeries[] =>
    names.map((instance) => ({
      series: seriesSelector("up", { job: JOB_NAMES.node, instance }),
      values: `1x${samples}`,
    }));
  const description = (count: string) =>
    `Prometheus scrapes ${count} node exporters but this stack has ${expected} hosts (clients, hosts ` +
    "outside AWS and the monitor): a host stopped, lost its Scrape/Environment tags, or discovery fails.";
  return {
    name: "TooFewTargets",
    // `or vector(0)`: with no target at all, count() returns nothing and the alert would stay quiet.
    expr: `(count(up{job="${JOB_NAMES.node}"}) or vector(0)) < ${expected}`,
    for: forDuration,
    severity: "critical",
    condition: `fewer \`up{job="node"}\` series than the ${expected} hosts in config`,
    summary: "Fewer hosts are scraped than the stack defines.",
    description: description("{{ $value }}"),
    cases: [
      {
        name: "fires when one host vanished from discovery",
        inputSeries: upSeries(hosts.slice(0, -1)),
        evalTime: firingEval(forDuration, 0),
        expectedAlerts: [{ labels: {}, description: description(`${expected - 1}`) }],
      },
      {
        name: "stays quiet when every host is scraped, even a down one",
        inputSeries: [
          ...upSeries(hosts.slice(0, -1)),
          {
            series: seriesSelector("up", { job: JOB_NAMES.node, instance: hosts.at(-1) ?? "" }),
            values: `0x${samples}`,
          },
        ],
        evalTime: firingEval(forDuration, 0),
        expectedAlerts: [],
      },
    ],
  };
}

function watchdog(): AlertRule {
  const description =
    "Always firing. Alertmanager forwards it to an outside heartbeat service, which raises the alarm when it " +
    "stops arriving: then Prometheus, Alertmanager or the monitor host is down.";
  return {
    name: "Watchdog",
    expr: "vector(1)",
    for: "0s",
    severity: "none",
    condition: "always (heartbeat)",
    summary: "The alerting pipeline is working.",
    description,
    alwaysFires: true,
    cases: [
      {
        name: "fires from the first evaluation",
        inputSeries: [],
        evalTime: "1m",
        expectedAlerts: [{ labels: {}, description }],
      },
    ],
  };
}

export function selfMonitoringRuleGroup(config: StackConfig): RuleGroup {
  return {
    name: "self-monitoring",
    rules: [
      configReloadFailed(),
      serviceDiscoveryFailing(),
      ruleEvaluationFailures(),
      alertmanagerNotificationsFailing(),
      serviceDown(
        "AlertmanagerDown",
        JOB_NAMES.alertmanager,
        "critical",
        "Alertmanager is down.",
        "alerts are not delivered; only the missing Watchdog heartbeat tells.",
      ),
      serviceDown(
        "LokiDown",
        JOB_NAMES.loki,
        "critical",
        "Loki is down.",
        "logs are not stored and Alloy agents buffer or drop them.",
      ),
      serviceDown(
        "GrafanaDown",
        JOB_NAMES.grafana,
        "warning",
        "Grafana is down.",
        "dashboards are unavailable; alerting is not affected.",
      ),
      serviceDown(
        "AlloyDown",
        JOB_NAMES.alloy,
        "warning",
        "A Grafana Alloy agent is down.",
        "logs from this host are not shipped to Loki.",
        "web-1",
      ),
      exporterDown(config),
      tooFewTargets(config),
      ...stackHealthRules(config),
      watchdog(),
    ],
  };
}
