/**
 * The reader's entry: raw settings in, a deeply frozen StackConfig out, or one StackConfigError
 * listing every problem with the command that fixes it. Pure: no Pulumi, no I/O.
 */
import { FLEET_PUSH_USER } from "../catalog";
import { parseCidr } from "../cidr";
import type { ExporterSettingsSpec } from "./exporter-settings";
import { type ConfigWarning, PROJECT, StackConfigError, secretSetCommand, setCommand } from "./problems";
import { SettingsReader } from "./reader";
import { parseAlerting } from "./sections/alerting";
import { parseClients, parseExternalHosts, parseMonitor } from "./sections/hosts";
import { checkKeys } from "./sections/keys";
import { parseAccess, parseNetwork } from "./sections/network";
import { parseProbes, parseSlos, parseTraces } from "./sections/reliability";
import {
  checkCoreSecrets,
  checkPlainTextSecrets,
  neededSecrets,
  parseExporterCredentials,
  plainTextSecrets,
} from "./sections/secrets";
import { parseLogs } from "./sections/security";
import {
  parseAwsProvider,
  parseGrafana,
  parseImages,
  parseInstanceProfile,
  parseMetrics,
  parseRegion,
  parseTags,
} from "./sections/services";
import { secretKeys } from "./setting-spec";
import { settingsTable } from "./settings";
import type { Architecture, MonitorSettings, StackConfig } from "./types";
import { deepFreeze, parsePrometheusDuration } from "./values";

export interface RawSettings {
  /**
   * Setting values by key as the stack holds them: project keys with or without the
   * `observability:` prefix, every other key with its namespace (`aws:region`). Values are the
   * strings Pulumi stores or parsed data. Every key is checked: one the program does not read is
   * a problem.
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** Secret settings that hold a (secure) value. */
  readonly secretsSet: ReadonlySet<string>;
  /**
   * Plain values of the secrets whose format has limits (exporter passwords), for the check
   * only: they never enter the config, and problems describe them without repeating them.
   */
  readonly secretValues?: Readonly<Record<string, string>>;
  /**
   * Fully qualified keys stored encrypted that are not secret settings (their value, if any, is
   * never shown or written back into a fix line).
   */
  readonly secureKeys?: ReadonlySet<string>;
}

export interface ReadOptions {
  /** What the reader needs of every optional exporter (configs/exporters supplies it). */
  readonly exporters: readonly ExporterSettingsSpec[];
  /**
   * Default true: a missing required secret is a problem. False for tools that read stack files
   * without the stack's secrets (rendering, tests); then `secretsSet` still says what is missing.
   */
  readonly requireSecrets?: boolean;
  /**
   * True when the program runs for `pulumi up` (not preview): a production stack then refuses
   * documentation placeholders instead of warning about them.
   */
  readonly deploying?: boolean;
}

export interface StackConfigReading {
  readonly config: StackConfig;
  /** Settings that work but are probably not what the operator wants. */
  readonly warnings: readonly ConfigWarning[];
}

/** Project keys without the namespace, so the table's keys match; other namespaces as they are. */
function projectRelative(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const prefix = `${PROJECT}:`;
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key.startsWith(prefix) ? key.slice(prefix.length) : key,
      value,
    ]),
  );
}

