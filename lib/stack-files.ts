/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would, without the CLI: for
 * the render command, for tests that run the program under mocks, and for checking every stack
 * file in the repository. Secure (encrypted) values cannot be read here; they only count as set.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  PROJECT,
  type ReadOptions,
  readStackConfig,
  type StackConfig,
  type StackConfigReading,
  secretKeys,
  settingsTable,
} from "./stack-config";

const PROJECT_FILE = "Pulumi.yaml";
const STACK_FILE_PATTERN = /^Pulumi\.([A-Za-z0-9._-]+)\.yaml$/;

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecure(value: unknown): boolean {
  return isMap(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

function readYamlMap(path: string): YamlMap {
  let document: unknown;
  try {
    document = parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return {};
  if (!isMap(document)) throw new Error(`${path} must hold a YAML map`);
  return document;
}

function readProjectFile(rootDir: string): YamlMap {
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
function projectConfigValues(rootDir: string): Record<string, unknown> {
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

/** What a stack's files hold, as the Pulumi CLI would hand it to the program. */
export interface StackFileValues {
  /** Fully qualified key -> value: Pulumi.yaml defaults overlaid with the stack file's plain values. */
  readonly values: Record<string, unknown>;
  /** Fully qualified keys the stack file holds as `{ secure: ... }` (their values cannot be read here). */
  readonly secure: readonly string[];
}

export function readStackFile(stack: string, rootDir: string): StackFileValues {
  const { plain, secure } = readStackFileConfig(stack, rootDir);
  return { values: { ...projectConfigValues(rootDir), ...plain }, secure: [...secure].sort() };
}

/**
 * Reads and validates a stack's config from its files. Secure values of secret settings count as
 * set; a secure value of any other setting cannot be read without the stack's secrets provider, so
 * it is refused. Throws StackConfigError on bad input.
 */
export function readStackConfigFromFiles(
  stack: string,
  rootDir: string,
  options: ReadOptions,
): StackConfigReading {
  const { values, secure } = readStackFile(stack, rootDir);
  const secrets = secretKeys(settingsTable(options.exporters));
  const secretsSet = new Set<string>();
  const secureKeys = new Set<string>();
  const prefix = `${PROJECT}:`;
  for (const key of secure) {
    const name = key.slice(prefix.length);
    if (key.startsWith(prefix) && secrets.includes(name)) {
      secretsSet.add(name);
    } else {
      // Not a secret setting: the reader reports it (a known setting stored encrypted, or an unknown key).
      secureKeys.add(key);
      values[key] = "<encrypted>";
    }
  }
  return readStackConfig(stack, { values, secretsSet, secureKeys }, options);
}

export function loadStackConfigFromFiles(stack: string, rootDir: string, options: ReadOptions): StackConfig {
  return readStackConfigFromFiles(stack, rootDir, options).config;
}
