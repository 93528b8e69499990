/**
 * The README as a newcomer uses it, and the two operator guides it leads to (docs/ci.md,
 * docs/operations.md):
 * - every `npm` script it names exists in package.json;
 * - every relative link points at a file (and a heading, for `#anchors`) that exists, in these
 *   and in every other docs/*.md;
 * - every `pulumi` command uses a subcommand and flags the Pulumi CLI documents
 *   (https://www.pulumi.com/docs/iac/cli/commands/), and `--policy-pack` names the pack in policy/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const README = join(ROOT, "README.md");
const GUIDES = [README, join(ROOT, "docs", "ci.md"), join(ROOT, "docs", "operations.md")];

const read = (file: string) => readFileSync(file, "utf8");
const name = (file: string) => relative(ROOT, file);

describe("README", () => {
  it("names only npm scripts that package.json defines", () => {
    const scripts = Object.keys(
      (JSON.parse(read(join(ROOT, "package.json"))) as { scripts: Record<string, string> }).scripts,
    );
    for (const guide of GUIDES) {
      const text = read(guide);
      const named = [
        ...[...text.matchAll(/\bnpm run ([\w:-]+)/g)].map((match) => match[1] as string),
        ...(/\bnpm test\b/.test(text) ? ["test"] : []),
      ];
      for (const script of new Set(named))
        expect(scripts, `${name(guide)}: npm run ${script}`).toContain(script);
    }
    // The quick start's two commands, exactly as a newcomer types them.
    const readme = read(README);
    expect(readme).toContain("npm ci && npm run render -- --stack dev --out out/dev");
    expect(readme).toMatch(/^npm test\s/m);
  });

  it("names every stack output index.ts exports, and no other", () => {
    const exported = [...read(join(ROOT, "index.ts")).matchAll(/^export const (\w+)/gm)].map(
      (match) => match[1],
    );
    const section =
      read(README)
        .split(/^## Outputs$/m)[1]
        ?.split(/^## /m)[0] ?? "";
    const intro = section.split("```")[0] ?? "";
    const named = [...intro.matchAll(/`([a-z][A-Za-z]+)`/g)].map((match) => match[1]);
    expect([...new Set(named)].sort()).toEqual([...exported].sort());
  });

  it("keeps the sections the other guides are summarised in", () => {
    const headings = [...read(README).matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    for (const heading of [
      "Quick start",
      "Deploy",
      "Dashboards",
      "Sizing",
      "Day-2 operations",
      "Troubleshooting",
    ]) {
      expect(headings).toContain(heading);
    }
  });
});

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}

/** Relative links of a Markdown text, outside code blocks. */
function localLinks(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((link) => !/^[a-z]+:/.test(link));
}

