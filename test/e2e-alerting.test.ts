/**
 * Alerts reach people, end to end, with the real binaries on 127.0.0.1: the monitor's rendered
 * prometheus.yml, rule files, file SD targets, alertmanager.yml and templates (changed only by
 * `pointAtLoopback`: addresses, paths, durations / 60) run in Debian sid's Prometheus and
 * Alertmanager; two hosts are real node + process exporters, a third serves node_* series the
 * test sets; mail goes to an SMTP sink, Slack, PagerDuty and the heartbeat to a webhook sink.
 *
 * The steps share one stack and run in order. Every wait is a bounded poll; "nothing more was
 * sent" is checked after Watchdog heartbeats have passed (Alertmanager's own clock), never after
 * a sleep, and nothing asserts on how long anything took.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HOST_UNREACHABLE_ALERT } from "../configs/alertmanager";
import { buildDashboards } from "../configs/dashboards";
import { JOB_NAMES } from "../configs/prometheus";
import { renderRuleFiles } from "../configs/rules";
import { hostRuleGroup } from "../configs/rules/host";
import { runbookUrl } from "../configs/rules/runbook";
import { DEFAULT_ALERT_THRESHOLDS } from "../lib/stack-config";
import { RECEIVERS, WATCHDOG_ALERT } from "./support/alertmanager";
import {
  CONTROLLED_HOST,
  E2eStack,
  GRAFANA_URL,
  PAGERDUTY_ROUTING_KEY,
  REAL_HOSTS,
  SMTP_PASSWORD,
  WEBHOOK_PATHS,
  waitForUp,
} from "./support/e2e-stack";
import { exploreQuery, htmlLinks, slackLinks, textLinks } from "./support/notification-links";
import { pollUntil, postJson } from "./support/processes";
import type { ReceivedMail } from "./support/smtp-sink";
import type { PagerdutyPayload, SlackPayload, WebhookPayload } from "./support/webhook-sink";

const [DOWN_HOST, QUIET_HOST] = REAL_HOSTS;
const DISK_ALERT = "HostDiskFull";
const RELOAD_ALERT = "PrometheusConfigReloadFailed";
/** Alerts a host whose every exporter died raises besides HostUnreachable (all `for` 5m). */
const HOST_DOWN_COMPANIONS = ["ExporterDown", "AlloyDown"];
const GIB = 1024 ** 3;
/**
 * Both real hosts are this machine: their host alerts follow its real state (a busy CI runner
 * trips HostHighCpu and HostLoadHigh, a container's clock reports itself unsynchronised) and
 * are not what these steps drive, so checks of
 * "nothing else was raised" leave them out. The controlled host's disk alert is checked apart.
 */
const MACHINE_LOAD_ALERTS = hostRuleGroup(DEFAULT_ALERT_THRESHOLDS)
  .rules.map((rule) => rule.name)
  .filter((name) => name !== HOST_UNREACHABLE_ALERT);
const isMachineLoad = (alertname: string | undefined, instance: string | undefined) =>
  MACHINE_LOAD_ALERTS.includes(alertname ?? "") && (REAL_HOSTS as readonly string[]).includes(instance ?? "");

