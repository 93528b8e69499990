/**
 * Every file, or generated part of a file, that follows from the code's tables: the settings
 * table, the alert rules and the exporters' records; and the policy pack's config per stack. Each renders from what the file holds now
 * (hand-written text around a generated block is kept).
 */
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import type { StackConfig } from "../../lib/stack-config";
import { listStackNames, loadStackConfigFromFiles } from "../../lib/stack-files";
import { ALERTS_DOCS_FILE, alertsDoc, readmeAlertTable, withReadmeAlertTable } from "./alert-docs";
import { blockMarkers, exporterDocBlocks, exporterRunbooks, withBlock } from "./exporter-docs";
import { policyConfigPath, renderPolicyConfig } from "./policy-config";
import {
  renderProjectFile,
  renderSettingsDocs,
  SETTINGS_DOCS_FILE,
  withGeneratedDocs,
} from "./settings-docs";

/** The stack whose thresholds and hosts the generated docs show. */
const DOCUMENTED_STACK = "prod";

export interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  /** The file's content, given what it holds now (undefined: it does not exist). */
  render(current: string | undefined): string;
}

function required(path: string, current: string | undefined): string {
  if (current === undefined)
    throw new Error(`${path} is missing: it holds hand-written text around its generated part`);
  return current;
}

/** Every generated file of the project in `rootDir`. */
export function generatedFiles(rootDir: string): GeneratedFile[] {
  // The docs show the stack as its file sets it; secrets are not needed to render them.
  const documented: StackConfig = loadStackConfigFromFiles(DOCUMENTED_STACK, rootDir, {
    requireSecrets: false,
    exporters: EXPORTER_SETTINGS,
  });
  const blocks = new Map<string, ReturnType<typeof exporterDocBlocks>>();
  for (const block of exporterDocBlocks(documented)) {
    blocks.set(block.file, [...(blocks.get(block.file) ?? []), block]);
  }
  return [
    { path: "Pulumi.yaml", render: () => renderProjectFile(EXPORTER_SETTINGS) },
    {
      path: SETTINGS_DOCS_FILE,
      render: (current) =>
        withGeneratedDocs(
          required(SETTINGS_DOCS_FILE, current),
          renderSettingsDocs(rootDir, EXPORTER_SETTINGS),
        ),
    },
    { path: ALERTS_DOCS_FILE, render: () => alertsDoc(documented) },
    {
      path: "README.md",
      render: (current) => withReadmeAlertTable(required("README.md", current), readmeAlertTable(documented)),
    },
    ...[...blocks].map(([path, fileBlocks]) => ({
      path,
      render: (current: string | undefined) =>
        fileBlocks.reduce(
          (text, block) => {
            const replaced = withBlock(text, block);
            if (replaced === undefined) throw new Error(`${path} needs the markers ${blockMarkers(block)}`);
            return replaced;
          },
          required(path, current),
        ),
    })),
    ...Object.entries(exporterRunbooks()).map(([path, content]) => ({ path, render: () => content })),
    ...listStackNames(rootDir).map((stack) => ({
      path: policyConfigPath(stack),
      render: () =>
        renderPolicyConfig(
          loadStackConfigFromFiles(stack, rootDir, { requireSecrets: false, exporters: EXPORTER_SETTINGS }),
        ),
    })),
  ];
}
