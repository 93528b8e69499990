/**
 * Reads nginx config text back into configs/nginx-syntax.ts' tree: enough of nginx's tokenizer
 * for what the printer writes (bare words, double-quoted strings with `\"` and `\\`, `;`, `{`,
 * `}`, `#` comments), so tests can check that printing round-trips and change a rendered file
 * as data (test/support/loopback.ts). A `$` makes an argument a template.
 */
import type { directive, NginxStatement, variable } from "../../configs/nginx-syntax";

/** An argument and a directive of the printer's tree. */
export type NginxArg = ReturnType<typeof variable>;
export type NginxDirective = ReturnType<typeof directive>;

/** A literal argument, as the builders make one from a string. */
export function literal(value: string): NginxArg {
  return { kind: "literal", value };
}

type Token = { kind: "word"; value: string; quoted: boolean } | { kind: "punct"; value: ";" | "{" | "}" };

function tokenize(text: string): (Token | { kind: "comment"; value: string })[] {
  const tokens: (Token | { kind: "comment"; value: string })[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "#") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      tokens.push({ kind: "comment", value: text.slice(i + 1, stop).replace(/^ /, "") });
      i = stop;
    } else if (ch === ";" || ch === "{" || ch === "}") {
      tokens.push({ kind: "punct", value: ch });
      i++;
    } else if (ch === '"') {
      let value = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (text[i] !== '"') throw new Error("unterminated quoted string");
      i++;
      tokens.push({ kind: "word", value, quoted: true });
    } else {
      let value = "";
      while (i < text.length && !/[\s;{}"]/.test(text[i] as string)) value += text[i++];
      tokens.push({ kind: "word", value, quoted: false });
    }
  }
  return tokens;
}

function argOf(value: string): NginxArg {
  if (!value.includes("$")) return { kind: "literal", value };
  const parts: (string | { variable: string })[] = [];
  const pattern = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  let last = 0;
  for (const match of value.matchAll(pattern)) {
    if (match.index > last) parts.push(value.slice(last, match.index));
    parts.push({ variable: (match[1] ?? match[2]) as string });
    last = match.index + match[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  return { kind: "template", parts };
}

/** The statements of a config file; entries of `map` blocks come back as entries. */
export function parseNginx(text: string): NginxStatement[] {
  const tokens = tokenize(text);
  let position = 0;
  const parseBlock = (inside: string | undefined): NginxStatement[] => {
    const statements: NginxStatement[] = [];
    let words: string[] = [];
    while (position < tokens.length) {
      const token = tokens[position++] as (typeof tokens)[number];
      if (token.kind === "comment") {
        statements.push({ kind: "comment", text: token.value });
      } else if (token.kind === "word") {
        words.push(token.value);
      } else if (token.value === ";") {
        const [name, ...args] = words;
        if (name === undefined) throw new Error("an empty statement");
        statements.push(
          inside === "map"
            ? { kind: "entry", args: words.map(argOf) }
            : { kind: "directive", name, args: args.map(argOf) },
        );
        words = [];
      } else if (token.value === "{") {
        const [name, ...args] = words;
        if (name === undefined) throw new Error("a block without a name");
        statements.push({ kind: "directive", name, args: args.map(argOf), block: parseBlock(name) });
        words = [];
      } else {
        if (inside === undefined) throw new Error("an unmatched }");
        return statements;
      }
    }
    if (inside !== undefined) throw new Error(`block ${inside} is not closed`);
    return statements;
  };
  return parseBlock(undefined);
}
