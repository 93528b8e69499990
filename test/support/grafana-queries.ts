/**
 * Runs a rendered dashboard's PromQL queries against a real Prometheus the way Grafana runs them:
 *
 * - variables are resolved in order through the HTTP API, as Grafana does on load:
 *   `label_values(selector, label)` through /api/v1/label/<label>/values with the earlier
 *   variables substituted, "All" (the default) as the variable's allValue, a single-value variable
 *   as its first value;
 * - `$__interval`, `$__rate_interval` (Grafana's rule: max(interval + scrape interval, 4 x scrape
 *   interval)) and `$__range` are computed as Grafana computes them for the scrape interval the
 *   Prometheus under test really uses;
 * - each target runs as an instant or a range query, as Grafana sends it.
 */
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import type { StackConfig } from "../../lib/stack-config";
import { provisionedDatasources } from "./grafana-provisioning";
import { getJson } from "./processes";

export interface TargetJson {
  readonly expr: string;
  readonly refId: string;
  readonly instant?: boolean;
  readonly datasource?: { uid: string };
}
export interface PanelJson {
  readonly title: string;
  readonly targets?: TargetJson[];
  readonly datasource?: { uid: string };
  readonly transformations?: { id: string }[];
}
export interface VariableJson {
  readonly name: string;
  readonly type: string;
  readonly query?: unknown;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string;
  readonly current?: { value?: string | string[] };
  readonly datasource?: { uid: string };
}
export interface DashboardJson {
  readonly uid: string;
  readonly panels: PanelJson[];
  readonly templating: { list: VariableJson[] };
}

export interface PromQuery {
  /** `<file> / <panel title> / <refId>`. */
  readonly key: string;
  readonly expr: string;
  readonly instant: boolean;
}

interface ApiResult<T> {
  readonly status: string;
  readonly data: T;
}
export interface QueryData {
  readonly resultType: string;
  readonly result: { metric: Record<string, string> }[];
}

/** What Grafana would pick as $__interval for a short range on a normal-width panel. */
const INTERVAL_SECONDS = 5;
/** The dashboard range the queries run over (Grafana's $__range). */
export const RANGE_SECONDS = 60;

/** The scrape interval Grafana assumes: the provisioned Prometheus datasource's timeInterval. */
export function datasourceScrapeSeconds(config: StackConfig): number {
  const prometheus = provisionedDatasources(config).find((source) => source.type === "prometheus");
  const interval = (prometheus?.jsonData as { timeInterval?: string } | undefined)?.timeInterval ?? "";
  const match = /^(\d+)s$/.exec(interval);
  if (!match?.[1]) throw new Error(`expected a seconds timeInterval, got ${interval}`);
  return Number(match[1]);
}

/** Grafana's built-in interval variables for this range and scrape interval. */
export function builtins(scrapeSeconds: number): Record<string, string> {
  const interval = Math.max(INTERVAL_SECONDS, scrapeSeconds);
  return {
    __rate_interval: `${Math.max(interval + scrapeSeconds, 4 * scrapeSeconds)}s`,
    __interval: `${interval}s`,
    __range: `${RANGE_SECONDS}s`,
  };
}

/** Replaces `$name` / `${name}` by the values given; any variable left over is an error. */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
}

/** The metric names a PromQL expression selects. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  promqlParser.parse(expr).iterate({
    enter: (node) => {
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") {
        names.push(expr.slice(node.from, node.to));
      }
    },
  });
  return names;
}

/** The Prometheus targets of a dashboard, keyed `<file> / <panel title> / <refId>`. */
export function promQueries(file: string, dashboard: DashboardJson): PromQuery[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => (target.datasource?.uid ?? panel.datasource?.uid) === "prometheus")
      .map((target) => ({
        key: `${file} / ${panel.title} / ${target.refId}`,
        expr: target.expr,
        instant: target.instant === true,
      })),
  );
}

/** Grafana's side of one Prometheus: variable resolution and queries. */
export class GrafanaQueries {
  constructor(
    readonly prometheusUrl: string,
    /** The scrape interval the Prometheus under test really uses. */
    readonly scrapeSeconds: number,
  ) {}

  async api<T>(path: string, params: Record<string, string>): Promise<T> {
    const response = await getJson<ApiResult<T>>(
      `${this.prometheusUrl}${path}?${new URLSearchParams(params)}`,
    );
    if (response.status !== "success") throw new Error(`${path} answered ${JSON.stringify(response)}`);
    return response.data;
  }

  instantQuery(expr: string): Promise<QueryData> {
    return this.api<QueryData>("/api/v1/query", { query: expr });
  }

  /** Every variable's value, in order, as Grafana resolves them when the dashboard opens. */
  async resolveVariables(file: string, dashboard: DashboardJson): Promise<Record<string, string>> {
    const values: Record<string, string> = { ...builtins(this.scrapeSeconds) };
    for (const variable of dashboard.templating.list) {
      values[variable.name] = await this.resolveVariable(file, variable, values);
    }
    return values;
  }

  private async resolveVariable(
    file: string,
    variable: VariableJson,
    values: Readonly<Record<string, string>>,
  ): Promise<string> {
    const all = variable.current?.value === "$__all";
    if (variable.type === "custom" || variable.type === "textbox") {
      if (variable.type === "textbox") return "";
      if (!all || variable.allValue === undefined) throw new Error(`${file} $${variable.name}: no default`);
      return variable.allValue;
    }
    const match = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(String(variable.query));
    if (!match?.[1] || !match[2])
      throw new Error(`${file} $${variable.name}: unexpected query ${variable.query}`);
    const options = await this.api<string[]>(`/api/v1/label/${match[2]}/values`, {
      "match[]": substitute(match[1], values),
    });
    if (options.length === 0) throw new Error(`${file} $${variable.name}: ${variable.query} found no values`);
    if (all && variable.includeAll && variable.allValue !== undefined) return variable.allValue;
    return options[0] as string;
  }

  /** How many series the query returns, run as Grafana runs it. */
  async seriesOf(query: PromQuery, values: Readonly<Record<string, string>>): Promise<number> {
    const expr = substitute(query.expr, values);
    if (query.instant) return (await this.instantQuery(expr)).result.length;
    const end = Date.now() / 1000;
    const data = await this.api<QueryData>("/api/v1/query_range", {
      query: expr,
      start: String(end - RANGE_SECONDS),
      end: String(end),
      step: builtins(this.scrapeSeconds).__interval ?? "5s",
    });
    return data.result.length;
  }
}
