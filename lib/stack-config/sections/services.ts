/**
 * The AWS provider, machine images, retention of metrics and logs, Grafana's address, resource
 * tags and the instance profile.
 */
import { Region } from "@pulumi/aws/types/enums";
import { SERIES_PER_HOST_ESTIMATE } from "../../catalog";
import { pathRmCommand, pathSetCommand, rmCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import { CANONICAL_OWNER_ID, DEFAULT_UBUNTU_IMAGE_NAMES } from "../settings";
import type {
  Architecture,
  AwsProviderSettings,
  GrafanaSettings,
  ImageSettings,
  ManagedPrometheusStore,
  MetricsSettings,
  NetworkSettings,
} from "../types";
import { closestName, describe, isAwsId, parsePrometheusSizeGb, TAG_CHARS, webUrlProblem } from "../values";
import { parseGrafanaExposure } from "./security";

/** Every region the AWS provider knows, from the SDK itself. */
const AWS_REGIONS: readonly string[] = Object.values(Region);

export function parseRegion(reader: SettingsReader): string | undefined {
  const region = reader.string("aws:region");
  if (region === undefined && reader.invalid("aws:region")) return undefined;
  if (region === undefined) {
    reader.report("aws:region", "is required (the AWS region to deploy into)", [setCommand("aws:region")]);
    return undefined;
  }
  if (!AWS_REGIONS.includes(region)) {
    const suggestion = closestName(region, AWS_REGIONS);
    reader.report(
      "aws:region",
      `"${region}" is not an AWS region${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      [setCommand("aws:region", suggestion)],
    );
    return undefined;
  }
  return region;
}

export function parseAwsProvider(reader: SettingsReader): AwsProviderSettings | undefined {
  const profile = reader.string("aws:profile");
  let ok = true;
  if (profile !== undefined && !/^[A-Za-z0-9_.+@-]{1,128}$/.test(profile)) {
    ok = false;
    reader.report("aws:profile", `"${profile}" is not a profile name from your AWS config files`, [
      setCommand("aws:profile"),
    ]);
  }
  const accounts = reader.list("aws:allowedAccountIds");
  accounts?.forEach((account, index) => {
    if (!/^\d{12}$/.test(account)) {
      ok = false;
      reader.report(`aws:allowedAccountIds[${index}]`, `"${account}" is not a 12-digit AWS account id`, [
        pathSetCommand(`aws:allowedAccountIds[${index}]`),
      ]);
    }
  });
  if (!ok || accounts === undefined) return undefined;
  return {
    ...(profile !== undefined ? { profile } : {}),
    ...(accounts.length > 0 ? { allowedAccountIds: accounts } : {}),
  };
}

const IMAGE_NAME_PATTERN =
  /^ubuntu\/images\/hvm-ssd(-gp3)?\/ubuntu-[a-z]+-(\d{2}\.\d{2})-(amd64|arm64)-server-(\d{8}(\.\d+)?)$/;

export function parseImages(
  reader: SettingsReader,
  architectures: ReadonlyMap<string, Architecture>,
): ImageSettings | undefined {
  let ok = true;
  const amiId = reader.string("amiId");
  if (amiId !== undefined) {
    if (!isAwsId("ami", amiId)) {
      ok = false;
      reader.report("amiId", `"${amiId}" is not an AMI id like ami-0123456789abcdef0`, [setCommand("amiId")]);
    } else if (new Set(architectures.values()).size > 1) {
      ok = false;
      const list = [...architectures].map(([host, arch]) => `${host}: ${arch}`).join(", ");
      reader.report(
        "amiId",
        `one AMI cannot serve hosts of different architectures (${list}); the pinned Ubuntu image names cover both`,
        [rmCommand("amiId")],
      );
    }
  }
  const names: Record<Architecture, string> = { ...DEFAULT_UBUNTU_IMAGE_NAMES };
  for (const [key, arch, label] of [
    ["ubuntuImageNameX86", "x86_64", "amd64"],
    ["ubuntuImageNameArm", "arm64", "arm64"],
  ] as const) {
    const name = reader.string(key);
    if (name === undefined) {
      ok = false;
      continue;
    }
    const match = IMAGE_NAME_PATTERN.exec(name);
    if (!match || match[3] !== label) {
      ok = false;
      reader.report(
        key,
        match
          ? `"${name}" is a ${match[3]} image; this setting needs ${label}`
          : `"${name}" is not an exact, dated Canonical image name like ${DEFAULT_UBUNTU_IMAGE_NAMES[arch]} (no wildcards: the image must never change under a running stack)`,
        [setCommand(key, DEFAULT_UBUNTU_IMAGE_NAMES[arch])],
      );
    } else {
      names[arch] = name;
    }
  }
  if (!ok) return undefined;
  return {
    ...(amiId !== undefined ? { amiId } : {}),
    ubuntuImageNames: names,
    ubuntuImageOwner: CANONICAL_OWNER_ID,
  };
}

/** Share of the data volume Prometheus may fill: the rest is Loki's WAL and cache, Grafana, Alertmanager. */
const PROMETHEUS_VOLUME_SHARE = 0.8;
/** Upper end of what Prometheus' TSDB stores per sample on disk (its docs: 1-2 bytes). */
const BYTES_PER_SAMPLE = 2;

/** GiB the TSDB grows to over `retentionMs` for this many hosts: an estimate for sizing, not a promise. */
function estimatedTsdbGb(hosts: number, scrapeIntervalMs: number, retentionMs: number): number {
  const samples = (retentionMs / scrapeIntervalMs) * hosts * SERIES_PER_HOST_ESTIMATE;
  return (samples * BYTES_PER_SAMPLE) / 1024 ** 3;
}

export function parseMetrics(
  reader: SettingsReader,
  dataVolumeGb: number | undefined,
  hostCount: number,
): MetricsSettings | undefined {
  const scrapeInterval = reader.duration("scrapeInterval");
  const evaluationInterval = reader.duration("evaluationInterval");
  const retentionTime = reader.duration("metricsRetention");
  const retentionSize = reader.string("metricsRetentionSize");
  const limitGb = dataVolumeGb === undefined ? undefined : Math.floor(dataVolumeGb * PROMETHEUS_VOLUME_SHARE);
  let sizeOk = true;
  if (retentionSize !== undefined) {
    const gb = parsePrometheusSizeGb(retentionSize);
    if (gb === undefined) {
      sizeOk = false;
      reader.report(
        "metricsRetentionSize",
        `"${retentionSize}" is not a Prometheus size like 40GB (units B, KB, MB, GB, TB, PB, EB)`,
        [setCommand("metricsRetentionSize", limitGb !== undefined ? `${limitGb}GB` : "40GB")],
      );
    } else if (limitGb !== undefined && gb > limitGb) {
      sizeOk = false;
      reader.report(
        "metricsRetentionSize",
        `"${retentionSize}" does not fit the ${dataVolumeGb} GiB data volume (at most ${PROMETHEUS_VOLUME_SHARE * 100}%, ${limitGb}GB; the rest holds Loki, Grafana and Alertmanager)`,
        [setCommand("metricsRetentionSize", `${limitGb}GB`)],
      );
    }
  } else if (scrapeInterval && retentionTime && limitGb !== undefined) {
    const estimate = estimatedTsdbGb(hostCount, scrapeInterval.ms, retentionTime.ms);
    if (estimate > limitGb) {
      sizeOk = false;
      reader.report(
        "metricsRetentionSize",
        `is unset while ${retentionTime.text} of metrics from ${hostCount} hosts needs about ${Math.ceil(estimate)} GiB (${SERIES_PER_HOST_ESTIMATE} series per host, one sample per ${scrapeInterval.text}), more than the ${limitGb} GiB the ${dataVolumeGb} GiB data volume leaves for Prometheus: a full disk stops Prometheus; bound the size (oldest data goes first), shorten metricsRetention or grow monitorDataVolumeGb`,
        [setCommand("metricsRetentionSize", `${limitGb}GB`)],
      );
    }
  }
  const managedStore = parseManagedStore(reader);
  if (!scrapeInterval || !evaluationInterval || !retentionTime || !sizeOk || managedStore === false) {
    return undefined;
  }
  return {
    scrapeInterval: scrapeInterval.text,
    evaluationInterval: evaluationInterval.text,
    retentionTime: retentionTime.text,
    ...(retentionSize !== undefined ? { retentionSize } : {}),
    ...(managedStore !== undefined ? { managedStore } : {}),
  };
}

/** An Amazon Managed Service for Prometheus workspace id: `ws-` and a lowercase UUID. */
const WORKSPACE_ID = /^ws-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The managed store to write to; undefined when off, false when the settings are wrong. */
function parseManagedStore(reader: SettingsReader): ManagedPrometheusStore | undefined | false {
  const store = managedStoreSettings(reader);
  if (store && reader.raw("instanceProfileName") !== undefined) {
    reader.warn(
      "managedPrometheus",
      "instanceProfileName is set, so this stack creates no IAM role: grant that profile's role aps:RemoteWrite, aps:QueryMetrics, aps:GetSeries, aps:GetLabels and aps:GetMetricMetadata on the workspace yourself",
    );
  }
  return store;
}

function managedStoreSettings(reader: SettingsReader): ManagedPrometheusStore | undefined | false {
  const mode = reader.choice("managedPrometheus");
  const workspaceId = reader.string("managedPrometheusWorkspaceId");
  if (mode === undefined) return reader.invalid("managedPrometheus") ? false : undefined;
  if (mode !== "existing") {
    if (workspaceId === undefined) return mode === "create" ? { mode } : undefined;
    reader.report(
      "managedPrometheusWorkspaceId",
      `is set while managedPrometheus is "${mode}", which ignores it: remove it, or write to that workspace`,
      [rmCommand("managedPrometheusWorkspaceId")],
    );
    return false;
  }
  if (workspaceId === undefined) {
    if (!reader.invalid("managedPrometheusWorkspaceId")) {
      reader.report("managedPrometheusWorkspaceId", `is required when managedPrometheus is "existing"`, [
        setCommand("managedPrometheusWorkspaceId"),
      ]);
    }
    return false;
  }
  if (!WORKSPACE_ID.test(workspaceId)) {
    reader.report(
      "managedPrometheusWorkspaceId",
      `"${workspaceId}" is not a workspace id (ws- and a lowercase UUID, as \`aws amp list-workspaces\` prints it)`,
      [setCommand("managedPrometheusWorkspaceId")],
    );
    return false;
  }
  return { mode, workspaceId };
}

export function parseGrafana(
  reader: SettingsReader,
  network: NetworkSettings | undefined,
): GrafanaSettings | undefined {
  const exposure = parseGrafanaExposure(reader, network);
  const rootUrl = reader.string("grafanaRootUrl");
  const problem = rootUrl === undefined ? undefined : webUrlProblem(rootUrl, ["http:", "https:"]);
  if (problem !== undefined) {
    reader.report("grafanaRootUrl", `"${rootUrl}" ${problem}`, [setCommand("grafanaRootUrl")]);
    return undefined;
  }
  if (!exposure) return undefined;
  return rootUrl === undefined ? { exposure } : { rootUrl, exposure };
}

export function parseInstanceProfile(reader: SettingsReader): { ok: boolean; name?: string } {
  const name = reader.string("instanceProfileName");
  if (name === undefined) return { ok: true };
  if (!/^[\w+=,.@-]{1,128}$/.test(name)) {
    reader.report(
      "instanceProfileName",
      `"${name}" is not an IAM instance profile name (1-128 of letters, digits, + = , . @ _ -)`,
      [setCommand("instanceProfileName")],
    );
    return { ok: false };
  }
  return { ok: true, name };
}

/** Tags the product sets itself; extra tags may not override them. */
const RESERVED_TAG_KEYS = ["Name", "Environment", "Scrape", "Exporters", "ManagedBy"] as const;
const AWS_TAGS_PER_RESOURCE = 50;

/** Pulumi's --path syntax needs the bracket form for keys with dots, colons or spaces. */
function tagPath(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `tags.${key}` : `tags[${JSON.stringify(key)}]`;
}

export function parseTags(reader: SettingsReader): Record<string, string> | undefined {
  const raw = reader.raw("tags") === undefined ? {} : reader.structured("tags", "object");
  if (raw === undefined) return undefined;
  const entries = Object.entries(raw as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  let ok = true;
  const limit = AWS_TAGS_PER_RESOURCE - RESERVED_TAG_KEYS.length;
  if (entries.length > limit) {
    ok = false;
    reader.report(
      "tags",
      `has ${entries.length} tags; AWS allows ${AWS_TAGS_PER_RESOURCE} per resource and the product uses ${RESERVED_TAG_KEYS.length}, so at most ${limit}`,
      entries.slice(limit).map(([key]) => pathRmCommand(tagPath(key))),
    );
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of entries) {
    const path = tagPath(key);
    const reserved = RESERVED_TAG_KEYS.find((r) => r.toLowerCase() === key.toLowerCase());
    const keyProblem = reserved
      ? `"${key}" is set by the product itself (${RESERVED_TAG_KEYS.join(", ")}) and cannot be overridden`
      : key.length < 1 || key.length > 128 || !TAG_CHARS.test(key) || key.trim() !== key
        ? `tag key "${key}" must be 1-128 letters, digits, spaces or _ . : / = + - @`
        : key.toLowerCase().startsWith("aws:")
          ? `tag key "${key}" uses the reserved aws: prefix`
          : undefined;
    if (keyProblem !== undefined) {
      ok = false;
      reader.report(path, keyProblem, [pathRmCommand(path)]);
      continue;
    }
    const text =
      typeof value === "string"
        ? value
        : typeof value === "number" || typeof value === "boolean"
          ? String(value)
          : undefined;
    if (text === undefined || text.length > 256 || !TAG_CHARS.test(text)) {
      ok = false;
      reader.report(
        path,
        `tag value ${describe(value)} must be a string of at most 256 letters, digits, spaces or _ . : / = + - @`,
        [pathSetCommand(path)],
      );
      continue;
    }
    tags[key] = text;
  }
  return ok ? tags : undefined;
}
