/**
 * The settings reader: types, defaults and bounds come from the settings table, and every
 * problem is collected with its fix instead of thrown.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import { type ConfigProblem, PROJECT, settingsTable } from "../../lib/stack-config";
import { SettingsReader } from "../../lib/stack-config/reader";
import { type IntegerSetting, settingSpec } from "../../lib/stack-config/setting-spec";
import { pasteFix, pulumiInvocations } from "../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);

function readerOf(values: Record<string, unknown>): SettingsReader {
  return new SettingsReader(values, TABLE);
}

/** The one problem the reader reported (about `setting`, when given). */
function onlyProblem(reader: SettingsReader, setting?: string): ConfigProblem {
  expect(reader.problems, JSON.stringify(reader.problems)).toHaveLength(1);
  const problem = reader.problems[0] as ConfigProblem;
  if (setting !== undefined) expect(problem.setting).toBe(setting);
  return problem;
}

/** Pastes the fix into a stack holding `values` and reads `key` again with `read`. */
function afterFix<T>(
  values: Record<string, unknown>,
  fix: string,
  read: (reader: SettingsReader) => T,
): { value: T; problems: readonly ConfigProblem[] } {
  const qualified = Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, v]));
  const state = pasteFix({ values: qualified, secrets: new Set() }, fix, (key) => {
    throw new Error(`unexpected prompt for ${key}`);
  });
  const relative = Object.fromEntries(
    Object.entries(state.values).map(([k, v]) => [k.slice(PROJECT.length + 1), v]),
  );
  const reader = readerOf(relative);
  return { value: read(reader), problems: reader.problems };
}

describe("unset values", () => {
  it("take the table's default, with '' and null counting as unset", () => {
    for (const values of [{}, { sshUser: "" }, { sshUser: null }]) {
      const reader = readerOf(values);
      expect(reader.string("sshUser")).toBe("ubuntu");
      expect(reader.integer("logRetentionDays")).toBe(30);
      expect(reader.boolean("pinImageDigests")).toBe(true);
      expect(reader.duration("metricsRetention")).toEqual({ text: "15d", ms: 15 * 86_400_000 });
      expect(reader.choice("sshAuth")).toBe("key");
      expect(reader.list("alertEmailTo")).toEqual([]);
      expect(reader.problems).toEqual([]);
    }
    expect(readerOf({}).string("amiId")).toBeUndefined();
  });

  it("tell 'set to empty' from 'not set'", () => {
    const reader = readerOf({ clients: "", tags: null });
    expect(reader.has("clients")).toBe(true);
    expect(reader.raw("clients")).toBeUndefined();
    expect(reader.has("tags")).toBe(true);
    expect(reader.has("externalHosts")).toBe(false);
  });

  it("throw for a key the table lacks: a bug in the program, not the stack", () => {
    expect(() => readerOf({}).string("noSuchSetting")).toThrow(
      /"noSuchSetting" is not in the settings table/,
    );
    expect(() => readerOf({}).choice("sshUser")).toThrow(/not a choice setting/);
  });
});

describe("strings", () => {
  it("are trimmed; numbers and booleans are taken as their text", () => {
    const reader = readerOf({ sshUser: "  deploy ", smtpUsername: 42, slackChannel: true });
    expect(reader.string("sshUser")).toBe("deploy");
    expect(reader.string("smtpUsername")).toBe("42");
    expect(reader.string("slackChannel")).toBe("true");
  });

  it("refuse a list or map, naming what was given", () => {
    const reader = readerOf({ sshUser: { name: "deploy" } });
    expect(reader.string("sshUser")).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:sshUser`);
    expect(problem.problem).toBe('must be a string, got {"name":"deploy"}');
    // Only the operator knows what was meant: the CLI prompts for it.
    expect(pulumiInvocations(problem.fix)).toEqual([["config", "set", `${PROJECT}:sshUser`]]);
    // Reported once, as the wrong type: later checks of the same setting stay quiet.
    expect(reader.invalid("sshUser")).toBe(true);
  });
});

describe("whole numbers", () => {
  it("accept numbers and the text Pulumi stores", () => {
    const reader = readerOf({ logRetentionDays: " 14 ", monitorRootVolumeGb: 30 });
    expect(reader.integer("logRetentionDays")).toBe(14);
    expect(reader.integer("monitorRootVolumeGb")).toBe(30);
    expect(reader.problems).toEqual([]);
  });

  it.each([["2.5"], [2.5], ["14 days"], [true], [[14]]])("refuse %j, prompting for the value", (value) => {
    const reader = readerOf({ logRetentionDays: value });
    expect(reader.integer("logRetentionDays")).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:logRetentionDays`);
    expect(problem.problem).toMatch(/^must be a whole number, got /);
    expect(problem.fix).toBe(`pulumi config set ${PROJECT}:logRetentionDays`);
  });

  it.each([
    ["0", "1"],
    ["-1", "1"],
    ["3651", "3650"],
  ])("refuse %s, out of the table's bounds, fixing with the nearest bound %s", (value, nearest) => {
    const spec = settingSpec(TABLE, "logRetentionDays") as IntegerSetting;
    const reader = readerOf({ logRetentionDays: value });
    expect(reader.integer("logRetentionDays")).toBeUndefined();
    const problem = onlyProblem(reader);
    expect(problem.problem).toBe(`must be from ${spec.min} to ${spec.max}, got ${Number(value)}`);
    const fixed = afterFix({ logRetentionDays: value }, problem.fix, (r) => r.integer("logRetentionDays"));
    expect(fixed).toEqual({ value: Number(nearest), problems: [] });
  });
});

