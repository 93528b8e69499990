/**
 * promtool test files (`promtool test rules`) for a stack's rendered rule files, from each alert
 * rule's firing and non-firing cases (configs/rules/). Keyed by path relative to the rules
 * directory (`tests/host.yml`), each names its rule file as `../<group>.yml`: a subdirectory, so
 * the rules glob (`rules/*.yml`) never loads them. The labels, summary and runbook link an alert
 * must carry are read from the rendered rule file; each case says its own description.
 */
import { parse, stringify } from "yaml";
import { buildRuleGroups, renderRuleFiles } from "../../configs/rules";
import type { StackConfig } from "../../lib/stack-config";

/** Step between rule evaluations in the tests; test cases count in these steps. */
const EVALUATION_INTERVAL = "1m";

interface RenderedAlert {
  readonly alert: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly runbook_url: string };
}

export function renderRuleTests(config: StackConfig): Record<string, string> {
  const ruleFiles = renderRuleFiles(config);
  const files: Record<string, string> = {};
  for (const group of buildRuleGroups(config)) {
    const ruleFile = `${group.name}.yml`;
    const text = ruleFiles[ruleFile];
    if (text === undefined) throw new Error(`rule group ${group.name} has no rule file ${ruleFile}`);
    const rendered = new Map<string, RenderedAlert>(
      (parse(text).groups[0].rules as (RenderedAlert | { record: string })[])
        .filter((rule): rule is RenderedAlert => "alert" in rule)
        .map((rule) => [rule.alert, rule]),
    );
    const tests = group.rules.flatMap((rule) => {
      const alert = rendered.get(rule.name);
      if (alert === undefined) throw new Error(`${ruleFile} does not render alert ${rule.name}`);
      return rule.cases.map((testCase) => ({
        interval: testCase.interval ?? EVALUATION_INTERVAL,
        input_series: testCase.inputSeries.map((input) => ({ series: input.series, values: input.values })),
        alert_rule_test: [
          {
            eval_time: testCase.evalTime,
            alertname: rule.name,
            exp_alerts: testCase.expectedAlerts.map((expected) => ({
              exp_labels: { ...expected.labels, ...alert.labels },
              exp_annotations: {
                summary: alert.annotations.summary,
                description: expected.description,
                runbook_url: alert.annotations.runbook_url,
              },
            })),
          },
        ],
      }));
    });
    files[`tests/${ruleFile}`] = stringify(
      { rule_files: [`../${ruleFile}`], evaluation_interval: EVALUATION_INTERVAL, tests },
      { lineWidth: 0 },
    );
  }
  return files;
}
