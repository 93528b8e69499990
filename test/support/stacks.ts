/**
 * The configs renderer tests run over: the sample config, its edge cases, and every stack file
 * the repository ships, loaded as the program loads them (secrets are not needed to render).
 */
import { resolve } from "node:path";
import { EXPORTERS } from "../../configs/exporters";
import type { StackConfig } from "../../lib/stack-config";
import { listStackNames, loadStackConfigFromFiles } from "../../lib/stack-files";
import { sampleStackConfig } from "./sample-config";
import { WITHOUT_SECRETS } from "./stack-files";

export interface NamedConfig {
  readonly name: string;
  readonly config: StackConfig;
}

const REPO_ROOT = resolve(__dirname, "..", "..");

/** Every optional exporter's name, in registry order. */
export const EVERY_EXPORTER = EXPORTERS.map((record) => record.name);

/** The host outside AWS that withEveryExporter and everyExporterStack add. */
const LAB_HOST = { name: "lab-1", address: "198.51.100.7", sshUser: "ops" } as const;

/** Adds a host outside AWS with every optional exporter on, so every exporter's job and rules are rendered. */
export function withEveryExporter(config: StackConfig): StackConfig {
  return {
    ...config,
    externalHosts: [
      ...config.externalHosts,
      { ...LAB_HOST, exporters: [...EVERY_EXPORTER], exporterSettings: {} },
    ],
  };
}

/**
 * A real stack with every optional exporter on one EC2 client and on one host outside AWS, as
 * settings for runProgram: the golden copies cover every exporter's files, security group rules,
 * tags and credential files, including those no shipped stack enables.
 */
export function everyExporterStack(): {
  readonly name: string;
  readonly stack: string;
  readonly configOverrides: Record<string, string>;
} {
  return {
    name: "every-exporter",
    stack: "dev",
    configOverrides: {
      "observability:clients": JSON.stringify([
        { name: "app-1", exporters: EVERY_EXPORTER },
        { name: "web-1", exporters: ["nginx"] },
      ]),
      "observability:externalHosts": JSON.stringify([{ ...LAB_HOST, exporters: EVERY_EXPORTER }]),
    },
  };
}

/** SLOs (a ratio SLI and a probe SLI), uptime probes (https, http, tcp) and traces, as stack settings. */
const RELIABILITY_SETTINGS = {
  slos: [
    {
      name: "api-availability",
      objective: 99.9,
      good: 'sum(rate(http_requests_total{job="api",code!~"5.."}[$window]))',
      total: 'sum(rate(http_requests_total{job="api"}[$window]))',
    },
    { name: "homepage-uptime", objective: 99.5, window: "28d", probe: "homepage" },
  ],
  probes: [
    { name: "homepage", url: "https://www.example.com/", bodyMatch: "Example Domain" },
    { name: "api-health", url: "http://10.42.1.20:8080/healthz", expectStatus: [200, 204] },
    { name: "database", tcp: "db.internal.example.com:5432" },
  ],
  probeCertExpiryDays: 21,
  traces: true,
  traceRetention: "7d",
} as const;

/**
 * The dev stack with SLOs, probes and traces all on: its golden copies hold every file and
 * resource those features add (the shipped stacks leave them off).
 */
export function reliabilityStack(): {
  readonly name: string;
  readonly stack: string;
  readonly configOverrides: Record<string, string>;
} {
  return {
    name: "slo-probes-traces",
    stack: "dev",
    configOverrides: Object.fromEntries(
      Object.entries(RELIABILITY_SETTINGS).map(([key, value]) => [
        `observability:${key}`,
        typeof value === "object" ? JSON.stringify(value) : String(value),
      ]),
    ),
  };
}

/** The config with RELIABILITY_SETTINGS read as the stack reader reads them. */
export function withReliability(config: StackConfig): StackConfig {
  return {
    ...config,
    slos: [
      {
        name: "api-availability",
        objective: 99.9,
        window: "30d",
        sli: {
          kind: "ratio",
          good: RELIABILITY_SETTINGS.slos[0].good,
          total: RELIABILITY_SETTINGS.slos[0].total,
        },
      },
      { name: "homepage-uptime", objective: 99.5, window: "28d", sli: { kind: "probe", probe: "homepage" } },
    ],
    probes: {
      certExpiryDays: 21,
      targets: [
        {
          name: "homepage",
          kind: "http",
          url: "https://www.example.com/",
          expectStatus: [200],
          bodyMatch: "Example Domain",
        },
        { name: "api-health", kind: "http", url: "http://10.42.1.20:8080/healthz", expectStatus: [200, 204] },
        { name: "database", kind: "tcp", address: "db.internal.example.com:5432" },
      ],
    },
    traces: { retention: "7d" },
  };
}

/** The sample config, the same with every exporter on, and one with no hosts to scrape at all. */
export function sampleConfigs(): NamedConfig[] {
  return [
    { name: "sample", config: sampleStackConfig() },
    { name: "sample with every exporter", config: withEveryExporter(sampleStackConfig()) },
    { name: "no clients, no external hosts", config: sampleStackConfig({ clients: [], externalHosts: [] }) },
    { name: "sample writing to a managed store", config: withManagedStore(sampleStackConfig()) },
    { name: "sample with SLOs, probes and traces", config: withReliability(sampleStackConfig()) },
  ];
}

/** The stack with remote write to a managed Prometheus workspace it creates. */
export function withManagedStore(config: StackConfig): StackConfig {
  return { ...config, metrics: { ...config.metrics, managedStore: { mode: "create" } } };
}

/** Every Pulumi.<stack>.yaml of the repository, named after its stack. */
export function loadRealStacks(): NamedConfig[] {
  return listStackNames(REPO_ROOT).map((stack) => ({
    name: stack,
    config: loadStackConfigFromFiles(stack, REPO_ROOT, WITHOUT_SECRETS),
  }));
}
