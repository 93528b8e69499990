/**
 * THE one module where tests change rendered files to run them on this machine. Only:
 * - addresses and ports (everything moves to 127.0.0.1 and ports the tests picked),
 * - paths (config, rule, template, secret and data files in temp directories),
 * - durations (divided by TIME_SCALE, so minutes of alerting take seconds),
 * - and one version gap, stated where it is handled: Prometheus reads `storage.tsdb.retention`
 *   from prometheus.yml since 3.8 (the pinned image is 3.14); a Prometheus here that predates it
 *   (Debian sid's 3.5) gets the same values as the equivalent `--storage.tsdb.retention.*` flags
 *   (`retentionForLocalPrometheus`).
 * Everything else (expressions, labels, annotations, routes, receivers, inhibitions, templates,
 * exporter flags and credentials) passes through as rendered. Every address written is 127.0.0.1.
 */
import { basename, join } from "node:path";
import { parse, stringify } from "yaml";
import { BLACKBOX_JOB } from "../../configs/blackbox";
import { GATEWAY_METRICS_HTPASSWD_SECRET } from "../../configs/gateway";
import type { HostFiles } from "../../configs/host-files";
import { type NginxStatement, printNginx } from "../../configs/nginx-syntax";
import { durationSeconds, formatDuration } from "../../configs/rules/duration";
import { literal, type NginxArg, type NginxDirective, parseNginx } from "./nginx-parse";
import { compareVersions, reportedVersion, TOOLS, type ToolSpec } from "./tools";

/**
 * Every duration in the rendered monitor files is divided by this (a minute becomes a second),
 * with a floor of one second (0s stays 0s). Orderings survive: HostUnreachable (2m -> 2s) still
 * fires before a host's ExporterDown (5m -> 5s), a heartbeat (5m -> 5s) still comes far more
 * often than a critical repeat (1h -> 60s).
 */
export const TIME_SCALE = 60;

export function scaledDuration(duration: string): string {
  const seconds = durationSeconds(duration);
  return formatDuration(seconds === 0 ? 0 : Math.max(1, Math.round(seconds / TIME_SCALE)));
}

/** Where everything the rendered files point at lives on this machine. */
export interface LoopbackPlan {
  /** Root of the monitor's files here (prometheus/, alertmanager/, secrets/). */
  readonly dir: string;
  readonly prometheus: string;
  readonly alertmanager: string;
  /** Static targets of the monitor's own services and agents, by job name. */
  readonly monitorTargets: Readonly<Record<string, string>>;
  /** File SD targets: host name -> job name -> address. */
  readonly hostTargets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly ec2Endpoint: string;
  readonly smtpSmarthost: string;
  readonly pagerdutyUrl: string;
}

export interface LoopbackMonitor {
  /** Relative path (as in monitorFiles) -> content, for the files Prometheus and Alertmanager read. */
  readonly files: Record<string, string>;
  readonly prometheusArgs: string[];
  readonly alertmanagerArgs: string[];
}

type Yaml = Record<string, unknown>;

/** The first Prometheus release that reads retention from prometheus.yml (prometheus/prometheus#17026). */
export const RETENTION_IN_CONFIG_SINCE = "3.8.0";

const versions = new Map<ToolSpec, string>();

/** The version the local Prometheus (or promtool) reports, read once. */
export function localVersion(tool: ToolSpec = TOOLS.prometheus): string {
  let version = versions.get(tool);
  if (version === undefined) {
    version = reportedVersion(tool);
    if (version === undefined) throw new Error(`cannot read the version of ${tool.binary}`);
    versions.set(tool, version);
  }
  return version;
}

/** True when the local Prometheus (or promtool) reads `storage.tsdb.retention` itself. */
export function readsRetentionFromConfig(tool: ToolSpec = TOOLS.prometheus): boolean {
  return compareVersions(localVersion(tool), RETENTION_IN_CONFIG_SINCE) >= 0;
}

export interface LocalRetention {
  /** prometheus.yml as the local Prometheus reads it. */
  readonly prometheusYml: string;
  /** Flags carrying what was taken out of it (none on 3.8 and later). */
  readonly flags: string[];
  /** The retention block the rendered file holds (undefined: none). */
  readonly retention?: Readonly<Record<string, string>>;
}

