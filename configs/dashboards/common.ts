/**
 * Shared pieces of the provisioned dashboards: datasource references, template variables,
 * panel builders with the options every dashboard wants, and the byte-stable JSON writer.
 *
 * Panels are built with @grafana/grafana-foundation-sdk. Its DashboardBuilder lays panels out
 * left to right (24 columns) and starts a new line when one fills; `row()` starts a section.
 * Panel ids are assigned once the dashboard is built, in panel order (`finishDashboard`).
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import {
  CustomVariableBuilder,
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  type DashboardLink,
  DashboardLinkBuilder,
  DashboardLinkType,
  type DataSourceRef,
  MappingType,
  type Panel,
  QueryVariableBuilder,
  RowBuilder,
  type RowPanel,
  TextBoxVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelBuilder as LogsPanelBuilder } from "@grafana/grafana-foundation-sdk/logs";
import { DataqueryBuilder as LokiQueryBuilder } from "@grafana/grafana-foundation-sdk/loki";
import {
  DataqueryBuilder as PrometheusQueryBuilder,
  PromQueryFormat,
} from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TablePanelBuilder } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import { GRAFANA_DATASOURCE_UIDS } from "../grafana";

/** Every provisioned dashboard carries this tag (Grafana's dashboard search filters on it). */
export const DASHBOARD_TAG = "observability";
const DASHBOARD_REFRESH = "1m";
const DASHBOARD_TIME = { from: "now-6h", to: "now" } as const;

export const PROMETHEUS: DataSourceRef = { type: "prometheus", uid: GRAFANA_DATASOURCE_UIDS.prometheus };
export const LOKI: DataSourceRef = { type: "loki", uid: GRAFANA_DATASOURCE_UIDS.loki };
/** Grafana's own alerting datasource name for data source-managed rules (the Prometheus one). */
const PROMETHEUS_DATASOURCE_NAME = "Prometheus";

/** A multi-value variable's "All": a regex matching any non-empty value, not a long alternation. */
const ALL_VALUES = ".+";

