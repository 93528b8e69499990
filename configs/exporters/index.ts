/**
 * The registry of optional exporters, and what the rest of the program asks of them. Adding one
 * is a new record file and one line in EXPORTERS; code elsewhere iterates over the registry and
 * never names an exporter (docs/exporters.md).
 */
import type { ScrapedHost, StackConfig } from "../../lib/stack-config";
import type { ExporterSettingsSpec } from "../../lib/stack-config/exporter-settings";
import { jenkins } from "./jenkins";
import { mongodb } from "./mongodb";
import { mysql } from "./mysql";
import { nginx } from "./nginx";
import { postgres } from "./postgres";
import { redis } from "./redis";
import type { ExporterRecord } from "./types";

export {
  type CredentialValues,
  ExporterCredentialsError,
  exporterCredentialFiles,
  renderExporterCredentialFiles,
} from "./credentials";
export type { ExporterCredentialFile, ExporterRecord } from "./types";

/** In the order docs, scrape jobs, alert groups and dashboards list them. */
export const EXPORTERS: readonly ExporterRecord[] = [nginx, jenkins, mongodb, postgres, mysql, redis];

/** What the settings reader needs of every exporter. */
export const EXPORTER_SETTINGS: readonly ExporterSettingsSpec[] = EXPORTERS.map((record) => record.settings);

/** The record of an exporter a host lists; the reader has refused any other name. */
export function exporterRecord(name: string): ExporterRecord {
  const record = EXPORTERS.find((candidate) => candidate.name === name);
  if (!record) throw new Error(`no exporter record named "${name}"`);
  return record;
}

/** Exporters some client or host outside AWS enables, in registry order. */
export function enabledExporters(config: StackConfig): ExporterRecord[] {
  const enabled = new Set<string>(
    [...config.clients, ...config.externalHosts].flatMap((host) => [...host.exporters]),
  );
  return EXPORTERS.filter((record) => enabled.has(record.name));
}

/** The exporters one host enables, each once, by name: output never depends on the order listed. */
export function hostExporters(host: ScrapedHost): ExporterRecord[] {
  return [...new Set<string>(host.exporters)].sort().map(exporterRecord);
}

/**
 * The host's values of the record's per-host fields (e.g. `nginxStatusUrl`), each field's
 * default where the host sets none. StackConfig carries no per-host exporter values: every field
 * takes its default.
 */
export function exporterHostSettings(
  record: ExporterRecord,
  host: ScrapedHost,
): Readonly<Record<string, string>> {
  return Object.fromEntries(
    (record.settings.hostFields ?? []).map((field) => [
      field.key,
      host.exporterSettings[field.key] ?? field.default,
    ]),
  );
}

/**
 * The login name of the exporter's monitoring account (one per stack), or undefined for an
 * exporter without one (no credentials, or a service that authenticates by password only).
 */
export function exporterUser(config: StackConfig, record: ExporterRecord): string | undefined {
  if (!record.settings.credentials?.user) return undefined;
  return config.exporterUsers[record.name];
}
