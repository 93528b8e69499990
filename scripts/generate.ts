/**
 * `npm run generate`: writes every generated file from the code's tables (scripts/generated):
 * Pulumi.yaml and docs/configuration.md's settings tables from the settings table, docs/alerts.md
 * and the README's alert table from the rules, the exporters' docs rows and runbooks from their
 * records.
 *
 *   npm run generate                 rewrite what is stale
 *   npm run generate -- --check      write nothing; list what is stale and exit 1 (the tests run it;
 *                                    2 for a file it cannot generate into, or a bad argument)
 *   ... --root <dir>                 a project directory other than this one
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { generatedFiles } from "./generated";

const USAGE = "usage: npm run generate -- [--check] [--root <dir>]";

function parseArgs(argv: readonly string[]): { check: boolean; rootDir: string } {
  let check = false;
  let rootDir = join(__dirname, "..");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--check") check = true;
    else if (arg === "--root" && argv[i + 1] !== undefined) rootDir = resolve(argv[++i] as string);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
  }
  return { check, rootDir };
}

function main(argv: readonly string[]): number {
  const { check, rootDir } = parseArgs(argv);
  const stale: string[] = [];
  for (const file of generatedFiles(rootDir)) {
    const path = join(rootDir, file.path);
    const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    const wanted = file.render(current);
    if (wanted === current) continue;
    stale.push(file.path);
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, wanted);
    }
  }
  if (stale.length === 0) return 0;
  if (!check) {
    console.log(`generate: rewrote ${stale.join(", ")}`);
    return 0;
  }
  console.error(`generate: stale: ${stale.join(", ")}\nRun \`npm run generate\` and commit the result.`);
  return 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(`generate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
