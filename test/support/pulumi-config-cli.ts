/**
 * Pasting a fix line, without the Pulumi CLI: real bash splits the line into commands and words
 * (with a `pulumi` shell function that records its arguments), and the recorded
 * `pulumi config set|rm` commands are applied to a stack's config the way the CLI applies them.
 * So a test proves each printed fix both survives a shell as is and does what it says.
 */
import { spawnSync } from "node:child_process";

/** A stack's config as a stack file holds it: fully qualified key -> value, and the secret keys. */
export interface StackConfigState {
  readonly values: Record<string, unknown>;
  readonly secrets: Set<string>;
}

/** What an operator types when the CLI prompts (no value on the command line), by fully qualified key or path. */
export type PromptAnswer = (key: string) => string;

/** Each `pulumi ...` invocation a line makes when bash runs it, as its argv (without `pulumi`). */
export function pulumiInvocations(line: string): string[][] {
  const script = [
    "set -euo pipefail",
    // Records the arguments, NUL-separated, one invocation per record; never runs anything else.
    "pulumi() { printf 'CALL\\0'; printf '%s\\0' \"$@\"; }",
    line,
  ].join("\n");
  const result = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) {
    throw new Error(`bash refused the line (exit ${result.status}): ${result.stderr.trim()}\n  ${line}`);
  }
  const parts = result.stdout.split("\0");
  parts.pop();
  const calls: string[][] = [];
  for (const part of parts) {
    if (part === "CALL") calls.push([]);
    else calls.at(-1)?.push(part);
  }
  return calls;
}

type PathSegment = string | number;

/** Parses `ns:name[0].field` and `ns:tags["a.b"]` the way `pulumi config set --path` does. */
export function parseConfigPath(path: string): { key: string; segments: PathSegment[] } {
  const colon = path.indexOf(":");
  if (colon <= 0) throw new Error(`"${path}" has no namespace`);
  const namespace = path.slice(0, colon);
  const rest = path.slice(colon + 1);
  const first = /^[^.[\]]+/.exec(rest);
  if (!first) throw new Error(`"${path}" has no key`);
  const segments: PathSegment[] = [];
  let index = first[0].length;
  while (index < rest.length) {
    const tail = rest.slice(index);
    const field = /^\.([^.[\]]+)/.exec(tail);
    const item = /^\[(\d+)\]/.exec(tail);
    const quoted = /^\["((?:[^"\\]|\\.)*)"\]/.exec(tail);
    if (field) {
      segments.push(field[1] as string);
      index += field[0].length;
    } else if (item) {
      segments.push(Number(item[1]));
      index += item[0].length;
    } else if (quoted) {
      segments.push(JSON.parse(`"${quoted[1]}"`) as string);
      index += quoted[0].length;
    } else {
      throw new Error(`"${path}" is not a valid config path near "${tail}"`);
    }
  }
  return { key: `${namespace}:${first[0]}`, segments };
}

function containerFor(segment: PathSegment): unknown[] | Record<string, unknown> {
  return typeof segment === "number" ? [] : {};
}