/** A PromQL or LogQL query of a panel. */
export interface Query {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{instance}}`. */
  readonly legend?: string;
  /** Evaluate at the end of the range only (tables, stats of "now"). */
  readonly instant?: boolean;
  /** Tables: the unit of this query's column (the panel unit applies otherwise). */
  readonly unit?: string;
}

export type PanelSpan = {
  readonly span?: number;
  readonly height?: number;
  readonly description?: string;
  /** Data links: what a click on a value opens (e.g. the host detail of that host). */
  readonly links?: readonly DataLink[];
};

/** A link on a panel's values; `url` may use Grafana's `${__field.labels.x}` / `${__data.fields.x}`. */
export interface DataLink {
  readonly title: string;
  readonly url: string;
}

/** Grafana dashboard path by uid; a leading `/` makes Grafana prefix its sub-path (root_url). */
export function dashboardPath(uid: string): string {
  return `/d/${uid}`;
}

/**
 * URL of dashboard `uid` keeping the time range and passing on the variables named in `carry`
 * (each must exist in the linking dashboard); `params` are further `var-<name>=<value>` pairs
 * (values may be Grafana link interpolations).
 */
export function dashboardLinkUrl(
  uid: string,
  params: Readonly<Record<string, string>> = {},
  carry: readonly string[] = ["environment"],
): string {
  const carried = carry.map((name) => `&\${${name}:queryparam}`);
  const extra = Object.entries(params).map(([name, value]) => `&var-${name}=${value}`);
  return `${dashboardPath(uid)}?\${__url_time_range}${carried.join("")}${extra.join("")}`;
}

/**
 * The SDK types field data links as DashboardLink; Grafana reads title, url and targetBlank
 * from them (the other fields are the dashboard-link defaults and are ignored).
 */
function dataLinkBuilders(links: readonly DataLink[] | undefined): cog.Builder<DashboardLink>[] {
  return (links ?? []).map((link) =>
    new DashboardLinkBuilder(link.title).type(DashboardLinkType.Link).url(link.url).targetBlank(false),
  );
}

type AnyPanelBuilder = cog.Builder<Panel>;
type Section = { readonly row: cog.Builder<RowPanel> } | { readonly panel: AnyPanelBuilder };

/** `A`, `B`, ... : Grafana needs a distinct refId per query of a panel. */
function refId(index: number): string {
  return String.fromCharCode(65 + index);
}

function prometheusTargets(queries: readonly Query[]): PrometheusQueryBuilder[] {
  return queries.map((query, index) => {
    const target = new PrometheusQueryBuilder().expr(query.expr).refId(refId(index)).datasource(PROMETHEUS);
    if (query.legend !== undefined) target.legendFormat(query.legend);
    if (query.instant) target.instant().format(PromQueryFormat.Table);
    else target.range();
    return target;
  });
}

function lokiTargets(queries: readonly Query[]): LokiQueryBuilder[] {
  return queries.map((query, index) => {
    const target = new LokiQueryBuilder().expr(query.expr).refId(refId(index)).datasource(LOKI);
    if (query.legend !== undefined) target.legendFormat(query.legend);
    // Grafana's Loki editor reads queryType; instant/range are the older spelling it migrates.
    if (query.instant) target.queryType("instant").instant(true).range(false);
    else target.queryType("range");
    return target;
  });
}

export function thresholdSteps(
  steps: readonly { value: number | null; color: string }[],
): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([...steps]);
}

/** Green below `warning`, red from it: used to draw the alert thresholds on graphs. */
function alertThreshold(warning: number): ThresholdsConfigBuilder {
  return thresholdSteps([
    { value: null, color: "green" },
    { value: warning, color: "red" },
  ]);
}

export interface TimeseriesOptions extends PanelSpan {
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  /** Draw this value as a dashed red line (the alert threshold). */
  readonly thresholdLine?: number;
  readonly bars?: boolean;
  readonly stacked?: boolean;
}

export function timeseries(
  title: string,
  datasource: DataSourceRef,
  queries: readonly Query[],
  options: TimeseriesOptions = {},
): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .datasource(datasource)
    .targets(datasource === LOKI ? lokiTargets(queries) : prometheusTargets(queries))
    .span(options.span ?? 12)
    .height(options.height ?? 8)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .showLegend(true)
        .calcs(["lastNotNull", "max"]),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .fillOpacity(options.stacked || options.bars ? 60 : 10);
  if (options.description) panel.description(options.description);
  if (options.links) panel.dataLinks(dataLinkBuilders(options.links));
  if (options.unit) panel.unit(options.unit);
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.bars) panel.drawStyle(common.GraphDrawStyle.Bars);
  if (options.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (options.thresholdLine !== undefined) {
    panel
      .thresholds(alertThreshold(options.thresholdLine))
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
  }
  return panel;
}

export interface StatOptions extends PanelSpan {
  /** Prometheus unless said otherwise. */
  readonly datasource?: DataSourceRef;
  readonly unit?: string;
  readonly mappings?: ValueMapping[];
  readonly thresholds?: ThresholdsConfigBuilder;
}

export function stat(title: string, queries: readonly Query[], options: StatOptions = {}): StatPanelBuilder {
  const datasource = options.datasource ?? PROMETHEUS;
  const panel = new StatPanelBuilder()
    .title(title)
    .datasource(datasource)
    .targets(datasource === LOKI ? lokiTargets(queries) : prometheusTargets(queries))
    .span(options.span ?? 6)
    .height(options.height ?? 4)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None);
  if (options.description) panel.description(options.description);
  if (options.links) panel.dataLinks(dataLinkBuilders(options.links));
  if (options.unit) panel.unit(options.unit);
  if (options.mappings) panel.mappings(options.mappings);
  panel.thresholds(options.thresholds ?? thresholdSteps([{ value: null, color: "blue" }]));
  return panel;
}

/** 1 -> UP (green), 0 -> DOWN (red): for `up` and `*_up` series. */
const UP_DOWN_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: { "0": { text: "DOWN", color: "red", index: 0 }, "1": { text: "UP", color: "green", index: 1 } },
  },
];

/** A stat of up/down per series (one tile per host or target). */
export function upDownStat(
  title: string,
  queries: readonly Query[],
  options: PanelSpan = {},
): StatPanelBuilder {
  return stat(title, queries, {
    ...options,
    mappings: UP_DOWN_MAPPINGS,
    thresholds: thresholdSteps([
      { value: null, color: "red" },
      { value: 1, color: "green" },
    ]),
  });
}

/** Zero is good (green), anything above is red: counts of failures, down targets, ... */
export function problemCountStat(
  title: string,
  queries: readonly Query[],
  options: StatOptions = {},
): StatPanelBuilder {
  return stat(title, queries, {
    ...options,
    thresholds: thresholdSteps([
      { value: null, color: "green" },
      { value: 1, color: "red" },
    ]),
  });
}

export interface TableOptions extends PanelSpan {
  readonly unit?: string;
  /** Merge the instant queries into one row per label set (Grafana's "merge" transformation). */
  readonly merge?: boolean;
  /** Columns left out (e.g. `Time`, `__name__`). */
  readonly hiddenColumns?: readonly string[];
}

export function table(
  title: string,
  datasource: DataSourceRef,
  queries: readonly Query[],
  options: TableOptions = {},
): TablePanelBuilder {
  const panel = new TablePanelBuilder()
    .title(title)
    .datasource(datasource)
    .targets(datasource === LOKI ? lokiTargets(queries) : prometheusTargets(queries))
    .span(options.span ?? 12)
    .height(options.height ?? 8);
  if (options.description) panel.description(options.description);
  if (options.links) panel.dataLinks(dataLinkBuilders(options.links));
  if (options.unit) panel.unit(options.unit);
  const excluded = Object.fromEntries(
    ["Time", ...(options.hiddenColumns ?? [])].map((column) => [column, true]),
  );
  // Grafana names an instant query's value column "Value", or "Value #<refId>" when a panel has
  // several: the legend becomes the column title, and a query's unit applies to its column.
  const valueColumn = (index: number) => (queries.length > 1 ? `Value #${refId(index)}` : "Value");
  const renamed = Object.fromEntries(
    queries.flatMap((query, index) => (query.legend ? [[valueColumn(index), query.legend]] : [])),
  );
  panel.transformations([
    ...(options.merge ? [{ id: "merge", options: {} }] : []),
    { id: "organize", options: { excludeByName: excluded, renameByName: renamed } },
  ]);
  const unitOverrides = queries.flatMap((query, index) =>
    query.unit
      ? [
          {
            matcher: { id: "byName", options: query.legend ?? valueColumn(index) },
            properties: [{ id: "unit", value: query.unit }],
          },
        ]
      : [],
  );
  if (unitOverrides.length > 0) panel.overrides(unitOverrides);
  return panel;
}

