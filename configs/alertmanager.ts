/**
 * alertmanager.yml from the stack config, plus the flags and secret file names the deploy needs.
 *
 * Routing in one picture (receivers carry several channels each, so there is no `continue`):
 *
 *   alertname=Watchdog  -> heartbeat (webhook to the outside check) | blackhole (nothing)
 *   severity=critical   -> critical  = email + Slack + PagerDuty (each if configured), repeat 1h
 *   severity=warning    -> warning   = email + Slack, repeat 4h
 *   severity=info       -> info      = Slack if configured, else email, repeat 12h
 *   anything else       -> warning   (an alert without a known severity still reaches people)
 *
 * Secrets never appear here: every secret is a `*_file` path under the secrets directory, and
 * the deploy writes those files (see `alertmanagerSecretFiles`).
 */
import { stringify } from "yaml";
import type { SecretSetting, StackConfig } from "../lib/stack-config";
import {
  ALERTMANAGER_TEMPLATE_FILE,
  callTemplate,
  renderNotificationTemplates,
  TEMPLATE_NAMES,
} from "./alertmanager-email.tmpl";
import { buildRuleGroups } from "./rules";
import { SAMPLE_LIMIT_EXCEEDED_ALERT } from "./rules/scrape-limits";

/** The host-down alert. Inhibition keys on this name: the rule files must use the same one. */
export const HOST_UNREACHABLE_ALERT = "HostUnreachable";
/** The always-firing alert that proves the alerting pipeline works end to end. */
const WATCHDOG_ALERT = "Watchdog";

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Labels a HostUnreachable alert shares with the alerts it mutes (one host in one stack). */
const HOST_LABELS = ["environment", "instance"] as const;

const RECEIVERS = {
  critical: "critical",
  warning: "warning",
  info: "info",
  heartbeat: "heartbeat",
  /** No notification configs: alerts routed here are dropped on purpose. */
  blackhole: "blackhole",
} as const;

/** In-container paths used by the deploy; the e2e test overrides them with temp dirs. */
export const ALERTMANAGER_PATHS = {
  configFile: "/etc/alertmanager/alertmanager.yml",
  /** Where compose `secrets:` mounts each secret file (read-only, /run/secrets/<name>). */
  secretsDir: "/run/secrets",
  templatesDir: "/etc/alertmanager/templates",
  storagePath: "/alertmanager",
} as const;

/** Secret file written by the deploy (mode 0600) for each secret setting Alertmanager reads. */
export const ALERTMANAGER_SECRET_FILES = {
  smtpPassword: "smtp_password",
  slackWebhookUrl: "slack_webhook_url",
  pagerdutyRoutingKey: "pagerduty_routing_key",
  heartbeatUrl: "heartbeat_url",
} as const satisfies Partial<Record<SecretSetting, string>>;
export type AlertmanagerSecret = keyof typeof ALERTMANAGER_SECRET_FILES;

/** Grouping and repeat timing. Defaults suit production; tests shorten them. */
export interface RouteTiming {
  readonly groupWait: string;
  readonly groupInterval: string;
  /** The Watchdog's own batching tick, so heartbeats leave close to every repeat interval. */
  readonly heartbeatGroupInterval: string;
  readonly repeatInterval: Readonly<Record<Severity | "heartbeat", string>>;
}

/**
 * group_by [alertname, environment]: one mail per kind of problem per stack, listing every
 * affected instance, instead of one mail per host (ten hosts losing their disk = one mail).
 * group_wait 30s lets a burst settle into that one mail; group_interval 5m batches additions.
 */
const DEFAULT_ROUTE_TIMING: RouteTiming = {
  groupWait: "30s",
  groupInterval: "5m",
  heartbeatGroupInterval: "1m",
  repeatInterval: { critical: "1h", warning: "4h", info: "12h", heartbeat: "5m" },
};

const GROUP_BY = ["alertname", "environment"] as const;

export interface AlertmanagerRenderOptions {
  /** Directory holding the secret files (default /run/secrets, where compose mounts them). */
  readonly secretsDir?: string;
  /** Directory holding the notification templates (default /etc/alertmanager/templates). */
  readonly templatesDir?: string;
  readonly timing?: Partial<Omit<RouteTiming, "repeatInterval">> & {
    readonly repeatInterval?: Partial<RouteTiming["repeatInterval"]>;
  };
}

/** Which Alertmanager secrets this stack uses, in a fixed order. */
export function enabledSecrets(config: StackConfig): AlertmanagerSecret[] {
  const { alerting } = config;
  const enabled: Record<AlertmanagerSecret, boolean> = {
    smtpPassword: alerting.email !== undefined && alerting.email.username !== "",
    slackWebhookUrl: alerting.slack !== undefined,
    pagerdutyRoutingKey: alerting.pagerduty,
    heartbeatUrl: alerting.heartbeat,
  };
  return (Object.keys(ALERTMANAGER_SECRET_FILES) as AlertmanagerSecret[]).filter((secret) => enabled[secret]);
}

