/**
 * Alerts on the uptime probes the blackbox exporter runs (configs/blackbox.ts): a probe failing
 * (or not running at all, because the exporter is down), and an https probe's certificate
 * expiring within probeCertExpiryDays.
 */
import type { ProbeSettings } from "../../lib/stack-config";
import { BLACKBOX_JOB } from "../blackbox";
import { formatDuration, minutesCovering } from "./duration";
import type { AlertRule, RuleGroup } from "./types";
import { seriesSelector } from "./types";

/** 1 when the last probe succeeded, 0 when not (blackbox exporter). */
export const PROBE_SUCCESS_METRIC = "probe_success";
/** Unix time the first certificate of the chain expires (blackbox exporter, https probes). */
export const CERT_EXPIRY_METRIC = "probe_ssl_earliest_cert_expiry";
const PROBES_GROUP = "probes";

const PROBE_FAILING_FOR = "2m";
const CERT_EXPIRING_FOR = "10m";
const DAY_SECONDS = 86_400;

const SAMPLE = { job: BLACKBOX_JOB, instance: "https://www.example.com/", probe: "homepage" };

function probeFailing(): AlertRule {
  const forMinutes = minutesCovering(PROBE_FAILING_FOR);
  const description = (probe: string, instance: string) =>
    `Probe ${probe} of ${instance} has failed for ${PROBE_FAILING_FOR} (or the blackbox exporter cannot run it): see the Probes dashboard for the status code, TLS and timing.`;
  const series = (success: string, up = `1x${forMinutes + 8}`) => [
    { series: seriesSelector(PROBE_SUCCESS_METRIC, SAMPLE), values: success },
    { series: seriesSelector("up", SAMPLE), values: up },
  ];
  const evalTime = formatDuration((3 + forMinutes + 1) * 60);
  const firing = [{ labels: SAMPLE, description: description(SAMPLE.probe, SAMPLE.instance) }];
  return {
    name: "ProbeFailing",
    expr: `${PROBE_SUCCESS_METRIC}{job="${BLACKBOX_JOB}"} == 0 or up{job="${BLACKBOX_JOB}"} == 0`,
    for: PROBE_FAILING_FOR,
    severity: "critical",
    condition: `\`probe_success == 0\` (wrong status, body, TLS, refused or timed out), or the probe itself cannot run`,
    summary: "An uptime probe is failing.",
    description: description("{{ $labels.probe }}", "{{ $labels.instance }}"),
    cases: [
      {
        name: "fires when the probe keeps failing",
        inputSeries: series(`1x2 0x${forMinutes + 5}`),
        evalTime,
        expectedAlerts: firing,
      },
      {
        name: "fires when the blackbox exporter cannot run the probe",
        inputSeries: series(`1x2 _x${forMinutes + 5}`, `1x2 0x${forMinutes + 5}`),
        evalTime,
        expectedAlerts: firing,
      },
      {
        name: "stays quiet through one failed probe",
        inputSeries: series(`1x2 0x1 1x${forMinutes + 5}`),
        evalTime,
        expectedAlerts: [],
      },
    ],
  };
}

function certificateExpiring(days: number): AlertRule {
  const forMinutes = minutesCovering(CERT_EXPIRING_FOR);
  const evalSeconds = (forMinutes + 5) * 60;
  const description = (instance: string, probe: string) =>
    `The TLS certificate of ${instance} (probe ${probe}) expires in less than ${days} days: renew it, or find why automatic renewal stopped.`;
  const expiringIn = (daysLeft: number) => [
    {
      series: seriesSelector(CERT_EXPIRY_METRIC, SAMPLE),
      values: `${evalSeconds + Math.round(daysLeft * DAY_SECONDS)}x${forMinutes + 8}`,
    },
  ];
  return {
    name: "ProbeCertificateExpiring",
    expr: `(${CERT_EXPIRY_METRIC}{job="${BLACKBOX_JOB}"} - time()) / ${DAY_SECONDS} < ${days}`,
    for: CERT_EXPIRING_FOR,
    severity: "warning",
    condition: `an https probe's certificate expires within ${days} days (probeCertExpiryDays)`,
    summary: "A probed TLS certificate expires soon.",
    description: description("{{ $labels.instance }}", "{{ $labels.probe }}"),
    cases: [
      {
        name: `fires ${days - 0.5} days before expiry`,
        inputSeries: expiringIn(days - 0.5),
        evalTime: formatDuration(evalSeconds),
        expectedAlerts: [{ labels: SAMPLE, description: description(SAMPLE.instance, SAMPLE.probe) }],
      },
      {
        name: `stays quiet ${days + 0.5} days before expiry`,
        inputSeries: expiringIn(days + 0.5),
        evalTime: formatDuration(evalSeconds),
        expectedAlerts: [],
      },
    ],
  };
}

/** The probes group, or none when the stack lists no probes. */
export function probeRuleGroups(probes: ProbeSettings, always = false): RuleGroup[] {
  if (probes.targets.length === 0 && !always) return [];
  return [{ name: PROBES_GROUP, rules: [probeFailing(), certificateExpiring(probes.certExpiryDays)] }];
}