export function logs(title: string, queries: readonly Query[], options: PanelSpan = {}): LogsPanelBuilder {
  const panel = new LogsPanelBuilder()
    .title(title)
    .datasource(LOKI)
    .targets(lokiTargets(queries))
    .span(options.span ?? 24)
    .height(options.height ?? 12)
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending);
  if (options.description) panel.description(options.description);
  return panel;
}

/**
 * Grafana's alert list panel. The SDK has no builder for it, so this one writes the panel as
 * data. It shows the data source-managed rules of the Prometheus datasource (our rules live in
 * Prometheus, not in Grafana alerting).
 */
export function alertList(title: string, options: PanelSpan = {}): AnyPanelBuilder {
  return {
    build: (): Panel => ({
      type: "alertlist",
      title,
      ...(options.description ? { description: options.description } : {}),
      gridPos: { x: 0, y: 0, w: options.span ?? 12, h: options.height ?? 10 },
      options: {
        viewMode: "list",
        groupMode: "default",
        groupBy: [],
        maxItems: 50,
        sortOrder: 1,
        dashboardAlerts: false,
        alertName: "",
        alertInstanceLabelFilter: "",
        datasource: PROMETHEUS_DATASOURCE_NAME,
        showInstances: true,
        stateFilter: { firing: true, pending: true, noData: false, normal: false, error: true },
      },
      transparent: false,
      repeatDirection: "h",
    }),
  };
}

export function row(title: string): Section {
  return { row: new RowBuilder(title).collapsed(false) };
}

export function panel(builder: AnyPanelBuilder): Section {
  return { panel: builder };
}

// -- Template variables --------------------------------------------------------------------------

/** `$environment`: the stack, read from the `environment` label every scrape job sets. */
export function environmentVariable(job: string): QueryVariableBuilder {
  return new QueryVariableBuilder("environment")
    .label("Environment")
    .datasource(PROMETHEUS)
    .query(`label_values(up{job="${job}"}, environment)`)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue(ALL_VALUES)
    .current({ text: "All", value: "$__all" });
}

/** `$instance` ("Host"): the hosts the scrape job `job` has in the selected environments. */
export function hostVariable(job: string): QueryVariableBuilder {
  return labelVariable("instance", "instance", "Host", `up{job="${job}", environment=~"$environment"}`);
}

/**
 * `$instance` ("Host") picking exactly one host, for per-host detail dashboards: Grafana selects
 * the first host until one is chosen (or a link passes `var-instance`).
 */