export interface AlertmanagerFlagOptions {
  readonly configFile?: string;
  readonly storagePath?: string;
  /** e.g. 127.0.0.1:9093 in tests; unset keeps Alertmanager's default (:9093 in its container). */
  readonly listenAddress?: string;
  /**
   * Where a person reaches Alertmanager: Grafana's alerting view of it (grafanaAlertGroupsUrl),
   * since Alertmanager itself listens on the monitor's loopback only. Omitted when the Grafana
   * URL is not known yet (render output without deploy values).
   */
  readonly externalUrl?: string;
}

/** Command-line flags for the Alertmanager binary or container. */
export function alertmanagerFlags(_config: StackConfig, options: AlertmanagerFlagOptions = {}): string[] {
  const flags = [
    `--config.file=${options.configFile ?? ALERTMANAGER_PATHS.configFile}`,
    `--storage.path=${options.storagePath ?? ALERTMANAGER_PATHS.storagePath}`,
    // A single instance: an empty address turns off clustering (and its gossip port).
    "--cluster.listen-address=",
  ];
  if (options.listenAddress !== undefined) flags.push(`--web.listen-address=${options.listenAddress}`);
  if (options.externalUrl !== undefined) {
    // The external URL has a path (Grafana's); Alertmanager itself keeps serving at / (the
    // deploy's /-/reload and /-/ready, Grafana's data source, Prometheus' alerts).
    flags.push(`--web.external-url=${options.externalUrl}`, "--web.route-prefix=/");
  }
  return flags;
}

type Receiver = Record<string, unknown> & { name: string };

function secretPath(secretsDir: string, secret: AlertmanagerSecret): string {
  return `${secretsDir}/${ALERTMANAGER_SECRET_FILES[secret]}`;
}

function emailConfigs(config: StackConfig, secretsDir: string): Record<string, unknown>[] {
  const email = config.alerting.email;
  if (email === undefined) return [];
  const auth =
    email.username === ""
      ? {}
      : { auth_username: email.username, auth_password_file: secretPath(secretsDir, "smtpPassword") };
  return [
    {
      to: email.to.join(", "),
      from: email.from,
      smarthost: email.smarthost,
      ...auth,
      require_tls: email.requireTls,
      // Defaults to false for email: without it nobody hears that a problem went away.
      send_resolved: true,
      headers: { Subject: callTemplate(TEMPLATE_NAMES.emailSubject) },
      html: callTemplate(TEMPLATE_NAMES.emailHtml),
      text: callTemplate(TEMPLATE_NAMES.emailText),
    },
  ];
}

function slackConfigs(config: StackConfig, secretsDir: string): Record<string, unknown>[] {
  const slack = config.alerting.slack;
  if (slack === undefined) return [];
  return [
    {
      api_url_file: secretPath(secretsDir, "slackWebhookUrl"),
      channel: slack.channel,
      send_resolved: true,
      title: callTemplate(TEMPLATE_NAMES.slackTitle),
      // The defaults link Alertmanager's own UI, which nobody reaches: Grafana's view instead.
      title_link: callTemplate(TEMPLATE_NAMES.alertmanagerUrl),
      fallback: callTemplate(TEMPLATE_NAMES.slackTitle),
      text: callTemplate(TEMPLATE_NAMES.slackText),
    },
  ];
}

function pagerdutyConfigs(config: StackConfig, secretsDir: string): Record<string, unknown>[] {
  if (!config.alerting.pagerduty) return [];
  return [
    {
      routing_key_file: secretPath(secretsDir, "pagerdutyRoutingKey"),
      send_resolved: true,
      // Only critical alerts reach PagerDuty.
      severity: "critical",
      description: callTemplate(TEMPLATE_NAMES.pagerdutyDescription),
      // The defaults link Alertmanager's own UI and Prometheus' (GeneratorURL): Grafana instead.
      client: "Grafana",
      client_url: callTemplate(TEMPLATE_NAMES.alertmanagerUrl),
      details: {
        firing: callTemplate(TEMPLATE_NAMES.pagerdutyFiring),
        resolved: callTemplate(TEMPLATE_NAMES.pagerdutyResolved),
        num_firing: "{{ .Alerts.Firing | len }}",
        num_resolved: "{{ .Alerts.Resolved | len }}",
      },
    },
  ];
}

/** A receiver with only the channel lists that have entries. */
function receiver(name: string, channels: Record<string, Record<string, unknown>[]>): Receiver {
  const result: Receiver = { name };
  for (const [key, configs] of Object.entries(channels)) {
    if (configs.length > 0) result[key] = configs;
  }
  return result;
}

function receivers(config: StackConfig, secretsDir: string): Receiver[] {
  const email = emailConfigs(config, secretsDir);
  const slack = slackConfigs(config, secretsDir);
  const pagerduty = pagerdutyConfigs(config, secretsDir);
  const watchdogReceiver = config.alerting.heartbeat
    ? receiver(RECEIVERS.heartbeat, {
        webhook_configs: [
          {
            url_file: secretPath(secretsDir, "heartbeatUrl"),
            // A resolved Watchdog means the pipeline is dying: it must not count as a heartbeat.
            send_resolved: false,
          },
        ],
      })
    : receiver(RECEIVERS.blackhole, {});
  return [
    receiver(RECEIVERS.critical, {
      email_configs: email,
      slack_configs: slack,
      pagerduty_configs: pagerduty,
    }),
    receiver(RECEIVERS.warning, { email_configs: email, slack_configs: slack }),
    receiver(RECEIVERS.info, slack.length > 0 ? { slack_configs: slack } : { email_configs: email }),
    watchdogReceiver,
  ];
}

