/**
 * The changes the Docker tests make to rendered files before the test hosts get them, all here:
 *
 * - cAdvisor's `privileged: true` is dropped. This machine's capability bounding set lacks
 *   CAP_SYS_RESOURCE, and runc refuses privileged containers here ("unable to apply caps:
 *   operation not permitted"); the cAdvisor stand-in needs no privilege.
 * - the one version gap of the test images (test/support/loopback.ts, `retentionForPrometheus`):
 *   Prometheus before 3.8 (the test image's Debian sid 3.5) rejects `storage.tsdb.retention` in
 *   prometheus.yml, so its values move to the equivalent flags on the Prometheus service.
 *
 * A real host runs the files as rendered.
 */
import { parse, stringify } from "yaml";
import { COMPOSE_FILE } from "../../configs/agents/client-compose";
import { retentionForPrometheus } from "./loopback";

export const PROMETHEUS_CONFIG_FILE = "prometheus/prometheus.yml";

/** The x.y.z a test image's tag starts with (`obs-test/prometheus:3.5.3-sid` -> `3.5.3`). */
function imageVersion(image: string): string {
  const match = /:(\d+\.\d+\.\d+)/.exec(image);
  if (!match) throw new Error(`no version in the image name ${image}`);
  return match[1] as string;
}

/** A host's files (relative path -> content) as the test hosts get them. */
export function forThisMachine(files: Readonly<Record<string, string>>): Record<string, string> {
  const compose = parse(files[COMPOSE_FILE] as string) as {
    services: Record<string, Record<string, unknown>>;
  };
  const cadvisor = compose.services.cadvisor;
  if (cadvisor?.privileged !== true) throw new Error("the rendered cAdvisor service is no longer privileged");
  delete cadvisor.privileged;
  const changed: Record<string, string> = { ...files };
  const prometheus = compose.services.prometheus;
  const prometheusYml = files[PROMETHEUS_CONFIG_FILE];
  if (prometheus && prometheusYml !== undefined) {
    const local = retentionForPrometheus(prometheusYml, imageVersion(prometheus.image as string));
    changed[PROMETHEUS_CONFIG_FILE] = local.prometheusYml;
    prometheus.command = [...(prometheus.command as string[]), ...local.flags];
  }
  changed[COMPOSE_FILE] = stringify(compose, {
    lineWidth: 0,
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
  });
  return changed;
}
