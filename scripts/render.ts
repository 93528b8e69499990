/**
 * `npm run render -- --stack <name> --out <dir>`: writes every file each host of the stack
 * receives, without AWS or Pulumi, for review and for diffing two renders.
 *
 *   <out>/monitor/...        Prometheus, rules, file SD, Alertmanager, Loki, Grafana, compose
 *   <out>/<client>/...       agents compose file, Alloy and process-exporter configs, user data
 *   <out>/<outside host>/... the same agents for hosts outside AWS
 *
 * Values known only after `pulumi up` are placeholders (`<... known after pulumi up>`). Images are
 * shown by tag: no registry is contacted, while `pulumi up` deploys them as `tag@sha256:<digest>`
 * (pinImageDigests, docs/ssh.md). Secret values are never read (the stack file holds them
 * encrypted) and never written. Same stack file, same bytes: nothing in the output depends on
 * time, the network or the machine.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { EXPORTER_SETTINGS } from "../configs/exporters";
import { type HostFiles, stackHostFiles } from "../configs/host-files";
import { missingSecrets, PROJECT, StackConfigError } from "../lib/stack-config";
import { listStackNames, readStackConfigFromFiles } from "../lib/stack-files";

/** Written into every render; its presence is what allows a later render to replace the directory. */
const RENDER_MANIFEST = ".render-manifest.json";

const USAGE = "usage: npm run render -- --stack <name> --out <dir> [--root <project dir>]";

interface Arguments {
  readonly stack: string;
  readonly out: string;
  readonly root: string;
}

class UsageError extends Error {}

function parseArguments(argv: readonly string[]): Arguments {
  const values: Record<string, string> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index] as string;
    const match = /^--(stack|out|root)(?:=(.*))?$/.exec(flag);
    if (!match) throw new UsageError(`unknown argument "${flag}"`);
    let value = match[2];
    if (value === undefined) {
      index += 1;
      value = argv[index];
    }
    if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
    values[match[1] as string] = value;
  }
  if (!values.stack) throw new UsageError("--stack is required");
  if (!values.out) throw new UsageError("--out is required");
  return {
    stack: values.stack,
    out: resolve(values.out),
    root: resolve(values.root ?? join(__dirname, "..")),
  };
}

/** A host name becomes a directory name: refuse anything that could step outside `out`. */
function safeSegment(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes("..")) {
    throw new Error(`host name "${name}" cannot be used as a directory name`);
  }
  return name;
}

/**
 * Replaces a previous render in `out`; refuses to touch a non-empty directory that is not one,
 * so a mistyped --out never deletes someone's files.
 */
function prepareOutput(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  if (!entries.includes(RENDER_MANIFEST)) {
    throw new Error(
      `${out} is not empty and holds no earlier render (${RENDER_MANIFEST}); choose another --out`,
    );
  }
  rmSync(out, { recursive: true, force: true });
}

function writeHostFiles(out: string, hosts: Record<string, HostFiles>): string[] {
  const written: string[] = [];
  for (const [host, files] of Object.entries(hosts)) {
    for (const [path, content] of Object.entries(files)) {
      if (path.split("/").some((segment) => segment === ".." || segment === "")) {
        throw new Error(`refusing to write "${path}" for ${host}: not a plain relative path`);
      }
      const relative = `${safeSegment(host)}/${path}`;
      const target = join(out, relative);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content, { mode: 0o644 });
      written.push(relative);
    }
  }
  return written;
}

function secretWarning(stack: string, missing: readonly string[]): string {
  const commands = missing.map((key) => `  pulumi config set --secret ${PROJECT}:${key} --stack ${stack}`);
  return [
    `warning: stack "${stack}" lacks ${missing.length === 1 ? "a secret" : "secrets"} it needs: ${missing.join(", ")}.`,
    "The files render anyway (secrets are never part of them), but `pulumi up` will refuse",
    "until they are set (each command prompts for the value):",
    ...commands,
  ].join("\n");
}

export function main(argv: readonly string[]): number {
  let args: Arguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`render: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const stacks = listStackNames(args.root);
    if (!stacks.includes(args.stack)) {
      const found = stacks.length > 0 ? stacks.join(", ") : "none";
      process.stderr.write(
        `render: no stack "${args.stack}" (no Pulumi.${args.stack}.yaml in ${args.root}). Stacks found: ${found}\n`,
      );
      return 1;
    }
    const { config, warnings } = readStackConfigFromFiles(args.stack, args.root, {
      requireSecrets: false,
      exporters: EXPORTER_SETTINGS,
    });
    for (const warning of warnings) {
      process.stderr.write(
        `warning: ${warning.setting}: ${warning.warning}.${warning.fix ? ` Fix: ${warning.fix}` : ""}\n`,
      );
    }
    const missing = missingSecrets(config, EXPORTER_SETTINGS);
    if (missing.length > 0) process.stderr.write(`${secretWarning(args.stack, missing)}\n`);

    const hosts = stackHostFiles(config);
    prepareOutput(args.out);
    const written = writeHostFiles(args.out, hosts);
    const manifest = {
      stack: args.stack,
      note: "Rendered by scripts/render.ts. Values known only after `pulumi up` are placeholders.",
      hosts: Object.fromEntries(Object.entries(hosts).map(([host, files]) => [host, Object.keys(files)])),
    };
    writeFileSync(join(args.out, RENDER_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });

    const perHost = Object.entries(hosts).map(([host, files]) => `${host} (${Object.keys(files).length})`);
    process.stdout.write(
      [
        `Rendered stack "${args.stack}" into ${args.out}: ${written.length} files for ${perHost.join(", ")}.`,
        ...written.map((path) => `  ${path}`),
        "Values known only after `pulumi up` (bucket name, monitor private IP, Grafana URL, data volume id) are placeholders.",
        config.pinImageDigests
          ? "Images are shown by tag; `pulumi up` deploys each as tag@sha256:<digest> read from its registry (docs/ssh.md)."
          : "Images are deployed by tag (pinImageDigests is false).",
        "",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    const message =
      error instanceof StackConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`render: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
