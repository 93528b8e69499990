/**
 * SLOs, uptime probes and traces: all off unless a stack sets them. Each bad field is reported with
 * its path (`slos[0].objective`) and a fix line; an SLO that names a probe must name one that exists.
 */
import { LONGEST_BURN_WINDOW } from "../../burn-rates";
import { pathRmCommand, pathSetCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import {
  DEFAULT_PROBE_STATUS,
  DEFAULT_SLO_WINDOW,
  MAX_PROBES,
  MAX_SLO_WINDOW,
  MAX_SLOS,
  PROBE_FIELDS,
  SLI_WINDOW_PLACEHOLDER,
  SLO_FIELDS,
} from "../reliability-fields";
import type { ProbeSettings, ProbeTarget, SliSettings, SloSettings, TraceSettings } from "../types";
import { DNS_NAME_PATTERN, describe, isPlainObject, parsePrometheusDuration, webUrlProblem } from "../values";

/** An SLO's or probe's name: it becomes a label value and part of a URL. */
const RECORD_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

const WINDOW_IN_RANGE = `[${SLI_WINDOW_PLACEHOLDER}]`;

/** The list's items that are maps; every other item is reported. */
function recordList(reader: SettingsReader, key: string, max: number): Record<string, unknown>[] | undefined {
  if (reader.raw(key) === undefined) return reader.invalid(key) ? undefined : [];
  const value = reader.structured(key, "array", "name");
  if (value === undefined) return undefined;
  const items = value as unknown[];
  let ok = true;
  if (items.length > max) {
    ok = false;
    reader.report(key, `lists ${items.length} entries; at most ${max} are supported`, [
      pathRmCommand(`${key}[${items.length - 1}]`),
    ]);
  }
  items.forEach((item, index) => {
    if (!isPlainObject(item)) {
      ok = false;
      reader.report(`${key}[${index}]`, `must be a map of fields, got ${describe(item)}`, [
        pathRmCommand(`${key}[${index}]`),
      ]);
    }
  });
  return ok ? (items as Record<string, unknown>[]) : undefined;
}

function recordName(
  reader: SettingsReader,
  path: string,
  value: unknown,
  seen: Set<string>,
): string | undefined {
  if (typeof value !== "string" || !RECORD_NAME_PATTERN.test(value)) {
    reader.report(
      `${path}.name`,
      `must be 1-40 lowercase letters, digits or hyphens (not starting or ending with one), got ${describe(value)}`,
      [pathSetCommand(`${path}.name`)],
    );
    return undefined;
  }
  if (seen.has(value)) {
    reader.report(`${path}.name`, `"${value}" is used twice; names must be unique`, [
      pathSetCommand(`${path}.name`),
    ]);
    return undefined;
  }
  seen.add(value);
  return value;
}

function numberOf(value: unknown): number | undefined {
  const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof parsed === "number" && Number.isFinite(parsed) ? parsed : undefined;
}

function parseObjective(reader: SettingsReader, path: string, value: unknown): number | undefined {
  const objective = numberOf(value);
  const field = `${path}.objective`;
  if (objective === undefined) {
    reader.report(field, `must be a percentage such as 99.9, got ${describe(value)}`, [
      pathSetCommand(field, "99.9"),
    ]);
    return undefined;
  }
  if (objective >= 100) {
    reader.report(
      field,
      `${objective} leaves no error budget: every failed request would burn it at an infinite rate and page; promise less than 100`,
      [pathSetCommand(field, "99.9")],
    );
    return undefined;
  }
  if (objective <= 0) {
    reader.report(field, `${objective} promises nothing: an objective must be above 0 (e.g. 99.9)`, [
      pathSetCommand(field, "99.9"),
    ]);
    return undefined;
  }
  if (objective < 1) {
    reader.report(
      field,
      `${objective} looks like a fraction; objectives are percentages (${objective} means ${objective}%, not ${objective * 100}%)`,
      [pathSetCommand(field, String(Math.round(objective * 100_000) / 1000))],
    );
    return undefined;
  }
  return objective;
}

function parseWindow(reader: SettingsReader, path: string, value: unknown): string | undefined {
  if (value === undefined) return DEFAULT_SLO_WINDOW;
  const field = `${path}.window`;
  const ms = typeof value === "string" ? parsePrometheusDuration(value) : undefined;
  if (ms === undefined) {
    reader.report(field, `must be a Prometheus duration like ${DEFAULT_SLO_WINDOW}, got ${describe(value)}`, [
      pathSetCommand(field, DEFAULT_SLO_WINDOW),
    ]);
    return undefined;
  }
  const min = parsePrometheusDuration(LONGEST_BURN_WINDOW) as number;
  const max = parsePrometheusDuration(MAX_SLO_WINDOW) as number;
  if (ms < min) {
    reader.report(
      field,
      `"${value}" is shorter than ${LONGEST_BURN_WINDOW}, the long window of the slow-burn ticket alert (1x over ${LONGEST_BURN_WINDOW}): the alert could not see a whole budget burn`,
      [pathSetCommand(field, DEFAULT_SLO_WINDOW)],
    );
    return undefined;
  }
  if (ms > max) {
    reader.report(field, `"${value}" is longer than ${MAX_SLO_WINDOW}; Prometheus rarely keeps that much`, [
      pathSetCommand(field, MAX_SLO_WINDOW),
    ]);
    return undefined;
  }
  return value as string;
}

function parseQuery(reader: SettingsReader, field: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value.trim() === "") {
    reader.report(field, `must be a PromQL expression, got ${describe(value)}`, [pathSetCommand(field)]);
    return undefined;
  }
  if (!value.includes(WINDOW_IN_RANGE)) {
    reader.report(
      field,
      `must contain ${WINDOW_IN_RANGE} where the range goes (e.g. rate(x_total[${SLI_WINDOW_PLACEHOLDER}])): the rules evaluate it over each alert window`,
      [pathSetCommand(field)],
    );
    return undefined;
  }
  return value.trim();
}

