import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { loadStackConfig } from "../lib/pulumi-config";
import {
  ALL_SETTINGS,
  parsePrometheusDuration,
  parseStackConfig,
  REGION_KEY,
  SCALAR_SETTINGS,
  SECRET_SETTINGS,
  STRUCTURED_SETTINGS,
  StackConfigError,
} from "../lib/stack-config";
import {
  listStackNames,
  loadStackConfigFromFiles,
  missingSecrets,
  mockStackConfig,
  projectConfigValues,
  readStackSettings,
  stackConfigMap,
  stackSecretKeys,
} from "../lib/stack-files";
import { WITHOUT_SECRETS } from "./support/stack-files";

const ROOT = resolve(__dirname, "..");
const STACKS = listStackNames(ROOT);
const projectFile = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
  name: string;
  runtime: { name: string; options?: Record<string, unknown> };
  config: Record<string, { type: string; default?: unknown; description?: string; items?: { type: string } }>;
};

const scratchDirs: string[] = [];
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project directory holding this repository's Pulumi.yaml and the given stack files. */
function scratchProject(stackFiles: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stack-files-"));
  scratchDirs.push(dir);
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  for (const [name, text] of Object.entries(stackFiles)) writeFileSync(join(dir, name), text);
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

const MINIMAL_STACK = `config:
  aws:region: us-east-2
  observability:sshAllowedCidrs:
    - 198.51.100.7/32
  observability:grafanaAllowedCidrs:
    - 198.51.100.0/24
  observability:sshKeyPairName: ops
  observability:alertEmailTo:
    - oncall@example.com
  observability:smtpSmarthost: smtp.example.com:587
  observability:smtpFrom: alerts@example.com
  observability:smtpUsername: alerts
`;

describe("stack discovery", () => {
  it("finds every Pulumi.<stack>.yaml and nothing else", () => {
    const dir = scratchProject({
      "Pulumi.alpha.yaml": "config: {}\n",
      "Pulumi.beta-eu.yaml": "config: {}\n",
      "Pulumi.gamma.yml": "config: {}\n",
      "Pulumi.delta.yaml.bak": "config: {}\n",
      "notes.yaml": "x: 1\n",
    });
    expect(listStackNames(dir)).toEqual(["alpha", "beta-eu"]);
  });

  it("finds the repository's dev and prod stacks", () => {
    const onDisk = readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
    expect(STACKS).toHaveLength(onDisk.length);
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
  });
});

describe.each(STACKS)("stack %s", (stack) => {
  it("parses without its secrets (requireSecrets: false)", () => {
    const config = loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS);
    expect(config.stack).toBe(stack);
    expect(config.project).toBe("observability");
  });

  it("parses with every secret provided", () => {
    const settings = readStackSettings(stack, ROOT);
    const config = parseStackConfig(stack, { values: settings.values, secretsSet: new Set(SECRET_SETTINGS) });
    expect(Object.values(config.secretsSet).every(Boolean)).toBe(true);
    expect(missingSecrets(config)).toEqual([]);
  });

  it("holds no secret values in plain text and no encrypted values (set them with the CLI)", () => {
    const fileConfig = (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: object })
      .config;
    for (const key of SECRET_SETTINGS) expect(Object.keys(fileConfig)).not.toContain(`observability:${key}`);
    expect(stackSecretKeys(stack, ROOT)).toEqual([]);
  });

  it("without secrets, fails only on the missing secrets, each with a --secret fix", () => {
    const config = loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS);
    const missing = missingSecrets(config);
    expect(missing).toContain("grafanaAdminPassword");
    const error = refusal(() => loadStackConfigFromFiles(stack, ROOT));
    const problems = error.problems;
    expect(problems.map((p) => p.setting).sort()).toEqual(missing.map((k) => `observability:${k}`).sort());
    for (const problem of problems) expect(problem.fix).toMatch(/^pulumi config set --secret observability:/);
  });

  it("lists, in its header comments, the --secret line for every secret it needs", () => {
    const text = readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
    const commented = text
      .split("\n")
      .filter((line) => line.startsWith("#"))
      .join("\n");
    const missing = missingSecrets(loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS));
    for (const key of missing) {
      expect(commented, key).toContain(`pulumi config set --secret observability:${key} `);
    }
  });

  it("reads the same through the CLI's string config map as from the files", () => {
    // The real program sees every value as the string the CLI hands over; it must parse the same.
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stackConfigMap(stack, ROOT))) {
      values[key.startsWith("observability:") ? key.slice("observability:".length) : key] = value;
    }
    const fromMap = parseStackConfig(stack, { values, secretsSet: new Set() }, WITHOUT_SECRETS);
    expect(fromMap).toEqual(loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS));
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

