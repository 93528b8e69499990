/**
 * Reading Pulumi.yaml and Pulumi.<stack>.yaml without the CLI: which stacks exist, what their
 * files hold, the errors that name a bad file, and the repository's own stacks.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import {
  missingSecrets,
  PROJECT,
  parsePrometheusDuration,
  parseStackConfig,
  StackConfigError,
} from "../lib/stack-config";
import {
  listStackNames,
  loadStackConfigFromFiles,
  readStackConfigFromFiles,
  readStackFile,
} from "../lib/stack-files";
import { pasteFix } from "./support/pulumi-config-cli";
import { SECRET_SETTINGS, stackConfigMap, WITH_SECRETS, WITHOUT_SECRETS } from "./support/stack-files";
import { tempDirMaker } from "./support/temp-files";

const ROOT = resolve(__dirname, "..");
const STACKS = listStackNames(ROOT);
const newDir = tempDirMaker("stack-files-");
const P = (key: string) => `${PROJECT}:${key}`;

/** A project directory holding this repository's Pulumi.yaml and the given files. */
function scratchProject(files: Record<string, string>): string {
  const dir = newDir();
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** What `load` threw; the test fails unless it threw a StackConfigError. */
function refusal(load: () => unknown): StackConfigError {
  let error: unknown;
  try {
    load();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(StackConfigError);
  return error as StackConfigError;
}

const MINIMAL_CONFIG: Record<string, unknown> = {
  "aws:region": "us-east-2",
  [P("sshAllowedCidrs")]: ["198.51.100.7/32"],
  [P("grafanaAllowedCidrs")]: ["198.51.100.0/24"],
  [P("sshKeyPairName")]: "ops",
  [P("alertEmailTo")]: ["oncall@example.com"],
  [P("smtpSmarthost")]: "smtp.example.com:587",
  [P("smtpFrom")]: "alerts@example.com",
  [P("smtpUsername")]: "alerts",
};
const stackFile = (extra: Record<string, unknown> = {}) =>
  stringify({ config: { ...MINIMAL_CONFIG, ...extra } });
const SECURE = (id: string) => ({ secure: `v1:${id}` });

describe("stack discovery", () => {
  it("finds every Pulumi.<stack>.yaml, sorted, and nothing else", () => {
    const dir = scratchProject({
      "Pulumi.beta-eu.yaml": "config: {}\n",
      "Pulumi.alpha.yaml": "config: {}\n",
      "Pulumi.v1.2_x.yaml": "config: {}\n",
      "Pulumi.gamma.yml": "config: {}\n",
      "Pulumi.delta.yaml.bak": "config: {}\n",
      "Pulumi..yaml": "config: {}\n",
      "notes.yaml": "x: 1\n",
    });
    expect(listStackNames(dir)).toEqual(["alpha", "beta-eu", "v1.2_x"]);
  });

  it("looks in Pulumi.yaml's stackConfigDir when it names one", () => {
    const dir = newDir();
    writeFileSync(
      join(dir, "Pulumi.yaml"),
      stringify({ name: PROJECT, runtime: "nodejs", stackConfigDir: "stacks" }),
    );
    writeFileSync(join(dir, "Pulumi.ignored.yaml"), "config: {}\n");
    const stacks = join(dir, "stacks");
    mkdirSync(stacks);
    writeFileSync(join(stacks, "Pulumi.staging.yaml"), stackFile());
    expect(listStackNames(dir)).toEqual(["staging"]);
    expect(readStackFile("staging", dir).values["aws:region"]).toBe("us-east-2");
  });

  it("refuses a Pulumi.yaml of another project", () => {
    const dir = newDir();
    writeFileSync(join(dir, "Pulumi.yaml"), "name: something-else\nruntime: nodejs\n");
    expect(() => listStackNames(dir)).toThrow(
      /Pulumi\.yaml names the project "something-else"; the code expects "observability"/,
    );
  });

  it("finds the repository's stacks, dev and prod among them", () => {
    const onDisk = readdirSync(ROOT).filter((file) => /^Pulumi\..+\.yaml$/.test(file));
    expect(STACKS).toHaveLength(onDisk.length);
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
  });
});

describe("reading a stack's files", () => {
  it("overlays the stack file on Pulumi.yaml's defaults, keys fully qualified", () => {
    const dir = scratchProject({ "Pulumi.m.yaml": stackFile({ [P("logRetentionDays")]: 7 }) });
    const { values, secure } = readStackFile("m", dir);
    expect(values["aws:region"]).toBe("us-east-2");
    expect(values[P("logRetentionDays")]).toBe(7);
    expect(values[P("scrapeInterval")]).toBe("30s");
    expect(values[P("sshAllowedCidrs")]).toEqual(["198.51.100.7/32"]);
    expect(secure).toEqual([]);
  });

  it("takes Pulumi.yaml's declared defaults, values and plain values; a declaration without either sets nothing", () => {
    const dir = newDir();
    writeFileSync(
      join(dir, "Pulumi.yaml"),
      stringify({
        name: PROJECT,
        runtime: "nodejs",
        config: {
          scrapeInterval: { type: "string", default: "20s" },
          logRetentionDays: { value: 9 },
          "aws:region": "ap-southeast-2",
          amiId: { type: "string", description: "no default" },
        },
      }),
    );
    writeFileSync(join(dir, "Pulumi.s.yaml"), stringify({ config: { [P("logRetentionDays")]: 10 } }));
    expect(readStackFile("s", dir).values).toEqual({
      [P("scrapeInterval")]: "20s",
      [P("logRetentionDays")]: 10,
      "aws:region": "ap-southeast-2",
    });
  });

  it("reads an empty stack file, or one without config, as Pulumi.yaml's values alone", () => {
    const dir = scratchProject({ "Pulumi.empty.yaml": "", "Pulumi.bare.yaml": "encryptionsalt: v1:abc\n" });
    const defaults = readStackFile("empty", dir).values;
    expect(defaults[P("scrapeInterval")]).toBe("30s");
    expect(readStackFile("bare", dir).values).toEqual(defaults);
  });

  it("counts secure values of secret settings as set, and leaves them out of the values", () => {
    const dir = scratchProject({
      "Pulumi.s.yaml": stackFile({
        [P("smtpPassword")]: SECURE("AAAA"),
        [P("grafanaAdminPassword")]: SECURE("BBBB"),
        [P("sshPrivateKey")]: SECURE("CCCC"),
      }),
    });
    const { values, secure } = readStackFile("s", dir);
    expect(secure).toEqual([P("grafanaAdminPassword"), P("smtpPassword"), P("sshPrivateKey")]);
    expect(values).not.toHaveProperty(P("smtpPassword"));
    const { config } = readStackConfigFromFiles("s", dir, WITH_SECRETS);
    expect(config.secretsSet).toMatchObject({
      smtpPassword: true,
      grafanaAdminPassword: true,
      heartbeatUrl: false,
    });
  });

  it("refuses an encrypted value of a setting that is not a secret, once, with a fix that stores it in plain text", () => {
    for (const key of [P("sshUser"), "aws:region"]) {
      const dir = scratchProject({ "Pulumi.e.yaml": stackFile({ [key]: SECURE("DDDD") }) });
      let error: unknown;
      try {
        readStackConfigFromFiles("e", dir, WITHOUT_SECRETS);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(StackConfigError);
      const problems = (error as StackConfigError).problems.filter((p) => p.setting === key);
      expect(problems.map((p) => p.problem)).toEqual([
        expect.stringMatching(/is stored encrypted but is not a secret/),
      ]);
      expect(problems[0]?.fix).toBe(`pulumi config rm ${key} && pulumi config set ${key}`);
    }
  });

  it("refuses keys without a namespace, naming the file and the key it meant", () => {
    const dir = scratchProject({ "Pulumi.b.yaml": "config:\n  logRetentionDays: 7\n" });
    expect(() => readStackFile("b", dir)).toThrow(
      `${join(dir, "Pulumi.b.yaml")}: config key "logRetentionDays" needs a namespace, e.g. observability:logRetentionDays`,
    );
  });

  it.each([
    ["Pulumi.y.yaml", "config:\n  aws:region: [unclosed\n", /Pulumi\.y\.yaml is not valid YAML: /],
    ["Pulumi.y.yaml", "config:\n\taws:region: x\n", /Pulumi\.y\.yaml is not valid YAML: /],
    ["Pulumi.y.yaml", "- just\n- a list\n", /Pulumi\.y\.yaml must hold a YAML map/],
    ["Pulumi.y.yaml", "config: [1, 2]\n", /Pulumi\.y\.yaml: config must be a map/],
    ["Pulumi.yaml", "name: observability\nruntime: [\n", /Pulumi\.yaml is not valid YAML: /],
  ])("names the file when %s holds %j", (file, text, message) => {
    const dir = scratchProject({ "Pulumi.y.yaml": "config: {}\n" });
    writeFileSync(join(dir, file), text);
    let thrown: unknown;
    try {
      readStackFile("y", dir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toContain(join(dir, file));
  });

  it("reports a bad stack file with every problem, and the fixes make it good", () => {
    const extra = { [P("logRetentionDays")]: "0", [P("scrapeIntervall")]: "15s" };
    const dir = scratchProject({ "Pulumi.bad.yaml": stackFile(extra) });
    const error = refusal(() => loadStackConfigFromFiles("bad", dir, WITHOUT_SECRETS));
    expect(error.message).toMatch(/^Stack "bad" has 2 configuration problems:/);
    expect(error.problems.map((problem) => problem.setting).sort()).toEqual([
      P("logRetentionDays"),
      P("scrapeIntervall"),
    ]);
    let state = { values: readStackFile("bad", dir).values, secrets: new Set<string>() };
    for (const problem of error.problems) {
      state = pasteFix(state, problem.fix, (key) => {
        throw new Error(`unexpected prompt for ${key}`);
      });
    }
    writeFileSync(join(dir, "Pulumi.bad.yaml"), stringify({ config: state.values }));
    const fixed = loadStackConfigFromFiles("bad", dir, WITHOUT_SECRETS);
    expect(fixed.logs.retentionDays).toBe(1);
    expect(readStackFile("bad", dir).values).not.toHaveProperty(P("scrapeIntervall"));
  });
});

describe.each(STACKS)("the repository's stack %s", (stack) => {
  const withoutSecrets = () => loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS);

  it("reads without its secrets", () => {
    const config = withoutSecrets();
    expect(config.stack).toBe(stack);
    expect(config.project).toBe(PROJECT);
  });

  it("reads with every secret provided, then needing none", () => {
    const { values } = readStackFile(stack, ROOT);
    const config = parseStackConfig(stack, { values, secretsSet: new Set(SECRET_SETTINGS) }, WITH_SECRETS);
    expect(Object.values(config.secretsSet).every(Boolean)).toBe(true);
    expect(missingSecrets(config, EXPORTER_SETTINGS)).toEqual([]);
  });

  it("holds no secret, neither in plain text nor encrypted (the CLI sets them per checkout)", () => {
    const { values, secure } = readStackFile(stack, ROOT);
    for (const key of SECRET_SETTINGS) expect(Object.keys(values)).not.toContain(P(key));
    expect(secure).toEqual([]);
  });

  it("fails with its secrets required only on the missing secrets, each set by prompt", () => {
    const missing = missingSecrets(withoutSecrets(), EXPORTER_SETTINGS);
    expect(missing).toContain("grafanaAdminPassword");
    const error = refusal(() => loadStackConfigFromFiles(stack, ROOT, WITH_SECRETS));
    expect(error.problems.map((p) => p.setting).sort()).toEqual(missing.map(P).sort());
    for (const problem of error.problems) {
      expect(problem.fix).toBe(`pulumi config set --secret ${problem.setting}`);
    }
  });

  it("names, in its header comments, the --secret command of every secret it needs", () => {
    const commented = readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("#"))
      .join("\n");
    for (const key of missingSecrets(withoutSecrets(), EXPORTER_SETTINGS)) {
      expect(commented, key).toMatch(new RegExp(`pulumi config set --secret ${P(key)}(\\s|$)`));
    }
  });

  it("reads the same from the strings the CLI hands the program as from the files", () => {
    const values = stackConfigMap(stack, ROOT);
    expect(Object.values(values).every((value) => typeof value === "string")).toBe(true);
    const fromMap = parseStackConfig(stack, { values, secretsSet: new Set() }, WITHOUT_SECRETS);
    expect(fromMap).toEqual(withoutSecrets());
  });
});

describe("dev and prod differ the way environments do", () => {
  const dev = loadStackConfigFromFiles("dev", ROOT, WITHOUT_SECRETS);
  const prod = loadStackConfigFromFiles("prod", ROOT, WITHOUT_SECRETS);

  it("prod protects its data, dev stays destroyable", () => {
    expect(prod.protectData).toBe(true);
    expect(dev.protectData).toBe(false);
  });

  it("prod keeps metrics and logs longer", () => {
    const ms = (duration: string) => parsePrometheusDuration(duration) ?? Number.NaN;
    expect(ms(prod.metrics.retentionTime)).toBeGreaterThan(ms(dev.metrics.retentionTime));
    expect(prod.logs.retentionDays).toBeGreaterThanOrEqual(dev.logs.retentionDays);
    expect(prod.logs.retentionDays).toBeGreaterThanOrEqual(30);
  });

  it("prod is larger: monitor type, data volume and client count", () => {
    expect(prod.monitor.instanceType).not.toBe(dev.monitor.instanceType);
    expect(prod.monitor.dataVolumeGb).toBeGreaterThan(dev.monitor.dataVolumeGb);
    expect(prod.clients.length).toBeGreaterThan(dev.clients.length);
    expect(prod.clients.some((client) => client.exporters.length > 0)).toBe(true);
  });
});
