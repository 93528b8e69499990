/**
 * Every alert rule that can exist with a config's thresholds, from the rule groups the stack builds
 * (configs/rules: buildRuleGroups, which renderRuleFiles renders): the config's own, and those of
 * every optional source it does not use (every exporter, the managed metrics store, probes, SLOs
 * and traces), as the config with that source turned on builds them.
 */
import { type AlertRule, buildRuleGroups } from "../../configs/rules";
import type { StackConfig } from "../../lib/stack-config";
import { withEveryExporter, withManagedStore, withReliability } from "./stacks";

/** The config with every optional source of alerts on, its own settings kept where it has them. */
export function withEveryAlert(config: StackConfig): StackConfig {
  const reliability = withReliability(config);
  return withManagedStore(
    withEveryExporter({
      ...config,
      probes: {
        ...config.probes,
        targets: config.probes.targets.length > 0 ? config.probes.targets : reliability.probes.targets,
      },
      slos: config.slos.length > 0 ? config.slos : reliability.slos,
      traces: config.traces ?? reliability.traces,
    }),
  );
}

function alertRules(config: StackConfig): AlertRule[] {
  return buildRuleGroups(config).flatMap((group) => group.rules);
}

/** Every alert that can exist with this config's thresholds: its own first, then the rest. */
export function everyAlert(config: StackConfig): AlertRule[] {
  const own = alertRules(withManagedStore(config));
  const names = new Set(own.map((rule) => rule.name));
  return [...own, ...alertRules(withEveryAlert(config)).filter((rule) => !names.has(rule.name))];
}