describe("Pulumi.yaml and the loader stay in step", () => {
  it("is the observability project on the nodejs runtime, loading TypeScript with tsx", () => {
    expect(projectFile.name).toBe("observability");
    expect(projectFile.runtime.name).toBe("nodejs");
    expect(projectFile.runtime.options?.typescript).toBe(false);
    expect(String(projectFile.runtime.options?.nodeargs)).toMatch(/--import tsx/);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      devDependencies?: Record<string, string>;
      dependencies?: Record<string, string>;
    };
    expect({ ...pkg.dependencies, ...pkg.devDependencies }).toHaveProperty("tsx");
    expect(() => require.resolve("tsx", { paths: [ROOT] })).not.toThrow();
  });

  it("declares every scalar setting with the loader's type and default", () => {
    for (const spec of SCALAR_SETTINGS) {
      const declared = projectFile.config[spec.key];
      expect(declared, `Pulumi.yaml lacks ${spec.key}`).toBeDefined();
      expect(declared?.type, spec.key).toBe(spec.type);
      expect(declared?.default, spec.key).toEqual(spec.default);
      expect(declared?.description, spec.key).toBe(spec.description);
      if (spec.type === "array") expect(declared?.items).toEqual({ type: "string" });
    }
  });

  it("declares nothing the loader does not know, and no structured or secret setting", () => {
    const scalarKeys = SCALAR_SETTINGS.map((s) => s.key);
    expect(Object.keys(projectFile.config).sort()).toEqual([...scalarKeys].sort());
  });

  it("gives the same config with Pulumi.yaml's defaults as with the code's", () => {
    const dir = scratchProject({ "Pulumi.minimal.yaml": MINIMAL_STACK });
    const withProjectDefaults = readStackSettings("minimal", dir);
    const stackOnly: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(
      (parse(MINIMAL_STACK) as { config: Record<string, unknown> }).config,
    )) {
      stackOnly[key === REGION_KEY ? key : key.replace(/^observability:/, "")] = value;
    }
    // Guard against a vacuous comparison: the project file must actually supply defaults here.
    expect(Object.keys(withProjectDefaults.values).length).toBeGreaterThan(
      Object.keys(stackOnly).length + 10,
    );
    const options = WITHOUT_SECRETS;
    expect(parseStackConfig("minimal", withProjectDefaults, options)).toEqual(
      parseStackConfig("minimal", { values: stackOnly, secretsSet: new Set() }, options),
    );
  });

  it("documents every setting in docs/configuration.md", () => {
    const doc = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");
    for (const key of [REGION_KEY, ...ALL_SETTINGS.map((s) => s.key)]) {
      expect(doc, key).toMatch(new RegExp(`^\\| \`${key}\` \\|`, "m"));
    }
    expect(STRUCTURED_SETTINGS.length + SECRET_SETTINGS.length + SCALAR_SETTINGS.length).toBe(
      ALL_SETTINGS.length,
    );
  });
});

