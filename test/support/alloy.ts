/** Alloy configs in tests: the printed text read back into its statement tree, and walks of that tree. */
import type { AlloyStatement, block, str } from "../../configs/agents/alloy-syntax";

export type AlloyExpression = ReturnType<typeof str>;
export type AlloyBlock = ReturnType<typeof block>;

/** Every reference expression anywhere in the tree, as dotted paths. */
export function collectReferences(statements: readonly AlloyStatement[]): string[] {
  const found: string[] = [];
  const visitExpression = (expression: AlloyExpression): void => {
    switch (expression.kind) {
      case "reference":
        found.push(expression.path.join("."));
        return;
      case "list":
        expression.items.forEach(visitExpression);
        return;
      case "object":
        for (const [, value] of expression.entries) visitExpression(value);
        return;
      case "call":
        expression.args.forEach(visitExpression);
        return;
      default:
        return;
    }
  };
  const visitStatement = (statement: AlloyStatement): void => {
    if (statement.kind === "attribute") visitExpression(statement.value);
    else if (statement.kind === "block") statement.body.forEach(visitStatement);
  };
  statements.forEach(visitStatement);
  return found;
}

/** Top-level labelled components as `name.label`, e.g. `loki.write.monitor`. */
export function definedComponents(statements: readonly AlloyStatement[]): string[] {
  return statements.flatMap((statement) =>
    statement.kind === "block" && statement.label !== undefined
      ? [`${statement.name}.${statement.label}`]
      : [],
  );
}

// ---- Reading a rendered config back --------------------------------------------------------------

type Token =
  | { readonly kind: "comment"; readonly text: string }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "ident"; readonly value: string }
  | { readonly kind: "punct"; readonly value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const comment = /^\/\/ ?([^\n]*)/.exec(rest);
    const quoted = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
    const number = /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/.exec(rest);
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (comment) tokens.push({ kind: "comment", text: comment[1] as string });
    // The printer writes Go escapes that JSON reads the same way (\\ \" \n \r \t \uXXXX).
    else if (quoted) tokens.push({ kind: "string", value: JSON.parse(quoted[0]) });
    else if (number) tokens.push({ kind: "number", value: Number(number[0]) });
    else if (ident) tokens.push({ kind: "ident", value: ident[0] });
    else if ("{}[](),=.".includes(rest[0] as string))
      tokens.push({ kind: "punct", value: rest[0] as string });
    else throw new Error(`unexpected ${JSON.stringify(rest.slice(0, 20))} in an Alloy config`);
    const matched = comment ?? quoted ?? number ?? ident;
    i += matched ? matched[0].length : 1;
  }
  return tokens;
}

/**
 * Parses the Alloy syntax the config printer writes (configs/agents/alloy-syntax.ts) back into its
 * statement tree: blocks, attributes, comments, and string, number, bool, null, list, object,
 * reference and call expressions. Enough for the rendered configs, not all of Alloy.
 */
export function parseAlloy(text: string): AlloyStatement[] {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (offset = 0): Token | undefined => tokens[at + offset];
  const isPunct = (token: Token | undefined, value: string) =>
    token?.kind === "punct" && token.value === value;
  const expectPunct = (value: string): void => {
    const token = tokens[at++];
    if (!isPunct(token, value)) throw new Error(`expected "${value}", found ${JSON.stringify(token)}`);
  };
  const identifier = (): string => {
    const token = tokens[at++];
    if (token?.kind !== "ident") throw new Error(`expected a name, found ${JSON.stringify(token)}`);
    return token.value;
  };
  const dotted = (): string[] => {
    const parts = [identifier()];
    while (isPunct(peek(), ".")) {
      at++;
      parts.push(identifier());
    }
    return parts;
  };
  const separated = <T>(close: string, item: () => T): T[] => {
    const items: T[] = [];
    while (!isPunct(peek(), close)) {
      items.push(item());
      if (isPunct(peek(), ",")) at++;
      else break;
    }
    expectPunct(close);
    return items;
  };
  const expression = (): AlloyExpression => {
    const token = peek();
    if (token?.kind === "string" || token?.kind === "number") {
      at++;
      return { kind: token.kind, value: token.value } as AlloyExpression;
    }
    if (isPunct(token, "[")) {
      at++;
      return { kind: "list", items: separated("]", expression) };
    }
    if (isPunct(token, "{")) {
      at++;
      const entries = separated("}", (): [string, AlloyExpression] => {
        const key = peek();
        at++;
        const name = key?.kind === "string" || key?.kind === "ident" ? String(key.value) : undefined;
        if (name === undefined) throw new Error(`expected an object key, found ${JSON.stringify(key)}`);
        expectPunct("=");
        return [name, expression()];
      });
      return { kind: "object", entries };
    }
    const path = dotted();
    if (path.length === 1 && (path[0] === "true" || path[0] === "false"))
      return { kind: "bool", value: path[0] === "true" };
    if (path.length === 1 && path[0] === "null") return { kind: "null" };
    if (isPunct(peek(), "(")) {
      at++;
      return { kind: "call", func: path.join("."), args: separated(")", expression) };
    }
    return { kind: "reference", path };
  };
  const statements = (close?: string): AlloyStatement[] => {
    const body: AlloyStatement[] = [];
    while (at < tokens.length && !(close && isPunct(peek(), close))) {
      const token = peek();
      if (token?.kind === "comment") {
        at++;
        body.push({ kind: "comment", text: token.text });
        continue;
      }
      const name = dotted().join(".");
      if (isPunct(peek(), "=")) {
        at++;
        body.push({ kind: "attribute", name, value: expression() });
        continue;
      }
      const label = peek();
      if (label?.kind === "string") at++;
      expectPunct("{");
      const inner = statements("}");
      expectPunct("}");
      body.push(
        label?.kind === "string"
          ? { kind: "block", name, label: label.value, body: inner }
          : { kind: "block", name, body: inner },
      );
    }
    return body;
  };
  return statements();
}
