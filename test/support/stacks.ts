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

/** The sample config, the same with every exporter on, and one with no hosts to scrape at all. */
export function sampleConfigs(): NamedConfig[] {
  return [
    { name: "sample", config: sampleStackConfig() },
    { name: "sample with every exporter", config: withEveryExporter(sampleStackConfig()) },
    { name: "no clients, no external hosts", config: sampleStackConfig({ clients: [], externalHosts: [] }) },
    { name: "sample writing to a managed store", config: withManagedStore(sampleStackConfig()) },
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
