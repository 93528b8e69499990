/**
 * Alert groups of the optional exporters: one group per exporter, holding the alerts of its
 * record (configs/exporters/<name>.ts), loaded only when some host enables it.
 */
import type { StackConfig } from "../../lib/stack-config";
import { EXPORTERS, type ExporterRecord, enabledExporters } from "../exporters";
import type { RuleGroup } from "./types";

export const EXPORTER_GROUP_PREFIX = "exporter-";

function exporterRuleGroup(record: ExporterRecord): RuleGroup {
  return { name: `${EXPORTER_GROUP_PREFIX}${record.name}`, rules: record.alerts.map((alert) => alert.rule) };
}

/** The groups of the exporters some host of the stack enables. */
export function exporterRuleGroups(config: StackConfig): RuleGroup[] {
  return enabledExporters(config).map(exporterRuleGroup);
}

/** The groups of every exporter, enabled or not (the alert table in docs/alerts.md lists them all). */
export function everyExporterRuleGroup(): RuleGroup[] {
  return EXPORTERS.map(exporterRuleGroup);
}
