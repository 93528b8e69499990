/**
 * Fix lines are printed from command data; real bash must split every printed line back into
 * exactly the argv that was meant, whatever the value holds, and the commands must write what
 * they say when the Pulumi CLI applies them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConfigCommand,
  type ConfigProblem,
  fixLine,
  mapKeyPath,
  PROJECT,
  pathRmCommand,
  pathSetCommand,
  qualify,
  rmCommand,
  StackConfigError,
  secretSetCommand,
  setCommand,
  writeValueCommands,
} from "../../lib/stack-config/problems";
import { pasteFix, pulumiInvocations } from "../support/pulumi-config-cli";

/** Values a shell would otherwise split, expand, glob, comment out or choke on. */
const AWKWARD_VALUES = [
  "it's",
  'say "hi"',
  "two words",
  "  padded  ",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion bash must leave alone
  "${UNSET_VARIABLE}",
  "$(touch /tmp/never-created)",
  "`id`",
  "#alerts",
  "a #b",
  "[0]",
  "web-[12]",
  "*",
  "~",
  "a;b",
  "a&&b",
  "a|b",
  "a\\b",
  "!event",
  "line one\nline two",
  "tab\there",
  "",
  "ünïcödé",
];

describe("fixLine", () => {
  it("prints the Pulumi CLI commands, each run only if the one before succeeded", () => {
    expect(fixLine([setCommand("scrapeInterval", "30s")])).toBe(
      "pulumi config set observability:scrapeInterval 30s",
    );
    expect(fixLine([rmCommand("sshPublicKey"), secretSetCommand("smtpPassword")])).toBe(
      "pulumi config rm observability:sshPublicKey && pulumi config set --secret observability:smtpPassword",
    );
    expect(fixLine([pathSetCommand("clients[0].name", "web-1")])).toBe(
      "pulumi config set --path 'observability:clients[0].name' web-1",
    );
  });

  it("leaves a value out when only the operator knows it, so the CLI prompts", () => {
    expect(pulumiInvocations(fixLine([setCommand("aws:region")]))).toEqual([["config", "set", "aws:region"]]);
    expect(pulumiInvocations(fixLine([secretSetCommand("grafanaAdminPassword")]))).toEqual([
      ["config", "set", "--secret", "observability:grafanaAdminPassword"],
    ]);
  });

  it("keeps other namespaces and qualifies project keys", () => {
    expect(qualify("aws:region")).toBe("aws:region");
    expect(qualify("pulumi:disable-default-providers")).toBe("pulumi:disable-default-providers");
    expect(qualify("observability:tags")).toBe("observability:tags");
    expect(qualify("tags")).toBe(`${PROJECT}:tags`);
    expect(qualify("clients[0].name")).toBe(`${PROJECT}:clients[0].name`);
  });

  it.each(AWKWARD_VALUES)("passes %j through bash as one unchanged word", (value) => {
    const commands: ConfigCommand[] = [
      setCommand("slackChannel", value),
      pathSetCommand("tags.Team", value),
      pathRmCommand("clients[1]"),
    ];
    expect(pulumiInvocations(fixLine(commands))).toEqual([
      ["config", "set", "observability:slackChannel", value],
      ["config", "set", "--path", "observability:tags.Team", value],
      ["config", "rm", "--path", "observability:clients[1]"],
    ]);
  });

  it("prints a word the shell passes as is without quotes", () => {
    expect(fixLine([setCommand("metricsRetentionSize", "40GB")])).not.toContain("'");
    expect(fixLine([pathRmCommand("tags.Name")])).toBe("pulumi config rm --path observability:tags.Name");
  });

  describe("in a directory holding files that the paths would match as globs", () => {
    const home = process.cwd();
    let dir = "";
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "fix-line-globs-"));
      // `observability:clients[0].name` unquoted is a glob matching this file.
      for (const file of ["observability:clients0.name", "observability:tags.x", "observability:tagsa"]) {
        writeFileSync(join(dir, file), "");
      }
      process.chdir(dir);
    });
    afterAll(() => {
      process.chdir(home);
      rmSync(dir, { recursive: true, force: true });
    });

    it("quotes every bracketed path, so bash never expands it", () => {
      const line = fixLine([
        pathRmCommand("clients[0].name"),
        pathSetCommand('tags["a"]', "x"),
        pathSetCommand("tags.*", "?"),
      ]);
      expect(pulumiInvocations(line)).toEqual([
        ["config", "rm", "--path", "observability:clients[0].name"],
        ["config", "set", "--path", 'observability:tags["a"]', "x"],
        ["config", "set", "--path", "observability:tags.*", "?"],
      ]);
    });
  });
});

