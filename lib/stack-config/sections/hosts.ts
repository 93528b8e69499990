/**
 * The hosts: the monitor, the EC2 clients this stack creates, and hosts outside AWS, each with
 * the optional exporters it runs and their per-host settings.
 */
import { PRODUCTION_SNAPSHOT_RETAIN_COUNT, RESERVED_HOST_NAMES } from "../../catalog";
import { cidrContains, formatIpv4, type Ipv4Cidr, parseCidr, parseIpv4 } from "../../cidr";
import type { ExporterSettingsSpec } from "../exporter-settings";
import { CLIENT_FIELDS, EXTERNAL_HOST_FIELDS, type FieldSpec } from "../fields";
import { type ConfigCommand, pathRmCommand, pathSetCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import { DEFAULT_CLIENT_NAME, MAX_CLIENTS, MAX_EXTERNAL_HOSTS, MAX_SNAPSHOT_RETAIN_COUNT } from "../settings";
import type { ClientHost, ExternalHost, InstanceSettings, MonitorSettings, ScrapedHost } from "../types";
import {
  closestName,
  DNS_NAME_PATTERN,
  describe,
  HOST_NAME_PATTERN,
  isAwsId,
  isPlainObject,
  LINUX_USER_PATTERN,
  parseInstanceType,
  sizeRank,
  sshPublicKeyProblem,
  suggestedHostName,
} from "../values";

function parseInstance(
  reader: SettingsReader,
  setting: string,
  instanceType: string,
  fix: (value: string) => ConfigCommand,
): InstanceSettings | undefined {
  const parsed = parseInstanceType(instanceType);
  if (typeof parsed === "string") {
    reader.report(setting, parsed, [fix(setting === "monitorInstanceType" ? "t3.medium" : "t3.small")]);
    return undefined;
  }
  return { instanceType, architecture: parsed.architecture };
}

export function parseMonitor(reader: SettingsReader, production: boolean): MonitorSettings | undefined {
  const instanceType = reader.string("monitorInstanceType");
  let instance =
    instanceType === undefined
      ? undefined
      : parseInstance(reader, "monitorInstanceType", instanceType, (value) =>
          setCommand("monitorInstanceType", value),
        );
  const info = instanceType === undefined ? undefined : parseInstanceType(instanceType);
  if (instance && typeof info === "object" && sizeRank(info.size) < sizeRank("medium")) {
    instance = undefined;
    reader.report(
      "monitorInstanceType",
      `"${instanceType}" is too small for Prometheus, Loki, Grafana and Alertmanager together (medium or larger)`,
      [setCommand("monitorInstanceType", `${info.family}.medium`)],
    );
  }
  const rootVolumeGb = reader.integer("monitorRootVolumeGb");
  const dataVolumeGb = reader.integer("monitorDataVolumeGb");
  const snapshotRetainCount = parseSnapshotRetainCount(reader, production);
  const restoreSnapshotId = reader.string("dataVolumeSnapshotId");
  let restoreOk = true;
  if (restoreSnapshotId !== undefined && !isAwsId("snap", restoreSnapshotId)) {
    restoreOk = false;
    reader.report(
      "dataVolumeSnapshotId",
      `"${restoreSnapshotId}" is not an EBS snapshot id (snap- and 8 or 17 hex digits)`,
      [setCommand("dataVolumeSnapshotId")],
    );
  }
  if (!instance || rootVolumeGb === undefined || dataVolumeGb === undefined) return undefined;
  if (snapshotRetainCount === undefined || !restoreOk) return undefined;
  return {
    ...instance,
    rootVolumeGb,
    dataVolumeGb,
    snapshotRetainCount,
    ...(restoreSnapshotId !== undefined ? { restoreSnapshotId } : {}),
  };
}

/** Snapshots to keep: unset means the production default (or none); else a whole number in range. */
function parseSnapshotRetainCount(reader: SettingsReader, production: boolean): number | undefined {
  const text = reader.string("dataSnapshotRetainCount");
  if (text === undefined) return production ? PRODUCTION_SNAPSHOT_RETAIN_COUNT : 0;
  const count = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isInteger(count) && count <= MAX_SNAPSHOT_RETAIN_COUNT) return count;
  reader.report(
    "dataSnapshotRetainCount",
    `must be a whole number from 0 (no snapshots) to ${MAX_SNAPSHOT_RETAIN_COUNT}, got ${describe(text)}`,
    [setCommand("dataSnapshotRetainCount", String(PRODUCTION_SNAPSHOT_RETAIN_COUNT))],
  );
  return undefined;
}