export function singleHostVariable(job: string): QueryVariableBuilder {
  return new QueryVariableBuilder("instance")
    .label("Host")
    .datasource(PROMETHEUS)
    .query(`label_values(up{job="${job}", environment=~"$environment"}, instance)`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}

/** Label matchers for the series of scrape job `job` on the environments and hosts selected. */
export function selectedHostsOf(job: string): string {
  return `job="${job}", environment=~"$environment", instance=~"$instance"`;
}

/** A multi-value Prometheus label variable, filtered by the variables named in `selector`. */
export function labelVariable(
  name: string,
  label: string,
  title: string,
  selector: string,
): QueryVariableBuilder {
  return multiValueLabelVariable(PROMETHEUS, name, label, title, selector);
}

/** A multi-value Loki stream label variable (`label_values({selector}, label)`). */
export function lokiLabelVariable(
  name: string,
  label: string,
  title: string,
  selector: string,
): QueryVariableBuilder {
  return multiValueLabelVariable(LOKI, name, label, title, selector);
}

/** Prometheus and Loki both answer `label_values(selector, label)`; only the datasource differs. */
function multiValueLabelVariable(
  datasource: DataSourceRef,
  name: string,
  label: string,
  title: string,
  selector: string,
): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(title)
    .datasource(datasource)
    .query(`label_values(${selector}, ${label})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(ALL_VALUES)
    .current({ text: "All", value: "$__all" });
}

export function textVariable(name: string, title: string): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder(name).label(title).defaultValue("");
}

export function customVariable(
  name: string,
  title: string,
  values: readonly string[],
  allValue: string = ALL_VALUES,
): CustomVariableBuilder {
  return new CustomVariableBuilder(name)
    .label(title)
    .values(values.join(","))
    .multi(true)
    .includeAll(true)
    .allValue(allValue)
    .current({ text: "All", value: "$__all" });
}

// -- Assembly -------------------------------------------------------------------------------------

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly variables: readonly cog.Builder<
    import("@grafana/grafana-foundation-sdk/dashboard").VariableModel
  >[];
  readonly sections: readonly Section[];
}

/**
 * Every dashboard's header carries one dropdown of all provisioned dashboards (by the shared
 * tag), keeping the time range and the variables of the same name (environment, instance).
 */
function dashboardsDropdown(): DashboardLinkBuilder {
  return new DashboardLinkBuilder("Dashboards")
    .type(DashboardLinkType.Dashboards)
    .tags([DASHBOARD_TAG])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .targetBlank(false);
}

/** Builds the dashboard and numbers its panels (rows included) 1..n in layout order. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .refresh(DASHBOARD_REFRESH)
    .time({ ...DASHBOARD_TIME })
    .timezone("browser")
    .tooltip(DashboardCursorSync.Crosshair)
    // The file provider refuses UI saves anyway (allowUiUpdates: false): say so in the UI too.
    .readonly()
    .links([dashboardsDropdown()])
    .variables([...spec.variables]);
  for (const section of spec.sections) {
    if ("row" in section) builder.withRow(section.row);
    else builder.withPanel(section.panel);
  }
  const dashboard = builder.build();
  layOut(dashboard.panels ?? []);
  let nextId = 1;
  for (const item of dashboard.panels ?? []) item.id = nextId++;
  return dashboard;
}

/**
 * Places panels left to right on Grafana's 24-column grid, a panel that does not fit starting a
 * new line below the tallest of the current one, and every row on a line of its own. (The SDK's
 * own placement lets a full-width panel after a half-width one run off the grid.)
 */
function layOut(panels: NonNullable<Dashboard["panels"]>): void {
  const columns = 24;
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  const newLine = () => {
    y += lineHeight;
    x = 0;
    lineHeight = 0;
  };
  for (const item of panels) {
    const grid = item.gridPos ?? { x: 0, y: 0, w: columns, h: 8 };
    const width = Math.min(grid.w, columns);
    if (item.type === "row" || x + width > columns) newLine();
    item.gridPos = { ...grid, x, y, w: width };
    x += width;
    lineHeight = Math.max(lineHeight, grid.h);
    if (item.type === "row") newLine();
  }
}

/** Recursively sorts object keys so the bytes depend on content only, never on build order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, entry]) => entry !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, entry]) => [key, sortKeys(entry)]),
    );
  }
  return value;
}

export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(sortKeys(dashboard), null, 2)}\n`;
}
