/**
 * Every key in a stack's config must be one the program reads: a key under a mistyped namespace
 * (`observabilty:clients`) or a mistyped name would otherwise fall back to a default without a
 * word, and a default `clients` list would make `pulumi up` delete the real hosts.
 */
import * as awsProviderConfig from "@pulumi/aws/config/vars";
import { type ConfigCommand, PROJECT, rmCommand, secretSetCommand, writeValueCommands } from "../problems";
import type { SettingsReader } from "../reader";
import type { SettingSpec } from "../setting-spec";
import { closestName } from "../values";

/** Every setting the AWS provider package knows, from the SDK itself. */
const AWS_PROVIDER_KEYS: readonly string[] = Object.keys(awsProviderConfig);

/** Pulumi's own stack settings this program is compatible with (it uses explicit providers only). */
const PULUMI_KEYS: readonly string[] = ["pulumi:disable-default-providers"];

const KNOWN_NAMESPACES = [PROJECT, "aws"];

function namespaceOf(key: string): string | undefined {
  const colon = key.indexOf(":");
  return colon === -1 ? undefined : key.slice(0, colon);
}

/** Pulumi hands structured values over as JSON text; moving one must write the structure, not the text. */
function parsedValue(value: unknown): unknown {
  if (typeof value !== "string" || !/^[[{]/.test(value.trim())) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** What a setting holds when the stack does not set it (Pulumi.yaml declares these as defaults). */
function isDefault(spec: SettingSpec, value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  const parsed = parsedValue(value);
  if (Array.isArray(parsed) && parsed.length === 0) return true;
  const fallback = "default" in spec ? spec.default : undefined;
  return fallback !== undefined && String(parsed) === String(fallback);
}

export interface KeysInput {
  /** Keys as the stack holds them: project keys with or without the `observability:` prefix, others with theirs. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Fully qualified keys whose value is encrypted: never written into a fix line. */
  readonly secureKeys: ReadonlySet<string>;
}

/** Reports every key the program does not read, with the closest known key. */
export function checkKeys(reader: SettingsReader, { values, secureKeys }: KeysInput): void {
  const bySetting = new Map(reader.table.map((spec) => [spec.key, spec]));
  const projectKeys = reader.table.filter((spec) => !spec.key.includes(":")).map((spec) => spec.key);
  const awsKeys = reader.table.filter((spec) => spec.key.startsWith("aws:")).map((spec) => spec.key);
  const settingValue = (setting: string) => values[setting] ?? values[`${PROJECT}:${setting}`];

  /**
   * Moves a value to the right setting: removes the wrong key and writes the value there, unless
   * the right setting already holds a value of its own (then only removes). A secret, or a value
   * stored encrypted, is never written into the line: the CLI prompts for it.
   */
  const moveTo = (from: string, setting: string, value: unknown): { fix: ConfigCommand[]; note: string } => {
    const spec = bySetting.get(setting);
    if (spec && !isDefault(spec, settingValue(setting))) {
      return { fix: [rmCommand(from)], note: `; ${setting} is set too, so this one is only removed` };
    }
    const target = setting.includes(":") ? setting : `${PROJECT}:${setting}`;
    if (spec?.type === "secret") return { fix: [rmCommand(from), secretSetCommand(target)], note: "" };
    if (secureKeys.has(from)) return { fix: [rmCommand(from), { op: "set", key: target }], note: "" };
    return { fix: [rmCommand(from), ...writeValueCommands(target, parsedValue(value))], note: "" };
  };

  for (const [key, value] of Object.entries(values)) {
    const namespace = namespaceOf(key);
    const ownSetting = namespace === PROJECT ? key.slice(PROJECT.length + 1) : key;
    const known = bySetting.get(ownSetting);
    if (known !== undefined && known.type !== "secret" && secureKeys.has(key)) {
      reader.report(
        key,
        "is stored encrypted but is not a secret: `npm run render` and CI previews without the stack's secrets cannot read it",
        [rmCommand(key), { op: "set", key }],
      );
      reader.markInvalid(ownSetting);
      continue;
    }
    if (namespace === undefined || namespace === PROJECT) {
      const name = ownSetting;
      if (projectKeys.includes(name)) continue;
      const suggestion = closestName(name, projectKeys);
      const move = suggestion ? moveTo(key, suggestion, value) : undefined;
      reader.report(
        key,
        suggestion
          ? `is not a known setting (did you mean "${suggestion}"?)${move?.note}`
          : "is not a known setting (docs/configuration.md lists them all)",
        move ? move.fix : [rmCommand(key)],
      );
      continue;
    }
    if (namespace === "aws") {
      if (awsKeys.includes(key)) continue;
      const typo = closestName(key, awsKeys);
      if (AWS_PROVIDER_KEYS.includes(key.slice("aws:".length))) {
        reader.report(
          key,
          `is an AWS provider setting this program does not read: its AWS provider is explicit and takes only ${awsKeys.join(", ")}; give credentials and endpoints through the environment (AWS_PROFILE, aws sso login, or CI's OIDC role)`,
          [rmCommand(key)],
        );
      } else {
        const move = typo ? moveTo(key, typo, value) : undefined;
        reader.report(
          key,
          `is not an AWS provider setting${typo ? ` (did you mean "${typo}"?)${move?.note}` : ""}; this program reads ${awsKeys.join(", ")}`,
          move ? move.fix : [rmCommand(key)],
        );
      }
      continue;
    }
    if (namespace === "pulumi") {
      if (PULUMI_KEYS.includes(key)) continue;
      reader.report(
        key,
        `is not a Pulumi stack setting this program supports (it supports ${PULUMI_KEYS.join(", ")})`,
        [rmCommand(key)],
      );
      continue;
    }
    const suggestedNamespace = closestName(namespace, KNOWN_NAMESPACES);
    const rest = key.slice(namespace.length + 1);
    const setting =
      suggestedNamespace === PROJECT
        ? rest
        : suggestedNamespace === undefined
          ? undefined
          : `${suggestedNamespace}:${rest}`;
    const move = setting !== undefined && bySetting.has(setting) ? moveTo(key, setting, value) : undefined;
    const target =
      setting === undefined ? undefined : setting.includes(":") ? setting : `${PROJECT}:${setting}`;
    reader.report(
      key,
      `is in namespace "${namespace}", which this program does not read, so the value would be ignored${
        target ? ` (did you mean "${target}"?)${move?.note ?? ""}` : ""
      }; its settings are ${PROJECT}:<setting> and ${awsKeys.join(", ")}`,
      move ? move.fix : [rmCommand(key)],
    );
  }
}