/** The exporters a host lists, each known and at most once; undefined when wrong (reported). */
function parseExporterList(
  reader: SettingsReader,
  path: string,
  value: unknown,
  exporters: readonly ExporterSettingsSpec[],
): string[] | undefined {
  if (value === undefined || value === null) return [];
  const names = exporters.map((exporter) => exporter.name);
  let list = value;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      list = [list];
    }
  }
  if (!Array.isArray(list)) {
    reader.report(path, `must be a list of exporters (${names.join(", ")}), got ${describe(value)}`, [
      pathRmCommand(path),
    ]);
    return undefined;
  }
  const listed: string[] = [];
  let ok = true;
  const items: unknown[] = list;
  reader.eachLastFirst(items, (item, index) => {
    const itemPath = `${path}[${index}]`;
    if (typeof item !== "string" || !names.includes(item)) {
      ok = false;
      const suggestion = typeof item === "string" ? closestName(item, names) : undefined;
      reader.report(
        itemPath,
        `${describe(item)} is not an optional exporter${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; choose from ${names.join(", ")}`,
        suggestion ? [pathSetCommand(itemPath, suggestion)] : [pathRmCommand(itemPath)],
      );
    } else if (listed.includes(item)) {
      ok = false;
      reader.report(itemPath, `lists "${item}" twice`, [pathRmCommand(itemPath)]);
    } else {
      listed.push(item);
    }
  });
  return ok ? listed : undefined;
}

/** The per-host settings of the host's exporters, defaults filled in; undefined when one is wrong. */
function parseExporterFields(
  reader: SettingsReader,
  path: string,
  item: Readonly<Record<string, unknown>>,
  enabled: readonly string[],
  exporters: readonly ExporterSettingsSpec[],
): Record<string, string> | undefined {
  const settings: Record<string, string> = {};
  let ok = true;
  for (const exporter of exporters) {
    for (const field of exporter.hostFields ?? []) {
      const fieldPath = `${path}.${field.key}`;
      const value = item[field.key];
      if (!enabled.includes(exporter.name)) {
        if (value !== undefined) {
          ok = false;
          reader.report(
            fieldPath,
            `is a setting of the ${exporter.name} exporter, which this host does not enable (add ${exporter.name} to its exporters, or remove the field)`,
            [pathRmCommand(fieldPath)],
          );
        }
        continue;
      }
      if (value === undefined || value === null || value === "") {
        settings[field.key] = field.default;
        continue;
      }
      const problem =
        typeof value === "string" ? field.problem(value.trim()) : `must be a string, got ${describe(value)}`;
      if (problem !== undefined) {
        ok = false;
        reader.report(fieldPath, problem, [pathSetCommand(fieldPath, field.default)]);
        continue;
      }
      settings[field.key] = (value as string).trim();
    }
  }
  return ok ? settings : undefined;
}

/** Host names already taken, with where, for a clear "used twice" message. */
type SeenNames = Map<string, string>;

function checkHostName(
  reader: SettingsReader,
  path: string,
  name: unknown,
  seen: SeenNames,
): string | undefined {
  const field = `${path}.name`;
  if (name === undefined || name === null || name === "") {
    reader.report(field, "is required (a host name like web-1)", [pathSetCommand(field)]);
    return undefined;
  }
  const text = typeof name === "string" ? name : typeof name === "number" ? String(name) : undefined;
  if (text === undefined || typeof name !== "string" || !HOST_NAME_PATTERN.test(text)) {
    const suggestion = text === undefined ? undefined : suggestedHostName(text);
    reader.report(
      field,
      `${describe(name)} must be a string of 1-32 lowercase letters, digits or hyphens, starting and ending with a letter or digit`,
      [pathSetCommand(field, suggestion)],
    );
    return undefined;
  }
  const reserved = RESERVED_HOST_NAMES[text];
  if (reserved !== undefined) {
    reader.report(field, `"${text}" is reserved: ${reserved}`, [pathSetCommand(field, `${text}-1`)]);
    return undefined;
  }
  const previous = seen.get(text);
  if (previous !== undefined) {
    reader.report(
      field,
      `"${text}" is already used by ${previous}; host names must be unique across clients and externalHosts`,
      [pathSetCommand(field, `${text}-2`)],
    );
    return undefined;
  }
  seen.set(text, path);
  return text;
}

