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
 * - on a host outside AWS (Alloy in the host's network, pushing metrics), with `pushAgentImage`:
 *   Alloy's metrics half runs as Prometheus in agent mode (the test image; no Alloy binary exists
 *   here) in Alloy's place: same container, network, volumes and secret, listening where Alloy
 *   does, and configured (alloy/agent.yml) with exactly the scrapes and the remote write the
 *   rendered config.alloy holds (read back from it by `pushAgentConfig`). Logs are not shipped.
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

/** The agent's config file, beside config.alloy in Alloy's mounted config directory. */
export const PUSH_AGENT_CONFIG_FILE = "alloy/agent.yml";
const ALLOY_CONFIG_FILE = "alloy/config.alloy";

/** `key = "value"` pairs of one printed Alloy block body (strings only). */
function alloyStrings(body: string): Record<string, string> {
  return Object.fromEntries(
    [...body.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*) = "((?:[^"\\]|\\.)*)",?$/gm)].map((match) => [
      match[1] as string,
      JSON.parse(`"${match[2]}"`) as string,
    ]),
  );
}

/** Top-level blocks `kind "label" { ... }` of a printed Alloy config, in order. */
function alloyBlocks(text: string, kind: string): { label: string; body: string }[] {
  const pattern = new RegExp(`^${kind.replace(/\./g, "\\.")} "([^"]+)" \\{\n([\\s\\S]*?)^\\}$`, "gm");
  return [...text.matchAll(pattern)].map((match) => ({
    label: match[1] as string,
    body: match[2] as string,
  }));
}

/**
 * A Prometheus agent config doing what the rendered config.alloy's metrics half does: each
 * `prometheus.scrape` (target address and labels, job name, path, interval, sample limit) and the
 * `prometheus.remote_write` endpoint with its Basic user and password file.
 */
export function pushAgentConfig(alloyConfig: string): string {
  const scrapes = alloyBlocks(alloyConfig, "prometheus.scrape").map(({ label, body }) => {
    const {
      __address__: address,
      job_name: job,
      metrics_path: path,
      scrape_interval: interval,
      ...labels
    } = alloyStrings(body);
    const limit = /^\s*sample_limit = (\d+)$/m.exec(body)?.[1];
    if (address === undefined || job === undefined || interval === undefined || limit === undefined) {
      throw new Error(`prometheus.scrape "${label}" lacks a target, job name, interval or sample limit`);
    }
    return {
      job_name: job,
      ...(path === undefined ? {} : { metrics_path: path }),
      scrape_interval: interval,
      sample_limit: Number(limit),
      static_configs: [{ targets: [address], labels }],
    };
  });
  const [write, ...more] = alloyBlocks(alloyConfig, "prometheus.remote_write");
  if (write === undefined || more.length > 0 || scrapes.length === 0) {
    throw new Error("config.alloy has no metrics push (scrapes and one remote write)");
  }
  const { url, username, password_file: passwordFile } = alloyStrings(write.body);
  if (url === undefined || username === undefined || passwordFile === undefined) {
    throw new Error("the remote write lacks its URL, user or password file");
  }
  return stringify({
    scrape_configs: scrapes,
    remote_write: [
      {
        url,
        basic_auth: { username, password_file: passwordFile },
        queue_config: { batch_send_deadline: "1s" },
      },
    ],
  });
}

/** A host's files (relative path -> content) as the test hosts get them. */
export function forThisMachine(
  files: Readonly<Record<string, string>>,
  options: { readonly pushAgentImage?: string } = {},
): Record<string, string> {
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
  const alloy = compose.services.alloy;
  const alloyConfig = files[ALLOY_CONFIG_FILE];
  if (options.pushAgentImage !== undefined) {
    if (alloy?.network_mode !== "host" || alloyConfig === undefined) {
      throw new Error("no Alloy in the host's network to stand in for");
    }
    const listen = (alloy.command as string[]).find((flag) => flag.startsWith("--server.http.listen-addr="));
    const storage = (alloy.command as string[]).find((flag) => flag.startsWith("--storage.path="));
    if (listen === undefined || storage === undefined)
      throw new Error("Alloy's listen address or storage path moved");
    changed[PUSH_AGENT_CONFIG_FILE] = pushAgentConfig(alloyConfig);
    alloy.image = options.pushAgentImage;
    alloy.command = [
      "--agent",
      `--config.file=/etc/${PUSH_AGENT_CONFIG_FILE}`,
      `--storage.agent.path=${storage.slice(storage.indexOf("=") + 1)}`,
      `--web.listen-address=${listen.slice(listen.indexOf("=") + 1)}`,
      "--web.enable-lifecycle",
    ];
  }
  changed[COMPOSE_FILE] = stringify(compose, {
    lineWidth: 0,
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
  });
  return changed;
}