describe("docs/configuration.md tells the truth", () => {
  const doc = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");
  const rowCells = (key: string): string[] => {
    const line = doc.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
    if (!line) throw new Error(`no row for ${key}`);
    return line
      .slice(1, -1)
      .split(" | ")
      .map((cell) => cell.trim());
  };
  const stackFileConfig = (stack: string) =>
    (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> })
      .config;

  it("shows each scalar setting's default", () => {
    for (const spec of SCALAR_SETTINGS) {
      const cell = rowCells(spec.key)[2] ?? "";
      if (Array.isArray(spec.default)) expect(cell, spec.key).toMatch(/required|none/);
      else if (spec.default === "") expect(cell, spec.key).toBe("(unset)");
      else expect(cell, spec.key).toBe(`\`${String(spec.default)}\``);
    }
  });

  it.each(["dev", "prod"])("shows what Pulumi.%s.yaml sets for each scalar setting", (stack) => {
    const column = stack === "dev" ? 4 : 5;
    const fileConfig = stackFileConfig(stack);
    for (const spec of SCALAR_SETTINGS) {
      const cell = rowCells(spec.key)[column] ?? "";
      const value = fileConfig[`observability:${spec.key}`];
      if (value === undefined) expect(cell, spec.key).toBe("default");
      else if (Array.isArray(value))
        expect(cell, spec.key).toBe(value.map((item) => `\`${item}\``).join(", "));
      else expect(cell, spec.key).toBe(`\`${String(value)}\``);
    }
    expect(rowCells(REGION_KEY)[column]).toBe(`\`${String(fileConfig[REGION_KEY])}\``);
  });
});

describe("stack file reading", () => {
  it("counts secure values as set secrets and leaves them out of the config map", () => {
    const dir = scratchProject({
      "Pulumi.s.yaml": `${MINIMAL_STACK}  observability:smtpPassword:\n    secure: v1:AAAA\n  observability:grafanaAdminPassword:\n    secure: v1:BBBB\n  observability:sshPrivateKey:\n    secure: v1:CCCC\n`,
    });
    const settings = readStackSettings("s", dir);
    expect([...settings.secretsSet].sort()).toEqual([
      "grafanaAdminPassword",
      "smtpPassword",
      "sshPrivateKey",
    ]);
    expect(settings.values).not.toHaveProperty("smtpPassword");
    const map = stackConfigMap("s", dir);
    expect(map).not.toHaveProperty("observability:smtpPassword");
    expect(stackSecretKeys("s", dir)).toEqual([
      "observability:grafanaAdminPassword",
      "observability:smtpPassword",
      "observability:sshPrivateKey",
    ]);
    expect(loadStackConfigFromFiles("s", dir).secretsSet.smtpPassword).toBe(true);
  });

  it("hands values to the program as the CLI does: strings, lists and maps as JSON, defaults filled in", () => {
    const dir = scratchProject({ "Pulumi.m.yaml": `${MINIMAL_STACK}  observability:logRetentionDays: 7\n` });
    const map = stackConfigMap("m", dir);
    expect(map["aws:region"]).toBe("us-east-2");
    expect(map["observability:logRetentionDays"]).toBe("7");
    expect(JSON.parse(map["observability:sshAllowedCidrs"] ?? "")).toEqual(["198.51.100.7/32"]);
    const defaults = projectConfigValues(dir);
    expect(map["observability:scrapeInterval"]).toBe(defaults["observability:scrapeInterval"]);
    expect(Object.values(map).every((value) => typeof value === "string")).toBe(true);
  });

  it("builds the mocks' config with exactly the secrets asked for", () => {
    const mock = mockStackConfig("dev", ROOT, { grafanaAdminPassword: "pw" });
    expect(mock.secretKeys).toEqual(["observability:grafanaAdminPassword"]);
    expect(mock.config["observability:grafanaAdminPassword"]).toBe("pw");
    expect(mock.config).not.toHaveProperty("observability:smtpPassword");
    expect(mockStackConfig("dev", ROOT).secretKeys).toHaveLength(SECRET_SETTINGS.length);
  });

  it("refuses an encrypted value of a setting that is not a secret, and keys without a namespace", () => {
    const encrypted = scratchProject({
      "Pulumi.e.yaml": `${MINIMAL_STACK}  observability:sshUser:\n    secure: v1:CCCC\n`,
    });
    expect(() => readStackSettings("e", encrypted)).toThrow(
      /observability:sshUser is encrypted but is not a secret setting/,
    );
    const bare = scratchProject({ "Pulumi.b.yaml": "config:\n  logRetentionDays: 7\n" });
    expect(() => readStackSettings("b", bare)).toThrow(
      /needs a namespace, e\.g\. observability:logRetentionDays/,
    );
  });

  it("reports a bad stack file with every problem and its fix", () => {
    const dir = scratchProject({
      "Pulumi.bad.yaml": `${MINIMAL_STACK}  observability:logRetentionDays: "0"\n  observability:scrapeIntervall: 15s\n`,
    });
    const error = refusal(() => loadStackConfigFromFiles("bad", dir, WITHOUT_SECRETS));
    const message = error.message;
    expect(message).toMatch(/^Stack "bad" has 2 configuration problems:/);
    expect(message).toContain("observability:logRetentionDays");
    expect(message).toContain(
      "pulumi config rm observability:scrapeIntervall && pulumi config set observability:scrapeInterval 30s",
    );
  });
});

