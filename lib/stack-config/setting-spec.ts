/**
 * What a setting is: its kinds (string, choice, integer, duration, list, structured, secret), each
 * with what the reader checks and the docs show, and lookups over a table of them. The table
 * itself is settings.ts.
 */
import { PROJECT } from "./problems";

/** Where a setting belongs; docs group the table by it. */
export type SettingSection =
  | "aws"
  | "hosts"
  | "network"
  | "access"
  | "metrics"
  | "logs"
  | "alerting"
  | "grafana"
  | "exporters"
  | "reliability"
  | "deploy";

interface SettingBase {
  /** `observability` keys without namespace (`scrapeInterval`); provider keys with it (`aws:region`). */
  readonly key: string;
  readonly section: SettingSection;
  readonly description: string;
  /** A valid value, used by docs and by fix lines that need one. */
  readonly example: string;
}

export interface StringSetting extends SettingBase {
  readonly type: "string";
  /** Undefined: unset unless the stack sets it. */
  readonly default?: string;
  readonly required?: boolean;
}

export interface ChoiceSetting extends SettingBase {
  readonly type: "choice";
  readonly choices: readonly string[];
  readonly default: string;
}

export interface IntegerSetting extends SettingBase {
  readonly type: "integer";
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface BooleanSetting extends SettingBase {
  readonly type: "boolean";
  readonly default: boolean;
}

export interface DurationSetting extends SettingBase {
  readonly type: "duration";
  readonly default: string;
  readonly min: string;
  readonly max: string;
  /** Why the bounds are what they are, for the problem message. */
  readonly boundsReason?: string;
}

/** A list of strings. */
export interface ListSetting extends SettingBase {
  readonly type: "list";
  /** True: must list at least one item. */
  readonly required: boolean;
}

/**
 * A list of hosts, a list of other records (SLOs, probes) or a map: no Pulumi.yaml type exists
 * for these; the reader checks their shape.
 */
export interface StructuredSetting extends SettingBase {
  readonly type: "hosts" | "records" | "map";
  /** The default in words, for the docs. */
  readonly defaultText: string;
}

export interface SecretSettingSpec extends SettingBase {
  readonly type: "secret";
}

export type SettingSpec =
  | StringSetting
  | ChoiceSetting
  | IntegerSetting
  | BooleanSetting
  | DurationSetting
  | ListSetting
  | StructuredSetting
  | SecretSettingSpec;

/** The spec of a setting; throws for a key the table lacks (a bug, not a user error). */
export function settingSpec(table: readonly SettingSpec[], key: string): SettingSpec {
  const spec = table.find((candidate) => candidate.key === key);
  if (!spec) throw new Error(`setting "${key}" is not in the settings table`);
  return spec;
}

/** Names of the secret settings. */
export function secretKeys(table: readonly SettingSpec[]): string[] {
  return table.filter((spec) => spec.type === "secret").map((spec) => spec.key);
}

/** The fully qualified key (`observability:scrapeInterval`, `aws:region`). */
export function qualifiedKey(spec: SettingSpec): string {
  return spec.key.includes(":") ? spec.key : `${PROJECT}:${spec.key}`;
}
