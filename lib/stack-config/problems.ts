/**
 * Problems, warnings and the fix lines that go with them.
 *
 * A fix is a list of Pulumi CLI commands built as data and printed joined by `&&`, so every line
 * works when pasted into a shell as is: words are quoted where the shell needs it, and a value
 * only the operator knows is left out, which makes the CLI prompt for it (secrets always are,
 * so they never land in shell history). Alternatives go in the problem text, never in the fix.
 */

/** Project name in Pulumi.yaml: the namespace of every setting (`observability:logRetentionDays`). */
export const PROJECT = "observability";

export interface ConfigProblem {
  /** Fully qualified setting, e.g. `observability:clients[1].name` or `aws:region`. */
  readonly setting: string;
  readonly problem: string;
  /** The command(s) that fix it, pasteable as is. */
  readonly fix: string;
}

/** Something that will work but is probably not what the operator wants. */
export interface ConfigWarning {
  readonly setting: string;
  readonly warning: string;
  /** A pasteable command that addresses it, when there is one. */
  readonly fix?: string;
}

export class StackConfigError extends Error {
  /** The Pulumi stack name (not `stack`, which Error uses for the trace). */
  readonly stackName: string;
  readonly problems: readonly ConfigProblem[];

  constructor(stack: string, problems: readonly ConfigProblem[]) {
    const count = problems.length;
    const lines = problems.map((p) => `  - ${p.setting}: ${p.problem}.\n    Fix: ${p.fix}`);
    super(
      [`Stack "${stack}" has ${count} configuration problem${count === 1 ? "" : "s"}:`, ...lines].join("\n"),
    );
    this.name = "StackConfigError";
    this.stackName = stack;
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

/** One Pulumi CLI config command. */
export type ConfigCommand =
  | {
      readonly op: "set";
      /** Fully qualified key, or path when `path` is true (`observability:clients[0].name`). */
      readonly key: string;
      readonly path?: boolean;
      readonly secret?: boolean;
      /** Absent: the CLI prompts for the value. */
      readonly value?: string;
    }
  | { readonly op: "rm"; readonly key: string; readonly path?: boolean };

/** Fully qualified: keys without a namespace belong to the project. */
export function qualify(key: string): string {
  return /^[A-Za-z][A-Za-z0-9_-]*:/.test(key) ? key : `${PROJECT}:${key}`;
}

/** A shell word that the shell passes through unchanged. */
function shellWord(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function commandText(command: ConfigCommand): string {
  const words = ["pulumi", "config", command.op];
  if (command.path) words.push("--path");
  if (command.op === "set" && command.secret) words.push("--secret");
  const positional = [qualify(command.key)];
  if (command.op === "set" && command.value !== undefined) positional.push(command.value);
  // The CLI would read a value starting with "-" as a flag: "--" ends the flags.
  if (positional.some((word) => word.startsWith("-"))) words.push("--");
  words.push(...positional.map(shellWord));
  return words.join(" ");
}

/** The printed fix: the commands in order, each run only if the one before succeeded. */
export function fixLine(commands: readonly ConfigCommand[]): string {
  return commands.map(commandText).join(" && ");
}

export const setCommand = (key: string, value?: string): ConfigCommand => ({
  op: "set",
  key,
  ...(value !== undefined ? { value } : {}),
});
export const pathSetCommand = (path: string, value?: string): ConfigCommand => ({
  op: "set",
  key: path,
  path: true,
  ...(value !== undefined ? { value } : {}),
});
export const secretSetCommand = (key: string): ConfigCommand => ({ op: "set", key, secret: true });
export const rmCommand = (key: string): ConfigCommand => ({ op: "rm", key });
export const pathRmCommand = (path: string): ConfigCommand => ({ op: "rm", key: path, path: true });

/**
 * The `--path` segment for a map key: `tags.Team`, or the bracket form Pulumi needs for keys with
 * dots, colons, spaces or other characters its path syntax reads specially.
 */
export function mapKeyPath(parent: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Commands that write `value` at `path`, one `--path` set per leaf (an empty list or map cannot be
 * written leaf by leaf: it becomes the JSON text, which the reader accepts).
 */
export function writeValueCommands(path: string, value: unknown): ConfigCommand[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [pathSetCommand(path, "[]")];
    return value.flatMap((item, index) => writeValueCommands(`${path}[${index}]`, item));
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [pathSetCommand(path, "{}")];
    return entries.flatMap(([key, inner]) => writeValueCommands(mapKeyPath(path, key), inner));
  }
  return [pathSetCommand(path, value === null || value === undefined ? "" : String(value))];
}
