/**
 * The alert every optional exporter has: the service behind it is down. It checks the gauge the
 * exporter sets while it reaches its service (`nginx_up`, `pg_up`, ...); the exporter process
 * itself being down is ExporterDown's job. A service that serves its own metrics has no such
 * gauge: its target's `up` is the signal.
 */
import { formatDuration, minutesCovering } from "./duration";
import { type RunbookText, renderRunbook } from "./runbook";
import { type AlertRule, type Severity, seriesSelector } from "./types";

const SERVICE_DOWN_FOR = "2m";

/** The exporter the alert is about, as its record names it. */
export interface ServiceDownExporter {
  /** Its scrape job. */
  readonly name: string;
  /** The service in sentences, e.g. `PostgreSQL`. */
  readonly title: string;
  /** The gauge that is 1 while the service is reachable (`up` when the service serves its own metrics). */
  readonly upMetric: string;
}

export interface ServiceDownSpec {
  readonly alert: string;
  readonly summary: string;
  readonly severity: Severity;
  /** `instance` of the promtool test cases. */
  readonly sampleInstance: string;
  /** What is wrong on `instance`; by default the exporter cannot reach the service. */
  readonly description?: (instance: string) => string;
  /** The runbook; its meaning is the part after the condition (`<condition>: <meaning>, on the host ...`). */
  readonly runbook: RunbookText;
}

/** `nginx_up` for an exporter's gauge, `up{job="jenkins"}` for a service's own endpoint. */
function serviceUpSignal(exporter: ServiceDownExporter): string {
  return exporter.upMetric === "up" ? `up{job="${exporter.name}"}` : exporter.upMetric;
}

function minutesInWords(duration: string): string {
  const minutes = minutesCovering(duration);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

function serviceDownRule(exporter: ServiceDownExporter, spec: ServiceDownSpec): AlertRule {
  const labels = { job: exporter.name, instance: spec.sampleInstance };
  const forMinutes = minutesCovering(SERVICE_DOWN_FOR);
  const description =
    spec.description ??
    ((instance: string) =>
      `The ${exporter.name} exporter on ${instance} cannot reach ${exporter.title}: the service is down or refuses the exporter's connection.`);
  const series = (values: string) => [{ series: seriesSelector(exporter.upMetric, labels), values }];
  const expr = `${exporter.upMetric}{job="${exporter.name}"} == 0`;
  return {
    name: spec.alert,
    expr,
    for: SERVICE_DOWN_FOR,
    severity: spec.severity,
    condition: `\`${expr}\``,
    summary: spec.summary,
    description: description("{{ $labels.instance }}"),
    cases: [
      {
        name: `fires when ${exporter.title} stays down`,
        inputSeries: series(`1x2 0x${forMinutes + 5}`),
        evalTime: formatDuration((3 + forMinutes + 1) * 60),
        expectedAlerts: [{ labels, description: description(spec.sampleInstance) }],
      },
      {
        name: `stays quiet while ${exporter.title} is up`,
        inputSeries: series(`1x${forMinutes + 8}`),
        evalTime: formatDuration((3 + forMinutes + 1) * 60),
        expectedAlerts: [],
      },
    ],
  };
}

/** The runbook of serviceDownRule, as runbooks/<alert>.md holds it. */
function serviceDownRunbook(exporter: ServiceDownExporter, spec: ServiceDownSpec): string {
  const signal = serviceUpSignal(exporter);
  // An exporter process of its own is watched by ExporterDown; a service's own endpoint is not.
  const exporterDownStep =
    exporter.upMetric === "up"
      ? []
      : [`If the exporter itself is down, ExporterDown (\`job=${exporter.name}\`) fires instead.`];
  return renderRunbook(spec.alert, {
    ...spec.runbook,
    meaning:
      `\`${signal} == 0\`: ${spec.runbook.meaning}, on the host in \`instance\`, for ` +
      `${minutesInWords(SERVICE_DOWN_FOR)}. This group is loaded only when some host enables the ` +
      `\`${exporter.name}\` exporter.`,
    diagnosis: [...spec.runbook.diagnosis, ...exporterDownStep],
  });
}

/** The rule and its runbook, as an exporter record lists its alerts. */
export function serviceDownAlert(
  exporter: ServiceDownExporter,
  spec: ServiceDownSpec,
): { rule: AlertRule; runbook: string } {
  return { rule: serviceDownRule(exporter, spec), runbook: serviceDownRunbook(exporter, spec) };
}
