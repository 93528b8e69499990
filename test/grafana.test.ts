/**
 * Structural tests for Grafana provisioning. No Grafana binary here (docs/render.md): the files
 * are parsed back and their invariants checked.
 */
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import {
  GRAFANA_ROOT_URL_PLACEHOLDER,
  grafanaAdminPasswordResetCommand,
  renderGrafanaProvisioning,
} from "../configs/grafana";
import type { MetricsSettings } from "../lib/stack-config";
import { sampleStackConfig } from "./support/sample-config";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked structurally
type Parsed = any;

function withScrapeInterval(scrapeInterval: string) {
  const metrics: MetricsSettings = {
    scrapeInterval,
    evaluationInterval: scrapeInterval,
    retentionTime: "15d",
  };
  return sampleStackConfig({ metrics });
}

function datasources(text: string): Parsed[] {
  const parsed = YAML.parse(text);
  expect(parsed.apiVersion).toBe(1);
  return parsed.datasources;
}

describe("Grafana datasources", () => {
  const config = sampleStackConfig();
  const list = datasources(renderGrafanaProvisioning(config).datasources);
  const byType = (type: string) => list.find((source) => source.type === type);

  it("provisions Prometheus, Loki and Alertmanager with fixed, unique uids", () => {
    expect(list.map((source) => [source.type, source.uid])).toEqual([
      ["prometheus", "prometheus"],
      ["loki", "loki"],
      ["alertmanager", "alertmanager"],
    ]);
    expect(new Set(list.map((source) => source.name)).size).toBe(list.length);
  });

  it("makes Prometheus the only default datasource", () => {
    expect(list.filter((source) => source.isDefault === true).map((source) => source.uid)).toEqual([
      "prometheus",
    ]);
  });

  it("sets Prometheus timeInterval to the stack's scrape interval", () => {
    for (const interval of ["15s", "30s", "1m"]) {
      const prometheus = datasources(
        renderGrafanaProvisioning(withScrapeInterval(interval)).datasources,
      ).find((source) => source.type === "prometheus");
      expect(prometheus.jsonData.timeInterval).toBe(interval);
    }
  });

  it("talks to Alertmanager as a Prometheus Alertmanager", () => {
    expect(byType("alertmanager").jsonData.implementation).toBe("prometheus");
  });

  it("keeps datasources read-only in the UI and reaches services by their compose names", () => {
    for (const source of list) {
      expect(source.editable).toBe(false);
      expect(source.access).toBe("proxy");
      expect(new URL(source.url).hostname).toBe(source.type);
    }
  });

  it("carries no credentials", () => {
    for (const source of list) {
      expect(source.secureJsonData).toBeUndefined();
      expect(source.basicAuthPassword).toBeUndefined();
      expect(source.password).toBeUndefined();
    }
  });
});

describe("Grafana dashboard provider", () => {
  const provider = YAML.parse(renderGrafanaProvisioning(sampleStackConfig()).dashboardProvider);

  it("loads dashboards from files and refuses UI edits", () => {
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers).toHaveLength(1);
    const [only] = provider.providers;
    expect(only.type).toBe("file");
    expect(only.allowUiUpdates).toBe(false);
    expect(["/etc/grafana/dashboards", "/var/lib/grafana/dashboards"]).toContain(only.options.path);
  });
});

describe("Grafana environment", () => {
  const environment = renderGrafanaProvisioning(sampleStackConfig()).environment;

  it("turns off anonymous access, sign-up and reporting", () => {
    expect(environment.GF_AUTH_ANONYMOUS_ENABLED).toBe("false");
    expect(environment.GF_USERS_ALLOW_SIGN_UP).toBe("false");
    expect(environment.GF_ANALYTICS_REPORTING_ENABLED).toBe("false");
  });

  it("passes the admin password and secret key only as files under /run/secrets", () => {
    expect(environment.GF_SECURITY_ADMIN_PASSWORD__FILE).toMatch(/^\/run\/secrets\//);
    expect(environment.GF_SECURITY_SECRET_KEY__FILE).toMatch(/^\/run\/secrets\//);
    const secretish = Object.keys(environment).filter((key) => /PASSWORD|SECRET|TOKEN|KEY/.test(key));
    expect(secretish.length).toBeGreaterThanOrEqual(2);
    for (const key of secretish) {
      expect(key.endsWith("__FILE")).toBe(true);
      expect(environment[key]).toMatch(/^\/run\/secrets\/[a-z_]+$/);
    }
  });

  it("sets the root URL from stack config, then the deploy, then a placeholder", () => {
    const configured = sampleStackConfig({
      grafana: { rootUrl: "https://grafana.example.com/", exposure: { mode: "tunnel" } },
    });
    expect(
      renderGrafanaProvisioning(configured, { rootUrl: "http://198.51.100.7:3000/" }).environment
        .GF_SERVER_ROOT_URL,
    ).toBe("https://grafana.example.com/");
    expect(
      renderGrafanaProvisioning(sampleStackConfig(), { rootUrl: "http://198.51.100.7:3000/" }).environment
        .GF_SERVER_ROOT_URL,
    ).toBe("http://198.51.100.7:3000/");
    expect(environment.GF_SERVER_ROOT_URL).toBe(GRAFANA_ROOT_URL_PLACEHOLDER);
  });
});

describe("Grafana admin password reset", () => {
  const environment = renderGrafanaProvisioning(sampleStackConfig()).environment;

  it("reads the same secret file Grafana is configured with, on stdin", () => {
    const command = grafanaAdminPasswordResetCommand();
    expect(command).toContain("reset-admin-password --password-from-stdin");
    expect(command).toContain(`< ${environment.GF_SECURITY_ADMIN_PASSWORD__FILE}`);
    expect(command).toMatch(/^docker compose -f compose\.yaml exec -T grafana /);
  });
});
