/**
 * loadStackConfig: the real program's view of its config, through the Pulumi runtime (under
 * mocks): every key read and checked before any resource exists, secrets handed on as secret
 * Outputs and never printed.
 */
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { loadStackConfig } from "../lib/pulumi-config";
import { PROJECT, readStackConfig, StackConfigError } from "../lib/stack-config";
import { listStackNames, readStackFile } from "../lib/stack-files";
import { TEST_SECRET_VALUES } from "./support/pulumi-mocks";
import { SECRET_SETTINGS, stackConfigMap, WITH_SECRETS } from "./support/stack-files";

const ROOT = resolve(__dirname, "..");
const STACKS = listStackNames(ROOT);
const P = (key: string) => `${PROJECT}:${key}`;

/** The stack's config as the CLI hands it over, with every secret set to its test value. */
function cliConfig(stack: string): { config: Record<string, string>; secretKeys: string[] } {
  const config = stackConfigMap(stack, ROOT);
  const secretKeys: string[] = [];
  for (const key of SECRET_SETTINGS) {
    const value = TEST_SECRET_VALUES[key];
    if (value === undefined) throw new Error(`no test value for the secret ${key}`);
    config[P(key)] = value;
    secretKeys.push(P(key));
  }
  return { config, secretKeys };
}