function parseSli(
  reader: SettingsReader,
  path: string,
  item: Record<string, unknown>,
  probeNames: ReadonlySet<string> | undefined,
): SliSettings | undefined {
  const hasRatio = item.good !== undefined || item.total !== undefined;
  const hasProbe = item.probe !== undefined;
  if (hasRatio === hasProbe) {
    reader.report(
      path,
      hasRatio
        ? "sets both good/total and probe; an SLO has one SLI"
        : "has no SLI: set good and total (PromQL), or probe (an uptime probe's name)",
      [hasRatio ? pathRmCommand(`${path}.probe`) : pathSetCommand(`${path}.probe`)],
    );
    return undefined;
  }
  if (hasProbe) {
    const probe = item.probe;
    if (typeof probe !== "string" || (probeNames !== undefined && !probeNames.has(probe))) {
      const known = probeNames ? [...probeNames].join(", ") || "none" : "unknown";
      reader.report(`${path}.probe`, `${describe(probe)} is not a probe of this stack (probes: ${known})`, [
        pathSetCommand(`${path}.probe`),
      ]);
      return undefined;
    }
    return { kind: "probe", probe };
  }
  const good = parseQuery(reader, `${path}.good`, item.good);
  const total = parseQuery(reader, `${path}.total`, item.total);
  return good !== undefined && total !== undefined ? { kind: "ratio", good, total } : undefined;
}

/**
 * @param retention Prometheus' metricsRetention: an SLO window longer than it works, but its
 *   budget then covers only what is retained (a warning, with the fix).
 */
export function parseSlos(
  reader: SettingsReader,
  probeNames: ReadonlySet<string> | undefined,
  retention?: string,
): SloSettings[] | undefined {
  const items = recordList(reader, "slos", MAX_SLOS);
  if (items === undefined) return undefined;
  const slos: SloSettings[] = [];
  const seen = new Set<string>();
  let ok = true;
  reader.eachLastFirst(items, (item, index) => {
    const path = `slos[${index}]`;
    if (
      !reader.unknownFields(
        path,
        item,
        SLO_FIELDS.map((field) => field.key),
      )
    ) {
      ok = false;
      return;
    }
    const name = recordName(reader, path, item.name, seen);
    const objective = parseObjective(reader, path, item.objective);
    const window = parseWindow(reader, path, item.window);
    const sli = parseSli(reader, path, item, probeNames);
    if (name === undefined || objective === undefined || window === undefined || sli === undefined) {
      ok = false;
      return;
    }
    const retentionMs = retention === undefined ? undefined : parsePrometheusDuration(retention);
    const windowMs = parsePrometheusDuration(window) as number;
    if (retentionMs !== undefined && windowMs > retentionMs) {
      reader.warn(
        `${path}.window`,
        `${window} is longer than metricsRetention (${retention}): Prometheus drops older samples, so the error budget covers only the last ${retention}`,
        [setCommand("metricsRetention", window)],
      );
    }
    slos.push({ name, objective, window, sli });
  });
  return ok ? slos : undefined;
}

