/**
 * Stack files as the Pulumi CLI hands them to the program, for tests that run it under mocks,
 * and the read options tests share.
 */
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import { type ReadOptions, secretKeys, settingsTable } from "../../lib/stack-config";
import { readStackFile } from "../../lib/stack-files";

/** How tools without the stack's secrets read it (the render command does the same). */
export const WITHOUT_SECRETS: ReadOptions = { requireSecrets: false, exporters: EXPORTER_SETTINGS };
export const WITH_SECRETS: ReadOptions = { exporters: EXPORTER_SETTINGS };

/** Every secret setting of the product, its exporters' passwords included. */
export const SECRET_SETTINGS: readonly string[] = secretKeys(settingsTable(EXPORTER_SETTINGS));

/** How the Pulumi CLI hands a config value to the program: strings as is, the rest as JSON. */
function configString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * Fully qualified key -> string, as the Pulumi CLI passes the stack's config to the program (for
 * `pulumi.runtime.setAllConfig`). Secure values are left out: tests add their own for them.
 */
export function stackConfigMap(stack: string, rootDir: string): Record<string, string> {
  const { values } = readStackFile(stack, rootDir);
  const map: Record<string, string> = {};
  for (const key of Object.keys(values).sort()) {
    const value = values[key];
    if (value !== undefined && value !== null) map[key] = configString(value);
  }
  return map;
}
