/** Where alerts go (email, Slack, PagerDuty, heartbeat), their thresholds and their runbook links. */

import {
  ALERT_THRESHOLD_FIELDS,
  DEFAULT_ALERT_THRESHOLDS,
  MAX_THRESHOLD_FOR,
  MIN_THRESHOLD_FOR,
} from "../fields";
import { pathRmCommand, pathSetCommand, secretSetCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import type { AlertingSettings, AlertThresholds, EmailSettings } from "../types";
import {
  DNS_NAME_PATTERN,
  describe,
  documentationPlaceholder,
  EMAIL_PATTERN,
  formatDuration,
  parsePrometheusDuration,
  webUrlProblem,
} from "../values";

/** How many scrapes a host must miss before it counts as down: one missed scrape is noise. */
const MISSED_SCRAPES_FOR_DOWN = 2;

const SLACK_CHANNEL = /^#[a-z0-9][a-z0-9._-]{0,79}$/;

interface EmailResult {
  readonly ok: boolean;
  /** True when recipients are listed, whether or not the rest of the email settings are valid. */
  readonly requested: boolean;
  readonly email?: EmailSettings;
}

function parseEmail(
  reader: SettingsReader,
  secretsSet: ReadonlySet<string>,
  requireSecrets: boolean,
): EmailResult {
  const to = reader.list("alertEmailTo");
  if (to === undefined) return { ok: false, requested: true };
  let ok = true;
  const seen = new Set<string>();
  reader.eachLastFirst(to, (address, index) => {
    const path = `alertEmailTo[${index}]`;
    if (!EMAIL_PATTERN.test(address)) {
      ok = false;
      reader.report(path, `"${address}" is not an email address`, [pathSetCommand(path)]);
    } else if (seen.has(address.toLowerCase())) {
      ok = false;
      reader.report(path, `"${address}" is listed twice`, [pathRmCommand(path)]);
    }
    seen.add(address.toLowerCase());
  });
  if (to.length === 0) return { ok, requested: false };

  const smarthost = reader.requiredString(
    "smtpSmarthost",
    "when alertEmailTo is set (the SMTP relay, host:port)",
  );
  const match = smarthost === undefined ? undefined : /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(smarthost);
  const port = match ? Number(match[2]) : undefined;
  if (
    smarthost !== undefined &&
    (!match || !DNS_NAME_PATTERN.test(match[1] as string) || !port || port > 65535)
  ) {
    reader.report(
      "smtpSmarthost",
      `"${smarthost}" must be host:port, e.g. ${reader.spec("smtpSmarthost").example}`,
      [setCommand("smtpSmarthost")],
    );
  }
  const from = reader.requiredString("smtpFrom", "when alertEmailTo is set (the sender address)");
  if (from !== undefined && !EMAIL_PATTERN.test(from)) {
    reader.report("smtpFrom", `"${from}" is not an email address`, [setCommand("smtpFrom")]);
  }
  const username = reader.requiredString(
    "smtpUsername",
    "when alertEmailTo is set (SMTP authentication user)",
  );
  ok = ok && smarthost !== undefined && port !== undefined && from !== undefined && EMAIL_PATTERN.test(from);
  ok = ok && username !== undefined;
  warnPlaceholders(reader, [
    ...to.map((address, index) => [`alertEmailTo[${index}]`, address] as const),
    ["smtpFrom", from],
    ["smtpSmarthost", smarthost],
    ["smtpUsername", username],
  ]);
  if (requireSecrets && !secretsSet.has("smtpPassword")) {
    ok = false;
    reader.report(
      "smtpPassword",
      "is required when alertEmailTo is set: email alerting needs the SMTP password",
      [secretSetCommand("smtpPassword")],
    );
  }
  const requireTls = reader.boolean("smtpRequireTls");
  if (requireTls === false && port !== undefined && port !== 465) {
    ok = false;
    reader.report(
      "smtpRequireTls",
      `is false while ${smarthost} is not implicit TLS (port 465): the SMTP password would cross the network in clear text`,
      [setCommand("smtpRequireTls", "true")],
    );
  }
  if (
    !ok ||
    smarthost === undefined ||
    from === undefined ||
    username === undefined ||
    requireTls === undefined
  ) {
    return { ok: false, requested: true };
  }
  return { ok: true, requested: true, email: { to, from, smarthost, username, requireTls } };
}

/**
 * Warns about documentation placeholders left where alerts go: an example.com recipient or
 * sender, an example repository's runbooks. The stack still works; nobody gets the alerts.
 */
function warnPlaceholders(
  reader: SettingsReader,
  entries: ReadonlyArray<readonly [string, string | undefined]>,
  consequence = "alerts would reach nobody",
): void {
  for (const [setting, value] of entries) {
    const why = value === undefined ? undefined : documentationPlaceholder(value);
    if (why !== undefined) {
      const fix = setting.includes("[") ? pathSetCommand(setting) : setCommand(setting);
      reader.placeholder(setting, `"${value}" ${why}: ${consequence}`, [fix]);
    }
  }
}

function numberValue(value: unknown): number | undefined {
  const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof parsed === "number" && Number.isFinite(parsed) ? parsed : undefined;
}

function parseThresholds(
  reader: SettingsReader,
  scrapeIntervalMs: number | undefined,
): AlertThresholds | undefined {
  const raw =
    reader.raw("alertThresholds") === undefined ? {} : reader.structured("alertThresholds", "object");
  if (raw === undefined) return undefined;
  const item = raw as Record<string, unknown>;
  let ok = reader.unknownFields(
    "alertThresholds",
    item,
    ALERT_THRESHOLD_FIELDS.map((field) => field.key),
  );
  const result: Record<string, string | number> = { ...DEFAULT_ALERT_THRESHOLDS };
  const minFor = parsePrometheusDuration(MIN_THRESHOLD_FOR) as number;
  const maxFor = parsePrometheusDuration(MAX_THRESHOLD_FOR) as number;
  for (const field of ALERT_THRESHOLD_FIELDS) {
    const value = item[field.key];
    if (value === undefined) continue;
    const path = `alertThresholds.${field.key}`;
    const fallback = String(DEFAULT_ALERT_THRESHOLDS[field.key]);
    if (field.type === "duration") {
      const ms = typeof value === "string" ? parsePrometheusDuration(value) : undefined;
      const floor =
        field.key === "hostDownFor" && scrapeIntervalMs !== undefined
          ? Math.max(minFor, MISSED_SCRAPES_FOR_DOWN * scrapeIntervalMs)
          : minFor;
      if (ms === undefined) {
        ok = false;
        reader.report(path, `must be a Prometheus duration like ${fallback}, got ${describe(value)}`, [
          pathSetCommand(path, fallback),
        ]);
      } else if (ms < floor || ms > maxFor) {
        ok = false;
        const why =
          floor > minFor
            ? ` (at least ${MISSED_SCRAPES_FOR_DOWN} scrape intervals, so one missed scrape does not page)`
            : " (a shorter `for` pages on a single missed scrape)";
        reader.report(
          path,
          `"${value}" must be from ${formatDuration(floor)} to ${MAX_THRESHOLD_FOR}${why}`,
          [pathSetCommand(path, formatDuration(ms < floor ? floor : maxFor))],
        );
      } else {
        result[field.key] = value as string;
      }
      continue;
    }
    const parsed = numberValue(value);
    const min = field.min as number;
    const max = field.max as number;
    if (field.type === "integer") {
      if (parsed === undefined || !Number.isInteger(parsed) || parsed < min || parsed > max) {
        ok = false;
        reader.report(path, `must be a whole number from ${min} to ${max}, got ${describe(value)}`, [
          pathSetCommand(path, fallback),
        ]);
      } else {
        result[field.key] = parsed;
      }
      continue;
    }
    if (parsed !== undefined && parsed > 0 && parsed < 1) {
      ok = false;
      reader.report(
        path,
        `${describe(value)} looks like a fraction; thresholds are percentages (${parsed} means ${parsed}%, not ${parsed * 100}%)`,
        [pathSetCommand(path, String(Math.round(parsed * 1000) / 10))],
      );
    } else if (parsed === undefined || parsed < min || parsed >= max) {
      ok = false;
      reader.report(
        path,
        `must be a percentage from ${min} up to (not including) ${max}, got ${describe(value)}`,
        [pathSetCommand(path, fallback)],
      );
    } else {
      result[field.key] = parsed;
    }
  }
  return ok ? (result as unknown as AlertThresholds) : undefined;
}

/**
 * Where alerts' runbook links point when not at Grafana's Runbooks dashboard: an https URL
 * without credentials, query, fragment or trailing slash. `ok` false: reported.
 */
function parseRunbookBaseUrl(reader: SettingsReader): { readonly ok: boolean; readonly url?: string } {
  const text = reader.string("runbookBaseUrl");
  // Unset (or of the wrong type, which the reader reported): nothing to check here.
  if (text === undefined) return { ok: true };
  const problem = webUrlProblem(text, ["https:"]);
  if (problem !== undefined) {
    reader.report("runbookBaseUrl", `"${text}" ${problem} (alerts link to <runbookBaseUrl>/<AlertName>.md)`, [
      setCommand("runbookBaseUrl"),
    ]);
    return { ok: false };
  }
  warnPlaceholders(
    reader,
    [["runbookBaseUrl", text]],
    "every alert's runbook link would lead nowhere (leave runbookBaseUrl unset to link to Grafana's Runbooks dashboard)",
  );
  if (text.endsWith("/")) {
    reader.report("runbookBaseUrl", `"${text}" ends with a slash; alerts append /<AlertName>.md themselves`, [
      setCommand("runbookBaseUrl", text.replace(/\/+$/, "")),
    ]);
    return { ok: false };
  }
  return { ok: true, url: text };
}

export function parseAlerting(
  reader: SettingsReader,
  secretsSet: ReadonlySet<string>,
  requireSecrets: boolean,
  scrapeIntervalMs: number | undefined,
): AlertingSettings | undefined {
  const email = parseEmail(reader, secretsSet, requireSecrets);
  const channel = reader.string("slackChannel");
  const channelOk = channel !== undefined && SLACK_CHANNEL.test(channel);
  if (channel !== undefined && !channelOk) {
    const cleaned = `#${channel
      .replace(/^#/, "")
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^-+/, "")}`;
    reader.report(
      "slackChannel",
      `"${channel}" is not a Slack channel like #alerts (lowercase letters, digits, . _ -)`,
      [
        setCommand(
          "slackChannel",
          SLACK_CHANNEL.test(cleaned) ? cleaned : reader.spec("slackChannel").example,
        ),
      ],
    );
  }
  const thresholds = parseThresholds(reader, scrapeIntervalMs);
  const runbook = parseRunbookBaseUrl(reader);
  const heartbeatOptOut = reader.boolean("heartbeatOptOut");
  const slack = secretsSet.has("slackWebhookUrl");
  const pagerduty = secretsSet.has("pagerdutyRoutingKey");
  // Without the stack's secrets nobody can know whether Slack or PagerDuty is on: check only with them.
  if (requireSecrets && !email.requested && !slack && !pagerduty) {
    reader.report(
      "alertEmailTo",
      "no alert receiver is configured, so alerts would go nowhere: list email recipients here, or set the slackWebhookUrl or pagerdutyRoutingKey secret",
      [pathSetCommand("alertEmailTo[0]")],
    );
    return undefined;
  }
  if (!email.ok || !channelOk || !thresholds || !runbook.ok || heartbeatOptOut === undefined)
    return undefined;
  return {
    ...(email.email ? { email: email.email } : {}),
    ...(slack && channel !== undefined ? { slack: { channel } } : {}),
    pagerduty,
    heartbeat: secretsSet.has("heartbeatUrl"),
    heartbeatOptOut: heartbeatOptOut === true,
    thresholds,
    ...(runbook.url !== undefined ? { runbookBaseUrl: runbook.url } : {}),
  };
}
