/**
 * Uptime probes: the blackbox exporter's config (one module per probe, so each keeps its own
 * expected status and body match), its compose service on the monitor and the Prometheus job
 * that asks it to probe every target. Field names are the blackbox exporter's at the pinned
 * v0.28.0 (config/config.go); the real 0.28 binary checks the rendered file in the tests.
 * Nothing here exists unless the stack lists probes.
 */
import { stringify } from "yaml";
import type { ProbeTarget, StackConfig } from "../lib/stack-config";

export const BLACKBOX_SERVICE = "blackbox-exporter";
export const BLACKBOX_PORT = 9115;
/** `nobody`, as the image's own USER; it keeps no data, so it needs no directory on the data volume. */
export const BLACKBOX_USER = "65534:65534";
export const BLACKBOX_JOB = "blackbox";
/** Where compose mounts the rendered `blackbox/` directory. */
export const BLACKBOX_CONFIG_DIR = "/etc/blackbox";
export const BLACKBOX_CONFIG_FILE = `${BLACKBOX_CONFIG_DIR}/blackbox.yml`;
/** The address Prometheus hands probe requests to (compose service name). */
export const BLACKBOX_ADDRESS = `${BLACKBOX_SERVICE}:${BLACKBOX_PORT}`;
/** Below Prometheus' default 10s scrape timeout, so a hanging target fails the probe, not the scrape. */
const PROBE_TIMEOUT = "5s";

/** The blackbox module name of a probe (probe names are unique in a stack). */
function moduleName(probe: ProbeTarget): string {
  return probe.name;
}

function probeModule(probe: ProbeTarget): Record<string, unknown> {
  if (probe.kind === "tcp") {
    return {
      prober: "tcp",
      timeout: PROBE_TIMEOUT,
      tcp: { preferred_ip_protocol: "ip4", ip_protocol_fallback: true },
    };
  }
  return {
    prober: "http",
    timeout: PROBE_TIMEOUT,
    http: {
      method: "GET",
      valid_status_codes: [...probe.expectStatus],
      preferred_ip_protocol: "ip4",
      ip_protocol_fallback: true,
      // An https URL must stay https: a redirect to plain http fails the probe.
      ...(probe.url.startsWith("https:") ? { fail_if_not_ssl: true } : {}),
      ...(probe.bodyMatch !== undefined ? { fail_if_body_not_matches_regexp: [probe.bodyMatch] } : {}),
    },
  };
}

/** blackbox.yml; undefined when the stack has no probes. */
export function renderBlackboxConfig(config: StackConfig): string | undefined {
  if (config.probes.targets.length === 0) return undefined;
  const modules = Object.fromEntries(
    config.probes.targets.map((probe) => [moduleName(probe), probeModule(probe)]),
  );
  return stringify({ modules }, { lineWidth: 0 });
}

/** What the blackbox exporter is asked to probe: the URL, or host:port. */
function probeTarget(probe: ProbeTarget): string {
  return probe.kind === "http" ? probe.url : probe.address;
}

/**
 * The scrape job: each target is a probe, its module passed as a parameter; the exporter does the
 * probing. `instance` is what is probed and `probe` the probe's name, which SLOs select on.
 */
export function blackboxScrapeJob(
  config: StackConfig,
  address = BLACKBOX_ADDRESS,
): Record<string, unknown> | undefined {
  if (config.probes.targets.length === 0) return undefined;
  return {
    job_name: BLACKBOX_JOB,
    metrics_path: "/probe",
    static_configs: config.probes.targets.map((probe) => ({
      targets: [probeTarget(probe)],
      labels: { probe: probe.name, __param_module: moduleName(probe) },
    })),
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: address },
      { target_label: "environment", replacement: config.stack },
    ],
  };
}

/** The exporter's flags: the config file, and the port Prometheus reaches it on. */
export function blackboxFlags(): string[] {
  return [`--config.file=${BLACKBOX_CONFIG_FILE}`, `--web.listen-address=:${BLACKBOX_PORT}`];
}