/**
 * prometheus.yml for a Prometheus (or promtool) of `version`. From 3.8 on: unchanged. Before
 * (Debian sid's 3.5 rejects the unknown field): `storage.tsdb.retention` leaves the file and its
 * values become `--storage.tsdb.retention.time` / `.size`, which 3.14 still accepts (deprecated)
 * and which parse with the same types (model.Duration, units.Base2Bytes) as the config fields.
 * Any other retention field fails here rather than being dropped unchecked.
 */
export function retentionForPrometheus(prometheusYml: string, version: string): LocalRetention {
  const document = parse(prometheusYml) as Yaml;
  const storage = document.storage as Yaml | undefined;
  const tsdb = storage?.tsdb as Yaml | undefined;
  const retention = tsdb?.retention as Record<string, string> | undefined;
  if (retention === undefined || compareVersions(version, RETENTION_IN_CONFIG_SINCE) >= 0) {
    return { prometheusYml, flags: [], ...(retention ? { retention } : {}) };
  }
  const flagFor: Record<string, string> = {
    time: "--storage.tsdb.retention.time",
    size: "--storage.tsdb.retention.size",
  };
  const flags = Object.entries(retention).map(([field, value]) => {
    const flag = flagFor[field];
    if (flag === undefined) {
      throw new Error(
        `storage.tsdb.retention.${field} has no flag in Prometheus ${version}: check it another way`,
      );
    }
    return `${flag}=${value}`;
  });
  delete (tsdb as Yaml).retention;
  if (Object.keys(tsdb as Yaml).length === 0) delete (storage as Yaml).tsdb;
  if (Object.keys(storage as Yaml).length === 0) delete document.storage;
  return { prometheusYml: stringify(document, { lineWidth: 0 }), flags, retention };
}

/** retentionForPrometheus for the Prometheus (or promtool) here. */
export function retentionForLocalPrometheus(
  prometheusYml: string,
  tool: ToolSpec = TOOLS.prometheus,
): LocalRetention {
  return retentionForPrometheus(prometheusYml, localVersion(tool));
}

function loopbackOnly(address: string, what: string): string {
  if (!/^(http:\/\/)?127\.0\.0\.1:\d+(\/.*)?$/.test(address)) {
    throw new Error(`${what} would point at ${address}: the end-to-end stack stays on 127.0.0.1`);
  }
  return address;
}

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pointAtLoopback: no loopback address for ${what}`);
  return value;
}

/** Replaces a `--flag=value` argument's value; fails if the flag is not there. */
function replaceFlag(args: string[], flag: string, value: string): string[] {
  if (!args.some((arg) => arg.startsWith(`${flag}=`))) throw new Error(`rendered flags lack ${flag}`);
  return args.map((arg) => (arg.startsWith(`${flag}=`) ? `${flag}=${value}` : arg));
}

const RANGE = /\[((?:\d+(?:ms|[smhdwy]))+)\]/g;

/**
 * A rendered rule file for a Prometheus here whose samples come TIME_SCALE times faster: every
 * rule's `for` and every range in its expression (`[1h]` -> `[1m]`) scaled. For the rules whose
 * meaning is the length of their windows (SLO burn rates): an hour of errors takes a minute here.
 * Record and alert names, labels and everything else pass through.
 */
export function scaledRuleFile(content: string): string {
  const ruleFile = parse(content) as { groups: { rules: Yaml[] }[] };
  for (const rule of ruleFile.groups.flatMap((group) => group.rules)) {
    if (typeof rule.for === "string") rule.for = scaledDuration(rule.for);
    rule.expr = (rule.expr as string).replace(
      RANGE,
      (_, duration: string) => `[${scaledDuration(duration)}]`,
    );
  }
  return stringify(ruleFile, { lineWidth: 0 });
}

/**
 * prometheus.yml for a Prometheus here that runs the uptime probes only: the rendered file's
 * blackbox job as rendered, but for the address it hands probes to (the exporter here); its
 * scrape and evaluation intervals scaled; the rule files here. Probe targets are whatever the
 * config under test lists (the tests list loopback servers).
 */
export function probeJobAtLoopback(prometheusYml: string, exporter: string, ruleFiles: string): string {
  const document = parse(prometheusYml) as Yaml;
  const global = document.global as Yaml;
  const job = (document.scrape_configs as Yaml[]).find((entry) => entry.job_name === BLACKBOX_JOB);
  if (job === undefined) throw new Error(`the rendered prometheus.yml has no ${BLACKBOX_JOB} job`);
  let moved = false;
  for (const relabel of job.relabel_configs as Yaml[]) {
    if (relabel.target_label === "__address__") {
      relabel.replacement = loopbackOnly(exporter, "blackbox exporter");
      moved = true;
    }
  }
  if (!moved) throw new Error("the blackbox job sets no __address__ to move");
  for (const group of job.static_configs as { targets: string[] }[]) {
    for (const target of group.targets) {
      const host = new URL(target.includes("://") ? target : `tcp://${target}`).hostname;
      if (host !== "127.0.0.1") throw new Error(`probe target ${target} is not on loopback`);
    }
  }
  return stringify(
    {
      global: {
        scrape_interval: scaledDuration(global.scrape_interval as string),
        evaluation_interval: scaledDuration(global.evaluation_interval as string),
      },
      rule_files: [ruleFiles],
      scrape_configs: [job],
    },
    { lineWidth: 0 },
  );
}