describe("map keys in --path syntax", () => {
  it.each([
    ["Team", "tags.Team"],
    ["_private1", "tags._private1"],
    ["cost.center", 'tags["cost.center"]'],
    ["aws:owner", 'tags["aws:owner"]'],
    ["two words", 'tags["two words"]'],
    ["1st", 'tags["1st"]'],
    ["a[0]", 'tags["a[0]"]'],
  ])("writes %j as %s", (key, path) => {
    expect(mapKeyPath("tags", key)).toBe(path);
  });
});

describe("writeValueCommands", () => {
  const noPrompt = (key: string): string => {
    throw new Error(`unexpected prompt for ${key}`);
  };
  const written = (key: string, value: unknown): unknown => {
    const state = pasteFix(
      { values: {}, secrets: new Set() },
      fixLine(writeValueCommands(key, value)),
      noPrompt,
    );
    return state.values[`${PROJECT}:${key}`];
  };

  it("writes a scalar with one --path set", () => {
    expect(writeValueCommands("monitorInstanceType", "m6i.large")).toEqual([
      { op: "set", key: "monitorInstanceType", path: true, value: "m6i.large" },
    ]);
  });

  it("writes lists and maps leaf by leaf, rebuilding the same structure", () => {
    const clients = [
      { name: "web-1", exporters: ["nginx", "redis"], nginxStatusUrl: "http://127.0.0.1:8081/stub_status" },
      { name: "db 1", instanceType: "m6g.large" },
    ];
    expect(written("clients", clients)).toEqual(clients);
    const tags = { Team: "sre", "cost.center": "12 34", "aws:owner": "it's $me #1", "a b": "[x]" };
    expect(written("tags", tags)).toEqual(tags);
  });

  it.each(AWKWARD_VALUES)("writes the leaf %j exactly", (value) => {
    expect(written("alertThresholds", { cpuFor: value })).toEqual({ cpuFor: value });
    expect(written("sshAllowedCidrs", [value])).toEqual([value]);
  });

  it("writes numbers and booleans as their text, null as empty", () => {
    expect(written("clients", [{ name: "db-1", rootVolumeGb: 40 }])).toEqual([
      { name: "db-1", rootVolumeGb: "40" },
    ]);
    expect(written("alertThresholds", { cpuPercent: 0.5, on: true, off: null })).toEqual({
      cpuPercent: "0.5",
      on: "true",
      off: "",
    });
  });

  it("writes an empty list or map as its JSON text, which the reader accepts", () => {
    expect(writeValueCommands("clients", [])).toEqual([
      { op: "set", key: "clients", path: true, value: "[]" },
    ]);
    expect(writeValueCommands("tags", {})).toEqual([{ op: "set", key: "tags", path: true, value: "{}" }]);
    expect(writeValueCommands("clients", [{ name: "a", exporters: [] }])).toEqual([
      { op: "set", key: "clients[0].name", path: true, value: "a" },
      { op: "set", key: "clients[0].exporters", path: true, value: "[]" },
    ]);
  });
});

describe("StackConfigError", () => {
  const problems: ConfigProblem[] = [
    { setting: "aws:region", problem: "is required", fix: "pulumi config set aws:region" },
    {
      setting: "observability:clients[0].name",
      problem: '"Web_1" must be lowercase',
      fix: "pulumi config set --path 'observability:clients[0].name' web-1",
    },
  ];

  it("lists every problem with its fix, one per line pair, under a header naming the stack", () => {
    const error = new StackConfigError("prod", problems);
    expect(error.message.split("\n")).toEqual([
      'Stack "prod" has 2 configuration problems:',
      "  - aws:region: is required.",
      "    Fix: pulumi config set aws:region",
      '  - observability:clients[0].name: "Web_1" must be lowercase.',
      "    Fix: pulumi config set --path 'observability:clients[0].name' web-1",
    ]);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("StackConfigError");
    expect(error.stackName).toBe("prod");
  });

  it("says 'problem' for a single one", () => {
    const first = problems[0] as ConfigProblem;
    expect(new StackConfigError("dev", [first]).message.split("\n")[0]).toBe(
      'Stack "dev" has 1 configuration problem:',
    );
  });

  it("keeps a frozen copy of the problems", () => {
    const input = problems.map((problem) => ({ ...problem }));
    const error = new StackConfigError("dev", input);
    input.push({ setting: "x", problem: "y", fix: "z" });
    (input[0] as { problem: string }).problem = "changed";
    expect(error.problems).toEqual(problems);
    expect(Object.isFrozen(error.problems)).toBe(true);
    expect(error.problems.every((problem) => Object.isFrozen(problem))).toBe(true);
  });
});
