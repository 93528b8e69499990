/**
 * The registry of optional exporters. Adding one is a new record file and one line here; code
 * elsewhere iterates over EXPORTERS and never names an exporter.
 */
import type { ExporterSettingsSpec } from "../../lib/stack-config/exporter-settings";
import { jenkins } from "./jenkins";
import { mongodb } from "./mongodb";
import { mysql } from "./mysql";
import { nginx } from "./nginx";
import { postgres } from "./postgres";
import { redis } from "./redis";
import type { ExporterRecord } from "./types";

/** In the order docs, scrape jobs and dashboards list them. */
export const EXPORTERS: readonly ExporterRecord[] = [nginx, jenkins, mongodb, postgres, mysql, redis];

/** What the settings reader needs of every exporter. */
export const EXPORTER_SETTINGS: readonly ExporterSettingsSpec[] = EXPORTERS.map((record) => record.settings);

/** The record of an exporter a host lists; the reader has refused any other name. */
export function exporterRecord(name: string): ExporterRecord {
  const record = EXPORTERS.find((candidate) => candidate.name === name);
  if (!record) throw new Error(`no exporter record named "${name}"`);
  return record;
}