/** Scales group_wait/group_interval/repeat_interval on a route and all its children. */
function scaleRoute(route: Yaml): void {
  for (const key of ["group_wait", "group_interval", "repeat_interval"]) {
    if (typeof route[key] === "string") route[key] = scaledDuration(route[key] as string);
  }
  for (const child of (route.routes as Yaml[] | undefined) ?? []) scaleRoute(child);
}

/**
 * The monitor's files for a run on this machine. Only:
 * - addresses and ports: every scrape target (static and file SD), the Alertmanager target, the
 *   EC2 API endpoint, the SMTP smarthost, and the PagerDuty events URL (its default is
 *   PagerDuty's public API);
 * - paths: rule files, file SD files, templates, secret files, config and data directories;
 * - durations: divided by TIME_SCALE (scrape/evaluation/EC2 refresh intervals, every rule's
 *   `for`, Alertmanager's group/repeat timing and resolve timeout, Prometheus' alert resend
 *   delay whose default is 1m);
 * - retention, for a Prometheus here older than 3.8: from prometheus.yml to the equivalent flags
 *   (retentionForLocalPrometheus).
 * Everything else (expressions, labels, annotations, routes, receivers, inhibit rules,
 * templates) is passed through byte for byte. Every address it writes must be 127.0.0.1.
 */
