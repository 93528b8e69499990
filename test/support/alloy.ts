/** Inspecting Alloy statement trees (the configs' builders' output) in tests. */
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