export function readStackConfig(
  stack: string,
  settings: RawSettings,
  options: ReadOptions,
): StackConfigReading {
  const requireSecrets = options.requireSecrets ?? true;
  const exporters = options.exporters;
  const table = settingsTable(exporters);
  const values = projectRelative(settings.values);
  const reader = new SettingsReader(values, table);

  checkKeys(reader, { values: settings.values, secureKeys: settings.secureKeys ?? new Set() });
  // A secret given in plain text is reported once (as plain text), not again as missing.
  const plainText = plainTextSecrets(reader, values);
  checkPlainTextSecrets(reader, plainText);
  const secretsSet = new Set([...settings.secretsSet, ...plainText]);

  const production = reader.boolean("production");
  reader.refusePlaceholders = production === true && (options.deploying ?? false);
  const region = parseRegion(reader);
  const aws = parseAwsProvider(reader);
  const network = parseNetwork(reader);
  const monitor = parseMonitor(reader, production === true);
  const hostNames = new Map<string, string>();
  const clients = parseClients(reader, exporters, hostNames);
  const ownVpc = network?.mode === "create" ? parseCidr(network.vpcCidr) : undefined;
  const externalHosts = parseExternalHosts(
    reader,
    exporters,
    hostNames,
    ownVpc?.ok ? ownVpc.cidr : undefined,
  );
  const access = parseAccess(reader);
  const profile = parseInstanceProfile(reader);
  const monitorSettings = withoutSnapshotsOnExistingProfile(reader, monitor, profile.name);
  const architectures = new Map<string, Architecture>();
  if (monitor) architectures.set("monitor", monitor.architecture);
  for (const client of clients ?? []) architectures.set(client.name, client.architecture);
  const images = parseImages(reader, architectures);
  const hostCount = 1 + (clients?.length ?? 0) + (externalHosts?.length ?? 0);
  const metrics = parseMetrics(reader, monitor?.dataVolumeGb, hostCount);
  const logs = parseLogs(reader);
  const scrapeIntervalMs = metrics ? parsePrometheusDuration(metrics.scrapeInterval) : undefined;
  const alerting = parseAlerting(reader, secretsSet, requireSecrets, scrapeIntervalMs);
  const grafana = parseGrafana(reader, network);
  const scrapedHosts = [...(clients ?? []), ...(externalHosts ?? [])];
  const exporterUsers = parseExporterCredentials(
    reader,
    exporters,
    scrapedHosts,
    secretsSet,
    requireSecrets,
    settings.secretValues ?? {},
  );
  const probes = parseProbes(reader);
  const slos = parseSlos(
    reader,
    probes ? new Set(probes.targets.map((probe) => probe.name)) : undefined,
    metrics?.retentionTime,
  );
  const traces = parseTraces(reader);
  const tags = parseTags(reader);
  const protectData = reader.boolean("protectData");
  const pinImageDigests = reader.boolean("pinImageDigests");
  const fleetEnrolment = reader.boolean("fleetEnrolment");
  if (fleetEnrolment === true && profile.name !== undefined) {
    reader.report(
      "fleetEnrolment",
      "needs the client role the stack creates (fleet hosts read their bundle and push password with it), which a stack on an existing instance profile (existingInstanceProfile) has not: turn it off, or drop existingInstanceProfile",
      [setCommand("fleetEnrolment", "false")],
    );
  }
  if (fleetEnrolment === true && scrapedHosts.some((host) => host.name === FLEET_PUSH_USER)) {
    reader.report(
      "fleetEnrolment",
      `needs the push user "${FLEET_PUSH_USER}" for enrolled fleet hosts, but a client or outside host has that name: rename the host, or turn fleetEnrolment off`,
      [setCommand("fleetEnrolment", "false")],
    );
  }
  checkCoreSecrets(reader, access?.sshAuth, secretsSet, requireSecrets);
  if (production === true && requireSecrets && alerting && !alerting.heartbeat && !alerting.heartbeatOptOut) {
    reader.report(
      "heartbeatUrl",
      'is required on a production stack (production: true): only an outside heartbeat service notices that the monitor itself died (docs/alerting.md, "Dead man\'s switch"); to deploy without one, set heartbeatOptOut to true',
      [secretSetCommand("heartbeatUrl")],
    );
  }

  if (
    reader.problems.length > 0 ||
    region === undefined ||
    !aws ||
    !monitor ||
    !monitorSettings ||
    !clients ||
    !externalHosts ||
    !network ||
    !access ||
    !images ||
    !metrics ||
    !logs ||
    !alerting ||
    !grafana ||
    !exporterUsers ||
    !tags ||
    !probes ||
    !slos ||
    !traces.ok ||
    !profile.ok ||
    protectData === undefined ||
    production === undefined ||
    pinImageDigests === undefined ||
    fleetEnrolment === undefined
  ) {
    throw new StackConfigError(stack, reader.problems);
  }

  const config: StackConfig = {
    project: PROJECT,
    stack,
    region,
    aws,
    tags,
    protectData,
    production,
    network,
    access,
    ...(profile.name !== undefined ? { existingInstanceProfile: profile.name } : {}),
    images,
    monitor: monitorSettings ?? monitor,
    clients,
    externalHosts,
    metrics,
    logs,
    alerting,
    grafana,
    slos,
    probes,
    ...(traces.traces ? { traces: traces.traces } : {}),
    exporterUsers,
    secretsSet: Object.fromEntries(secretKeys(table).map((key) => [key, secretsSet.has(key)])),
    pinImageDigests,
    fleetEnrolment,
  };
  return { config: deepFreeze(config), warnings: reader.warnings };
}

/** readStackConfig without the warnings. */
export function parseStackConfig(stack: string, settings: RawSettings, options: ReadOptions): StackConfig {
  return readStackConfig(stack, settings, options).config;
}

/** Secret settings the stack needs but does not have (for the render command's warnings). */
export function missingSecrets(config: StackConfig, exporters: readonly ExporterSettingsSpec[]): string[] {
  return neededSecrets(
    exporters,
    [...config.clients, ...config.externalHosts],
    config.access.sshAuth,
    config.alerting.email !== undefined,
  ).filter((key) => !config.secretsSet[key]);
}

/**
 * Snapshots need an IAM role for Data Lifecycle Manager, which a stack on an existing instance
 * profile (an account that cannot create roles) cannot make: a count left unset becomes 0 with a
 * warning, a count asked for is a problem.
 */
function withoutSnapshotsOnExistingProfile(
  reader: SettingsReader,
  monitor: MonitorSettings | undefined,
  existingInstanceProfile: string | undefined,
): MonitorSettings | undefined {
  if (!monitor || existingInstanceProfile === undefined || monitor.snapshotRetainCount === 0) return monitor;
  if (reader.raw("dataSnapshotRetainCount") !== undefined) {
    reader.report(
      "dataSnapshotRetainCount",
      "needs an IAM role for Data Lifecycle Manager, which a stack on an existing instance profile (existingInstanceProfile) cannot create: set it to 0 and snapshot the data volume another way",
      [setCommand("dataSnapshotRetainCount", "0")],
    );
    return undefined;
  }
  reader.warn(
    "dataSnapshotRetainCount",
    "no snapshots of the monitor data volume: with existingInstanceProfile the stack cannot create the IAM role Data Lifecycle Manager needs (docs/operations.md, Backups)",
    [setCommand("dataSnapshotRetainCount", "0")],
  );
  return { ...monitor, snapshotRetainCount: 0 };
}