describe("booleans", () => {
  it.each([
    [true, true],
    ["true", true],
    [false, false],
    ["false", false],
  ])("read %j as %s", (value, expected) => {
    expect(readerOf({ protectData: value }).boolean("protectData")).toBe(expected);
  });

  it.each(["no", "TRUE", "1", 1])("refuse %j, fixing with the default", (value) => {
    const reader = readerOf({ pinImageDigests: value });
    expect(reader.boolean("pinImageDigests")).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:pinImageDigests`);
    expect(problem.problem).toMatch(/^must be true or false, got /);
    expect(problem.fix).toBe(`pulumi config set ${PROJECT}:pinImageDigests true`);
  });
});

describe("durations", () => {
  it("return the text as written and its length", () => {
    expect(readerOf({ metricsRetention: "1d" }).duration("metricsRetention")).toEqual({
      text: "1d",
      ms: 86_400_000,
    });
  });

  it("refuse a malformed duration, fixing with the example", () => {
    const reader = readerOf({ metricsRetention: "15days" });
    expect(reader.duration("metricsRetention")).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:metricsRetention`);
    expect(problem.problem).toMatch(/^"15days" is not a Prometheus duration \(units y w d h m s ms/);
    expect(problem.fix).toBe(`pulumi config set ${PROJECT}:metricsRetention 15d`);
  });

  it.each([
    ["metricsRetention", "23h", "1d"],
    ["metricsRetention", "200y", "100y"],
    ["evaluationInterval", "10m", "5m"],
    ["scrapeInterval", "500ms", "1s"],
  ])("refuse %s %s out of range, fixing with the nearest bound %s", (key, value, nearest) => {
    const reader = readerOf({ [key]: value });
    expect(reader.duration(key)).toBeUndefined();
    const problem = onlyProblem(reader);
    expect(problem.problem).toMatch(new RegExp(`^"${value}" is out of range: it must be from \\S+ to \\S+`));
    const fixed = afterFix({ [key]: value }, problem.fix, (r) => r.duration(key)?.text);
    expect(fixed).toEqual({ value: nearest, problems: [] });
  });

  it("say why the bounds are what they are when the table says", () => {
    const reader = readerOf({ scrapeInterval: "10m" });
    reader.duration("scrapeInterval");
    expect(onlyProblem(reader).problem).toBe(
      '"10m" is out of range: it must be from 1s to 1m15s (the alert rules take rates over 5m, which needs at least 4 scrapes)',
    );
  });
});

describe("choices", () => {
  it("fix a typo with the closest choice, anything else with the default", () => {
    const typo = readerOf({ sshAuth: "agnet" });
    expect(typo.choice("sshAuth")).toBeUndefined();
    const problem = onlyProblem(typo, `${PROJECT}:sshAuth`);
    expect(problem.problem).toBe('"agnet" is not one of key, agent (did you mean "agent"?)');
    expect(problem.fix).toBe(`pulumi config set ${PROJECT}:sshAuth agent`);

    const unrelated = readerOf({ sshAuth: "password" });
    unrelated.choice("sshAuth");
    expect(onlyProblem(unrelated).problem).toBe('"password" is not one of key, agent');
    expect(onlyProblem(unrelated).fix).toBe(`pulumi config set ${PROJECT}:sshAuth key`);
  });
});