/** Structured values as a stack file holds them (Pulumi hands them over as JSON text). */
function structured(value: unknown): unknown {
  if (typeof value !== "string" || !/^[[{]/.test(value.trim())) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function setAtPath(state: StackConfigState, path: string, value: string): void {
  const { key, segments } = parseConfigPath(path);
  if (segments.length === 0) {
    state.values[key] = value;
    return;
  }
  let parent: unknown = structured(state.values[key]) ?? containerFor(segments[0] as PathSegment);
  state.values[key] = parent;
  segments.forEach((segment, position) => {
    const last = position === segments.length - 1;
    const next = segments[position + 1];
    if (typeof segment === "number") {
      if (!Array.isArray(parent)) throw new Error(`${path}: [${segment}] on a value that is not a list`);
      if (segment > parent.length) throw new Error(`${path}: index ${segment} is past the end of the list`);
      if (last) parent[segment] = value;
      else parent[segment] = parent[segment] ?? containerFor(next as PathSegment);
      parent = parent[segment];
    } else {
      if (typeof parent !== "object" || parent === null || Array.isArray(parent)) {
        throw new Error(`${path}: .${segment} on a value that is not a map`);
      }
      const map = parent as Record<string, unknown>;
      if (last) map[segment] = value;
      else map[segment] = map[segment] ?? containerFor(next as PathSegment);
      parent = map[segment];
    }
  });
}

function removeAtPath(state: StackConfigState, path: string): void {
  const { key, segments } = parseConfigPath(path);
  if (!Object.hasOwn(state.values, key) && !state.secrets.has(key)) throw new Error(`${key} is not set`);
  if (segments.length === 0) {
    delete state.values[key];
    state.secrets.delete(key);
    return;
  }
  const root = structured(state.values[key]);
  state.values[key] = root;
  let parent: unknown = root;
  for (const segment of segments.slice(0, -1)) {
    parent = (parent as Record<string | number, unknown> | undefined)?.[segment];
  }
  const last = segments.at(-1) as PathSegment;
  if (typeof last === "number" && Array.isArray(parent) && last < parent.length) {
    parent.splice(last, 1);
  } else if (
    typeof last === "string" &&
    typeof parent === "object" &&
    parent !== null &&
    Object.hasOwn(parent, last)
  ) {
    delete (parent as Record<string, unknown>)[last];
  } else {
    throw new Error(`${path} is not set`);
  }
}

/** Applies one `config set|rm` invocation; throws what the CLI would refuse. */
export function applyConfigCommand(
  state: StackConfigState,
  argv: readonly string[],
  answer: PromptAnswer,
): void {
  const [group, op, ...rest] = argv;
  if (group !== "config" || (op !== "set" && op !== "rm"))
    throw new Error(`not a config command: ${argv.join(" ")}`);
  // As the CLI's flag parser: every word starting with "-" is a flag, until a "--".
  const end = rest.indexOf("--");
  const before = end === -1 ? rest : rest.slice(0, end);
  const flags = before.filter((word) => word.startsWith("-"));
  const words = [
    ...before.filter((word) => !word.startsWith("-")),
    ...(end === -1 ? [] : rest.slice(end + 1)),
  ];
  const unknown = flags.filter((flag) => flag !== "--path" && flag !== "--secret");
  if (unknown.length > 0) throw new Error(`unknown flag ${unknown.join(", ")}`);
  const usePath = flags.includes("--path");
  const secret = flags.includes("--secret");
  const [key, value, ...extra] = words;
  if (key === undefined || extra.length > 0 || (op === "rm" && (value !== undefined || secret))) {
    throw new Error(`wrong arguments: ${argv.join(" ")}`);
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]*:/.test(key)) throw new Error(`"${key}" is not fully qualified`);
  if (op === "rm") {
    if (usePath) removeAtPath(state, key);
    else if (Object.hasOwn(state.values, key) || state.secrets.has(key)) {
      delete state.values[key];
      state.secrets.delete(key);
    } else {
      throw new Error(`${key} is not set`);
    }
    return;
  }
  const text = value ?? answer(key);
  if (secret) {
    if (usePath) throw new Error("this program's secrets are plain keys: --path with --secret is not used");
    delete state.values[key];
    state.secrets.add(key);
    return;
  }
  if (usePath) setAtPath(state, key, text);
  else if (key.includes("[") || /:[^:]*\./.test(key)) throw new Error(`${key} needs --path`);
  else state.values[key] = text;
}

/** Pastes a whole fix line into `state` (a copy is made; the original is left as it was). */
export function pasteFix(state: StackConfigState, line: string, answer: PromptAnswer): StackConfigState {
  const next: StackConfigState = { values: structuredClone(state.values), secrets: new Set(state.secrets) };
  const invocations = pulumiInvocations(line);
  if (invocations.length === 0) throw new Error(`the line runs no pulumi command: ${line}`);
  for (const argv of invocations) applyConfigCommand(next, argv, answer);
  return next;
}