/** What an alert rule mutes (its `mutes`), as inhibit rules of the alerts it makes redundant. */
function mutingRules(config: StackConfig): Record<string, unknown>[] {
  return buildRuleGroups(config)
    .flatMap((group) => group.rules)
    .flatMap((rule) =>
      rule.mutes === undefined
        ? []
        : [
            {
              source_matchers: [`alertname="${rule.name}"`],
              target_matchers: [`alertname=~"${rule.mutes.alerts.join("|")}"`],
              equal: [...new Set([...HOST_LABELS, ...rule.mutes.equal])],
            },
          ],
    );
}

function inhibitRules(config: StackConfig): Record<string, unknown>[] {
  return [
    {
      // An unreachable host mutes everything else about that host (its exporters are down too),
      // but the sample-limit alert, which says the host answers and why it looks down.
      source_matchers: [`alertname="${HOST_UNREACHABLE_ALERT}"`],
      // instance=~".+": an alert without an instance label is about no host and stays loud.
      target_matchers: [
        `alertname!~"${HOST_UNREACHABLE_ALERT}|${SAMPLE_LIMIT_EXCEEDED_ALERT}"`,
        'instance=~".+"',
      ],
      equal: [...HOST_LABELS],
    },
    {
      // The critical variant of an alert mutes its warning variant on the same host.
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: ["alertname", ...HOST_LABELS],
    },
    ...mutingRules(config),
  ];
}

function renderAlertmanagerConfig(config: StackConfig, options: AlertmanagerRenderOptions = {}): string {
  const secretsDir = trimSlash(options.secretsDir ?? ALERTMANAGER_PATHS.secretsDir);
  const templatesDir = trimSlash(options.templatesDir ?? ALERTMANAGER_PATHS.templatesDir);
  const timing: RouteTiming = {
    groupWait: options.timing?.groupWait ?? DEFAULT_ROUTE_TIMING.groupWait,
    groupInterval: options.timing?.groupInterval ?? DEFAULT_ROUTE_TIMING.groupInterval,
    heartbeatGroupInterval:
      options.timing?.heartbeatGroupInterval ?? DEFAULT_ROUTE_TIMING.heartbeatGroupInterval,
    repeatInterval: { ...DEFAULT_ROUTE_TIMING.repeatInterval, ...options.timing?.repeatInterval },
  };
  const severityRoute = (severity: Severity) => ({
    matchers: [`severity="${severity}"`],
    receiver: RECEIVERS[severity],
    repeat_interval: timing.repeatInterval[severity],
  });
  const document = {
    global: {
      // Prometheus sends end times itself; this only covers alerts pushed without one.
      resolve_timeout: "5m",
    },
    templates: [`${templatesDir}/*.tmpl`],
    route: {
      receiver: RECEIVERS.warning,
      group_by: [...GROUP_BY],
      group_wait: timing.groupWait,
      group_interval: timing.groupInterval,
      repeat_interval: timing.repeatInterval.warning,
      routes: [
        {
          // First, so the Watchdog never reaches a person whatever its labels.
          matchers: [`alertname="${WATCHDOG_ALERT}"`],
          receiver: config.alerting.heartbeat ? RECEIVERS.heartbeat : RECEIVERS.blackhole,
          // Ping at once and then every repeat interval; the outside check pages when pings stop.
          group_wait: "0s",
          group_interval: timing.heartbeatGroupInterval,
          repeat_interval: timing.repeatInterval.heartbeat,
        },
        ...SEVERITIES.map(severityRoute),
      ],
    },
    inhibit_rules: inhibitRules(config),
    receivers: receivers(config, secretsDir),
  };
  // No YAML anchors: receivers share config objects, readers should see each one in full.
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

export interface AlertmanagerFilesOptions extends AlertmanagerRenderOptions {
  /** Grafana root URL for links in notifications; defaults to the stack's, else a placeholder. */
  readonly grafanaUrl?: string;
}

/**
 * Every file Alertmanager runs with, keyed by path relative to /etc/alertmanager. The secret
 * files are not here: only their names (`enabledSecrets` mapped through ALERTMANAGER_SECRET_FILES), the deploy writes them.
 */
export function renderAlertmanagerFiles(
  config: StackConfig,
  options: AlertmanagerFilesOptions = {},
): Record<string, string> {
  return {
    "alertmanager.yml": renderAlertmanagerConfig(config, options),
    [`templates/${ALERTMANAGER_TEMPLATE_FILE}`]: renderNotificationTemplates({
      grafanaUrl: options.grafanaUrl ?? config.grafana.rootUrl,
    }),
  };
}