function parseStatuses(reader: SettingsReader, field: string, value: unknown): number[] | undefined {
  if (value === undefined) return [DEFAULT_PROBE_STATUS];
  const list = Array.isArray(value) ? value : [value];
  const statuses = list.map(numberOf);
  if (
    list.length === 0 ||
    statuses.some(
      (status) => status === undefined || !Number.isInteger(status) || status < 100 || status > 599,
    )
  ) {
    reader.report(field, `must list HTTP status codes from 100 to 599, got ${describe(value)}`, [
      pathSetCommand(`${field}[0]`, String(DEFAULT_PROBE_STATUS)),
    ]);
    return undefined;
  }
  return statuses as number[];
}

function parseProbe(reader: SettingsReader, path: string, item: Record<string, unknown>, name: string) {
  const hasUrl = item.url !== undefined;
  if (hasUrl === (item.tcp !== undefined)) {
    reader.report(path, hasUrl ? "sets both url and tcp; a probe checks one" : "needs url or tcp", [
      hasUrl ? pathRmCommand(`${path}.tcp`) : pathSetCommand(`${path}.url`),
    ]);
    return undefined;
  }
  if (!hasUrl) {
    const address = typeof item.tcp === "string" ? item.tcp.trim() : "";
    const match = /^(.+):(\d{1,5})$/.exec(address);
    const port = match ? Number(match[2]) : 0;
    if (!match || !DNS_NAME_PATTERN.test(match[1] as string) || port < 1 || port > 65535) {
      reader.report(`${path}.tcp`, `must be host:port, got ${describe(item.tcp)}`, [
        pathSetCommand(`${path}.tcp`),
      ]);
      return undefined;
    }
    for (const field of ["expectStatus", "bodyMatch"]) {
      if (item[field] !== undefined) {
        reader.report(`${path}.${field}`, "applies to url probes only", [pathRmCommand(`${path}.${field}`)]);
        return undefined;
      }
    }
    return { name, kind: "tcp", address } satisfies ProbeTarget;
  }
  const url = typeof item.url === "string" ? item.url.trim() : "";
  const problem = webUrlProblem(url, ["http:", "https:"]);
  if (problem !== undefined && !(problem === "has a query or fragment" && !url.includes("#"))) {
    reader.report(`${path}.url`, `${describe(item.url)} ${problem}`, [pathSetCommand(`${path}.url`)]);
    return undefined;
  }
  const expectStatus = parseStatuses(reader, `${path}.expectStatus`, item.expectStatus);
  let bodyMatch: string | undefined;
  if (item.bodyMatch !== undefined) {
    let valid = typeof item.bodyMatch === "string" && item.bodyMatch !== "";
    try {
      if (valid) new RegExp(item.bodyMatch as string);
    } catch {
      valid = false;
    }
    if (!valid) {
      reader.report(`${path}.bodyMatch`, `must be a regular expression, got ${describe(item.bodyMatch)}`, [
        pathSetCommand(`${path}.bodyMatch`),
      ]);
      return undefined;
    }
    bodyMatch = item.bodyMatch as string;
  }
  if (expectStatus === undefined) return undefined;
  return {
    name,
    kind: "http",
    url,
    expectStatus,
    ...(bodyMatch !== undefined ? { bodyMatch } : {}),
  } satisfies ProbeTarget;
}

export function parseProbes(reader: SettingsReader): ProbeSettings | undefined {
  const certExpiryDays = reader.integer("probeCertExpiryDays");
  const items = recordList(reader, "probes", MAX_PROBES);
  if (items === undefined || certExpiryDays === undefined) return undefined;
  const targets: ProbeTarget[] = [];
  const seen = new Set<string>();
  let ok = true;
  reader.eachLastFirst(items, (item, index) => {
    const path = `probes[${index}]`;
    if (
      !reader.unknownFields(
        path,
        item,
        PROBE_FIELDS.map((field) => field.key),
      )
    ) {
      ok = false;
      return;
    }
    const name = recordName(reader, path, item.name, seen);
    const probe = name === undefined ? undefined : parseProbe(reader, path, item, name);
    if (probe === undefined) {
      ok = false;
      return;
    }
    targets.push(probe);
  });
  return ok ? { targets, certExpiryDays } : undefined;
}

/** Undefined `traces` with ok: tracing is off. */
export function parseTraces(reader: SettingsReader): { ok: boolean; traces?: TraceSettings } {
  const on = reader.boolean("traces");
  const retention = reader.duration("traceRetention");
  if (on === undefined || retention === undefined) return { ok: false };
  return on ? { ok: true, traces: { retention: retention.text } } : { ok: true };
}
