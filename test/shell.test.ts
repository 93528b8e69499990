/**
 * Shell quoting (lib/shell.ts): every string comes back byte for byte through bash and dash as
 * one word, and a NUL byte is refused without repeating the value.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { shellQuote } from "../lib/shell";

/** Deterministic pseudo-random strings over characters shells care about (no wall clock, no Math.random). */
function nastyStrings(count: number): string[] {
  const alphabet = [..."'\"`$\\!*?[]{}()<>|&;#~ \t\n-=%@:,./aZ9", "é", "€", "\u{1F600}", "\r", "\u0001"];
  let seed = 0x5eed;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = next() % 24;
    let text = "";
    for (let j = 0; j < length; j++) text += alphabet[next() % alphabet.length];
    strings.push(text);
  }
  return strings;
}

const HAND_PICKED = [
  "",
  "plain",
  "'",
  "''",
  "'\\''",
  "it's",
  '"double"',
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
  "${PATH}",
  "$(id)",
  "`id`",
  "a b",
  " leading and trailing ",
  "*",
  "?",
  "[a-z]",
  "~",
  "~root",
  "-n",
  "--help",
  "a\nb",
  "\n",
  "tab\there",
  "back\\slash",
  "semi;colon && rm -rf /",
  "#comment",
  "!history",
  "{a,b}",
  "héllo wörld €",
  "=value",
];

/** Runs `printf '%s\0' <quoted words>` in the given shell and returns the words it printed. */
function wordsThroughShell(shell: string, values: readonly string[]): string[] {
  const script = `printf '%s\\0' ${values.map(shellQuote).join(" ")}`;
  const output = execFileSync(shell, ["-c", script], { encoding: "utf8" });
  return output.split("\0").slice(0, -1);
}

describe("shellQuote", () => {
  const values = [...HAND_PICKED, ...nastyStrings(300)];

  test.each(["bash", "dash"])("every string comes back byte for byte through %s", (shell) => {
    expect(wordsThroughShell(shell, values)).toEqual(values);
  });

  test("each string is one word: nothing expands, splits or globs", () => {
    for (const value of values) {
      const quoted = shellQuote(value);
      // Either bare safe characters or one single-quoted run with '\'' for each quote.
      expect(quoted === value ? /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) : quoted.startsWith("'")).toBe(true);
    }
  });

  test("a NUL byte is refused without repeating the value", () => {
    expect(() => shellQuote("secret\0value")).toThrow(/NUL/);
    try {
      shellQuote("secret\0value");
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("secret");
    }
  });
});
