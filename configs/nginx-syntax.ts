/**
 * nginx's configuration format as data: a tree of directives whose arguments are typed, printed by
 * one function that quotes and escapes every argument. nginx has no data format of its own (no
 * JSON or YAML), so configs/gateway.ts builds this tree and never concatenates config text.
 *
 * Arguments are of two kinds:
 * - literal: printed so that nginx reads back exactly the value. Left bare when it holds only
 *   characters nginx's tokenizer never treats specially, otherwise double-quoted with `"` and `\`
 *   escaped. A `$` is refused: nginx expands variables inside most arguments and has no escape
 *   for a literal dollar, so a literal holding one could not mean what it says.
 * - template: literal text and `$variable` references, double-quoted with each reference as
 *   `${name}` (a lone variable is printed bare, `$name`, which is how `set` and `map` name the
 *   variable they define); names are checked against nginx's own name syntax.
 * Control characters (newlines included) are refused everywhere: they could end a directive.
 */

type NginxArg =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "template"; readonly parts: readonly (string | { readonly variable: string })[] };

interface NginxDirective {
  readonly kind: "directive";
  readonly name: string;
  readonly args: readonly NginxArg[];
  /** Present for block directives (`http { ... }`), even when empty. */
  readonly block?: readonly NginxStatement[];
}

export interface NginxComment {
  readonly kind: "comment";
  readonly text: string;
}

/** A line of a block whose entries are not directives (`map`, `types`): arguments only. */
export interface NginxEntry {
  readonly kind: "entry";
  readonly args: readonly NginxArg[];
}

export type NginxStatement = NginxDirective | NginxComment | NginxEntry;

class NginxSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NginxSyntaxError";
  }
}

const DIRECTIVE_NAME = /^[a-z_][a-z0-9_]*$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters nginx reads as part of a bare word, in any directive. */
const BARE = /^[A-Za-z0-9_./:=@+,~^*!%-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A literal argument (see the module comment for how it is printed). */
const lit = (value: string | number): NginxArg => ({ kind: "literal", value: String(value) });

/** A `$name` reference alone, e.g. the first argument of `set`. */
export const variable = (name: string): NginxArg => ({ kind: "template", parts: [{ variable: name }] });

/** Text with variable references: `template("Bearer ", { variable: "token" })`; adjacent text merged. */
export function template(...parts: (string | { readonly variable: string })[]): NginxArg {
  const merged: (string | { readonly variable: string })[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (typeof part === "string" && typeof last === "string") merged[merged.length - 1] = last + part;
    else if (part !== "") merged.push(part);
  }
  return { kind: "template", parts: merged };
}

/** A simple directive; string arguments are literals. */
export function directive(name: string, ...args: (NginxArg | string | number)[]): NginxDirective {
  return {
    kind: "directive",
    name,
    args: args.map((arg) => (typeof arg === "object" ? arg : lit(arg))),
  };
}

/** A block directive: `name args { body }`. */
export function blockDirective(
  name: string,
  args: readonly (NginxArg | string | number)[],
  body: readonly NginxStatement[],
): NginxDirective {
  return { ...directive(name, ...args), block: body };
}

/** An entry of a `map` block: `key value;`. */
export function entry(...args: (NginxArg | string | number)[]): NginxEntry {
  if (args.length === 0) throw new NginxSyntaxError("an entry needs at least one argument");
  return { kind: "entry", args: args.map((arg) => (typeof arg === "object" ? arg : lit(arg))) };
}

export const nginxComment = (text: string): NginxComment => ({ kind: "comment", text });

function checkText(text: string, what: string): void {
  if (CONTROL.test(text)) throw new NginxSyntaxError(`${what} holds a control character`);
}

function quoted(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
}

/** One argument as nginx must read it. */
function printArg(arg: NginxArg): string {
  if (arg.kind === "literal") {
    checkText(arg.value, "a literal argument");
    if (arg.value.includes("$")) {
      throw new NginxSyntaxError(
        "a literal argument cannot hold `$` (nginx would expand it as a variable): use a template",
      );
    }
    // `{`, `}`, `;`, `#`, quotes, whitespace and backslashes all need quoting; so does "".
    return BARE.test(arg.value) ? arg.value : `"${quoted(arg.value)}"`;
  }
  const [only] = arg.parts;
  if (arg.parts.length === 1 && typeof only === "object") {
    // A lone variable is printed bare: `set`, `map` and friends define variables only as `$name`.
    if (!VARIABLE_NAME.test(only.variable)) {
      throw new NginxSyntaxError(`"${only.variable}" is not an nginx variable name`);
    }
    return `$${only.variable}`;
  }
  let text = "";
  for (const part of arg.parts) {
    if (typeof part === "string") {
      checkText(part, "template text");
      if (part.includes("$"))
        throw new NginxSyntaxError("template text cannot hold `$`: use a variable part");
      text += quoted(part);
    } else {
      if (!VARIABLE_NAME.test(part.variable)) {
        throw new NginxSyntaxError(`"${part.variable}" is not an nginx variable name`);
      }
      // Braces keep the name apart from text that follows it.
      text += `\${${part.variable}}`;
    }
  }
  return `"${text}"`;
}

function printStatements(statements: readonly NginxStatement[], depth: number, out: string[]): void {
  const indent = "    ".repeat(depth);
  for (const statement of statements) {
    if (statement.kind === "comment") {
      checkText(statement.text, "a comment");
      out.push(`${indent}# ${statement.text}`);
      continue;
    }
    if (statement.kind === "entry") {
      out.push(`${indent}${statement.args.map(printArg).join(" ")};`);
      continue;
    }
    if (!DIRECTIVE_NAME.test(statement.name)) {
      throw new NginxSyntaxError(`"${statement.name}" is not an nginx directive name`);
    }
    const head = [statement.name, ...statement.args.map(printArg)].join(" ");
    if (statement.block === undefined) {
      out.push(`${indent}${head};`);
    } else {
      out.push(`${indent}${head} {`);
      printStatements(statement.block, depth + 1, out);
      out.push(`${indent}}`);
    }
  }
}

/** The config file's text. */
export function printNginx(statements: readonly NginxStatement[]): string {
  const out: string[] = [];
  printStatements(statements, 0, out);
  return `${out.join("\n")}\n`;
}
