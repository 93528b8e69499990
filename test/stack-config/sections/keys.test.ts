/**
 * Every key of a stack must be one the program reads: a mistyped namespace or name would
 * otherwise fall back to a default without a word.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { type ConfigProblem, PROJECT, settingsTable } from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { checkKeys } from "../../../lib/stack-config/sections/keys";
import { pasteFix, pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

function keyProblems(values: Record<string, unknown>, secureKeys: readonly string[] = []): ConfigProblem[] {
  const reader = new SettingsReader({}, TABLE);
  checkKeys(reader, { values, secureKeys: new Set(secureKeys) });
  return reader.problems;
}

function onlyProblem(
  values: Record<string, unknown>,
  setting: string,
  secureKeys: readonly string[] = [],
): ConfigProblem {
  const problems = keyProblems(values, secureKeys);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  expect(problems[0]?.setting).toBe(setting);
  return problems[0] as ConfigProblem;
}

/** The stack's values (fully qualified) once the fix is pasted. */
function pasted(values: Record<string, unknown>, fix: string): Record<string, unknown> {
  return pasteFix({ values, secrets: new Set() }, fix, (key) => {
    throw new Error(`unexpected prompt for ${key}`);
  }).values;
}

const argv = (fix: string) => pulumiInvocations(fix);

describe("known keys", () => {
  it("pass: every setting of the table, with or without the project's namespace, and Pulumi's own", () => {
    const values: Record<string, unknown> = { "pulumi:disable-default-providers": ["*"] };
    for (const spec of TABLE) values[spec.key.includes(":") ? spec.key : P(spec.key)] = "x";
    values.scrapeInterval = "30s";
    expect(keyProblems(values)).toEqual([]);
  });
});

describe("a misspelt project setting", () => {
  it("moves the typed value to the setting it was meant to be", () => {
    const values = { [P("monitorInstanceTyp")]: "m6i.large" };
    const found = onlyProblem(values, P("monitorInstanceTyp"));
    expect(found.problem).toBe('is not a known setting (did you mean "monitorInstanceType"?)');
    expect(pasted(values, found.fix)).toEqual({ [P("monitorInstanceType")]: "m6i.large" });
  });

  it("moves a list or map given as Pulumi's JSON text as structure, not text", () => {
    const values: Record<string, unknown> = {
      [P("tag")]: '{"Team":"sre","cost.center":"12"}',
      [P("client")]: '[{"name":"web-1"}]',
    };
    const problems = keyProblems(values);
    let state = values;
    for (const problem of problems) state = pasted(state, problem.fix);
    expect(state).toEqual({
      [P("tags")]: { Team: "sre", "cost.center": "12" },
      [P("clients")]: [{ name: "web-1" }],
    });
  });

  it("is only removed when the right setting is set too, saying so", () => {
    const values = { logretentiondays: "30", logRetentionDays: "14" };
    const found = onlyProblem(values, P("logretentiondays"));
    expect(found.problem).toBe(
      'is not a known setting (did you mean "logRetentionDays"?); logRetentionDays is set too, so this one is only removed',
    );
    expect(argv(found.fix)).toEqual([["config", "rm", P("logretentiondays")]]);
  });

  it("is removed when nothing is close, pointing at the docs", () => {
    const found = onlyProblem({ zzzzzz: "1" }, P("zzzzzz"));
    expect(found.problem).toBe("is not a known setting (docs/configuration.md lists them all)");
    expect(argv(found.fix)).toEqual([["config", "rm", P("zzzzzz")]]);
  });
});

describe("AWS keys", () => {
  it("that the provider knows but this program's explicit provider never reads are removed", () => {
    for (const key of ["aws:accessKey", "aws:secretKey", "aws:skipCredentialsValidation"]) {
      const found = onlyProblem({ [key]: "x" }, key);
      expect(found.problem).toMatch(/^is an AWS provider setting this program does not read/);
      expect(found.problem).toMatch(/through the environment/);
      expect(argv(found.fix)).toEqual([["config", "rm", key]]);
    }
  });

  it("misspelt move to the key meant", () => {
    const values = { "aws:regoin": "eu-central-1" };
    const found = onlyProblem(values, "aws:regoin");
    expect(found.problem).toMatch(/^is not an AWS provider setting \(did you mean "aws:region"\?\)/);
    expect(pasted(values, found.fix)).toEqual({ "aws:region": "eu-central-1" });
    const both = onlyProblem({ "aws:regoin": "eu-central-1", "aws:region": "eu-west-1" }, "aws:regoin");
    expect(argv(both.fix)).toEqual([["config", "rm", "aws:regoin"]]);
  });

  it("unknown to the provider and far from any key are removed", () => {
    const found = onlyProblem({ "aws:zzzzzzzz": "x" }, "aws:zzzzzzzz");
    expect(found.problem).toMatch(/^is not an AWS provider setting; this program reads aws:region/);
    expect(argv(found.fix)).toEqual([["config", "rm", "aws:zzzzzzzz"]]);
  });
});

