/**
 * Alert groups of the optional exporters: one group per exporter, holding the alerts of its
 * record (configs/exporters/<name>.ts), loaded only when some host enables it. The record's first
 * alert is its service-down alert: while it fires it mutes the record's other alerts (symptoms of
 * the same service on the same host).
 */
import type { StackConfig } from "../../lib/stack-config";
import { EXPORTERS, type ExporterRecord, enabledExporters } from "../exporters";
import type { AlertRule, RuleGroup } from "./types";

export const EXPORTER_GROUP_PREFIX = "exporter-";
/** Labels a symptom shares with the alert that mutes it. */
export const EXPORTER_MUTE_LABELS = ["instance", "job"] as const;

function exporterRuleGroup(record: ExporterRecord): RuleGroup {
  const [down, ...symptoms] = record.alerts.map((alert) => alert.rule);
  const rules: AlertRule[] =
    down === undefined
      ? []
      : [
          symptoms.length > 0
            ? {
                ...down,
                mutes: { alerts: symptoms.map((rule) => rule.name), equal: [...EXPORTER_MUTE_LABELS] },
              }
            : down,
          ...symptoms,
        ];
  return { name: `${EXPORTER_GROUP_PREFIX}${record.name}`, rules };
}

/** The groups of the exporters some host of the stack enables. */
export function exporterRuleGroups(config: StackConfig): RuleGroup[] {
  return enabledExporters(config).map(exporterRuleGroup);
}

/** The groups of every exporter, enabled or not (the alert table in docs/alerts.md lists them all). */
export function everyExporterRuleGroup(): RuleGroup[] {
  return EXPORTERS.map(exporterRuleGroup);
}
