/**
 * Alloy cannot run here (no binary), so its config is checked structurally: the serializer
 * escapes and formats correctly, every component reference resolves to a component defined in
 * the same config and to an export that component type has, every label the dashboards and
 * queries use is produced, the level regexes do what they claim, and no secret appears.
 */
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import {
  ALLOY_STREAM_LABELS,
  alloyService,
  LOG_SOURCES,
  lokiPushUrl,
  MONITOR_LOCAL_LOKI_PUSH_URL,
  renderAlloyConfig,
  UNKNOWN_MONITOR_ADDRESS,
} from "../configs/agents/alloy";
import {
  type AlloyStatement,
  attr,
  block,
  bool,
  call,
  comment,
  list,
  num,
  obj,
  printAlloy,
  ref,
  str,
} from "../configs/agents/alloy-syntax";
import { clientFiles, monitorFiles } from "../configs/host-files";
import { pushedScrapeJobs } from "../configs/prometheus";
import { AGENT_PORTS, MONITOR_PORTS } from "../lib/catalog";
import type { ClientHost, ExternalHost } from "../lib/stack-config";
import {
  type AlloyBlock,
  type AlloyExpression,
  collectReferences,
  definedComponents,
  parseAlloy,
} from "./support/alloy";
import { sampleStackConfig } from "./support/sample-config";

const INPUT = { host: "web-1", environment: "prod", lokiPushUrl: lokiPushUrl("10.0.1.5") };

/** A string as the printer writes it: the right-hand side of a printed attribute. */
function quoteString(value: string): string {
  const printed = printAlloy([attr("x", str(value))]);
  expect(printed.startsWith("x = ") && printed.endsWith("\n")).toBe(true);
  return printed.slice("x = ".length, -1);
}

