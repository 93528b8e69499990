/**
 * Alerts for the optional exporters, one group per exporter that some host switched on. Each
 * checks the service behind the exporter (`nginx_up`, `pg_up`, ...); the exporter process itself
 * being down is ExporterDown's job. Jenkins serves its own metrics, so its `up` is the signal.
 */
import type { OptionalExporter } from "../../lib/catalog";
import type { StackConfig } from "../../lib/stack-config";
import { enabledExporters } from "../prometheus";
import { formatDuration, minutesCovering } from "./duration";
import { type AlertRule, type RuleGroup, seriesSelector } from "./types";

const SERVICE_DOWN_FOR = "2m";

interface ServiceCheck {
  readonly alert: string;
  /** Metric that is 1 while the exporter reaches its service. */
  readonly metric: string;
  readonly service: string;
  readonly summary: string;
  readonly severity: AlertRule["severity"];
  readonly sampleInstance: string;
}

const SERVICE_CHECKS: Readonly<Record<OptionalExporter, ServiceCheck>> = {
  nginx: {
    alert: "NginxDown",
    metric: "nginx_up",
    service: "nginx",
    summary: "The nginx web server is down.",
    severity: "critical",
    sampleInstance: "web-1",
  },
  jenkins: {
    alert: "JenkinsDown",
    metric: "up",
    service: "Jenkins",
    summary: "Jenkins is down.",
    severity: "warning",
    sampleInstance: "ci-1",
  },
  mongodb: {
    alert: "MongodbDown",
    metric: "mongodb_up",
    service: "MongoDB",
    summary: "MongoDB is down.",
    severity: "critical",
    sampleInstance: "db-1",
  },
  postgres: {
    alert: "PostgresqlDown",
    metric: "pg_up",
    service: "PostgreSQL",
    summary: "PostgreSQL is down.",
    severity: "critical",
    sampleInstance: "db-1",
  },
  mysql: {
    alert: "MysqlDown",
    metric: "mysql_up",
    service: "MySQL",
    summary: "MySQL is down.",
    severity: "critical",
    sampleInstance: "db-1",
  },
  redis: {
    alert: "RedisDown",
    metric: "redis_up",
    service: "Redis",
    summary: "Redis is down.",
    severity: "critical",
    sampleInstance: "db-1",
  },
};

function serviceDownRule(exporter: OptionalExporter): AlertRule {
  const check = SERVICE_CHECKS[exporter];
  const labels = { job: exporter, instance: check.sampleInstance };
  const forMinutes = minutesCovering(SERVICE_DOWN_FOR);
  const description = (instance: string) =>
    exporter === "jenkins"
      ? `Jenkins on ${instance} does not serve its /prometheus metrics endpoint: Jenkins is down or its Prometheus plugin is off.`
      : `The ${exporter} exporter on ${instance} cannot reach ${check.service}: the service is down or refuses the exporter's connection.`;
  const series = (values: string) => [{ series: seriesSelector(check.metric, labels), values }];
  return {
    name: check.alert,
    expr: `${check.metric}{job="${exporter}"} == 0`,
    for: SERVICE_DOWN_FOR,
    severity: check.severity,
    condition: `\`${check.metric}{job="${exporter}"} == 0\``,
    summary: check.summary,
    description: description("{{ $labels.instance }}"),
    cases: [
      {
        name: `fires when ${check.service} stays down`,
        inputSeries: series(`1x2 0x${forMinutes + 5}`),
        evalTime: formatDuration((3 + forMinutes + 1) * 60),
        expectedAlerts: [{ labels, description: description(check.sampleInstance) }],
      },
      {
        name: `stays quiet while ${check.service} is up`,
        inputSeries: series(`1x${forMinutes + 8}`),
        evalTime: formatDuration((3 + forMinutes + 1) * 60),
        expectedAlerts: [],
      },
    ],
  };
}

export const EXPORTER_GROUP_PREFIX = "exporter-";

/** One group per exporter; by default those some host of the stack enabled. */
export function exporterRuleGroups(
  config: StackConfig,
  exporters: readonly OptionalExporter[] = enabledExporters(config),
): RuleGroup[] {
  return exporters.map((exporter) => ({
    name: `${EXPORTER_GROUP_PREFIX}${exporter}`,
    rules: [serviceDownRule(exporter)],
  }));
}