export function pointAtLoopback(rendered: HostFiles, plan: LoopbackPlan): LoopbackMonitor {
  const files: Record<string, string> = {};
  const prometheusDir = join(plan.dir, "prometheus");
  const alertmanagerDir = join(plan.dir, "alertmanager");
  const secretsDir = join(plan.dir, "secrets");
  const monitorTarget = (job: string) =>
    loopbackOnly(required(plan.monitorTargets[job], `the monitor's ${job} job`), `job ${job}`);

  const prometheusYml = parse(required(rendered["prometheus/prometheus.yml"], "prometheus.yml")) as Yaml;
  const global = prometheusYml.global as Yaml;
  global.scrape_interval = scaledDuration(global.scrape_interval as string);
  global.evaluation_interval = scaledDuration(global.evaluation_interval as string);
  for (const alerting of (prometheusYml.alerting as Yaml).alertmanagers as Yaml[]) {
    alerting.static_configs = [{ targets: [loopbackOnly(plan.alertmanager, "alertmanager target")] }];
  }
  prometheusYml.rule_files = [join(prometheusDir, "rules", "*.yml")];
  for (const job of prometheusYml.scrape_configs as Yaml[]) {
    const jobName = job.job_name as string;
    for (const group of (job.static_configs as Yaml[] | undefined) ?? []) {
      group.targets = (group.targets as string[]).map(() => monitorTarget(jobName));
    }
    for (const ec2 of (job.ec2_sd_configs as Yaml[] | undefined) ?? []) {
      ec2.endpoint = loopbackOnly(plan.ec2Endpoint, "EC2 endpoint");
      ec2.refresh_interval = scaledDuration(ec2.refresh_interval as string);
    }
    for (const fileSd of (job.file_sd_configs as Yaml[] | undefined) ?? []) {
      fileSd.files = (fileSd.files as string[]).map((file) => join(prometheusDir, "file_sd", basename(file)));
    }
  }
  const local = retentionForLocalPrometheus(stringify(prometheusYml, { lineWidth: 0 }));
  files["prometheus/prometheus.yml"] = local.prometheusYml;

  for (const [path, content] of Object.entries(rendered)) {
    if (path.startsWith("prometheus/file_sd/")) {
      // Rendered empty: hosts outside AWS push (test/outside-push-loopback.test.ts proves that
      // path). Here they are pulled through the job's file instead, as a stand-in for their
      // Alloy, with the labels their Alloy gives them (pushedScrapeJobs; environment comes from
      // the job's relabelling).
      const job = basename(path, ".json");
      if ((JSON.parse(content) as unknown[]).length > 0) throw new Error(`${path} lists hosts`);
      const groups = Object.entries(plan.hostTargets).flatMap(([host, jobs]) =>
        jobs[job] === undefined
          ? []
          : [
              {
                targets: [loopbackOnly(jobs[job], `${host} ${job}`)],
                labels: { instance: host, host_type: "external" },
              },
            ],
      );
      files[path] = `${JSON.stringify(groups, null, 2)}\n`;
    } else if (path.startsWith("prometheus/rules/")) {
      const ruleFile = parse(content) as { groups: { rules: Yaml[] }[] };
      for (const rule of ruleFile.groups.flatMap((group) => group.rules)) {
        if (typeof rule.for === "string") rule.for = scaledDuration(rule.for);
      }
      files[path] = stringify(ruleFile, { lineWidth: 0 });
    } else if (path.startsWith("alertmanager/templates/")) {
      files[path] = content;
    }
  }

  const alertmanagerYml = parse(
    required(rendered["alertmanager/alertmanager.yml"], "alertmanager.yml"),
  ) as Yaml;
  const amGlobal = alertmanagerYml.global as Yaml;
  amGlobal.resolve_timeout = scaledDuration(amGlobal.resolve_timeout as string);
  alertmanagerYml.templates = (alertmanagerYml.templates as string[]).map((glob) =>
    join(alertmanagerDir, "templates", basename(glob)),
  );
  scaleRoute(alertmanagerYml.route as Yaml);
  const secretFile = (path: string) => join(secretsDir, basename(path));
  for (const receiver of alertmanagerYml.receivers as Yaml[]) {
    for (const email of (receiver.email_configs as Yaml[] | undefined) ?? []) {
      email.smarthost = loopbackOnly(plan.smtpSmarthost, "SMTP smarthost");
      if (typeof email.auth_password_file === "string") {
        email.auth_password_file = secretFile(email.auth_password_file);
      }
    }
    for (const slack of (receiver.slack_configs as Yaml[] | undefined) ?? []) {
      slack.api_url_file = secretFile(slack.api_url_file as string);
    }
    for (const pagerduty of (receiver.pagerduty_configs as Yaml[] | undefined) ?? []) {
      pagerduty.routing_key_file = secretFile(pagerduty.routing_key_file as string);
      pagerduty.url = loopbackOnly(plan.pagerdutyUrl, "PagerDuty URL");
    }
    for (const webhook of (receiver.webhook_configs as Yaml[] | undefined) ?? []) {
      webhook.url_file = secretFile(webhook.url_file as string);
    }
  }
  files["alertmanager/alertmanager.yml"] = stringify(alertmanagerYml, {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });

  // Both command lines as the monitor's compose file runs them (external URLs included).
  const compose = parse(required(rendered["compose.yaml"], "compose.yaml")) as {
    services: Record<string, { command: string[] }>;
  };
  let prometheusArgs = [...required(compose.services.prometheus?.command, "prometheus' command")];
  prometheusArgs = replaceFlag(prometheusArgs, "--config.file", join(prometheusDir, "prometheus.yml"));
  prometheusArgs = replaceFlag(prometheusArgs, "--storage.tsdb.path", join(prometheusDir, "data"));
  prometheusArgs.push(
    ...local.flags,
    `--web.listen-address=${loopbackOnly(plan.prometheus, "Prometheus")}`,
    `--rules.alert.resend-delay=${scaledDuration("1m")}`,
  );

  let alertmanagerArgs = [...required(compose.services.alertmanager?.command, "alertmanager's command")];
  alertmanagerArgs = replaceFlag(
    alertmanagerArgs,
    "--config.file",
    join(alertmanagerDir, "alertmanager.yml"),
  );
  alertmanagerArgs = replaceFlag(alertmanagerArgs, "--storage.path", join(alertmanagerDir, "data"));
  alertmanagerArgs.push(`--web.listen-address=${loopbackOnly(plan.alertmanager, "Alertmanager")}`);
  return { files, prometheusArgs, alertmanagerArgs };
}