/** Why a relative link from `file` leads nowhere (a missing file or heading), or undefined. */
function linkProblem(file: string, link: string): string | undefined {
  const [path = "", anchor] = link.split("#");
  const target = path === "" ? file : join(dirname(file), path);
  if (!existsSync(target)) return `no file ${name(target)}`;
  if (anchor === undefined || !statSync(target).isFile()) return undefined;
  const headings = [
    ...read(target)
      .replace(/```[\s\S]*?```/g, "")
      .matchAll(/^#+ (.+)$/gm),
  ].map((match) => slug(match[1] as string));
  return headings.includes(anchor) ? undefined : `no heading #${anchor} in ${name(target)}`;
}

describe("every docs/*.md page", () => {
  const pages = readdirSync(join(ROOT, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => join(ROOT, "docs", file));

  it("links only to files and headings that exist", () => {
    expect(pages.length).toBeGreaterThan(10);
    const broken = pages.flatMap((page) =>
      localLinks(read(page)).flatMap((link) => {
        const problem = linkProblem(page, link);
        return problem === undefined ? [] : [`${name(page)}: ${link}: ${problem}`];
      }),
    );
    expect(broken).toEqual([]);
  });
});

describe.each(GUIDES.map(name))("%s", (guideName) => {
  const guide = join(ROOT, guideName);
  const text = read(guide);

  it("links only to files and headings that exist", () => {
    const local = localLinks(text);
    if (guide === README) expect(local.length).toBeGreaterThan(10);
    for (const link of local) expect(linkProblem(guide, link), `${guideName}: ${link}`).toBeUndefined();
  });

  it("uses only documented pulumi subcommands and flags", () => {
    const commands = pulumiCommands(text);
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      const problem = checkPulumiCommand(command);
      expect(problem, `${guideName}: ${command}`).toBeUndefined();
    }
  });
});

/**
 * Flags of the subcommands the guides use, from the Pulumi CLI reference (global flags such as
 * --cwd, --color, --non-interactive are accepted everywhere).
 */
const DOCUMENTED_FLAGS: Readonly<Record<string, readonly string[]>> = {
  login: ["--local", "--cloud-url", "--default-org", "--insecure"],
  "stack init": ["--secrets-provider", "--copy-config-from", "--no-select", "--teams", "--stack", "-s"],
  "stack select": ["--create", "-c", "--secrets-provider", "--stack", "-s"],
  "stack change-secrets-provider": ["--stack", "-s"],
  "stack output": ["--json", "-j", "--show-secrets", "--shell", "--stack", "-s"],
  stack: ["--show-urns", "--show-ids", "--show-name", "--show-secrets", "--stack", "-s", "-i"],
  "config set": ["--path", "--secret", "--plaintext", "--stack", "-s"],
  "config get": ["--path", "--json", "-j", "--stack", "-s"],
  "config rm": ["--path", "--stack", "-s"],
  config: ["--show-secrets", "--json", "-j", "--stack", "-s"],
  preview: [
    "--diff",
    "--policy-pack",
    "--policy-pack-config",
    "--stack",
    "-s",
    "--expect-no-changes",
    "--json",
    "-j",
    "--refresh",
    "-r",
    "--replace",
    "--target",
  ],
  up: [
    "--diff",
    "--policy-pack",
    "--policy-pack-config",
    "--stack",
    "-s",
    "--yes",
    "-y",
    "--skip-preview",
    "-f",
    "--refresh",
    "-r",
    "--replace",
    "--target",
  ],
  refresh: ["--stack", "-s", "--yes", "-y", "--diff"],
  destroy: ["--exclude-protected", "--stack", "-s", "--yes", "-y", "--remove", "--preview-only"],
  "state unprotect": ["--all", "--stack", "-s", "--yes", "-y"],
};
const GLOBAL_FLAGS = ["--cwd", "-C", "--color", "--non-interactive", "--emoji", "-e", "--verbose", "-v"];
/** Flags whose value follows as the next word. */
const FLAGS_WITH_VALUES = new Set([
  "--secrets-provider",
  "--copy-config-from",
  "--teams",
  "--stack",
  "-s",
  "--policy-pack",
  "--policy-pack-config",
  "--replace",
  "--target",
  "--cloud-url",
  "--default-org",
  "--cwd",
  "-C",
  "--color",
]);

/** `pulumi ...` commands on code-block lines (also after `&&`) and in inline code spans. */
function pulumiCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = [...markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map(
    (match) => match[1] as string,
  );
  for (const line of blocks.flatMap((block) => block.split("\n"))) {
    for (const part of line.split(/&&|\|\||;/)) {
      const trimmed = part.trim();
      if (trimmed.startsWith("pulumi ")) commands.push(trimmed);
    }
  }
  const outsideBlocks = markdown.replace(/```[\s\S]*?```/g, "");
  for (const match of outsideBlocks.matchAll(/`(pulumi [^`]+)`/g)) commands.push(match[1] as string);
  return commands;
}

/** Words of a shell command up to a comment, pipe or redirection, quotes removed. */
function words(command: string): string[] {
  const result: string[] = [];
  for (const match of command.matchAll(/"[^"]*"|'[^']*'|\S+/g)) {
    const word = match[0];
    if (word.startsWith("#") || word === "|" || word.startsWith(">")) break;
    result.push(word.replace(/^["']|["']$/g, ""));
  }
  return result;
}

/** Undefined when the command is right; otherwise what is wrong with it. */
function checkPulumiCommand(command: string): string | undefined {
  const [, ...rest] = words(command);
  const subcommand = [`${rest[0]} ${rest[1]}`, rest[0] ?? ""].find(
    (candidate) => candidate in DOCUMENTED_FLAGS,
  );
  if (subcommand === undefined) return `unknown subcommand "${rest.slice(0, 2).join(" ")}"`;
  const allowed = new Set([...(DOCUMENTED_FLAGS[subcommand] ?? []), ...GLOBAL_FLAGS]);
  const args = rest.slice(subcommand.split(" ").length);
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (!arg.startsWith("-")) {
      // `pulumi stack` and `pulumi config` alone take no argument: a word there is a subcommand.
      if (subcommand === "stack" || subcommand === "config")
        return `unknown subcommand "${subcommand} ${arg}"`;
      continue;
    }
    const flag = arg.split("=")[0] as string;
    if (!allowed.has(flag)) return `"${flag}" is not a documented flag of pulumi ${subcommand}`;
    const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[index + 1];
    if (FLAGS_WITH_VALUES.has(flag) && !arg.includes("=")) index++;
    if (flag === "--policy-pack" && !existsSync(join(ROOT, value ?? "", "PulumiPolicy.yaml"))) {
      return `--policy-pack ${value} is not a policy pack directory of this repository`;
    }
  }
  return undefined;
}

describe("the pulumi command check", () => {
  it("refuses an unknown flag, an unknown subcommand and a missing policy pack", () => {
    expect(checkPulumiCommand("pulumi up --policy-pack policy --yes")).toBeUndefined();
    expect(checkPulumiCommand("pulumi stack init dev --secrets-provider=passphrase")).toBeUndefined();
    expect(checkPulumiCommand("pulumi up --auto-approve")).toMatch(/not a documented flag/);
    expect(checkPulumiCommand("pulumi stack outputs --json")).toMatch(/unknown subcommand "stack outputs"/);
    expect(checkPulumiCommand("pulumi deploy")).toMatch(/unknown subcommand/);
    expect(checkPulumiCommand("pulumi preview --policy-pack policies")).toMatch(/not a policy pack/);
  });
});
