/**
 * The configs renderer tests run over: the sample config, its edge cases, and every stack file
 * the repository ships, loaded as the program loads them (secrets are not needed to render).
 */
import { resolve } from "node:path";
import { OPTIONAL_EXPORTERS } from "../../lib/catalog";
import type { StackConfig } from "../../lib/stack-config";
import { listStackNames, loadStackConfigFromFiles } from "../../lib/stack-files";
import { sampleStackConfig } from "./sample-config";
import { WITHOUT_SECRETS } from "./stack-files";

export interface NamedConfig {
  readonly name: string;
  readonly config: StackConfig;
}

const REPO_ROOT = resolve(__dirname, "..", "..");

/** Adds a host outside AWS with every optional exporter on, so every exporter's job and rules are rendered. */
export function withEveryExporter(config: StackConfig): StackConfig {
  return {
    ...config,
    externalHosts: [
      ...config.externalHosts,
      {
        name: "lab-1",
        address: "198.51.100.7",
        sshUser: "ops",
        exporters: [...OPTIONAL_EXPORTERS],
        exporterSettings: {},
      },
    ],
  };
}

/** The sample config, the same with every exporter on, and one with no hosts to scrape at all. */
export function sampleConfigs(): NamedConfig[] {
  return [
    { name: "sample", config: sampleStackConfig() },
    { name: "sample with every exporter", config: withEveryExporter(sampleStackConfig()) },
    { name: "no clients, no external hosts", config: sampleStackConfig({ clients: [], externalHosts: [] }) },
  ];
}

/** Every Pulumi.<stack>.yaml of the repository, named after its stack. */
export function loadRealStacks(): NamedConfig[] {
  return listStackNames(REPO_ROOT).map((stack) => ({
    name: stack,
    config: loadStackConfigFromFiles(stack, REPO_ROOT, WITHOUT_SECRETS),
  }));
}