/** What a rendered exporter service is run with here. */
export interface ExporterPlan {
  /** Where the exporter listens here (its rendered `--web.listen-address` is the host's port). */
  readonly listen: string;
  /** Each service address the rendered settings name (as docs/clients.md puts it) -> where it runs here. */
  readonly services: Readonly<Record<string, string>>;
  /** Directory holding the compose secrets here, one file per secret name (compose's /run/secrets). */
  readonly secretsDir: string;
}

/** The parts of a rendered compose service an exporter run needs. */
export interface RenderedExporterService {
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly secrets?: readonly string[];
}

export interface LocalExporter {
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Secret files to write here: absolute path -> content. */
  readonly secretFiles: Record<string, string>;
}

const COMPOSE_SECRETS_DIR = "/run/secrets/";
const LISTEN_FLAG = "--web.listen-address";

/**
 * One optional exporter's rendered compose service and credential files, for a run on this
 * machine. Only: its listen address; the service address it reads (in flags, environment and
 * credential files: a URI, `host:port`, or a my.cnf `host`/`port` pair) moves to where the test
 * runs that service; `/run/secrets/<name>` becomes `secretsDir/<name>`. Every flag, variable and
 * credential is otherwise as rendered, and every address in `services` must be found somewhere,
 * so the rendered defaults are proved to be where the docs put the service.
 */
export function pointExporterAtLoopback(
  service: RenderedExporterService,
  secretContents: Readonly<Record<string, string>>,
  plan: ExporterPlan,
): LocalExporter {
  const used = new Set<string>();
  const moveAddresses = (value: string): string => {
    let moved = value;
    for (const [rendered, here] of Object.entries(plan.services)) {
      if (!moved.includes(rendered)) continue;
      moved = moved.split(rendered).join(loopbackOnly(here, `service ${rendered}`));
      used.add(rendered);
    }
    return moved;
  };
  const moveValue = (value: string): string =>
    value.startsWith(COMPOSE_SECRETS_DIR)
      ? join(plan.secretsDir, value.slice(COMPOSE_SECRETS_DIR.length))
      : moveAddresses(value);

  let listened = false;
  const args = (service.command ?? []).map((arg) => {
    const equals = arg.indexOf("=");
    if (equals < 0) return arg;
    const flag = arg.slice(0, equals);
    if (flag === LISTEN_FLAG) {
      listened = true;
      return `${flag}=${loopbackOnly(plan.listen, "exporter listen address")}`;
    }
    return `${flag}=${moveValue(arg.slice(equals + 1))}`;
  });
  if (!listened) throw new Error(`rendered command lacks ${LISTEN_FLAG}`);
  const env = Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [name, moveValue(value)]),
  );
  const secretFiles: Record<string, string> = {};
  for (const name of service.secrets ?? []) {
    const content = required(secretContents[name], `the content of secret ${name}`);
    secretFiles[join(plan.secretsDir, name)] = moveAddresses(moveIniHostPort(content, plan.services, used));
  }
  const unused = Object.keys(plan.services).filter((address) => !used.has(address));
  if (unused.length > 0) throw new Error(`the rendered exporter settings never name ${unused.join(", ")}`);
  return { args, env, secretFiles };
}

/** A my.cnf's `host = H` / `port = P` lines, when H:P is a service address to move. */
function moveIniHostPort(
  content: string,
  services: Readonly<Record<string, string>>,
  used: Set<string>,
): string {
  const value = (key: string) => new RegExp(`^${key}\\s*=\\s*(\\S+)\\s*$`, "m").exec(content)?.[1];
  const host = value("host");
  const port = value("port");
  const here = host && port ? services[`${host}:${port}`] : undefined;
  if (here === undefined) return content;
  used.add(`${host}:${port}`);
  const [hereHost, herePort] = loopbackOnly(here, "my.cnf service").split(":");
  return content
    .replace(/^host(\s*=\s*)\S+\s*$/m, `host$1${hereHost}`)
    .replace(/^port(\s*=\s*)\S+\s*$/m, `port$1${herePort}`);
}

