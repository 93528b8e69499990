/**
 * Scrape limits with the real binaries: Debian sid's Prometheus 3 scrapes Debian's node exporter
 * with the rendered node job's limits and evaluates the rendered scrape-limits rules. At the real
 * limit the scrape is taken and nothing fires; with only the limit lowered below what the host
 * returns (in the job and in the rules' recorded limit alike), the scrape is refused (`up` 0) and
 * ScrapeSampleLimitExceeded goes pending.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { renderPrometheusConfig } from "../configs/prometheus";
import { renderRuleFiles } from "../configs/rules";
import { startNodeExporter } from "./support/exporters";
import { getJson, ProcessGroup, pollUntil, startLocalPrometheus } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { requireTool, TOOLS } from "./support/tools";

type Yaml = Record<string, unknown>;
interface QueryResult {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

const config = sampleStackConfig();
const rendered = parse(renderPrometheusConfig(config)) as { scrape_configs: Yaml[] };
const nodeJob = rendered.scrape_configs.find((job) => job.job_name === "node") as Yaml;

describe("a node exporter against the rendered node job's sample limit", () => {
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "scrape-limits-"));

  afterAll(async () => {
    await group.stopAll();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** The rendered scrape-limits rules with the node job's recorded limit set to `sampleLimit`. */
  function rulesWithNodeLimit(sampleLimit: number): string {
    const rules = parse(renderRuleFiles(config)["scrape-limits.yml"] ?? "") as {
      groups: { rules: Yaml[] }[];
    };
    const nodeRecord = rules.groups[0]?.rules.find(
      (rule) => rule.record !== undefined && (rule.labels as Yaml | undefined)?.job === "node",
    );
    if (nodeRecord === undefined) throw new Error("scrape-limits.yml records no limit for the node job");
    nodeRecord.expr = `vector(${sampleLimit})`;
    return stringify(rules);
  }

  /** Prometheus scraping the exporter with the node job's limits (only sample_limit as given), rules loaded. */
  async function prometheusWith(sampleLimit: number, exporterPort: number, name: string): Promise<string> {
    const dir = join(workDir, name);
    const rulesFile = join(workDir, `${name}-scrape-limits.yml`);
    writeFileSync(rulesFile, rulesWithNodeLimit(sampleLimit));
    const limits = Object.fromEntries(Object.entries(nodeJob).filter(([key]) => key.endsWith("_limit")));
    const configFile = join(workDir, `${name}.yml`);
    writeFileSync(
      configFile,
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [rulesFile],
        scrape_configs: [
          {
            job_name: "node",
            ...limits,
            sample_limit: sampleLimit,
            static_configs: [{ targets: [`127.0.0.1:${exporterPort}`], labels: { instance: "web-1" } }],
          },
        ],
      }),
    );
    return startLocalPrometheus(group, { name, configFile, dataDir: dir });
  }

  const query = (url: string, expr: string) =>
    getJson<QueryResult>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`).then(
      (answer) => answer.data.result,
    );

  it("takes the scrape at the rendered limit, and refuses it, alerting, below what the host returns", async () => {
    requireTool(TOOLS.prometheus);
    expect(nodeJob.sample_limit).toBeGreaterThan(1000);
    const exporter = await startNodeExporter(group);

    const atLimit = await prometheusWith(nodeJob.sample_limit as number, exporter.port, "at-limit");
    const up = await pollUntil("a scrape at the rendered limit", async () => (await query(atLimit, "up"))[0]);
    expect(up.value[1]).toBe("1");
    const percent = await pollUntil(
      "the limit series and its ratio",
      async () =>
        (
          await query(
            atLimit,
            "100 * scrape_samples_post_metric_relabeling / on(job) group_left() job:scrape_sample_limit:configured",
          )
        )[0],
    );
    expect(Number(percent.value[1])).toBeLessThan(80);

    const belowHost = await prometheusWith(100, exporter.port, "below-host");
    const refused = await pollUntil("a refused scrape", async () => {
      const [sample] = await query(belowHost, "up");
      return sample?.value[1] === "0" ? sample : undefined;
    });
    expect(refused.metric).toMatchObject({ job: "node", instance: "web-1" });
    const pending = await pollUntil(
      "ScrapeSampleLimitExceeded pending",
      async () => (await query(belowHost, 'ALERTS{alertname="ScrapeSampleLimitExceeded"}'))[0],
    );
    expect(pending.metric).toMatchObject({ instance: "web-1", job: "node", severity: "critical" });
    expect((await query(atLimit, "ALERTS")).map((alert) => alert.metric.alertname)).toEqual([]);
  });
});
