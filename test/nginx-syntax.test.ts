import { describe, expect, it } from "vitest";
import {
  blockDirective,
  directive,
  entry,
  lit,
  NginxSyntaxError,
  nginxComment,
  printArg,
  printNginx,
  template,
  variable,
} from "../configs/nginx-syntax";
import { parseNginx } from "./support/nginx-parse";

describe("nginx arguments", () => {
  it("leaves plain words bare and quotes anything nginx's tokenizer would split or read specially", () => {
    expect(printArg(lit("/loki/api/v1/push"))).toBe("/loki/api/v1/push");
    expect(printArg(lit("http://loki:3100/x"))).toBe("http://loki:3100/x");
    expect(printArg(lit(""))).toBe('""');
    expect(printArg(lit("two words"))).toBe('"two words"');
    expect(printArg(lit("a;b"))).toBe('"a;b"');
    expect(printArg(lit("{x}"))).toBe('"{x}"');
    expect(printArg(lit("#no-comment"))).toBe('"#no-comment"');
    expect(printArg(lit('say "hi"'))).toBe('"say \\"hi\\""');
    expect(printArg(lit("back\\slash"))).toBe('"back\\\\slash"');
  });

  it("refuses a literal dollar, control characters and bad variable names", () => {
    expect(() => printArg(lit("price $5"))).toThrow(NginxSyntaxError);
    expect(() => printArg(lit("line\nbreak"))).toThrow(NginxSyntaxError);
    expect(() => printArg(lit("nul\u0000"))).toThrow(NginxSyntaxError);
    expect(() => printArg(template("a$", { variable: "b" }))).toThrow(NginxSyntaxError);
    expect(() => printArg(variable("bad-name"))).toThrow(NginxSyntaxError);
    expect(() => printArg(template("x", { variable: "1st" }))).toThrow(NginxSyntaxError);
    expect(() => printNginx([nginxComment("one\ntwo")])).toThrow(NginxSyntaxError);
    expect(() => printNginx([directive("bad name")])).toThrow(NginxSyntaxError);
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