/** Where the push gateway's rendered config points, on this machine. */
export interface GatewayLoopbackPlan {
  /** `127.0.0.1:<port>` nginx listens on. */
  readonly listen: string;
  /** Route name (`loki`, ...) -> `127.0.0.1:<port>` of the stand-in upstream. */
  readonly upstreams: Readonly<Record<string, string>>;
  /** Every host's hash file (Loki's push), and the metrics writers' (remote write, if routed). */
  readonly htpasswdPath: string;
  readonly metricsHtpasswdPath?: string;
  /** Directory for the pid file, the temp directories and the access log. */
  readonly runtimeDir: string;
  readonly accessLog: string;
}

function literalValue(arg: NginxArg | undefined, what: string): string {
  if (arg?.kind !== "literal") throw new Error(`the rendered gateway config's ${what} is not a literal`);
  return arg.value;
}

function walkNginx(
  statements: NginxStatement[],
  visit: (statement: NginxDirective) => NginxDirective,
): NginxStatement[] {
  return statements.map((statement) => {
    if (statement.kind !== "directive") return statement;
    const visited = visit(statement);
    return visited.block ? { ...visited, block: walkNginx([...visited.block], visit) } : visited;
  });
}

/**
 * The rendered gateway config (configs/gateway.ts) for a run on this machine, parsed and printed
 * back as data. Only: the listen address, the resolver address (never used: every upstream here
 * is an IP address), each upstream's host:port (its path is kept, and checked), the hash file's
 * path, and the pid, temp and access-log paths. Locations, methods, credentials, headers and
 * the log format pass through as rendered. Every address written is 127.0.0.1.
 */
export function gatewayOnLoopback(rendered: string, plan: GatewayLoopbackPlan): string {
  const runtime = plan.runtimeDir.replace(/\/+$/, "");
  const moved = new Set<string>();
  const statements = walkNginx(parseNginx(rendered), (statement) => {
    const args = [...statement.args];
    switch (statement.name) {
      case "listen":
        return { ...statement, args: [literal(loopbackOnly(plan.listen, "gateway listen address"))] };
      case "resolver":
        return { ...statement, args: [literal("127.0.0.1"), ...args.slice(1)] };
      case "auth_basic_user_file": {
        // Every host's hash file, or (remote write) the metrics writers'.
        const metrics =
          basename(literalValue(args[0], "auth_basic_user_file")) === GATEWAY_METRICS_HTPASSWD_SECRET;
        return {
          ...statement,
          args: [
            literal(
              metrics ? required(plan.metricsHtpasswdPath, "the metrics hash file") : plan.htpasswdPath,
            ),
          ],
        };
      }
      case "pid":
        return { ...statement, args: [literal(join(runtime, basename(literalValue(args[0], "pid"))))] };
      case "access_log":
        return { ...statement, args: [literal(plan.accessLog), ...args.slice(1)] };
      case "set": {
        const target = args[0];
        const name = target?.kind === "template" ? target.parts[0] : undefined;
        const routeName = typeof name === "object" ? /^(.+)_push$/.exec(name.variable)?.[1] : undefined;
        if (routeName === undefined) return statement;
        const upstream = new URL(literalValue(args[1], `upstream of ${routeName}`));
        const here = required(plan.upstreams[routeName], `the ${routeName} upstream`);
        moved.add(routeName);
        return {
          ...statement,
          args: [
            target as NginxArg,
            literal(`http://${loopbackOnly(here, `${routeName} upstream`)}${upstream.pathname}`),
          ],
        };
      }
      default:
        if (statement.name.endsWith("_temp_path")) {
          return {
            ...statement,
            args: [literal(join(runtime, basename(literalValue(args[0], statement.name))))],
          };
        }
        return statement;
    }
  });
  const unused = Object.keys(plan.upstreams).filter((name) => !moved.has(name));
  if (unused.length > 0)
    throw new Error(`the rendered gateway config has no upstream for ${unused.join(", ")}`);
  return printNginx(statements);
}
