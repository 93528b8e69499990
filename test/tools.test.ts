/**
 * The programs the tests run: `.ci/fetch-debian-tools` provides what test/support/tools.ts
 * resolves, both CI scripts are shellcheck-clean, and the Prometheus family under test is the
 * pinned images' release line (the checks mean something for what ships).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { IMAGES } from "../configs/images";
import {
  ALERTMANAGER_URL_FILE_SINCE,
  compareVersions,
  describeRun,
  reportedVersion,
  runTool,
  SID_TOOLS_DIR,
  TOOLS,
  type ToolSpec,
} from "./support/tools";

const REPO_ROOT = resolve(__dirname, "..");
const CI_SCRIPTS = [".ci/run", ".ci/fetch-debian-tools"];

const SHELLCHECK: ToolSpec = {
  name: "shellcheck",
  binary: "/usr/bin/shellcheck",
  install: "apt-get update && apt-get install -y shellcheck",
};

function versionsFile(): Record<string, string> {
  const file = join(SID_TOOLS_DIR, "VERSIONS");
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`bash .ci/fetch-debian-tools\``);
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split("=", 2) as [string, string]),
  );
}

/** The x.y.z of a pinned image reference (`...:v3.14.0` -> 3.14.0). */
function pinnedVersion(image: string): string {
  const match = /:v?(\d+\.\d+\.\d+)$/.exec(image);
  if (!match?.[1]) throw new Error(`${image} has no x.y.z tag`);
  return match[1];
}

const major = (version: string) => version.split(".")[0];

describe("CI scripts", () => {
  it.each(CI_SCRIPTS)("%s is shellcheck-clean", (script) => {
    const args = ["--format=gcc", join(REPO_ROOT, script)];
    const result = runTool(SHELLCHECK, args);
    expect(result.status, describeRun(SHELLCHECK, args, result)).toBe(0);
  });

  it("fetch-debian-tools provides every sid tool tools.ts resolves, and records each package's version", () => {
    const versions = versionsFile();
    for (const tool of Object.values(TOOLS)) {
      expect(existsSync(tool.binary), tool.binary).toBe(true);
      expect(versions[tool.debianPackage as string], tool.name).toMatch(/^\d[\w.+~:-]*$/);
    }
  });

  it("fetch-debian-tools does nothing when the wanted packages are already there", () => {
    const before = readFileSync(join(SID_TOOLS_DIR, "VERSIONS"), "utf8");
    // No network: an unreachable mirror would fail the run if the script tried to use it.
    const result = spawnSync("bash", [join(REPO_ROOT, ".ci/fetch-debian-tools")], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, DEBIAN_MIRROR: "http://127.0.0.1:9/debian" },
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("is up to date");
    expect(readFileSync(join(SID_TOOLS_DIR, "VERSIONS"), "utf8")).toBe(before);
  });
});

describe("the Prometheus family under test is the pinned release line", () => {
  const cases: [string, ToolSpec, string][] = [
    ["Prometheus", TOOLS.prometheus, IMAGES.prometheus],
    ["promtool", TOOLS.promtool, IMAGES.prometheus],
    ["Alertmanager", TOOLS.alertmanager, IMAGES.alertmanager],
    ["amtool", TOOLS.amtool, IMAGES.alertmanager],
    ["node exporter", TOOLS.nodeExporter, IMAGES.nodeExporter],
    ["process exporter", TOOLS.processExporter, IMAGES.processExporter],
  ];

  // sid moves on by itself, so only the major version is held (a newer minor than the pin is fine).
  it.each(cases)("%s: same major version as the pinned image", (_name, tool, image) => {
    const here = reportedVersion(tool) ?? versionsFile()[tool.debianPackage as string] ?? "";
    const pinned = pinnedVersion(image);
    expect(major(here), `${tool.binary} reports ${here}; the image is ${pinned}`).toBe(major(pinned));
  });

  it("Alertmanager here reads webhook url_file, which the rendered heartbeat uses", () => {
    const here = reportedVersion(TOOLS.alertmanager) ?? "";
    expect(compareVersions(here, ALERTMANAGER_URL_FILE_SINCE)).toBeGreaterThanOrEqual(0);
    // 0.x: the minor line is what moves; the tests run 0.3x, as the pinned 0.34.
    expect(here).toMatch(/^0\.3\d\./);
  });
});