describe("other namespaces", () => {
  it("misspelt move to the project's key, so the value is not silently ignored", () => {
    const values = { "observabilty:clients": [{ name: "web-1" }, { name: "db-1", exporters: ["redis"] }] };
    const found = onlyProblem(values, "observabilty:clients");
    expect(found.problem).toMatch(
      /^is in namespace "observabilty", which this program does not read, so the value would be ignored \(did you mean "observability:clients"\?\)/,
    );
    expect(pasted(values, found.fix)).toEqual({ [P("clients")]: values["observabilty:clients"] });
    const capital = onlyProblem({ "Observability:scrapeInterval": "20s" }, "Observability:scrapeInterval");
    expect(pasted({ "Observability:scrapeInterval": "20s" }, capital.fix)).toEqual({
      [P("scrapeInterval")]: "20s",
    });
  });

  it("misspelt are only removed when the key meant holds a value of its own, or is not a setting at all", () => {
    const set = onlyProblem(
      { "Observability:scrapeInterval": "20s", scrapeInterval: "15s" },
      "Observability:scrapeInterval",
    );
    expect(argv(set.fix)).toEqual([["config", "rm", "Observability:scrapeInterval"]]);
    // Pulumi.yaml's default is what every stack holds for an unset setting: the typed value wins over it.
    const overDefault = onlyProblem(
      { "Observability:scrapeInterval": "20s", scrapeInterval: "30s" },
      "Observability:scrapeInterval",
    );
    expect(
      pasted({ "Observability:scrapeInterval": "20s", [P("scrapeInterval")]: "30s" }, overDefault.fix),
    ).toEqual({
      [P("scrapeInterval")]: "20s",
    });
    const unknown = onlyProblem({ "observabilty:nothing": "1" }, "observabilty:nothing");
    expect(argv(unknown.fix)).toEqual([["config", "rm", "observabilty:nothing"]]);
    const provider = onlyProblem({ "awss:region": "eu-west-1" }, "awss:region");
    expect(provider.problem).toMatch(/did you mean "aws:region"/);
  });

  it("that nothing reads are removed", () => {
    const found = onlyProblem({ "grafana:adminUser": "root" }, "grafana:adminUser");
    expect(found.problem).toBe(
      'is in namespace "grafana", which this program does not read, so the value would be ignored; its settings are observability:<setting> and aws:region, aws:profile, aws:allowedAccountIds',
    );
    expect(argv(found.fix)).toEqual([["config", "rm", "grafana:adminUser"]]);
  });
});

describe("secrets and encrypted values under a wrong key", () => {
  it("are moved by prompting for them, never by writing the value into the line", () => {
    const secret = onlyProblem(
      { [P("heartbeatUrI")]: "https://hb.example.net/SECRET-TOKEN" },
      P("heartbeatUrI"),
    );
    expect(secret.fix).not.toContain("SECRET-TOKEN");
    expect(argv(secret.fix)).toEqual([
      ["config", "rm", P("heartbeatUrI")],
      ["config", "set", "--secret", P("heartbeatUrl")],
    ]);
    const encrypted = onlyProblem(
      { "Observability:smtpUsername": "<encrypted>" },
      "Observability:smtpUsername",
      ["Observability:smtpUsername"],
    );
    expect(encrypted.fix).toBe(
      "pulumi config rm Observability:smtpUsername && pulumi config set observability:smtpUsername",
    );
  });

  it("a setting that is not a secret but is stored encrypted is refused: tools without the secrets cannot read it", () => {
    const reader = new SettingsReader({}, TABLE);
    checkKeys(reader, {
      values: { [P("smtpUsername")]: "<encrypted>" },
      secureKeys: new Set([P("smtpUsername")]),
    });
    expect(reader.problems.map((p) => p.setting)).toEqual([P("smtpUsername")]);
    expect(argv(reader.problems[0]?.fix ?? "")).toEqual([
      ["config", "rm", P("smtpUsername")],
      ["config", "set", P("smtpUsername")],
    ]);
  });
});

describe("many unknown keys", () => {
  it("are each reported, in the stack's order", () => {
    const problems = keyProblems({
      zzzzzz: "1",
      "aws:accessKey": "x",
      [P("clientss")]: "[]",
      "foo:bar": "1",
    });
    expect(problems.map((p) => p.setting)).toEqual([P("zzzzzz"), "aws:accessKey", P("clientss"), "foo:bar"]);
  });
});