/** The host entries of a hosts setting: [] when unset or explicitly empty; undefined when not a list. */
function hostEntries(
  reader: SettingsReader,
  key: string,
  max: number,
  whenUnset: unknown[],
): unknown[] | undefined {
  if (!reader.has(key)) return whenUnset;
  if (reader.raw(key) === undefined) return [];
  const raw = reader.structured(key, "array", "name");
  if (raw === undefined) return undefined;
  const items = raw as unknown[];
  if (items.length > max) {
    reader.report(
      key,
      `lists ${items.length} hosts; at most ${max} are supported (remove the last ${items.length - max})`,
      Array.from({ length: items.length - max }, (_, index) =>
        pathRmCommand(`${key}[${items.length - 1 - index}]`),
      ),
    );
    return undefined;
  }
  return items;
}

function fieldKeys(fields: readonly FieldSpec[], exporters: readonly ExporterSettingsSpec[]): string[] {
  return [
    ...fields.map((field) => field.key),
    ...exporters.flatMap((exporter) => (exporter.hostFields ?? []).map((field) => field.key)),
  ];
}

/** Name, exporters and exporter settings of one host entry; undefined when any is wrong. */
function parseScrapedHost(
  reader: SettingsReader,
  path: string,
  item: Readonly<Record<string, unknown>>,
  exporters: readonly ExporterSettingsSpec[],
  seen: SeenNames,
): ScrapedHost | undefined {
  const name = checkHostName(reader, path, item.name, seen);
  const listed = parseExporterList(reader, `${path}.exporters`, item.exporters, exporters);
  const exporterSettings = parseExporterFields(reader, path, item, listed ?? [], exporters);
  if (name === undefined || listed === undefined || exporterSettings === undefined) return undefined;
  return { name, exporters: listed, exporterSettings };
}

export function parseClients(
  reader: SettingsReader,
  exporters: readonly ExporterSettingsSpec[],
  seen: SeenNames,
): ClientHost[] | undefined {
  const clientInstanceType = reader.string("clientInstanceType");
  const defaultInstance =
    clientInstanceType === undefined
      ? undefined
      : parseInstance(reader, "clientInstanceType", clientInstanceType, (value) =>
          setCommand("clientInstanceType", value),
        );
  const defaultRootVolumeGb = reader.integer("clientRootVolumeGb");
  const items = hostEntries(reader, "clients", MAX_CLIENTS, [{ name: DEFAULT_CLIENT_NAME }]);
  if (items === undefined) return undefined;
  const known = fieldKeys(CLIENT_FIELDS, exporters);
  const clients: ClientHost[] = [];
  let ok = defaultInstance !== undefined && defaultRootVolumeGb !== undefined;
  reader.eachLastFirst(items, (item, index) => {
    const path = `clients[${index}]`;
    if (!isPlainObject(item)) {
      ok = false;
      // Removing the entry shifts the hosts after it: the fix appends the host at the end instead.
      reader.report(path, `must be a map like { name: web-1 }, got ${describe(item)}`, [
        pathRmCommand(path),
        pathSetCommand(
          `clients[${items.length - 1}].name`,
          typeof item === "string" ? suggestedHostName(item) : undefined,
        ),
      ]);
      return;
    }
    const fieldsOk = reader.unknownFields(path, item, known);
    const host = parseScrapedHost(reader, path, item, exporters, seen);
    let instance = defaultInstance;
    if (item.instanceType !== undefined) {
      const field = `${path}.instanceType`;
      instance =
        typeof item.instanceType === "string"
          ? parseInstance(reader, field, item.instanceType, (value) => pathSetCommand(field, value))
          : undefined;
      if (typeof item.instanceType !== "string") {
        reader.report(field, `must be a string, got ${describe(item.instanceType)}`, [
          pathSetCommand(field, "t3.small"),
        ]);
      }
    }
    let rootVolumeGb = defaultRootVolumeGb;
    if (item.rootVolumeGb !== undefined) {
      const spec = CLIENT_FIELDS.find((field) => field.key === "rootVolumeGb") as FieldSpec;
      const parsed = typeof item.rootVolumeGb === "string" ? Number(item.rootVolumeGb) : item.rootVolumeGb;
      const min = spec.min as number;
      const max = spec.max as number;
      if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < min || parsed > max) {
        const nearest =
          typeof parsed === "number" && Number.isFinite(parsed)
            ? Math.min(max, Math.max(min, Math.round(parsed)))
            : 16;
        reader.report(
          `${path}.rootVolumeGb`,
          `must be a whole number of GiB from ${min} to ${max}, got ${describe(item.rootVolumeGb)}`,
          [pathSetCommand(`${path}.rootVolumeGb`, String(nearest))],
        );
        rootVolumeGb = undefined;
      } else {
        rootVolumeGb = parsed;
      }
    }
    if (!fieldsOk || !host || !instance || rootVolumeGb === undefined) {
      ok = false;
      return;
    }
    clients.push({ ...host, ...instance, rootVolumeGb });
  });
  return ok ? clients : undefined;
}

