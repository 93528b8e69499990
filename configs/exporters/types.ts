/**
 * An optional exporter as one record: everything the stack knows of it lives in its own file
 * (configs/exporters/<name>.ts) and code elsewhere iterates over the registry (./index.ts).
 */
import type { ExporterSettingsSpec } from "../../lib/stack-config/exporter-settings";

export interface ExporterRecord {
  /** As listed in a host's `exporters`, the scrape job's name and the `Exporters` tag's item. */
  readonly name: string;
  /** Its settings: the monitoring account and the per-host fields, read and checked by lib/. */
  readonly settings: ExporterSettingsSpec;
}
