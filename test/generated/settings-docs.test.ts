/**
 * Pulumi.yaml and the settings tables in docs/configuration.md, as the settings table generates
 * them: what they declare and show, and Pulumi.yaml's defaults giving the same config as the
 * table's own. (test/generate.test.ts holds the checked-in files to what they generate.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import { parseStackConfig, settingsTable } from "../../lib/stack-config";
import { readStackFile } from "../../lib/stack-files";
import {
  renderProjectFile,
  renderSettingsDocs,
  SETTINGS_DOCS_FILE,
  withGeneratedDocs,
} from "../../scripts/generated/settings-docs";
import { WITHOUT_SECRETS } from "../support/stack-files";

const ROOT = resolve(__dirname, "..", "..");

describe("Pulumi.yaml", () => {
  const project = parse(renderProjectFile(EXPORTER_SETTINGS)) as {
    name: string;
    runtime: { name: string; options: { typescript: boolean; nodeargs: string } };
    config: Record<string, { type: string; default: unknown; description: string }>;
  };

  it("runs the TypeScript program with tsx, which the project depends on", () => {
    expect(project.name).toBe("observability");
    expect(project.runtime.name).toBe("nodejs");
    expect(project.runtime.options.typescript).toBe(false);
    expect(project.runtime.options.nodeargs).toMatch(/--import tsx/);
    expect(() => require.resolve("tsx", { paths: [ROOT] })).not.toThrow();
  });

  it("declares every setting Pulumi can type, and only those", () => {
    const typed = settingsTable(EXPORTER_SETTINGS).filter(
      (spec) => !spec.key.includes(":") && !["hosts", "records", "map", "secret"].includes(spec.type),
    );
    expect(Object.keys(project.config).sort()).toEqual(typed.map((spec) => spec.key).sort());
    // The exporters' account names come from their records, not from a hand-kept list.
    for (const exporter of EXPORTER_SETTINGS) {
      const user = exporter.credentials?.user;
      if (user) expect(project.config[user.key]?.default).toBe(user.default);
    }
  });

  describe("a minimal stack", () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it("gives the same config with Pulumi.yaml's defaults as with the table's alone", () => {
      dir = mkdtempSync(join(tmpdir(), "settings-docs-"));
      writeFileSync(join(dir, "Pulumi.yaml"), renderProjectFile(EXPORTER_SETTINGS));
      const stackFile = {
        config: {
          "aws:region": "eu-west-1",
          "observability:sshAllowedCidrs": ["203.0.113.10/32"],
          "observability:grafanaAllowedCidrs": ["203.0.113.0/24"],
          "observability:sshKeyPairName": "ops",
        },
      };
      writeFileSync(join(dir, "Pulumi.minimal.yaml"), JSON.stringify(stackFile));
      const withDefaults = readStackFile("minimal", dir).values;
      // Guard against a vacuous comparison: Pulumi.yaml must supply many defaults here.
      expect(Object.keys(withDefaults).length).toBeGreaterThan(Object.keys(stackFile.config).length + 20);
      expect(
        parseStackConfig("minimal", { values: withDefaults, secretsSet: new Set() }, WITHOUT_SECRETS),
      ).toEqual(
        parseStackConfig("minimal", { values: stackFile.config, secretsSet: new Set() }, WITHOUT_SECRETS),
      );
    });
  });
});

describe("docs/configuration.md", () => {
  const generated = renderSettingsDocs(ROOT, EXPORTER_SETTINGS);

  it("has a row for every setting, every host field and every threshold", () => {
    for (const spec of settingsTable(EXPORTER_SETTINGS)) {
      expect(generated, spec.key).toMatch(new RegExp(`^\\| \`${spec.key}\` \\|`, "m"));
    }
    for (const field of EXPORTER_SETTINGS.flatMap((exporter) => exporter.hostFields ?? [])) {
      expect(generated, field.key).toMatch(new RegExp(`^\\| \`${field.key}\` \\|`, "m"));
    }
  });

  it("shows what each stack file sets, and 'default' where it does not", () => {
    const prodFile = readStackFile("prod", ROOT).values;
    const row = (key: string) =>
      generated.split("\n").find((line) => line.startsWith(`| \`${key}\` |`)) ?? "";
    expect(prodFile["observability:monitorInstanceType"]).toBe("m6i.large");
    expect(row("monitorInstanceType")).toMatch(/\| default \| `m6i\.large` \|$/);
    expect(row("vpcCidr")).toMatch(/\| default \| default \|$/);
    expect(row("clients")).toMatch(/`db-1` \(m6g\.large\) \[postgres, redis\] \|$/);
    // Prod's db-1 enables postgres, so prod needs its password; dev enables no credentialed exporter.
    expect(row("postgresExporterPassword")).toMatch(/\| optional \| required \|$/);
  });

  it("keeps the hand-written text around the generated part", () => {
    const doc = readFileSync(join(ROOT, SETTINGS_DOCS_FILE), "utf8");
    expect(() => withGeneratedDocs("no markers here", generated)).toThrow(/markers/);
    expect(withGeneratedDocs(doc, generated).startsWith("# Configuration reference")).toBe(true);
  });
});