describe("alerting end to end: exporters -> Prometheus -> Alertmanager -> email, Slack, PagerDuty, heartbeat", () => {
  const stack = new E2eStack({ label: "e2e-alerting" });

  const mails = (alertname: string, status: "FIRING" | "RESOLVED") =>
    stack.smtp.mails.filter(
      (mail) => mail.subject.startsWith(`[${status}`) && mail.subject.includes(` ${alertname} `),
    );
  const slack = (alertname: string, status: "FIRING" | "RESOLVED") =>
    stack.webhooks
      .posts(WEBHOOK_PATHS.slack)
      .map((post) => post.json as SlackPayload)
      .filter((payload) => {
        const title = payload.attachments[0]?.title ?? "";
        return title.startsWith(`[${status}`) && title.includes(` ${alertname} `);
      });
  const pagerduty = (alertname: string) =>
    stack.webhooks
      .posts(WEBHOOK_PATHS.pagerduty)
      .map((post) => post.json as PagerdutyPayload)
      .filter((payload) => payload.payload.summary.includes(` ${alertname} `));
  const everything = () =>
    `mails: ${JSON.stringify(stack.smtp.mails.map((mail) => mail.subject))}; webhooks: ${JSON.stringify(
      stack.webhooks.all.map((post) => `${post.path} ${post.body.slice(0, 120)}`),
    )}`;
  /** HostUnreachable's runbook link: its panel on the Runbooks dashboard of the stack's Grafana. */
  const hostUnreachableRunbook = () => {
    const link = runbookUrl(
      { grafanaUrl: GRAFANA_URL, runbookBaseUrl: stack.config.alerting.runbookBaseUrl },
      HOST_UNREACHABLE_ALERT,
    );
    // The panel it opens is in the dashboard the monitor provisions, and is that alert's runbook.
    const url = new URL(link);
    const dashboard = Object.values(buildDashboards(stack.config)).find(
      (candidate) => `/d/${candidate.uid}` === url.pathname,
    );
    const panel = dashboard?.panels?.find((item) => `panel-${item.id}` === url.searchParams.get("viewPanel"));
    expect(panel?.title, link).toBe(HOST_UNREACHABLE_ALERT);
    return link;
  };
  /** Where the notification lists stood at some point, to look only at what came after. */
  const mark = () => ({ mails: stack.smtp.mails.length, webhooks: stack.webhooks.all.length });
  /** Mail subjects, Slack titles and PagerDuty summaries since `since`, about anything but machine load. */
  const notificationsBesidesMachineLoad = (since = { mails: 0, webhooks: 0 }) =>
    [
      ...stack.smtp.mails.slice(since.mails).map((mail) => mail.subject),
      ...stack.webhooks.all
        .slice(since.webhooks)
        .map((post) =>
          post.path === WEBHOOK_PATHS.slack
            ? (post.json as SlackPayload).attachments[0]?.title
            : post.path === WEBHOOK_PATHS.pagerduty
              ? (post.json as PagerdutyPayload).payload.summary
              : undefined,
        ),
    ]
      .filter((subject) => subject !== undefined)
      .filter((subject) => !MACHINE_LOAD_ALERTS.some((alertname) => subject?.includes(` ${alertname} `)));
  const waitForMail = (alertname: string, status: "FIRING" | "RESOLVED"): Promise<ReceivedMail> =>
    pollUntil(`a ${status} mail about ${alertname}`, () => mails(alertname, status)[0], {
      attempts: 240,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; ${everything()}`);
    });
  const firingInPrometheus = async (alertname: string, instance?: string) =>
    (await stack.prometheusAlerts()).find(
      (alert) =>
        alert.state === "firing" &&
        alert.labels.alertname === alertname &&
        (instance === undefined || alert.labels.instance === instance),
    );
  const setDiskUsedPercent = (usedPercent: number) => {
    const labels = { device: "/dev/nvme0n1p1", fstype: "ext4", mountpoint: "/" };
    stack.controlled.set("node_filesystem_size_bytes", labels, 100 * GIB);
    stack.controlled.set("node_filesystem_avail_bytes", labels, ((100 - usedPercent) * 100 * GIB) / 100);
    stack.controlled.set("node_filesystem_files", labels, 1_000_000);
    stack.controlled.set("node_filesystem_files_free", labels, 900_000);
  };

  beforeAll(async () => {
    await stack.start();
    setDiskUsedPercent(50);
  });

  afterAll(async () => {
    await stack.close();
  });

  it("scrapes all three hosts, reaches the heartbeat again and again, and sends nothing else", async () => {
    for (const host of [...REAL_HOSTS, CONTROLLED_HOST]) await waitForUp(stack, host, JOB_NAMES.node, 1);
    await waitForUp(stack, DOWN_HOST, JOB_NAMES.process, 1);
    // Start-up: until each target's first scrape, fewer hosts are seen than configured, and with
    // `for` scaled to seconds a slow start on a busy machine can raise TooFewTargets (2m covers
    // start-up in production). Let that settle and be notified, then watch a quiet stretch.
    const settledFiring = async () =>
      (await stack.prometheusAlerts()).filter(
        (alert) => alert.state === "firing" && !isMachineLoad(alert.labels.alertname, alert.labels.instance),
      );
    await pollUntil("only the Watchdog to fire", async () =>
      (await settledFiring()).every((alert) => alert.labels.alertname === WATCHDOG_ALERT) ? true : undefined,
    );
    await stack.heartbeatsPass(3);
    const quietFrom = mark();
    await stack.heartbeatsPass(2);

    const heartbeats = stack.webhooks
      .posts(WEBHOOK_PATHS.heartbeat)
      .map((post) => post.json as WebhookPayload);
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    for (const heartbeat of heartbeats) {
      expect(heartbeat.receiver).toBe(RECEIVERS.heartbeat);
      expect(heartbeat.status).toBe("firing");
      expect(heartbeat.alerts.map((alert) => alert.labels.alertname)).toEqual([WATCHDOG_ALERT]);
    }
    // The Watchdog is for the outside check only, and nothing else is wrong.
    const firing = await settledFiring();
    expect(firing.map((alert) => alert.labels.alertname)).toEqual([WATCHDOG_ALERT]);
    expect(notificationsBesidesMachineLoad(quietFrom), everything()).toEqual([]);
  });

  it("mails one FIRING about a host that stops, with the Grafana link, and pages and posts to Slack", async () => {
    await stack.host(DOWN_HOST).stop();

    const firing = await waitForMail(HOST_UNREACHABLE_ALERT, "FIRING");
    expect(firing.subject).toBe(`[FIRING:1] ${HOST_UNREACHABLE_ALERT} [e2e]`);
    expect(firing.envelopeTo).toEqual(["oncall@example.com"]);
    expect(firing.envelopeFrom).toBe("alertmanager@example.com");
    // The password came from the secret file.
    expect(firing.auth).toEqual({ username: "alertmanager", password: SMTP_PASSWORD });
    expect(firing.text).toContain(`Prometheus cannot scrape the node exporter on ${DOWN_HOST}`);
    expect(firing.text).toContain(`instance=${DOWN_HOST}`);
    expect(firing.text).not.toContain(QUIET_HOST);
    expect(firing.text).toContain(`Grafana: ${GRAFANA_URL}`);
    expect(firing.html).toContain(`href="${GRAFANA_URL}"`);
    expect(firing.html).toContain(`href="${hostUnreachableRunbook()}"`);

    // Critical: Slack and PagerDuty hear it too.
    const slackPost = await pollUntil(
      "HostUnreachable on Slack",
      () => slack(HOST_UNREACHABLE_ALERT, "FIRING")[0],
    );
    expect(slackPost.channel).toBe("#alerts-e2e");
    expect(slackPost.attachments[0]?.text).toContain(`on ${DOWN_HOST}`);
    // Fields left to Alertmanager's own default templates (the version's default.tmpl) are filled.
    expect(slackPost.attachments[0]?.color).toBe("danger");
    expect(slackPost.attachments[0]?.fallback).toContain(HOST_UNREACHABLE_ALERT);
    const page = await pollUntil("HostUnreachable on PagerDuty", () => pagerduty(HOST_UNREACHABLE_ALERT)[0]);
    expect(page.routing_key).toBe(PAGERDUTY_ROUTING_KEY);
    expect(page.event_action).toBe("trigger");
  });

  it("mutes the stopped host's other alerts by inhibition while it is down", async () => {
    // Real alerts from the same host: its process exporter, cAdvisor and Alloy died with it.
    for (const alertname of HOST_DOWN_COMPANIONS) {
      await pollUntil(`${alertname} firing in Prometheus for ${DOWN_HOST}`, () =>
        firingInPrometheus(alertname, DOWN_HOST),
      );
    }
    const muted = await pollUntil("Alertmanager to hold the companions, inhibited", async () => {
      const alerts = (await stack.alertmanagerAlerts()).filter(
        (alert) =>
          HOST_DOWN_COMPANIONS.includes(alert.labels.alertname ?? "") && alert.labels.instance === DOWN_HOST,
      );
      return alerts.length >= 3 ? alerts : undefined;
    });
    for (const alert of muted) {
      expect(alert.status.state, JSON.stringify(alert.labels)).toBe("suppressed");
      expect(alert.status.inhibitedBy).toHaveLength(1);
    }
    // Alertmanager has flushed its groups since: an un-muted alert would have been sent by now.
    await stack.heartbeatsPass(2);
    for (const alertname of HOST_DOWN_COMPANIONS) {
      expect(mails(alertname, "FIRING"), everything()).toEqual([]);
      expect(slack(alertname, "FIRING"), everything()).toEqual([]);
    }
  });

  it("mails one RESOLVED when the host is back, and the other host raised nothing", async () => {
    await stack.host(DOWN_HOST).start();
    const resolved = await waitForMail(HOST_UNREACHABLE_ALERT, "RESOLVED");
    expect(resolved.subject).toBe(`[RESOLVED] ${HOST_UNREACHABLE_ALERT} [e2e]`);
    expect(resolved.text).toContain("RESOLVED (1)");
    expect(resolved.text).toContain(`instance=${DOWN_HOST}`);
    await pollUntil("PagerDuty resolve", () =>
      pagerduty(HOST_UNREACHABLE_ALERT).find((payload) => payload.event_action === "resolve"),
    );

    await stack.heartbeatsPass(2);
    expect(mails(HOST_UNREACHABLE_ALERT, "FIRING")).toHaveLength(1);
    expect(mails(HOST_UNREACHABLE_ALERT, "RESOLVED")).toHaveLength(1);
    expect(slack(HOST_UNREACHABLE_ALERT, "FIRING")).toHaveLength(1);
    expect(slack(HOST_UNREACHABLE_ALERT, "RESOLVED")).toHaveLength(1);
    expect(slack(HOST_UNREACHABLE_ALERT, "RESOLVED")[0]?.attachments[0]?.color).toBe("good");
    for (const alertname of HOST_DOWN_COMPANIONS) expect(mails(alertname, "RESOLVED")).toEqual([]);

    // Notifications group by alert name, so a mail lists every host it is about.
    const aboutQuietHost = [
      ...stack.smtp.mails.map((mail) => mail.text),
      ...stack.webhooks.all.map((post) => post.body),
    ].filter(
      (text) =>
        text.includes(QUIET_HOST) &&
        !MACHINE_LOAD_ALERTS.some(
          (alertname) => text.includes(`alertname=${alertname}`) || text.includes(`] ${alertname} [`),
        ),
    );
    expect(aboutQuietHost).toEqual([]);
    const quietHostAlerts = (await stack.prometheusAlerts()).filter(
      (alert) => alert.labels.instance === QUIET_HOST && !isMachineLoad(alert.labels.alertname, QUIET_HOST),
    );
    expect(quietHostAlerts).toEqual([]);
  });

  it("links only to Grafana and the runbooks in the FIRING and RESOLVED mails and the Slack posts", async () => {
    const rule = Object.values(renderRuleFiles(stack.config))
      .flatMap((file) => (parse(file) as { groups: { rules: { alert?: string; expr: string }[] }[] }).groups)
      .flatMap((group) => group.rules)
      .find((candidate) => candidate.alert === HOST_UNREACHABLE_ALERT);
    const runbookBase = stack.config.alerting.runbookBaseUrl;
    const toGrafanaOrRunbooks = (link: string) =>
      link.startsWith(GRAFANA_URL) ||
      link === GRAFANA_URL.replace(/\/$/, "") ||
      (runbookBase !== undefined && link.startsWith(`${runbookBase}/`));
    const notifications: [string, string[]][] = [];
    for (const status of ["FIRING", "RESOLVED"] as const) {
      const [mail] = mails(HOST_UNREACHABLE_ALERT, status);
      const [post] = slack(HOST_UNREACHABLE_ALERT, status);
      notifications.push(
        [`${status} mail (html)`, htmlLinks(mail?.html ?? "")],
        [`${status} mail (text)`, textLinks(mail?.text ?? "")],
        [
          `${status} Slack post`,
          (post?.attachments ?? []).flatMap((attachment) => [
            ...slackLinks(attachment.text ?? ""),
            ...textLinks(`${attachment.title ?? ""} ${attachment.fallback ?? ""}`),
            ...(attachment.title_link !== undefined ? [attachment.title_link] : []),
          ]),
        ],
      );
    }
    for (const [notification, links] of notifications) {
      // Each names Grafana, the alert groups, the alert's query, its silence and its runbook.
      expect(links.length, notification).toBeGreaterThanOrEqual(5);
      for (const link of links) {
        expect(toGrafanaOrRunbooks(link), `${notification}: ${link}`).toBe(true);
        for (const container of ["prometheus", "alertmanager", "grafana", "loki", "localhost"]) {
          expect(new URL(link).hostname, `${notification}: ${link}`).not.toBe(container);
        }
      }
      const explore = links.filter((link) => link.startsWith(`${GRAFANA_URL}explore?`));
      expect(explore.length, notification).toBeGreaterThanOrEqual(1);
      for (const link of explore) {
        expect(exploreQuery(link), notification).toEqual({ expr: rule?.expr, datasource: "prometheus" });
      }
      expect(links, notification).toContain(hostUnreachableRunbook());
      expect(
        links.some((link) => link.startsWith(`${GRAFANA_URL}alerting/silence/new?`)),
        notification,
      ).toBe(true);
    }
    const [page] = pagerduty(HOST_UNREACHABLE_ALERT);
    const strings = (value: unknown): string[] =>
      typeof value === "string"
        ? [value]
        : typeof value === "object" && value !== null
          ? Object.values(value).flatMap(strings)
          : [];
    const pageLinks = strings(page).flatMap(textLinks);
    expect(pageLinks.length).toBeGreaterThan(0);
    for (const link of pageLinks) {
      expect(toGrafanaOrRunbooks(link), `PagerDuty: ${link}`).toBe(true);
    }
  });

  it("routes a warning disk alert to email and Slack, not PagerDuty, even with the mail server down", async () => {
    await stack.smtp.stop();
    setDiskUsedPercent(97);

    await pollUntil(`${DISK_ALERT} firing for ${CONTROLLED_HOST}`, () =>
      firingInPrometheus(DISK_ALERT, CONTROLLED_HOST),
    );
    const held = await pollUntil(`${DISK_ALERT} in Alertmanager`, async () =>
      (await stack.alertmanagerAlerts()).find((alert) => alert.labels.alertname === DISK_ALERT),
    );
    expect(held.receivers.map((receiver) => receiver.name)).toEqual([RECEIVERS.warning]);
    expect(held.labels.severity).toBe("warning");

    // Slack got it while the mail server was down, and the mail attempt failed.
    const slackPost = await pollUntil(`${DISK_ALERT} on Slack`, () => slack(DISK_ALERT, "FIRING")[0]);
    expect(slackPost.attachments[0]?.text).toContain(`on ${CONTROLLED_HOST}`);
    await pollUntil("a failed email notification", async () =>
      (await stack.alertmanagerMetric("alertmanager_notifications_failed_total", { integration: "email" })) >
      0
        ? true
        : undefined,
    );
    expect(mails(DISK_ALERT, "FIRING")).toEqual([]);

    await stack.smtp.resume();
    const firing = await waitForMail(DISK_ALERT, "FIRING");
    expect(firing.subject).toBe(`[FIRING:1] ${DISK_ALERT} [e2e]`);
    expect(firing.text).toContain(`Filesystem / on ${CONTROLLED_HOST} is 97% full`);
    expect(firing.html).toContain(`href="${GRAFANA_URL}"`);
    expect(pagerduty(DISK_ALERT)).toEqual([]);
  });

  it("does not send the firing disk alert again after Alertmanager restarts with its data", async () => {
    await stack.restartAlertmanager();
    await pollUntil(`${DISK_ALERT} back in the restarted Alertmanager`, async () =>
      (await stack.alertmanagerAlerts()).find((alert) => alert.labels.alertname === DISK_ALERT),
    );
    await stack.heartbeatsPass(2);
    expect(mails(DISK_ALERT, "FIRING"), everything()).toHaveLength(1);
    expect(slack(DISK_ALERT, "FIRING"), everything()).toHaveLength(1);
  });

  it("resolves the disk alert once, and a restart after that sends no resolved again", async () => {
    setDiskUsedPercent(50);
    const resolved = await waitForMail(DISK_ALERT, "RESOLVED");
    expect(resolved.subject).toBe(`[RESOLVED] ${DISK_ALERT} [e2e]`);
    await pollUntil(`${DISK_ALERT} resolved on Slack`, () => slack(DISK_ALERT, "RESOLVED")[0]);

    // Prometheus keeps re-sending the resolved alert for a while; the kept notification log
    // tells the restarted Alertmanager that it was already announced.
    await stack.restartAlertmanager();
    await stack.heartbeatsPass(3);
    expect(mails(DISK_ALERT, "RESOLVED"), everything()).toHaveLength(1);
    expect(slack(DISK_ALERT, "RESOLVED"), everything()).toHaveLength(1);
    expect(mails(DISK_ALERT, "FIRING")).toHaveLength(1);
    expect(pagerduty(DISK_ALERT)).toEqual([]);
  });

  it("keeps running the old config when a reload brings a broken one, and says so", async () => {
    const good = stack.loopback.files["prometheus/prometheus.yml"] ?? "";
    const evaluations = async () =>
      Number((await stack.query("sum(prometheus_rule_evaluations_total)"))[0]?.value[1] ?? "0");
    const lastScrape = async () =>
      Number((await stack.query(`timestamp(up{job="node", instance="${QUIET_HOST}"})`))[0]?.value[1] ?? "0");

    const status = await stack.reloadPrometheus(`${good}\nscrape_configs: this is not a list\n`);
    expect(status).not.toBe(200);
    await pollUntil("Prometheus to report the failed reload", async () =>
      (await stack.query(`prometheus_config_last_reload_successful{job="prometheus"} == 0`)).length > 0
        ? true
        : undefined,
    );

    const firing = await waitForMail(RELOAD_ALERT, "FIRING");
    expect(firing.text).toContain("failed to load its new configuration and keeps running the previous one");
    await pollUntil(`${RELOAD_ALERT} on Slack`, () => slack(RELOAD_ALERT, "FIRING")[0]);

    // Still scraping with the old targets and still evaluating rules.
    const [scrapedAt, evaluated] = [await lastScrape(), await evaluations()];
    await pollUntil("a newer scrape of the quiet host and more rule evaluations", async () =>
      (await lastScrape()) > scrapedAt && (await evaluations()) > evaluated ? true : undefined,
    );
    await waitForUp(stack, QUIET_HOST, JOB_NAMES.node, 1);

    // A good config again: the alert resolves.
    expect(await stack.reloadPrometheus(good)).toBe(200);
    await waitForMail(RELOAD_ALERT, "RESOLVED");
  });

  it("mutes a warning by its critical twin on the same host (alerts posted to the API)", async () => {
    // No rule raises both severities of one alert yet, so the twins are posted.
    const alertname = "E2ePostedTwin";
    const posted = [
      { instance: "posted-1", severity: "critical" },
      { instance: "posted-1", severity: "warning" },
      { instance: "posted-2", severity: "warning" },
    ].map((labels) => ({
      labels: { alertname, environment: "e2e", ...labels },
      annotations: { summary: `${alertname} on ${labels.instance}.` },
    }));
    await postJson(`${stack.alertmanagerUrl}/api/v2/alerts`, posted);
    const states = await pollUntil("Alertmanager to hold the posted twins", async () => {
      const held = (await stack.alertmanagerAlerts()).filter((alert) => alert.labels.alertname === alertname);
      if (held.length < posted.length) return undefined;
      return Object.fromEntries(
        held.map((alert) => [
          `${alert.labels.instance}/${alert.labels.severity}`,
          alert.status.inhibitedBy.length > 0,
        ]),
      );
    });
    expect(states).toEqual({
      "posted-1/critical": false,
      "posted-1/warning": true,
      "posted-2/warning": false,
    });
  });
});
