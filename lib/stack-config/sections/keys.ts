/**
 * Every key in a stack's config must be one the program reads: a key under a mistyped namespace
 * (`observabilty:clients`) or a mistyped name would otherwise fall back to a default without a
 * word, and a default `clients` list would make `pulumi up` delete the real hosts.
 */
import * as awsProviderConfig from "@pulumi/aws/config/vars";
import { type ConfigCommand, PROJECT, rmCommand, writeValueCommands } from "../problems";
import type { SettingsReader } from "../reader";
import { closestName } from "../values";

/** Every setting the AWS provider package knows, from the SDK itself. */
const AWS_PROVIDER_KEYS: readonly string[] = Object.keys(awsProviderConfig);

/** Pulumi's own stack settings this program is compatible with (it uses explicit providers only). */
const PULUMI_KEYS: readonly string[] = ["pulumi:disable-default-providers"];

const KNOWN_NAMESPACES = [PROJECT, "aws", "pulumi"];

function namespaceOf(key: string): string | undefined {
  const colon = key.indexOf(":");
  return colon === -1 ? undefined : key.slice(0, colon);
}

/** Moves a value to another key: remove the wrong one, write the value under the right one. */
function moveCommands(from: string, to: string, value: unknown, targetSet: boolean): ConfigCommand[] {
  return targetSet ? [rmCommand(from)] : [rmCommand(from), ...writeValueCommands(to, parsedValue(value))];
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

/**
 * Reports every key the program does not read, with the closest known key. `keys` are as the
 * stack holds them: project keys with or without the `observability:` prefix, others with theirs.
 */
export function checkKeys(reader: SettingsReader, values: Readonly<Record<string, unknown>>): void {
  const projectKeys = reader.table.filter((spec) => !spec.key.includes(":")).map((spec) => spec.key);
  const awsKeys = reader.table.filter((spec) => spec.key.startsWith("aws:")).map((spec) => spec.key);
  const isSet = (key: string) => Object.hasOwn(values, key) || Object.hasOwn(values, `${PROJECT}:${key}`);

  for (const [key, value] of Object.entries(values)) {
    const namespace = namespaceOf(key);
    if (namespace === undefined || namespace === PROJECT) {
      const name = namespace === undefined ? key : key.slice(PROJECT.length + 1);
      if (projectKeys.includes(name)) continue;
      const suggestion = closestName(name, projectKeys);
      reader.report(
        key,
        suggestion
          ? `is not a known setting (did you mean "${suggestion}"?)${isSet(suggestion) ? `; ${suggestion} is set too, so this one is only removed` : ""}`
          : "is not a known setting (docs/configuration.md lists them all)",
        suggestion ? moveCommands(key, suggestion, value, isSet(suggestion)) : [rmCommand(key)],
      );
      continue;
    }
    if (namespace === "aws") {
      if (awsKeys.includes(key)) continue;
      const name = key.slice("aws:".length);
      const typo = closestName(key, awsKeys);
      if (AWS_PROVIDER_KEYS.includes(name)) {
        reader.report(
          key,
          `is an AWS provider setting this program does not read: its AWS provider is explicit and takes only ${awsKeys.join(", ")}; give credentials and endpoints through the environment (AWS_PROFILE, aws sso login, or CI's OIDC role)`,
          [rmCommand(key)],
        );
      } else {
        reader.report(
          key,
          `is not an AWS provider setting${typo ? ` (did you mean "${typo}"?)` : ""}; this program reads ${awsKeys.join(", ")}`,
          typo ? moveCommands(key, typo, value, Object.hasOwn(values, typo)) : [rmCommand(key)],
        );
      }
      continue;
    }
    if (PULUMI_KEYS.includes(key)) continue;
    const suggestedNamespace = closestName(namespace, KNOWN_NAMESPACES);
    const target =
      suggestedNamespace === undefined ? undefined : `${suggestedNamespace}${key.slice(namespace.length)}`;
    const targetName = target?.startsWith(`${PROJECT}:`) ? target.slice(PROJECT.length + 1) : target;
    const targetKnown =
      target !== undefined &&
      targetName !== undefined &&
      (projectKeys.includes(targetName) || awsKeys.includes(target) || PULUMI_KEYS.includes(target));
    reader.report(
      key,
      `is in namespace "${namespace}", which this program does not read, so the value would be ignored${
        suggestedNamespace ? ` (did you mean "${target}"?)` : ""
      }; its settings are ${PROJECT}:<setting> and ${awsKeys.join(", ")}`,
      target !== undefined && targetKnown
        ? moveCommands(key, target, value, isSet(targetName as string) || Object.hasOwn(values, target))
        : [rmCommand(key)],
    );
  }
}
