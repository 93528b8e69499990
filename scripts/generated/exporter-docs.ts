/**
 * The docs that follow from the optional exporters' records: their rows in the tables of
 * docs/exporters.md, docs/clients.md, docs/dashboards.md and docs/render.md (blocks between
 * `<!-- exporters:<name>:start ... -->` and `<!-- exporters:<name>:end -->`), and the runbook of
 * each exporter alert (runbooks/<Alert>.md). Rows are read from what the program renders (the
 * compose services, the dashboards) where it can be, from the records' docs facets otherwise.
 * The dashboards are rendered for a stack in which some host enables every exporter.
 */
import type { Panel, RowPanel } from "@grafana/grafana-foundation-sdk/dashboard";
import {
  type ContainerExporter,
  exporterService,
  runsContainer,
} from "../../configs/agents/optional-exporters";
import { buildDashboards } from "../../configs/dashboards";
import { EXPORTERS, type ExporterRecord, exporterCredentialFiles } from "../../configs/exporters";
import type { StackConfig } from "../../lib/stack-config";

/** A generated block of a docs file. */
interface DocBlock {
  /** Relative to the repository root. */
  readonly file: string;
  readonly name: string;
  readonly lines: readonly string[];
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (row: readonly string[]) => `| ${row.map(cell).join(" | ")} |`;
  return [line(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(line)];
}

const code = (text: string) => `\`${text}\``;

/** The gauge an alert and the docs name: an exporter's own, or the target's `up` for a self-served service. */
function upSignal(record: ExporterRecord): string {
  return record.upMetric === "up" ? `up{job="${record.name}"}` : record.upMetric;
}

function port(record: ExporterRecord): string {
  return record.docs.portNote ? `${record.port} (${record.docs.portNote})` : String(record.port);
}

type Dashboards = ReturnType<typeof buildDashboards>;

/** The stack with one more host outside AWS that enables every exporter. */
function withEveryExporter(config: StackConfig): StackConfig {
  const host = { name: "every-exporter", address: "198.51.100.7", sshUser: "ops" };
  const exporters = EXPORTERS.map((record) => record.name);
  return {
    ...config,
    externalHosts: [...config.externalHosts, { ...host, exporters, exporterSettings: {} }],
  };
}

function dashboardFile(record: ExporterRecord): string {
  return `exporter-${record.name}.json`;
}

function overviewTable(dashboards: Dashboards): string[] {
  return table(
    ["Exporter", "Service", "Metrics from", "Port", "Alerts", "Dashboard"],
    EXPORTERS.map((record) => [
      code(record.name),
      record.title,
      record.docs.source,
      port(record),
      record.alerts.map((alert) => `[${alert.rule.name}](../runbooks/${alert.rule.name}.md)`).join(", "),
      `${code(dashboardFile(record))} (${code(dashboards[dashboardFile(record)]?.uid ?? "")})`,
    ]),
  );
}

function servicesTable(): string[] {
  return table(
    ["Exporter", "Port", "The service needs", "Up metric (alert)"],
    EXPORTERS.map((record) => [record.name, port(record), record.docs.serviceNeeds, code(upSignal(record))]),
  );
}

/** How the container finds a compose secret: the variable or flag that holds its path. */
function secretReaders(record: ContainerExporter, secretName: string): string[] {
  const service = exporterService(record, { hostSettings: {} });
  const path = `/run/secrets/${secretName}`;
  return [
    ...Object.entries(service.environment ?? {})
      .filter(([, value]) => value === path)
      .map(([name]) => code(name)),
    ...(service.command ?? [])
      .filter((arg) => arg.endsWith(`=${path}`))
      .map((arg) => code(arg.split("=")[0] ?? "")),
  ];
}

function credentialsTable(): string[] {
  const rows = EXPORTERS.filter(runsContainer).flatMap((record) => {
    const files = exporterCredentialFiles(record);
    if (files.length === 0) return [];
    const unique = (values: string[]) => [...new Set(values)];
    const owners = unique(
      files.map((file) => `${file.ownerUid === 0 ? "root" : `uid ${file.ownerUid}`}, ${file.mode}`),
    );
    const secretFiles = files.filter((file) => file.delivery === "compose-secret");
    const reads = [
      ...(secretFiles.length > 0
        ? [`compose secret -> ${secretFiles.flatMap((file) => secretReaders(record, file.name)).join(", ")}`]
        : []),
      ...(files.some((file) => file.delivery === "env-file") ? ["compose `env_file`"] : []),
    ];
    return [
      [
        record.name,
        files.map((file) => code(file.path)).join(", "),
        owners.join("; "),
        files.map((file) => file.format).join("; "),
        reads.join("; "),
      ],
    ];
  });
  return table(["Exporter", "File", "Owner, mode", "Contents", "How the exporter reads it"], rows);
}

function dashboardsTable(dashboards: Dashboards): string[] {
  return table(
    ["File", "uid", "Title", "Answers", "Source"],
    EXPORTERS.map((record) => {
      const dashboard = dashboards[dashboardFile(record)];
      return [
        code(dashboardFile(record)),
        code(dashboard?.uid ?? ""),
        dashboard?.title ?? "",
        record.dashboard.answers,
        record.docs.source,
      ];
    }),
  );
}

function panelsTable(dashboards: Dashboards): string[] {
  const rows = EXPORTERS.flatMap((record) => {
    const panels = ((dashboards[dashboardFile(record)]?.panels ?? []) as (Panel | RowPanel)[]).filter(
      (panel): panel is Panel => panel.type !== "row",
    );
    const questions = new Map(
      record.dashboard.panels("").map((keySeries) => [keySeries.title, keySeries.question]),
    );
    return panels.map((panel) => {
      // The status panel comes first; every other panel is one of the record's key series.
      const question =
        panel.type === "stat" ? record.dashboard.statusQuestion : questions.get(panel.title ?? "");
      return [panel.title ?? "", `${record.title}: ${question ?? ""}`];
    });
  });
  return table(["Panel", "Question it answers"], rows);
}

function imagesTable(): string[] {
  return table(
    ["Exporter", "Image", "Checked against"],
    EXPORTERS.filter(runsContainer).map((record) => [
      `${record.title} exporter`,
      code(record.container.image),
      record.container.imageCheckedAgainst,
    ]),
  );
}

/** Every generated block, by file; the dashboards' uids and panels as rendered for `config`. */
export function exporterDocBlocks(config: StackConfig): DocBlock[] {
  const dashboards = buildDashboards(withEveryExporter(config));
  return [
    { file: "docs/exporters.md", name: "overview", lines: overviewTable(dashboards) },
    { file: "docs/clients.md", name: "services", lines: servicesTable() },
    { file: "docs/clients.md", name: "credentials", lines: credentialsTable() },
    { file: "docs/dashboards.md", name: "dashboards", lines: dashboardsTable(dashboards) },
    { file: "docs/dashboards.md", name: "panels", lines: panelsTable(dashboards) },
    { file: "docs/render.md", name: "images", lines: imagesTable() },
  ];
}

/** runbooks/<Alert>.md of every exporter alert, by path relative to the repository root. */
export function exporterRunbooks(): Record<string, string> {
  return Object.fromEntries(
    EXPORTERS.flatMap((record) => record.alerts).map((alert) => [
      `runbooks/${alert.rule.name}.md`,
      alert.runbook,
    ]),
  );
}

const START = (name: string) =>
  `<!-- exporters:${name}:start (generated from configs/exporters by npm run generate) -->`;
const END = (name: string) => `<!-- exporters:${name}:end -->`;

/**
 * The text with the block's lines between its markers, indented as the start marker is (blocks
 * inside list items); undefined when the markers are missing or out of order.
 */
export function withBlock(text: string, block: DocBlock): string | undefined {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.trim() === START(block.name));
  const end = lines.findIndex((line) => line.trim() === END(block.name));
  if (start < 0 || end < start) return undefined;
  const indent = (lines[start] ?? "").slice(0, (lines[start] ?? "").indexOf("<"));
  return [
    ...lines.slice(0, start + 1),
    ...block.lines.map((line) => `${indent}${line}`),
    ...lines.slice(end),
  ].join("\n");
}

/** The marker lines a docs file needs around a block, for the failure message. */
export function blockMarkers(block: DocBlock): string {
  return `${START(block.name)} ... ${END(block.name)}`;
}
