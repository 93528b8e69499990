/**
 * Shell words and paths for the scripts the program writes: every value from config reaches a
 * shell through `shellQuote`, and every path through the plain-path checks first.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One shell word that stands for exactly `value` in bash and POSIX sh: left bare when it holds
 * only characters no shell treats specially, otherwise single-quoted with each `'` as `'\''`.
 * A NUL byte cannot be carried by any shell word: refused (the message never repeats the value).
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell word cannot contain a NUL byte");
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const RELATIVE_PATH = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/;

/** Refuses anything but a plain relative path (no `..`, no leading `/` or `-`, no odd characters). */
export function assertRelativePath(path: string): string {
  if (!RELATIVE_PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`deploy path ${JSON.stringify(path)} is not a plain relative path`);
  }
  return path;
}

const ABSOLUTE_PATH = /^(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$/;

export function assertAbsolutePath(path: string): string {
  if (!ABSOLUTE_PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`deploy path ${JSON.stringify(path)} is not a plain absolute path`);
  }
  return path;
}