/**
 * Addresses an outside host may not have: the monitor would scrape itself (loopback), the instance
 * metadata service or another link-local service (169.254.0.0/16), nothing at all (0.0.0.0/8), or
 * no single host (multicast 224.0.0.0/4, reserved 240.0.0.0/4 and the broadcast address).
 */
const UNREACHABLE_RANGES: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "unspecified"],
  ["127.0.0.0/8", "loopback: the monitor would scrape itself"],
  ["169.254.0.0/16", "link-local: the monitor would reach its own metadata service"],
  ["224.0.0.0/4", "multicast, not a host"],
  ["240.0.0.0/4", "reserved or broadcast, not a host"],
];

interface AddressProblem {
  readonly problem: string;
  /** The corrected address, when the mistake shows what was meant; else the CLI prompts. */
  readonly suggestion?: string;
}

/**
 * Why an outside host's address is unusable, or undefined. It must be an IPv4 address: the
 * monitor admits the host's log pushes to Loki by an ingress rule from `<address>/32`, and a
 * security group rule takes no DNS name. `vpcCidr` is the stack's own VPC when the stack creates it.
 */
function externalAddressProblem(address: unknown, vpcCidr: Ipv4Cidr | undefined): AddressProblem | undefined {
  if (address === undefined || address === null || address === "") {
    return {
      problem: "is required (the host's IPv4 address, which Prometheus scrapes, SSH reaches and Loki admits)",
    };
  }
  if (typeof address !== "string")
    return { problem: `must be an IPv4 address like 192.0.2.10, got ${describe(address)}` };
  const ip = parseIpv4(address);
  if (ip === undefined) {
    const slash = address.indexOf("/");
    const bare = slash === -1 ? undefined : parseIpv4(address.slice(0, slash));
    if (bare !== undefined) {
      return {
        problem: `"${address}" is a CIDR; give the host's single IPv4 address (the ingress rule adds the /32)`,
        suggestion: formatIpv4(bare),
      };
    }
    if (address.includes(":")) {
      return {
        problem: `"${address}" is an IPv6 address; hosts outside AWS need an IPv4 address, because the monitor's ingress rules for them are IPv4 (<address>/32)`,
      };
    }
    if (DNS_NAME_PATTERN.test(address) && !/^[\d.]+$/.test(address)) {
      return {
        problem: `"${address}" is a DNS name; hosts outside AWS need their IPv4 address, because the monitor admits their log pushes to Loki by an ingress rule from <address>/32 (look it up with: dig +short A ${address})`,
      };
    }
    return { problem: `"${address}" is not an IPv4 address like 192.0.2.10` };
  }
  const host = parseCidr(`${formatIpv4(ip)}/32`);
  if (!host.ok) return { problem: `"${address}" is not an IPv4 address like 192.0.2.10` };
  for (const [range, why] of UNREACHABLE_RANGES) {
    const block = parseCidr(range);
    if (block.ok && cidrContains(block.cidr, host.cidr))
      return { problem: `"${address}" is in ${range} (${why})` };
  }
  if (vpcCidr && cidrContains(vpcCidr, host.cidr)) {
    return {
      problem: `"${address}" is inside the stack's own VPC ${vpcCidr.text}: a host outside AWS cannot have it, and traffic to it would stay inside the VPC; use the host's public IPv4 address (or its address over your VPN)`,
    };
  }
  return undefined;
}

