/**
 * A small serializer for Grafana Alloy's configuration syntax, from a typed tree.
 *
 * Alloy configs are not YAML: they are blocks (`name "label" { ... }`) holding attributes
 * (`key = expression`). Building them as data and printing them here keeps quoting and escaping
 * in one place; tests read the printed text back into the same tree (test/support/alloy.ts) and
 * walk it (references, labels) instead of grepping text.
 */

export type AlloyExpression =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" }
  | { readonly kind: "list"; readonly items: readonly AlloyExpression[] }
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, AlloyExpression])[] }
  /** A reference to another component's export, e.g. `discovery.docker.containers.targets`. */
  | { readonly kind: "reference"; readonly path: readonly string[] }
  /** A standard-library call, e.g. `sys.env("HOSTNAME")`. */
  | { readonly kind: "call"; readonly func: string; readonly args: readonly AlloyExpression[] };

export interface AlloyAttribute {
  readonly kind: "attribute";
  readonly name: string;
  readonly value: AlloyExpression;
}

interface AlloyBlock {
  readonly kind: "block";
  /** Dotted block name, e.g. `loki.source.docker` or `rule`. */
  readonly name: string;
  readonly label?: string;
  readonly body: readonly AlloyStatement[];
}

export interface AlloyComment {
  readonly kind: "comment";
  readonly text: string;
}

export type AlloyStatement = AlloyAttribute | AlloyBlock | AlloyComment;

// ---- Constructors ------------------------------------------------------------------------------

export const str = (value: string): AlloyExpression => ({ kind: "string", value });
export const num = (value: number): AlloyExpression => ({ kind: "number", value });
export const bool = (value: boolean): AlloyExpression => ({ kind: "bool", value });
export const list = (...items: AlloyExpression[]): AlloyExpression => ({ kind: "list", items });
export const obj = (entries: Record<string, AlloyExpression>): AlloyExpression => ({
  kind: "object",
  entries: Object.entries(entries),
});
/** `ref("discovery.docker.containers.targets")` */
export const ref = (dottedPath: string): AlloyExpression => ({
  kind: "reference",
  path: dottedPath.split("."),
});
export const call = (func: string, ...args: AlloyExpression[]): AlloyExpression => ({
  kind: "call",
  func,
  args,
});

export const attr = (name: string, value: AlloyExpression): AlloyAttribute => ({
  kind: "attribute",
  name,
  value,
});
export const block = (
  name: string,
  label: string | undefined,
  body: readonly AlloyStatement[],
): AlloyBlock => (label === undefined ? { kind: "block", name, body } : { kind: "block", name, label, body });
export const comment = (text: string): AlloyComment => ({ kind: "comment", text });

/** Shorthand for a list of strings. */
export const strings = (values: readonly string[]): AlloyExpression => list(...values.map(str));
/** Shorthand for an object of string values. */
export const stringMap = (values: Readonly<Record<string, string>>): AlloyExpression =>
  obj(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, str(value)])));

// ---- Printing ----------------------------------------------------------------------------------

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDENT = "  ";

class AlloySyntaxError extends Error {
  override name = "AlloySyntaxError";
}

function requireIdentifier(text: string, what: string): void {
  if (!IDENTIFIER.test(text))
    throw new AlloySyntaxError(`${what} ${JSON.stringify(text)} is not a valid identifier`);
}

/**
 * A double-quoted Alloy string. Alloy strings use Go's escapes: backslash and quote are escaped,
 * newlines and tabs become `\n`/`\t`, other control characters `\uXXXX`.
 */
function quoteString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    switch (char) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        if (code < 0x20 || code === 0x7f) {
          out += `\\u${code.toString(16).padStart(4, "0")}`;
        } else {
          out += char;
        }
    }
  }
  return `${out}"`;
}

function isScalar(expression: AlloyExpression): boolean {
  return expression.kind !== "list" && expression.kind !== "object";
}

function printExpression(expression: AlloyExpression, depth: number): string {
  switch (expression.kind) {
    case "string":
      return quoteString(expression.value);
    case "number":
      if (!Number.isFinite(expression.value)) {
        throw new AlloySyntaxError(`number ${expression.value} cannot be written in Alloy syntax`);
      }
      return String(expression.value);
    case "bool":
      return expression.value ? "true" : "false";
    case "null":
      return "null";
    case "reference":
      for (const part of expression.path) requireIdentifier(part, "reference segment");
      return expression.path.join(".");
    case "call": {
      for (const part of expression.func.split(".")) requireIdentifier(part, "function name segment");
      return `${expression.func}(${expression.args.map((arg) => printExpression(arg, depth)).join(", ")})`;
    }
    case "list": {
      if (expression.items.length === 0) return "[]";
      // Short lists of scalars stay on one line; anything nested gets one item per line.
      if (expression.items.every(isScalar)) {
        const inline = `[${expression.items.map((item) => printExpression(item, depth)).join(", ")}]`;
        if (inline.length <= 80 && !inline.includes("\n")) return inline;
      }
      const inner = INDENT.repeat(depth + 1);
      const lines = expression.items.map((item) => `${inner}${printExpression(item, depth + 1)},`);
      return `[\n${lines.join("\n")}\n${INDENT.repeat(depth)}]`;
    }
    case "object": {
      if (expression.entries.length === 0) return "{}";
      const inner = INDENT.repeat(depth + 1);
      const lines = expression.entries.map(([key, value]) => {
        const printedKey = IDENTIFIER.test(key) ? key : quoteString(key);
        return `${inner}${printedKey} = ${printExpression(value, depth + 1)},`;
      });
      return `{\n${lines.join("\n")}\n${INDENT.repeat(depth)}}`;
    }
  }
}

function printStatement(statement: AlloyStatement, depth: number): string {
  const indent = INDENT.repeat(depth);
  switch (statement.kind) {
    case "comment":
      return statement.text
        .split("\n")
        .map((line) => `${indent}// ${line}`.trimEnd())
        .join("\n");
    case "attribute":
      requireIdentifier(statement.name, "attribute name");
      return `${indent}${statement.name} = ${printExpression(statement.value, depth)}`;
    case "block": {
      for (const part of statement.name.split(".")) requireIdentifier(part, "block name segment");
      if (statement.label !== undefined) requireIdentifier(statement.label, "block label");
      const header =
        statement.label === undefined ? statement.name : `${statement.name} ${quoteString(statement.label)}`;
      if (statement.body.length === 0) return `${indent}${header} { }`;
      const body = statement.body.map((child) => printStatement(child, depth + 1)).join("\n");
      return `${indent}${header} {\n${body}\n${indent}}`;
    }
  }
}

/** Prints a whole config: top-level statements separated by blank lines, ending in a newline. */
export function printAlloy(statements: readonly AlloyStatement[]): string {
  const out: string[] = [];
  statements.forEach((statement, index) => {
    const previous = statements[index - 1];
    // A comment sticks to the block that follows it.
    const separator = index === 0 || previous?.kind === "comment" ? "\n" : "\n\n";
    out.push(index === 0 ? printStatement(statement, 0) : separator + printStatement(statement, 0));
  });
  return `${out.join("")}\n`;
}