/** Sets the runtime up as `pulumi up` of `stack` would, with providers and resources forbidden. */
async function runAs(
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[],
  preview = true,
) {
  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  await pulumi.runtime.setMocks(
    {
      newResource: () => {
        throw new Error("the config loader must not create resources");
      },
      call: () => {
        throw new Error("the config loader must not call providers");
      },
    },
    PROJECT,
    stack,
    preview,
  );
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

const isSecret = (output: pulumi.Output<string>) =>
  (output as unknown as { isSecret: Promise<boolean> }).isSecret;

describe("loadStackConfig", () => {
  it.each(STACKS)("reads stack %s as its files give it, with secrets as secret Outputs", async (stack) => {
    const { config: cli, secretKeys } = cliConfig(stack);
    await runAs(stack, cli, secretKeys);
    const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
    const { values } = readStackFile(stack, ROOT);
    expect(config).toEqual(
      readStackConfig(stack, { values, secretsSet: new Set(SECRET_SETTINGS) }, WITH_SECRETS).config,
    );
    expect(Object.keys(secrets).sort()).toEqual([...SECRET_SETTINGS].sort());
    for (const key of SECRET_SETTINGS) {
      const output = secrets[key];
      if (!output) throw new Error(`${key} secret missing`);
      expect(await isSecret(output), key).toBe(true);
    }
    const text = JSON.stringify(config);
    for (const value of Object.values(TEST_SECRET_VALUES)) expect(text).not.toContain(value);
  });

  it("hands on only the secrets that are set", async () => {
    const { config: cli, secretKeys } = cliConfig("prod");
    delete cli[P("heartbeatUrl")];
    await runAs(
      "prod",
      { ...cli, [P("heartbeatOptOut")]: "true" },
      secretKeys.filter((key) => key !== P("heartbeatUrl")),
    );
    const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
    expect(secrets).not.toHaveProperty("heartbeatUrl");
    expect(config.secretsSet.heartbeatUrl).toBe(false);
    expect(config.alerting.heartbeat).toBe(false);
  });

  it("a production stack refuses to deploy without a heartbeat receiver unless it opts out", async () => {
    const { config: cli, secretKeys } = cliConfig("prod");
    delete cli[P("heartbeatUrl")];
    const withoutHeartbeat = secretKeys.filter((key) => key !== P("heartbeatUrl"));
    await runAs("prod", cli, withoutHeartbeat);
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting)).toEqual([P("heartbeatUrl")]);
    expect(error.problems[0]?.problem).toMatch(/production stack.*heartbeatOptOut/);
    expect(error.problems[0]?.fix).toBe(`pulumi config set --secret ${P("heartbeatUrl")}`);
    // dev is not a production stack: no heartbeat needed.
    const dev = cliConfig("dev");
    await runAs("dev", dev.config, dev.secretKeys);
    expect(loadStackConfig(EXPORTER_SETTINGS).config.production).toBe(false);
  });

  it("previews of a production stack warn about documentation placeholders; pulumi up refuses them", async () => {
    const { config: cli, secretKeys } = cliConfig("prod");
    const placeholders = [
      P("sshAllowedCidrs[0]"),
      P("sshAllowedCidrs[1]"),
      P("grafanaAllowedCidrs[0]"),
      P("grafanaAllowedCidrs[1]"),
      P("alertEmailTo[0]"),
      P("alertEmailTo[1]"),
      P("smtpFrom"),
      P("smtpUsername"),
    ];
    await runAs("prod", cli, secretKeys, true);
    expect(loadStackConfig(EXPORTER_SETTINGS).config.production).toBe(true);
    await runAs("prod", cli, secretKeys, false);
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting).sort()).toEqual([...placeholders].sort());
    for (const problem of error.problems) {
      expect(problem.problem).toMatch(/documentation placeholder.*pulumi up of a production stack/);
    }
    // No runbook default is a placeholder any more (links open Grafana's Runbooks dashboard); an
    // example repository set by hand is one.
    await runAs(
      "prod",
      { ...cli, [P("runbookBaseUrl")]: "https://github.com/example-org/observability/blob/main/runbooks" },
      secretKeys,
      false,
    );
    const withRunbooks = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(withRunbooks.problems.map((p) => p.setting).sort()).toEqual(
      [...placeholders, P("runbookBaseUrl")].sort(),
    );
    // The same placeholders on dev: pulumi up goes ahead (with the warnings).
    const dev = cliConfig("dev");
    await runAs("dev", dev.config, dev.secretKeys, false);
    expect(loadStackConfig(EXPORTER_SETTINGS).config.alerting.email?.to).toEqual(["dev-alerts@example.com"]);
  });

  it("refuses an exporter password its credential file cannot carry, without printing it", async () => {
    // prod's db-1 enables postgres: a line break cannot go into postgres_exporter's one-line file.
    const { config: cli, secretKeys } = cliConfig("prod");
    await runAs(
      "prod",
      { ...cli, [P("postgresExporterPassword")]: "first-line\nsecond-line-canary" },
      secretKeys,
    );
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting)).toEqual([P("postgresExporterPassword")]);
    expect(error.problems[0]?.problem).toMatch(/line break/);
    expect(error.problems[0]?.fix).toBe(`pulumi config set --secret ${P("postgresExporterPassword")}`);
    expect(error.message).not.toContain("second-line-canary");
  });

  it("leaves a bad password alone when no host enables its exporter", async () => {
    const { config: cli, secretKeys } = cliConfig("prod");
    await runAs("prod", { ...cli, [P("mysqlExporterPassword")]: "has$dollar" }, secretKeys);
    const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
    expect(config.secretsSet.mysqlExporterPassword).toBe(true);
    expect(secrets.mysqlExporterPassword).toBeDefined();
  });

  it("refuses a mistyped key and a secret stored in plain text, never printing the secret", async () => {
    const { config: cli, secretKeys } = cliConfig("dev");
    await runAs(
      "dev",
      { ...cli, [P("logRetentionDay")]: "7" },
      secretKeys.filter((key) => key !== P("smtpPassword")),
    );
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting).sort()).toEqual([P("logRetentionDay"), P("smtpPassword")]);
    expect(error.message).toContain('did you mean "logRetentionDays"');
    expect(error.message).toMatch(/smtpPassword: is stored in plain text/);
    expect(error.message).not.toContain(TEST_SECRET_VALUES.smtpPassword);
  });

  it("reads every namespace, so a key the program would ignore is refused", async () => {
    const { config: cli, secretKeys } = cliConfig("dev");
    await runAs("dev", { ...cli, "observabilty:clients": "[]", "aws:accessKey": "AKIAEXAMPLE" }, secretKeys);
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting).sort()).toEqual(["aws:accessKey", "observabilty:clients"]);
    expect(error.message).not.toContain("AKIAEXAMPLE");
  });

  it("reports malformed JSON with the reader's fix rather than Pulumi's parse error", async () => {
    const { config: cli, secretKeys } = cliConfig("dev");
    await runAs("dev", { ...cli, [P("clients")]: '[{"name": "web-1"' }, secretKeys);
    const error = refusal(() => loadStackConfig(EXPORTER_SETTINGS));
    expect(error.problems.map((p) => p.setting)).toEqual([P("clients")]);
    expect(error.problems[0]?.problem).toMatch(/^must be a list, got the plain string/);
  });
});