/**
 * An outside host's configured SSH host key as `<type> <base64>`, undefined when unset, false when
 * wrong (reported). The comment part of a `.pub` line is dropped: it is not part of the key.
 */
function parseHostKey(reader: SettingsReader, path: string, value: unknown): string | undefined | false {
  if (value === undefined || value === null || value === "") return undefined;
  const field = `${path}.hostKey`;
  const problem =
    typeof value === "string"
      ? sshPublicKeyProblem(value)
      : `must be an OpenSSH public key line, got ${describe(value)}`;
  if (problem !== undefined) {
    reader.report(
      field,
      `${problem}; it must be the host's own public key (its /etc/ssh/ssh_host_ecdsa_key.pub), read on the host or from a source you trust`,
      [pathSetCommand(field)],
    );
    return false;
  }
  const [type, body] = (value as string).trim().split(/\s+/);
  return `${type} ${body}`;
}

export function parseExternalHosts(
  reader: SettingsReader,
  exporters: readonly ExporterSettingsSpec[],
  seen: SeenNames,
  vpcCidr: Ipv4Cidr | undefined,
): ExternalHost[] | undefined {
  const items = hostEntries(reader, "externalHosts", MAX_EXTERNAL_HOSTS, []);
  if (items === undefined) return undefined;
  const known = fieldKeys(EXTERNAL_HOST_FIELDS, exporters);
  const addresses = new Map<string, string>();
  const hosts: ExternalHost[] = [];
  let ok = true;
  reader.eachLastFirst(items, (item, index) => {
    const path = `externalHosts[${index}]`;
    if (!isPlainObject(item)) {
      ok = false;
      reader.report(path, `must be a map like { name, address, sshUser }, got ${describe(item)}`, [
        pathRmCommand(path),
      ]);
      return;
    }
    const fieldsOk = reader.unknownFields(path, item, known);
    const host = parseScrapedHost(reader, path, item, exporters, seen);
    const address = typeof item.address === "string" ? item.address.trim() : item.address;
    const addressProblem = externalAddressProblem(address, vpcCidr);
    if (addressProblem !== undefined) {
      reader.report(`${path}.address`, addressProblem.problem, [
        pathSetCommand(`${path}.address`, addressProblem.suggestion),
      ]);
    } else {
      const previous = addresses.get(address as string);
      if (previous !== undefined) {
        ok = false;
        reader.report(
          `${path}.address`,
          `"${address}" is already the address of ${previous}: two hosts cannot share one address (the monitor's ingress rule and scrape target would be the same)`,
          [pathSetCommand(`${path}.address`)],
        );
      }
      addresses.set(address as string, path);
    }
    const sshUser = item.sshUser;
    const userOk = typeof sshUser === "string" && LINUX_USER_PATTERN.test(sshUser);
    if (!userOk) {
      reader.report(`${path}.sshUser`, `must be a Linux user name (e.g. deploy), got ${describe(sshUser)}`, [
        pathSetCommand(`${path}.sshUser`),
      ]);
    }
    const hostKey = parseHostKey(reader, path, item.hostKey);
    if (!fieldsOk || !host || addressProblem !== undefined || !userOk || hostKey === false) {
      ok = false;
      return;
    }
    hosts.push({
      ...host,
      address: address as string,
      sshUser: sshUser as string,
      ...(hostKey !== undefined ? { hostKey } : {}),
    });
  });
  return ok ? hosts : undefined;
}
