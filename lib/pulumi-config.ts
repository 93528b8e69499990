/**
 * The real program's config entry point: reads the stack's settings through Pulumi, validates them
 * with parseStackConfig before any resource exists, and hands secrets on as secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  PROJECT,
  parseStackConfig,
  REGION_KEY,
  SECRET_SETTINGS,
  type SecretSetting,
  type StackConfig,
} from "./stack-config";
import type { ExporterSettingsSpec } from "./stack-config/exporter-settings";

/**
 * Secret values, as Pulumi secret Outputs; present exactly when `config.secretsSet[key]` is true.
 * Exporter passwords are here too (`postgresExporterPassword`, ...): the deploy hands them with
 * `config.exporterUsers` to renderExporterCredentialFiles inside `pulumi.all(...).apply`.
 */
export type StackSecrets = Partial<Record<SecretSetting, pulumi.Output<string>>>;

export interface LoadedStackConfig {
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
}

/** Pulumi's own check for "stored as `secure:`"; internal to the SDK, so used only when present. */
function configIsSecret(fullKey: string): boolean | undefined {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  return typeof runtime.isConfigSecret === "function" ? runtime.isConfigSecret(fullKey) : undefined;
}

/**
 * Exporter passwords their credential file cannot carry (a line break, `$` for mysqld_exporter, ...),
 * found now so `pulumi up` refuses them before any resource exists instead of failing mid-deploy.
 * The plain value is read here only to be checked; it never leaves this function.
 */
function exporterPasswordProblems(
  exporters: readonly ExporterSettingsSpec[],
  secretsSet: ReadonlySet<SecretSetting>,
): Partial<Record<SecretSetting, string>> {
  const problems: Partial<Record<SecretSetting, string>> = {};
  for (const credentials of exporters.flatMap((exporter) => exporter.credentials ?? [])) {
    const setting = SECRET_SETTINGS.find((name) => name === credentials.password.key);
    if (setting === undefined || !secretsSet.has(setting)) continue;
    const value = pulumi.runtime.getConfig(`${PROJECT}:${setting}`);
    const problem = value === undefined ? undefined : credentials.passwordProblem(value);
    if (problem !== undefined) problems[setting] = problem;
  }
  return problems;
}

/**
 * Reads every `observability:` setting and `aws:region`, then validates. Values are passed as the
 * raw strings Pulumi holds (not `getObject`), so malformed JSON is reported by our loader with
 * its fix line instead of Pulumi's bare parse error. `exporters` are the optional exporters'
 * settings (EXPORTER_SETTINGS of configs/exporters). Throws StackConfigError on bad input.
 */
export function loadStackConfig(exporters: readonly ExporterSettingsSpec[]): LoadedStackConfig {
  const projectConfig = new pulumi.Config(PROJECT);
  const awsConfig = new pulumi.Config("aws");
  const prefix = `${PROJECT}:`;
  const values: Record<string, unknown> = {};
  const secrets: StackSecrets = {};
  const secretsSet = new Set<SecretSetting>();

  const region = awsConfig.get("region");
  if (region !== undefined) values[REGION_KEY] = region;

  // allConfig lists every key, so unknown (mistyped) settings reach the loader and are reported.
  for (const fullKey of Object.keys(pulumi.runtime.allConfig()).sort()) {
    if (!fullKey.startsWith(prefix)) continue;
    const name = fullKey.slice(prefix.length);
    if ((SECRET_SETTINGS as readonly string[]).includes(name)) {
      const secretName = name as SecretSetting;
      const value = projectConfig.getSecret(secretName);
      if (value === undefined) continue;
      if (configIsSecret(fullKey) === false) {
        // Stored in plain text: the loader reports it (and the value stays out of StackConfig).
        values[name] = "<plain text>";
        continue;
      }
      secretsSet.add(secretName);
      secrets[secretName] = value;
    } else {
      values[name] = projectConfig.get(name);
    }
  }

  const config = parseStackConfig(pulumi.getStack(), {
    values,
    secretsSet,
    secretValueProblems: exporterPasswordProblems(exporters, secretsSet),
  });
  return { config, secrets };
}
