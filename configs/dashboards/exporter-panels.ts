/**
 * What an exporter record gives its dashboard (configs/exporters/<name>.ts): key-series panels
 * as data. configs/dashboards/exporters.ts builds the dashboards from them.
 */
import type { Query } from "./common";

export interface KeySeriesPanel {
  readonly title: string;
  /** What the panel answers, for the panel table in docs/dashboards.md. */
  readonly question: string;
  readonly unit?: string;
  readonly queries: readonly Query[];
}

/** Per-second rate of a counter over Grafana's rate interval, summed `by` the given labels. */
export function summedRate(metric: string, selector: string, by = "instance"): string {
  return `sum by (${by}) (rate(${metric}{${selector}}[$__rate_interval]))`;
}
