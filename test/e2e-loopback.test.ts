/**
 * pointAtLoopback may change only addresses, ports, paths and durations of the rendered monitor
 * files: the end-to-end test's claims hold for the shipped rules, routes, receivers, inhibitions
 * and templates only if everything else passes through untouched.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { monitorFiles } from "../configs/host-files";
import { JOB_NAMES } from "../configs/prometheus";
import { CONTROLLED_HOST, e2eStackConfig, GRAFANA_URL, REAL_HOSTS } from "./support/e2e-stack";
import {
  type LoopbackPlan,
  pointAtLoopback,
  readsRetentionFromConfig,
  scaledDuration,
} from "./support/loopback";

type Yaml = Record<string, unknown>;

const config = e2eStackConfig(2525);
const rendered = monitorFiles(config, { grafanaUrl: GRAFANA_URL });
const loopbackHost = (port: number) => ({
  [JOB_NAMES.node]: `127.0.0.1:${port}`,
  [JOB_NAMES.process]: `127.0.0.1:${port + 1}`,
  [JOB_NAMES.cadvisor]: `127.0.0.1:${port + 2}`,
  [JOB_NAMES.alloy]: `127.0.0.1:${port + 3}`,
});
const plan: LoopbackPlan = {
  dir: "/tmp/e2e",
  prometheus: "127.0.0.1:9090",
  alertmanager: "127.0.0.1:9093",
  monitorTargets: Object.fromEntries(Object.values(JOB_NAMES).map((job) => [job, "127.0.0.1:9999"])),
  hostTargets: {
    [REAL_HOSTS[0]]: loopbackHost(10_000),
    [REAL_HOSTS[1]]: loopbackHost(11_000),
    [CONTROLLED_HOST]: loopbackHost(12_000),
  },
  ec2Endpoint: "http://127.0.0.1:4566",
  smtpSmarthost: "127.0.0.1:2525",
  pagerdutyUrl: "http://127.0.0.1:8080/pagerduty",
};
const loopback = pointAtLoopback(rendered, plan);

/** A deep copy without the given keys, at any depth. */
function without(value: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => without(item, keys));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !keys.includes(key))
      .map(([key, item]) => [key, without(item, keys)]),
  );
}

const yamlOf = (files: Record<string, string>, path: string) => parse(files[path] ?? "") as Yaml;

describe("pointAtLoopback", () => {
  it("keeps every rule but its `for`, and divides each `for` by the time scale", () => {
    const rulePaths = Object.keys(rendered).filter((path) => path.startsWith("prometheus/rules/"));
    expect(rulePaths.length).toBeGreaterThan(0);
    for (const path of rulePaths) {
      const before = yamlOf(rendered, path);
      const after = yamlOf(loopback.files, path);
      expect(without(after, ["for"])).toEqual(without(before, ["for"]));
      const fors = (document: Yaml) =>
        (document.groups as { rules: Yaml[] }[]).flatMap((group) => group.rules.map((rule) => rule.for));
      expect(fors(after)).toEqual(
        fors(before).map((value) => (typeof value === "string" ? scaledDuration(value) : value)),
      );
    }
    expect(scaledDuration("5m")).toBe("5s");
    expect(scaledDuration("30s")).toBe("1s");
    expect(scaledDuration("0s")).toBe("0s");
  });

  it("keeps routes, receivers, inhibitions and templates, changing only timing, addresses and file paths", () => {
    const path = "alertmanager/alertmanager.yml";
    const changed = [
      "group_wait",
      "group_interval",
      "repeat_interval",
      "resolve_timeout",
      "smarthost",
      "auth_password_file",
      "api_url_file",
      "routing_key_file",
      "url_file",
      "url",
      "templates",
    ];
    expect(without(yamlOf(loopback.files, path), changed)).toEqual(without(yamlOf(rendered, path), changed));
    const templates = Object.keys(rendered).filter((file) => file.startsWith("alertmanager/templates/"));
    expect(templates.length).toBeGreaterThan(0);
    for (const template of templates) expect(loopback.files[template]).toBe(rendered[template]);
  });

  it("keeps every scrape job's relabelling and labels, and points every target at 127.0.0.1", () => {
    const path = "prometheus/prometheus.yml";
    const changed = [
      "targets",
      "files",
      "endpoint",
      "refresh_interval",
      "scrape_interval",
      "evaluation_interval",
      "rule_files",
      // Checked on its own below.
      "storage",
    ];
    expect(without(yamlOf(loopback.files, path), changed)).toEqual(without(yamlOf(rendered, path), changed));

    const targets = [
      ...JSON.stringify(yamlOf(loopback.files, path)).matchAll(/"targets":\[([^\]]*)\]/g),
      ...Object.entries(loopback.files)
        .filter(([file]) => file.startsWith("prometheus/file_sd/"))
        .flatMap(([, content]) => [...content.matchAll(/"targets": \[([^\]]*)\]/g)]),
    ].flatMap((match) => JSON.parse(`[${match[1]}]`) as string[]);
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((target) => !target.startsWith("127.0.0.1:"))).toEqual([]);
  });

  it("gives the Prometheus here the rendered retention: in prometheus.yml from 3.8, else as the equivalent flags", () => {
    const path = "prometheus/prometheus.yml";
    const retention = { time: config.metrics.retentionTime };
    expect(yamlOf(rendered, path).storage).toEqual({ tsdb: { retention } });
    const retentionFlags = loopback.prometheusArgs.filter((arg) => arg.includes("retention"));
    if (readsRetentionFromConfig()) {
      expect(yamlOf(loopback.files, path).storage).toEqual({ tsdb: { retention } });
      expect(retentionFlags).toEqual([]);
    } else {
      expect(yamlOf(loopback.files, path).storage).toBeUndefined();
      expect(retentionFlags).toEqual([`--storage.tsdb.retention.time=${retention.time}`]);
    }
  });

  it("refuses to point anything outside loopback", () => {
    expect(() => pointAtLoopback(rendered, { ...plan, smtpSmarthost: "smtp.example.com:25" })).toThrow(
      /stays on 127\.0\.0\.1/,
    );
    expect(() =>
      pointAtLoopback(rendered, { ...plan, pagerdutyUrl: "https://events.pagerduty.com/v2/enqueue" }),
    ).toThrow(/stays on 127\.0\.0\.1/);
  });
});