describe("loadStackConfig: the real program's view through Pulumi config", () => {
  async function runAs(stack: string, config: Record<string, string>, secretKeys: string[]) {
    pulumi.runtime.setAllConfig(config, secretKeys);
    await pulumi.runtime.setMocks(
      {
        newResource: () => {
          throw new Error("the config loader must not create resources");
        },
        call: () => {
          throw new Error("the config loader must not call providers");
        },
      },
      "observability",
      stack,
      true,
    );
  }

  const fakeSecrets = Object.fromEntries(
    SECRET_SETTINGS.map((key) => [`observability:${key}`, `test-${key}`]),
  );

  it.each(STACKS)("reads stack %s as the files give it, with secrets as secret Outputs", async (stack) => {
    const mock = mockStackConfig(stack, ROOT);
    await runAs(stack, mock.config, mock.secretKeys);
    const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
    const settings = readStackSettings(stack, ROOT);
    expect(config).toEqual(
      parseStackConfig(stack, { values: settings.values, secretsSet: new Set(SECRET_SETTINGS) }),
    );
    expect(Object.keys(secrets).sort()).toEqual([...SECRET_SETTINGS].sort());
    const password = secrets.smtpPassword;
    if (!password) throw new Error("smtpPassword secret missing");
    expect(await (password as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(true);
    expect(JSON.stringify(config)).not.toContain(mock.config["observability:smtpPassword"]);
  });

  it("refuses an exporter password its credential file cannot carry, without printing it", async () => {
    // prod's db-1 enables postgres: a line break cannot go into postgres_exporter's one-line file.
    const mock = mockStackConfig("prod", ROOT);
    const badPassword = "first-line\nsecond-line-canary";
    await runAs(
      "prod",
      { ...mock.config, "observability:postgresExporterPassword": badPassword },
      mock.secretKeys,
    );
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    const problems = error.problems;
    expect(problems.map((p) => p.setting)).toEqual(["observability:postgresExporterPassword"]);
    expect(problems[0]?.problem).toMatch(/line break/);
    expect(problems[0]?.fix).toBe(
      "pulumi config set --secret observability:postgresExporterPassword <password>",
    );
    expect(error.message).not.toContain("second-line-canary");
  });

  it("leaves a bad password alone when no host enables its exporter", async () => {
    const mock = mockStackConfig("prod", ROOT);
    await runAs(
      "prod",
      { ...mock.config, "observability:mysqlExporterPassword": "has$dollar" },
      mock.secretKeys,
    );
    const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
    expect(config.secretsSet.mysqlExporterPassword).toBe(true);
    expect(secrets.mysqlExporterPassword).toBeDefined();
  });

  it("refuses a mistyped key and a secret stored in plain text", async () => {
    const config = {
      ...stackConfigMap("dev", ROOT),
      ...fakeSecrets,
      "observability:logRetentionDay": "7",
    };
    const secretKeys = Object.keys(fakeSecrets).filter((key) => key !== "observability:smtpPassword");
    await runAs("dev", config, secretKeys);
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    const problems = error.problems;
    expect(problems.map((p) => p.setting).sort()).toEqual([
      "observability:logRetentionDay",
      "observability:smtpPassword",
    ]);
    expect(error.message).toContain('did you mean "logRetentionDays"');
    expect(error.message).not.toContain("test-smtpPassword");
  });
});
