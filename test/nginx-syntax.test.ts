import { describe, expect, it } from "vitest";
import {
  blockDirective,
  directive,
  entry,
  nginxComment,
  printNginx,
  template,
  variable,
} from "../configs/nginx-syntax";
import { type NginxArg, parseNginx } from "./support/nginx-parse";

/** One argument as printNginx writes it: the text between a directive's name and its `;`. */
function printArg(arg: NginxArg | string): string {
  const text = printNginx([directive("d", arg)]);
  expect(text.startsWith("d ") && text.endsWith(";\n"), text).toBe(true);
  return text.slice("d ".length, -";\n".length);
}

/** Refused by the printer with its own error. */
const SYNTAX_ERROR = expect.objectContaining({ name: "NginxSyntaxError" });

describe("nginx arguments", () => {
  it("leaves plain words bare and quotes anything nginx's tokenizer would split or read specially", () => {
    expect(printArg("/loki/api/v1/push")).toBe("/loki/api/v1/push");
    expect(printArg("http://loki:3100/x")).toBe("http://loki:3100/x");
    expect(printArg("")).toBe('""');
    expect(printArg("two words")).toBe('"two words"');
    expect(printArg("a;b")).toBe('"a;b"');
    expect(printArg("{x}")).toBe('"{x}"');
    expect(printArg("#no-comment")).toBe('"#no-comment"');
    expect(printArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(printArg("back\\slash")).toBe('"back\\\\slash"');
  });

  it("refuses a literal dollar, control characters and bad variable names", () => {
    expect(() => printArg("price $5")).toThrow(SYNTAX_ERROR);
    expect(() => printArg("line\nbreak")).toThrow(SYNTAX_ERROR);
    expect(() => printArg("nul\u0000")).toThrow(SYNTAX_ERROR);
    expect(() => printArg(template("a$", { variable: "b" }))).toThrow(SYNTAX_ERROR);
    expect(() => printArg(variable("bad-name"))).toThrow(SYNTAX_ERROR);
    expect(() => printArg(template("x", { variable: "1st" }))).toThrow(SYNTAX_ERROR);
    expect(() => printNginx([nginxComment("one\ntwo")])).toThrow(SYNTAX_ERROR);
    expect(() => printNginx([directive("bad name")])).toThrow(SYNTAX_ERROR);
  });

  it("prints a lone variable bare and references inside text with braces", () => {
    expect(printArg(variable("loki_push"))).toBe("$loki_push");
    const ref = (name: string) => ["$", "{", name, "}"].join("");
    expect(printArg(template("if=", { variable: "refused" }))).toBe(`"if=${ref("refused")}"`);
    expect(printArg(template('{"a":"', { variable: "status" }, '"}'))).toBe(
      `"{\\"a\\":\\"${ref("status")}\\"}"`,
    );
  });

  it("reads back as the same tree, hostile values included", () => {
    const tree = [
      nginxComment("a comment"),
      directive("worker_processes", "auto"),
      blockDirective(
        "http",
        [],
        [
          blockDirective(
            "map",
            [variable("status"), variable("refused")],
            [entry("~^[23]", 0), entry("default", 1)],
          ),
          directive("auth_basic", 'realm "with" quotes; and {braces} # and a hash'),
          directive("log_format", "x", template('{"u":"', { variable: "remote_user" }, '"}')),
          blockDirective("server", [], [directive("listen", "127.0.0.1:8080"), directive("return", 404)]),
        ],
      ),
    ];
    const printed = printNginx(tree);
    expect(parseNginx(printed)).toEqual(JSON.parse(JSON.stringify(tree)));
  });
});
