/**
 * The real program's config entry point: reads every key of the stack's config through Pulumi,
 * validates it with readStackConfig before any resource exists, logs the warnings, and hands
 * secrets on as secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  type ExporterSettingsSpec,
  PROJECT,
  readStackConfig,
  type SecretSetting,
  type StackConfig,
  secretKeys,
  settingsTable,
} from "./stack-config";

/** Secret values, as Pulumi secret Outputs; present exactly when `config.secretsSet[key]` is true. */
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

/** Stands in for an encrypted value the reader must never see. */
const ENCRYPTED = "<encrypted>";

/** Secrets whose value the reader checks against a format's limits (the exporters' passwords). */
function checkedSecretKeys(exporters: readonly ExporterSettingsSpec[]): string[] {
  return exporters.flatMap((exporter) => (exporter.credentials ? [exporter.credentials.password.key] : []));
}

/**
 * Reads every key of the stack's config (every namespace, so a mistyped one is reported), then
 * validates. Values are passed as the raw strings Pulumi holds (not `getObject`), so malformed
 * JSON is reported with its fix line instead of Pulumi's bare parse error. Throws
 * StackConfigError on bad input.
 */
export function loadStackConfig(exporters: readonly ExporterSettingsSpec[]): LoadedStackConfig {
  const projectConfig = new pulumi.Config(PROJECT);
  const secretNames = secretKeys(settingsTable(exporters));
  const checked = checkedSecretKeys(exporters);
  const values: Record<string, unknown> = {};
  const secrets: StackSecrets = {};
  const secretsSet = new Set<string>();
  const secretValues: Record<string, string> = {};

  const secureKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig()).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    const name = fullKey.startsWith(`${PROJECT}:`) ? fullKey.slice(PROJECT.length + 1) : undefined;
    const encrypted = configIsSecret(fullKey) === true;
    if (name === undefined || !secretNames.includes(name)) {
      // An encrypted value of anything but a secret setting is reported by the reader, never shown.
      if (encrypted) secureKeys.add(fullKey);
      values[fullKey] = encrypted ? ENCRYPTED : value;
      continue;
    }
    const secret = projectConfig.getSecret(name);
    if (secret === undefined) continue;
    if (configIsSecret(fullKey) === false) {
      // Stored in plain text: the reader reports it (and the value stays out of StackConfig).
      values[fullKey] = "<plain text>";
      continue;
    }
    secretsSet.add(name);
    secrets[name] = secret;
    // Read in plain only to be checked; it never leaves the reader.
    if (checked.includes(name)) secretValues[name] = value;
  }

  const { config, warnings } = readStackConfig(
    pulumi.getStack(),
    { values, secretsSet, secretValues, secureKeys },
    // `pulumi up` (not preview): a production stack refuses documentation placeholders.
    { exporters, deploying: !pulumi.runtime.isDryRun() },
  );
  for (const warning of warnings) {
    pulumi.log.warn(`${warning.setting}: ${warning.warning}.${warning.fix ? ` Fix: ${warning.fix}` : ""}`);
  }
  return { config, secrets };
}