describe("lists and maps", () => {
  it("accept parsed data and the JSON text Pulumi stores, trimming list items", () => {
    const reader = readerOf({
      sshAllowedCidrs: '[" 203.0.113.10/32 ", "198.51.100.0/24"]',
      alertEmailTo: ["a@example.com"],
      tags: '{"Team":"sre"}',
      "aws:allowedAccountIds": [123456789012],
    });
    expect(reader.list("sshAllowedCidrs")).toEqual(["203.0.113.10/32", "198.51.100.0/24"]);
    expect(reader.list("alertEmailTo")).toEqual(["a@example.com"]);
    expect(reader.list("aws:allowedAccountIds")).toEqual(["123456789012"]);
    expect(reader.structured("tags", "object")).toEqual({ Team: "sre" });
    expect(reader.problems).toEqual([]);
  });

  it("refuse a plain string where a list belongs; the fix makes it a list", () => {
    const reader = readerOf({ grafanaAllowedCidrs: "203.0.113.0/24" });
    expect(reader.list("grafanaAllowedCidrs")).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:grafanaAllowedCidrs`);
    expect(problem.problem).toBe('must be a list, got the plain string "203.0.113.0/24"');
    const fixed = afterFix({ grafanaAllowedCidrs: "203.0.113.0/24" }, problem.fix, (r) =>
      r.list("grafanaAllowedCidrs"),
    );
    expect(fixed.problems).toEqual([]);
    expect(fixed.value).toHaveLength(1);
  });

  it.each([
    ["alertEmailTo", { a: 1 }, "array", 'must be a list, got {"a":1}'],
    ["tags", ["a"], "object", 'must be a map, got ["a"]'],
    ["tags", '{"Team":', "object", 'must be a map, got the plain string "{"Team":"'],
    ["tags", 5, "object", "must be a map, got 5"],
  ] as const)("refuse %s = %j with the shape it needs", (key, value, shape, message) => {
    const reader = readerOf({ [key]: value });
    expect(reader.structured(key, shape)).toBeUndefined();
    const problem = onlyProblem(reader, `${PROJECT}:${key}`);
    expect(problem.problem.startsWith(message), problem.problem).toBe(true);
    if (shape === "object")
      expect(problem.problem).toContain("set each entry with: pulumi config set --path");
    expect(pulumiInvocations(problem.fix)[0]).toEqual(["config", "rm", `${PROJECT}:${key}`]);
  });

  it("refuse empty or non-string items one by one", () => {
    const reader = readerOf({ alertEmailTo: ["a@example.com", "", { to: "b" }, null] });
    expect(reader.list("alertEmailTo")).toBeUndefined();
    // Last item first: each fix, pasted in the printed order, finds its item where the line says.
    expect(reader.problems.map((p) => p.setting)).toEqual([
      `${PROJECT}:alertEmailTo[3]`,
      `${PROJECT}:alertEmailTo[2]`,
      `${PROJECT}:alertEmailTo[1]`,
    ]);
    for (const problem of reader.problems)
      expect(problem.problem).toMatch(/^must be a non-empty string, got/);
  });
});

describe("unknown fields of a map entry", () => {
  const known = ["name", "instanceType", "rootVolumeGb", "exporters"];

  it("move a likely typo's value to the right field", () => {
    const reader = readerOf({});
    const item = { name: "web-1", instanceTyp: "m6i.large" };
    expect(reader.unknownFields("clients[0]", item, known)).toBe(false);
    const problem = onlyProblem(reader, `${PROJECT}:clients[0].instanceTyp`);
    expect(problem.problem).toBe(
      'is not a known field (did you mean "instanceType"?); known fields: name, instanceType, rootVolumeGb, exporters',
    );
    const state = pasteFix(
      { values: { [`${PROJECT}:clients`]: [item] }, secrets: new Set() },
      problem.fix,
      () => {
        throw new Error("no prompt expected");
      },
    );
    expect(state.values[`${PROJECT}:clients`]).toEqual([{ name: "web-1", instanceType: "m6i.large" }]);
  });

  it("only remove the typo when the right field is set too, or nothing is close", () => {
    const reader = readerOf({});
    reader.unknownFields(
      "clients[0]",
      { name: "a", instanceType: "t3.small", instanceTyp: "x", zzz: 1 },
      known,
    );
    expect(reader.problems.map((p) => pulumiInvocations(p.fix))).toEqual([
      [["config", "rm", "--path", `${PROJECT}:clients[0].instanceTyp`]],
      [["config", "rm", "--path", `${PROJECT}:clients[0].zzz`]],
    ]);
    expect(reader.problems[1]?.problem).toMatch(/^is not a known field; known fields:/);
  });

  it("accept an entry with known fields only", () => {
    const reader = readerOf({});
    expect(reader.unknownFields("clients[0]", { name: "a", exporters: [] }, known)).toBe(true);
    expect(reader.problems).toEqual([]);
  });
});

describe("problems and warnings", () => {
  it("name the fully qualified setting and keep every problem in order", () => {
    const reader = readerOf({});
    reader.report("clients[0].name", "first", []);
    reader.report("aws:region", "second", []);
    reader.warn("scrapeInterval", "third");
    reader.warn("tags", "fourth", [{ op: "rm", key: "tags" }]);
    expect(reader.problems.map((p) => [p.setting, p.problem])).toEqual([
      [`${PROJECT}:clients[0].name`, "first"],
      ["aws:region", "second"],
    ]);
    expect(reader.warnings).toEqual([
      { setting: `${PROJECT}:scrapeInterval`, warning: "third" },
      { setting: `${PROJECT}:tags`, warning: "fourth", fix: `pulumi config rm ${PROJECT}:tags` },
    ]);
  });
});
