import { describe, expect, it } from "vitest";
import { GATEWAY_CONFIG_FILE, renderGatewayConfig, renderHtpasswd } from "../configs/gateway";
import { monitorFiles } from "../configs/host-files";
import { type NginxStatement, printNginx } from "../configs/nginx-syntax";
import { sha512Crypt } from "../lib/sha-crypt";
import { type NginxDirective, parseNginx } from "./support/nginx-parse";
import { sampleStackConfig } from "./support/sample-config";

function directives(statements: readonly NginxStatement[], name: string): NginxDirective[] {
  return statements.flatMap((statement) =>
    statement.kind !== "directive"
      ? []
      : [...(statement.name === name ? [statement] : []), ...directives(statement.block ?? [], name)],
  );
}

const words = (statement: NginxDirective) =>
  statement.args.map((arg) => (arg.kind === "literal" ? arg.value : JSON.stringify(arg.parts)));

describe("the gateway's nginx.conf", () => {
  const rendered = renderGatewayConfig();
  const statements = parseNginx(rendered);

  it("is what the monitor receives, and reads back as the tree it was printed from", () => {
    expect(monitorFiles(sampleStackConfig())[GATEWAY_CONFIG_FILE]).toBe(rendered);
    expect(printNginx(statements)).toBe(rendered);
  });

  it("has exact-match push locations, each behind Basic auth and POST only, and a 404 for the rest", () => {
    const locations = directives(statements, "location");
    const push = locations.filter((location) => words(location)[0] === "=");
    expect(push.map((location) => words(location)[1])).toEqual(["/loki/api/v1/push", "/api/v1/write"]);
    // Logs: every pushing host's hash file; remote write: the outside hosts' only.
    const hashFiles = ["/run/secrets/push_htpasswd", "/run/secrets/push_htpasswd_metrics"];
    push.forEach((location, index) => {
      const body = location.block ?? [];
      expect(directives(body, "auth_basic_user_file").map(words)).toEqual([[hashFiles[index]]]);
      const limit = directives(body, "limit_except");
      expect(limit.map(words)).toEqual([["POST"]]);
      expect(directives(limit[0]?.block ?? [], "deny").map(words)).toEqual([["all"]]);
      expect(directives(body, "proxy_set_header").map(words)).toEqual([
        ["Authorization", ""],
        ["X-Scope-OrgID", ""],
      ]);
    });
    const rest = locations.filter((location) => words(location)[0] === "/");
    expect(rest).toHaveLength(1);
    expect(rest[0]?.block).toEqual([directives(rest[0]?.block ?? [], "return")[0]]);
    expect(directives(rest[0]?.block ?? [], "return").map(words)).toEqual([["404"]]);
    // No other way through: one server, one listen, proxy_pass only in the push locations.
    expect(directives(statements, "server")).toHaveLength(1);
    expect(directives(statements, "listen").map(words)).toEqual([["3101"]]);
    expect(directives(statements, "proxy_pass")).toHaveLength(push.length);
  });

  it("sends Loki's push to Loki and remote writes to Prometheus' receiver on the compose network, on fixed paths", () => {
    expect(directives(statements, "set").map((statement) => statement.args[1])).toEqual([
      { kind: "literal", value: "http://loki:3100/loki/api/v1/push" },
      { kind: "literal", value: "http://prometheus:9090/api/v1/write" },
    ]);
  });
});

describe("renderHtpasswd", () => {
  /** sha512-crypt rounds of the stored hashes: the scheme's minimum (nginx hashes on every request). */
  const HASH_ROUNDS = 1000;

  it("writes one sha512-crypt line per host, sorted, and never the password", () => {
    const text = renderHtpasswd([
      { user: "web-2", password: "second-password", salt: "saltB" },
      { user: "web-1", password: "first-password", salt: "saltA" },
    ]);
    expect(text).toBe(
      `web-1:${sha512Crypt("first-password", "saltA", HASH_ROUNDS)}\nweb-2:${sha512Crypt("second-password", "saltB", HASH_ROUNDS)}\n`,
    );
    expect(text).not.toContain("password");
    expect(renderHtpasswd([])).toBe("");
  });

  it("refuses user names that are not host names and duplicates", () => {
    expect(() => renderHtpasswd([{ user: "a:b", password: "p", salt: "s" }])).toThrow();
    expect(() => renderHtpasswd([{ user: "web-1\nx", password: "p", salt: "s" }])).toThrow();
    expect(() =>
      renderHtpasswd([
        { user: "web-1", password: "p", salt: "s" },
        { user: "web-1", password: "q", salt: "t" },
      ]),
    ).toThrow();
  });
});