describe("Alloy syntax serializer", () => {
  it("escapes quotes, backslashes, newlines, tabs and control characters", () => {
    expect(quoteString('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteString("C:\\temp")).toBe('"C:\\\\temp"');
    expect(quoteString("a\nb\tc\rd")).toBe('"a\\nb\\tc\\rd"');
    expect(quoteString("bell\u0007")).toBe('"bell\\u0007"');
  });

  it("produces string literals that decode back to the original (Go/JSON escape rules)", () => {
    for (const text of [
      '"',
      "\\",
      "\\n",
      "line1\nline2",
      "tab\there",
      "$" + "{HOME}",
      "// not a comment",
      "é ✓ 日本",
      "\u0000\u001f\u007f",
    ]) {
      expect(JSON.parse(quoteString(text))).toBe(text);
    }
  });

  it("formats blocks, labels, lists, objects, references and function calls", () => {
    const text = printAlloy([
      block("loki.write", "default", [
        block("endpoint", undefined, [attr("url", str("http://loki:3100/loki/api/v1/push"))]),
        attr("external_labels", obj({ host: call("sys.env", str("HOSTNAME")), "with-dash": num(1) })),
      ]),
      block("loki.source.file", "files", [
        attr("targets", ref("local.file_match.files.targets")),
        attr("forward_to", list(ref("loki.write.default.receiver"))),
        attr("tail_from_end", bool(true)),
      ]),
    ]);
    expect(text).toBe(
      [
        'loki.write "default" {',
        "  endpoint {",
        '    url = "http://loki:3100/loki/api/v1/push"',
        "  }",
        "  external_labels = {",
        '    host = sys.env("HOSTNAME"),',
        '    "with-dash" = 1,',
        "  }",
        "}",
        "",
        'loki.source.file "files" {',
        "  targets = local.file_match.files.targets",
        "  forward_to = [loki.write.default.receiver]",
        "  tail_from_end = true",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("refuses names Alloy would not parse", () => {
    const refused = (statements: AlloyStatement[], message: RegExp) =>
      expect(() => printAlloy(statements)).toThrow(
        expect.objectContaining({ name: "AlloySyntaxError", message: expect.stringMatching(message) }),
      );
    refused([block("loki.write", "my-writer", [])], /block label "my-writer" is not a valid identifier/);
    refused([block("loki write", "w", [])], /block name segment "loki write" is not a valid identifier/);
    refused([attr("forward-to", list())], /attribute name "forward-to" is not a valid identifier/);
    refused([attr("x", ref("a.b-c.d"))], /reference segment "b-c" is not a valid identifier/);
    refused([attr("x", num(Number.NaN))], /number NaN cannot be written in Alloy syntax/);
  });

  it("prints comments as // lines and the same tree as the same bytes", () => {
    const tree: AlloyStatement[] = [
      comment("two\nlines"),
      block("logging", undefined, [attr("level", str("info"))]),
    ];
    expect(printAlloy(tree)).toBe('// two\n// lines\nlogging {\n  level = "info"\n}\n');
    expect(printAlloy(tree)).toBe(printAlloy(tree));
  });
});

/** Exports each component type used here provides (from the Alloy reference docs). */
const COMPONENT_EXPORTS: Record<string, readonly string[]> = {
  "discovery.docker": ["targets"],
  "discovery.relabel": ["output", "rules"],
  "local.file_match": ["targets"],
  "loki.source.docker": [],
  "loki.source.file": [],
  "loki.source.journal": [],
  "loki.relabel": ["receiver", "rules"],
  "loki.process": ["receiver"],
  "loki.write": ["receiver"],
};

function topBlocks(statements: readonly AlloyStatement[]): AlloyBlock[] {
  return statements.filter((s): s is AlloyBlock => s.kind === "block");
}

function component(statements: readonly AlloyStatement[], name: string, label: string): AlloyBlock {
  const found = topBlocks(statements).find((b) => b.name === name && b.label === label);
  if (!found) throw new Error(`${name} "${label}" is not defined`);
  return found;
}

function attribute(body: readonly AlloyStatement[], name: string): AlloyExpression | undefined {
  for (const statement of body) {
    if (statement.kind === "attribute" && statement.name === name) return statement.value;
  }
  return undefined;
}

function stringValue(expression: AlloyExpression | undefined): string | undefined {
  return expression?.kind === "string" ? expression.value : undefined;
}

/** Where Alloy keeps positions and its WAL inside the container (on a named volume). */
const STORAGE_PATH = "/var/lib/alloy/data";

/** The globs of the file log source (`local.file_match "system_logs"`). */
function fileLogPaths(statements: readonly AlloyStatement[]): string[] {
  const targets = attribute(component(statements, "local.file_match", "system_logs").body, "path_targets");
  if (targets?.kind !== "list") throw new Error("local.file_match.system_logs has no path_targets list");
  return targets.items.flatMap((item) =>
    item.kind === "object"
      ? item.entries.flatMap(([key, value]) => (key === "__path__" ? (stringValue(value) ?? []) : []))
      : [],
  );
}

/** Relabel rules of a block as plain records. */
function rules(body: readonly AlloyStatement[]): Record<string, string | string[]>[] {
  return body
    .filter((s): s is AlloyBlock => s.kind === "block" && s.name === "rule")
    .map((rule) =>
      Object.fromEntries(
        rule.body.flatMap((s) =>
          s.kind !== "attribute"
            ? []
            : [
                [
                  s.name,
                  s.value.kind === "list"
                    ? s.value.items.map((i) => stringValue(i) ?? "")
                    : (stringValue(s.value) ?? ""),
                ],
              ],
        ),
      ),
    );
}

/** All stage blocks of a loki.process, nested ones included, in order. */
function stages(body: readonly AlloyStatement[]): AlloyBlock[] {
  return body
    .filter((s): s is AlloyBlock => s.kind === "block" && s.name.startsWith("stage."))
    .flatMap((stage) => [stage, ...stages(stage.body)]);
}

/** Go RE2 -> JavaScript for the constructs the config uses: (?P<name>...) and a leading (?i). */
function goRegex(expression: string): RegExp {
  const caseInsensitive = expression.startsWith("(?i)");
  return new RegExp(expression.replace(/^\(\?i\)/, "").replace(/\(\?P</g, "(?<"), caseInsensitive ? "i" : "");
}

describe("the client Alloy config", () => {
  const text = renderAlloyConfig(INPUT);
  const statements = parseAlloy(text);

  it("reads back as a tree that prints to the same text", () => {
    expect(statements.length).toBeGreaterThan(5);
    expect(printAlloy(statements)).toBe(text);
  });

  it("defines every component it references, with an export that component type has", () => {
    const defined = new Set(definedComponents(statements));
    const references = collectReferences(statements);
    expect(references.length).toBeGreaterThan(5);
    for (const reference of references) {
      const parts = reference.split(".");
      const exportName = parts.pop() ?? "";
      const componentId = parts.join(".");
      expect(defined.has(componentId), `${reference}: ${componentId} is not defined`).toBe(true);
      const type = parts.slice(0, -1).join(".");
      expect(COMPONENT_EXPORTS[type], `${reference}: unknown component type ${type}`).toContain(exportName);
    }
  });

  it("uses only component types it knows, each defined once", () => {
    const ids = definedComponents(statements);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids)
      expect(Object.keys(COMPONENT_EXPORTS)).toContain(id.split(".").slice(0, -1).join("."));
  });

  it("declares in the text exactly the components of the tree (the printer drops none)", () => {
    const headers = [...text.matchAll(/^([a-z_]+(?:\.[a-z_]+)+) "([A-Za-z0-9_]+)" \{$/gm)].map(
      (m) => `${m[1]}.${m[2]}`,
    );
    expect(headers.sort()).toEqual(definedComponents(statements).sort());
  });

  it("wires every source through the level processor into the writer", () => {
    for (const [name, label] of [
      ["loki.source.docker", "containers"],
      ["loki.source.file", "system_logs"],
      ["loki.source.journal", "system"],
    ] as const) {
      const forward = attribute(component(statements, name, label).body, "forward_to");
      expect(forward, name).toEqual(list(ref("loki.process.levels.receiver")));
    }
    expect(attribute(component(statements, "loki.process", "levels").body, "forward_to")).toEqual(
      list(ref("loki.write.monitor.receiver")),
    );
  });

  it("reads Docker through the socket proxy and names containers without the leading slash", () => {
    expect(stringValue(attribute(component(statements, "discovery.docker", "containers").body, "host"))).toBe(
      "unix:///run/docker-socket-proxy/docker.sock",
    );
    const containerRule = rules(component(statements, "discovery.relabel", "containers").body).find(
      (rule) => rule.target_label === "container",
    );
    expect(containerRule?.source_labels).toEqual(["__meta_docker_container_name"]);
    const regex = new RegExp(`^(?:${containerRule?.regex})$`);
    expect("/my-app-1".replace(regex, "$1")).toBe("my-app-1");
  });

  it("produces every label dashboards and queries use", () => {
    const relabelTargets = [
      ...rules(component(statements, "discovery.relabel", "containers").body),
      ...rules(component(statements, "loki.relabel", "journal").body),
    ].map((rule) => rule.target_label);
    const external = attribute(component(statements, "loki.write", "monitor").body, "external_labels");
    const externalKeys = external?.kind === "object" ? external.entries.map(([key]) => key) : [];
    const stageLabels = stages(component(statements, "loki.process", "levels").body)
      .filter((stage) => stage.name === "stage.labels")
      .flatMap((stage) => {
        const values = attribute(stage.body, "values");
        return values?.kind === "object" ? values.entries.map(([key]) => key) : [];
      });
    const produced = new Set([...relabelTargets, ...externalKeys, ...stageLabels, "source", "filename"]);
    for (const label of ALLOY_STREAM_LABELS) expect(produced.has(label), label).toBe(true);
    expect(externalKeys.sort()).toEqual(["environment", "host"]);
    expect(text).toContain(`host = "${INPUT.host}"`);
    expect(text).toContain(`environment = "${INPUT.environment}"`);
  });

  it("labels each source with source=docker|file|journal", () => {
    const docker = rules(component(statements, "discovery.relabel", "containers").body).find(
      (rule) => rule.target_label === "source",
    );
    expect(docker?.replacement).toBe("docker");
    const paths = attribute(component(statements, "local.file_match", "system_logs").body, "path_targets");
    const fileSources =
      paths?.kind === "list" ? paths.items.map((item) => (item.kind === "object" ? item.entries : [])) : [];
    expect(fileSources.length).toBe(fileLogPaths(statements).length);
    for (const entries of fileSources) expect(entries).toContainEqual(["source", str("file")]);
    const journalLabels = attribute(component(statements, "loki.source.journal", "system").body, "labels");
    expect(journalLabels).toEqual(obj({ source: str("journal") }));
    expect([...LOG_SOURCES].sort()).toEqual(["docker", "file", "journal"]);
  });

  it("reads the auth log and syslog from /var/log", () => {
    const globToRegex = (glob: string) =>
      new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, "[^/]*")
          .replace(/\?/g, "[^/]")}$`,
      );
    for (const file of ["/var/log/auth.log", "/var/log/syslog", "/var/log/kern.log"]) {
      const matching = fileLogPaths(statements).filter((glob) => globToRegex(glob).test(file));
      // Exactly one glob: a file matched twice would be shipped twice.
      expect(matching, file).toHaveLength(1);
    }
  });

  it("takes the journal's unit and priority as labels", () => {
    const journalRules = rules(component(statements, "loki.relabel", "journal").body);
    expect(journalRules).toContainEqual({ source_labels: ["__journal__systemd_unit"], target_label: "unit" });
    expect(journalRules).toContainEqual({
      source_labels: ["__journal_priority_keyword"],
      target_label: "level",
    });
  });

  it("extracts a level from JSON, logfmt and bracketed lines, and not from prose", () => {
    const regexes = stages(component(statements, "loki.process", "levels").body)
      .filter((stage) => stage.name === "stage.regex")
      .map((stage) => goRegex(stringValue(attribute(stage.body, "expression")) ?? ""));
    expect(regexes.length).toBe(2);
    // Later regex stages overwrite earlier ones, as Alloy applies them in order.
    const levelOf = (line: string) =>
      regexes.reduce<string | undefined>(
        (level, regex) => regex.exec(line)?.groups?.level ?? level,
        undefined,
      );
    expect(levelOf('{"time":"2026-01-01T00:00:00Z","level":"error","msg":"boom"}')).toBe("error");
    expect(levelOf("ts=2026-01-01T00:00:00Z level=warn caller=main.go:10 msg=slow")).toBe("warn");
    expect(levelOf("t=2026-01-01 lvl=info msg=ok")).toBe("info");
    expect(levelOf("2026/01/01 12:00:00 [ERROR] connection refused")).toBe("ERROR");
    expect(levelOf("WARN: disk almost full")).toBe("WARN");
    expect(levelOf("[INFO] level=debug detail")).toBe("debug");
    expect(levelOf("GET /errors/info 200 no error here")).toBeUndefined();
    expect(levelOf("level=banana")).toBeUndefined();
  });

  it("pushes to the monitor's push gateway on its private address, and only there", () => {
    expect(INPUT.lokiPushUrl).toBe(`http://10.0.1.5:${MONITOR_PORTS.gateway}/loki/api/v1/push`);
    const endpoint = component(statements, "loki.write", "monitor").body.find(
      (s): s is AlloyBlock => s.kind === "block" && s.name === "endpoint",
    );
    expect(stringValue(attribute(endpoint?.body ?? [], "url"))).toBe(INPUT.lokiPushUrl);
    expect(text.match(/url = /g)).toHaveLength(1);
    expect(lokiPushUrl()).toContain(UNKNOWN_MONITOR_ADDRESS);
    expect(MONITOR_LOCAL_LOKI_PUSH_URL).toBe(`http://loki:${MONITOR_PORTS.loki}/loki/api/v1/push`);
  });

  it("pulls metrics only: no remote_write, no scrape components, no credentials", () => {
    expect(text).not.toMatch(/remote_write|prometheus\.scrape/);
    expect(text).not.toMatch(/password|secret|token|api_key|basic_auth|bearer|authorization/i);
  });

  it("renders the same bytes for the same input and differs per host", () => {
    expect(renderAlloyConfig(INPUT)).toBe(text);
    expect(renderAlloyConfig({ ...INPUT, host: "web-2" })).not.toBe(text);
  });
});

describe("the Alloy container", () => {
  it("serves its metrics on the agent port and keeps positions on a volume", () => {
    const service = alloyService();
    const flags = service.command as string[];
    expect(flags[0]).toBe("run");
    expect(flags).toContain(`--server.http.listen-addr=0.0.0.0:${AGENT_PORTS.alloy}`);
    expect(flags).toContain(`--storage.path=${STORAGE_PATH}`);
    expect(flags.at(-1)).toBe("/etc/alloy/config.alloy");
    expect(service.volumes?.find((v) => v.endsWith(`:${STORAGE_PATH}`))).toMatch(/^[a-z][a-z0-9_-]*:/);
    expect(service.ports).toEqual([`0.0.0.0:${AGENT_PORTS.alloy}:${AGENT_PORTS.alloy}`]);
  });

  it("mounts what the journal, files and Docker sources need, read-only", () => {
    const volumes = alloyService().volumes ?? [];
    for (const mount of [
      "docker-socket-proxy:/run/docker-socket-proxy:ro",
      "/var/log:/var/log:ro",
      "/var/log/journal:/var/log/journal:ro",
      "/run/log/journal:/run/log/journal:ro",
      "/etc/machine-id:/etc/machine-id:ro",
    ]) {
      expect(volumes).toContain(mount);
    }
    expect(volumes.some((volume) => volume.includes("/var/run/docker.sock"))).toBe(false);
  });

  it("does not publish the metrics port on the monitor, where Prometheus uses the compose network", () => {
    expect(alloyService({ publishMetricsPort: false }).ports).toBeUndefined();
  });
});

describe("Alloy's Loki writer on a pushing host", () => {
  const files = clientFiles(sampleStackConfig(), sampleStackConfig().clients[0] as ClientHost, {
    monitorPrivateIp: "10.42.1.10",
  });

  it("pushes through the gateway's port as its own host, the password read from a compose secret file", () => {
    const text = files["alloy/config.alloy"] as string;
    expect(text).toContain('url = "http://10.42.1.10:3101/loki/api/v1/push"');
    expect(text).toMatch(
      /basic_auth \{\n\s+username\s+= "web-1"\n\s+password_file = "\/run\/secrets\/push_password"/,
    );
    expect(text).not.toContain(":3100");
    const compose = YAML.parse(files["compose.yaml"] as string);
    expect(compose.services.alloy.secrets).toEqual(["push_password"]);
    expect(compose.secrets.push_password).toEqual({ file: "./secrets/push_password" });
  });

  it("the monitor's own Alloy writes to Loki on the compose network, with no credentials", () => {
    const text = monitorFiles(sampleStackConfig())["alloy/config.alloy"] as string;
    expect(text).toContain('url = "http://loki:3100/loki/api/v1/push"');
    expect(text).not.toContain("basic_auth");
  });
});

describe("Alloy's metrics push on a host outside AWS", () => {
  const config = sampleStackConfig();
  const host = config.externalHosts[0] as ExternalHost;
  const text = clientFiles(config, host, { monitorPrivateIp: "10.42.1.10" })["alloy/config.alloy"] as string;
  const statements = parseAlloy(text);
  const jobs = pushedScrapeJobs(config, host);

  it("scrapes each of the host's jobs on its loopback, labelled like a pulled host, into one remote write", () => {
    expect(jobs.map((job) => job.job)).toEqual(
      expect.arrayContaining(["node", "process", "cadvisor", "alloy"]),
    );
    expect(definedComponents(statements).filter((name) => name.startsWith("prometheus."))).toEqual([
      ...jobs.map((job) => `prometheus.scrape.${job.job}`),
      "prometheus.remote_write.monitor",
    ]);
    for (const job of jobs) {
      expect(job.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(job.labels).toEqual({ instance: host.name, host_type: "external", environment: config.stack });
      const scrape = statements.find(
        (statement): statement is AlloyBlock =>
          statement.kind === "block" && statement.name === "prometheus.scrape" && statement.label === job.job,
      );
      expect(printAlloy([scrape as AlloyBlock])).toContain(`__address__ = "${job.address}"`);
      expect(collectReferences([scrape as AlloyBlock])).toEqual(["prometheus.remote_write.monitor.receiver"]);
    }
  });

  it("remote-writes through the gateway's port as its own host, the password read from its secret file", () => {
    expect(text).toContain('url = "http://10.42.1.10:3101/api/v1/write"');
    expect(text.match(/password_file = "\/run\/secrets\/push_password"/g)).toHaveLength(2);
    expect(text).toMatch(
      /prometheus\.remote_write "monitor" \{\n\s+endpoint \{\n\s+url\s+= "[^"]+"\n\s+basic_auth \{\n\s+username\s+= "onprem-1"/,
    );
    expect(text).not.toContain(":9090");
  });

  it("is absent on an EC2 client, which Prometheus pulls", () => {
    const client = clientFiles(config, config.clients[0] as ClientHost, { monitorPrivateIp: "10.42.1.10" });
    expect(client["alloy/config.alloy"]).not.toMatch(/remote_write|prometheus\.scrape/);
  });
});
