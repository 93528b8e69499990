/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would, without the CLI: for
 * the render command, for tests that run the program under mocks, and for checking every stack
 * file in the repository. Secure (encrypted) values cannot be read here; they only count as set.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  type ParseOptions,
  PROJECT,
  parseStackConfig,
  type RawSettings,
  SECRET_SETTINGS,
  type SecretSetting,
  type StackConfig,
} from "./stack-config";

export { missingSecrets } from "./stack-config";

export const PROJECT_FILE = "Pulumi.yaml";
const STACK_FILE_PATTERN = /^Pulumi\.([A-Za-z0-9._-]+)\.yaml$/;

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecure(value: unknown): boolean {
  return isMap(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

function isSecretSetting(name: string): name is SecretSetting {
  return (SECRET_SETTINGS as readonly string[]).includes(name);
}

function readYamlMap(path: string): YamlMap {
  const document: unknown = parse(readFileSync(path, "utf8"));
  if (document === null || document === undefined) return {};
  if (!isMap(document)) throw new Error(`${path} must hold a YAML map`);
  return document;
}

export function readProjectFile(rootDir: string): YamlMap {
  const project = readYamlMap(join(rootDir, PROJECT_FILE));
  if (project.name !== PROJECT) {
    throw new Error(
      `${PROJECT_FILE} names the project "${String(project.name)}"; the code expects "${PROJECT}"`,
    );
  }
  return project;
}

/** Directory holding the stack files: Pulumi.yaml's `stackConfigDir`, or the project directory. */
function stackDir(rootDir: string): string {
  const project = readProjectFile(rootDir);
  return typeof project.stackConfigDir === "string" ? join(rootDir, project.stackConfigDir) : rootDir;
}

/** Every stack with a `Pulumi.<stack>.yaml` file, sorted: found on disk, never listed by hand. */
export function listStackNames(rootDir: string): string[] {
  return readdirSync(stackDir(rootDir))
    .map((file) => STACK_FILE_PATTERN.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

/** Fully qualified key: plain project keys in Pulumi.yaml belong to the project's namespace. */
function qualify(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/**
 * Values Pulumi.yaml supplies before the stack file: a declared `default`, a `value`, or a plain
 * value (Pulumi allows non-object values directly). Keys are fully qualified.
 */
export function projectConfigValues(rootDir: string): Record<string, unknown> {
  const config = readProjectFile(rootDir).config;
  const values: Record<string, unknown> = {};
  if (config === undefined || config === null) return values;
  if (!isMap(config)) throw new Error(`${PROJECT_FILE}: config must be a map`);
  for (const [key, entry] of Object.entries(config)) {
    if (
      isMap(entry) &&
      ("type" in entry || "default" in entry || "value" in entry || "description" in entry)
    ) {
      if ("default" in entry) values[qualify(key)] = entry.default;
      else if ("value" in entry) values[qualify(key)] = entry.value;
    } else {
      values[qualify(key)] = entry;
    }
  }
  return values;
}

interface StackFileConfig {
  /** Fully qualified key -> plain value. */
  readonly plain: Record<string, unknown>;
  /** Fully qualified keys whose value is `{ secure: ... }`. */
  readonly secure: string[];
}

function readStackFileConfig(stack: string, rootDir: string): StackFileConfig {
  const file = join(stackDir(rootDir), `Pulumi.${stack}.yaml`);
  const config = readYamlMap(file).config;
  const plain: Record<string, unknown> = {};
  const secure: string[] = [];
  if (config === undefined || config === null) return { plain, secure };
  if (!isMap(config)) throw new Error(`${file}: config must be a map`);
  for (const [key, value] of Object.entries(config)) {
    if (!key.includes(":")) {
      throw new Error(`${file}: config key "${key}" needs a namespace, e.g. ${PROJECT}:${key}`);
    }
    if (isSecure(value)) secure.push(key);
    else plain[key] = value;
  }
  return { plain, secure };
}

/**
 * The stack's settings as the loader takes them: Pulumi.yaml defaults overlaid with the stack
 * file. Secure values of secret settings count as set; a secure value of any other setting cannot
 * be read without the passphrase, so it is refused here.
 */
export function readStackSettings(stack: string, rootDir: string): RawSettings {
  const merged = { ...projectConfigValues(rootDir) };
  const { plain, secure } = readStackFileConfig(stack, rootDir);
  Object.assign(merged, plain);
  const secretsSet = new Set<SecretSetting>();
  const prefix = `${PROJECT}:`;
  for (const key of secure) {
    const name = key.slice(prefix.length);
    if (key.startsWith(prefix) && isSecretSetting(name)) {
      secretsSet.add(name);
      delete merged[key];
    } else if (key.startsWith(prefix)) {
      throw new Error(
        `Pulumi.${stack}.yaml: ${key} is encrypted but is not a secret setting; store it in plain text (pulumi config set ${key} <value>)`,
      );
    }
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(merged)) {
    values[key.startsWith(prefix) ? key.slice(prefix.length) : key] = value;
  }
  return { values, secretsSet };
}

/** How the Pulumi CLI hands a config value to the program: strings as is, the rest as JSON. */
function configString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * Fully qualified key -> string, as the Pulumi CLI would pass the stack's config to the program
 * (for `pulumi.runtime.setAllConfig` under mocks). Secure values are left out; add test values
 * for them with `stackSecretKeys`.
 */
export function stackConfigMap(stack: string, rootDir: string): Record<string, string> {
  const merged = { ...projectConfigValues(rootDir), ...readStackFileConfig(stack, rootDir).plain };
  const map: Record<string, string> = {};
  for (const key of Object.keys(merged).sort()) {
    const value = merged[key];
    if (value !== undefined && value !== null) map[key] = configString(value);
  }
  return map;
}

/** Fully qualified keys the stack file holds as `{ secure: ... }`. */
export function stackSecretKeys(stack: string, rootDir: string): string[] {
  return [...readStackFileConfig(stack, rootDir).secure].sort();
}

export interface MockStackConfig {
  /** For `pulumi.runtime.setAllConfig(config, secretKeys)`. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

/**
 * What the Pulumi CLI would hand the program for this stack, with test values standing in for the
 * secrets (the files' secure values cannot be decrypted here). Every secret setting gets a value
 * unless `secretValues` is given, in which case exactly those are set.
 */
export function mockStackConfig(
  stack: string,
  rootDir: string,
  secretValues?: Partial<Record<SecretSetting, string>>,
): MockStackConfig {
  const secrets =
    secretValues ?? Object.fromEntries(SECRET_SETTINGS.map((key) => [key, `test-${key}-value`] as const));
  const config = { ...stackConfigMap(stack, rootDir) };
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    config[`${PROJECT}:${key}`] = value;
    secretKeys.push(`${PROJECT}:${key}`);
  }
  return { config, secretKeys: secretKeys.sort() };
}

/** Reads and validates a stack's config from its files; throws StackConfigError on bad input. */
export function loadStackConfigFromFiles(
  stack: string,
  rootDir: string,
  options: ParseOptions = {},
): StackConfig {
  return parseStackConfig(stack, readStackSettings(stack, rootDir), options);
}
