/**
 * alertmanager.yml and the notification templates, exactly as rendered, checked by Debian sid's
 * amtool 0.33 (check-config, config routes test, template render; the pinned image is 0.34) and by
 * structural assertions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  ALERTMANAGER_PATHS,
  alertmanagerFlags,
  enabledSecrets,
  HOST_UNREACHABLE_ALERT,
  renderAlertmanagerFiles,
  SEVERITIES,
} from "../configs/alertmanager";
import {
  ALERTMANAGER_TEMPLATE_FILE,
  renderNotificationTemplates,
  TEMPLATE_NAMES,
} from "../configs/alertmanager-email.tmpl";
import { GRAFANA_ROOT_URL_PLACEHOLDER } from "../configs/grafana";
import { IMAGES } from "../configs/images";
import { buildRuleGroups } from "../configs/rules";
import type { StackConfig } from "../lib/stack-config";
import { listStackNames, loadStackConfigFromFiles } from "../lib/stack-files";
import {
  alertmanagerSecretFiles,
  RECEIVERS,
  renderAlertmanagerYaml,
  WATCHDOG_ALERT,
} from "./support/alertmanager";
import { everyAlert } from "./support/every-alert";
import { exploreQuery, htmlLinks, slackLinks, textLinks } from "./support/notification-links";
import { sampleStackConfig } from "./support/sample-config";
import { WITHOUT_SECRETS } from "./support/stack-files";
import { ALERTMANAGER_URL_FILE_SINCE, compareVersions, describeRun, runTool, TOOLS } from "./support/tools";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked generically in these tests.
type Yaml = any;

const base = sampleStackConfig();

function withAlerting(changes: Partial<StackConfig["alerting"]>): StackConfig {
  return sampleStackConfig({ alerting: { ...base.alerting, ...changes } });
}

/** The configurations worth telling apart, by what they switch on. */
const SAMPLE_VARIANTS: Record<string, StackConfig> = {
  "email + Slack + PagerDuty + heartbeat": base,
  "email only": withAlerting({ slack: undefined, pagerduty: false, heartbeat: false }),
  "everything but the heartbeat": withAlerting({ heartbeat: false }),
  "Slack and PagerDuty, no email": withAlerting({ email: undefined }),
  "email without SMTP auth, plain SMTP": withAlerting({
    email: {
      ...(base.alerting.email as NonNullable<StackConfig["alerting"]["email"]>),
      username: "",
      requireTls: false,
    },
    slack: undefined,
    pagerduty: false,
  }),
};

const REPO_ROOT = resolve(__dirname, "..");
const REAL_STACKS = listStackNames(REPO_ROOT);

/** Sample variants, then every stack the repo ships, as its files configure it. */
const VARIANTS: Record<string, StackConfig> = {
  ...SAMPLE_VARIANTS,
  ...Object.fromEntries(
    REAL_STACKS.map((stack) => [
      `stack ${stack}`,
      loadStackConfigFromFiles(stack, REPO_ROOT, WITHOUT_SECRETS),
    ]),
  ),
};

const workDir = mkdtempSync(join(tmpdir(), "alertmanager-test-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Fixture {
  readonly configFile: string;
  readonly templatesDir: string;
  readonly rendered: string;
}

let fixtureCount = 0;
/** Renders into a temp dir laid out like /etc/alertmanager, with dummy secret files. */
function writeFixture(config: StackConfig, grafanaUrl?: string): Fixture {
  fixtureCount += 1;
  const dir = join(workDir, `fixture-${fixtureCount}`);
  const secretsDir = join(dir, "secrets");
  const templatesDir = join(dir, "templates");
  mkdirSync(secretsDir, { recursive: true });
  mkdirSync(templatesDir, { recursive: true });
  for (const name of alertmanagerSecretFiles(config)) {
    writeFileSync(join(secretsDir, name), `dummy-${name}`, { mode: 0o600 });
  }
  const files = renderAlertmanagerFiles(config, { secretsDir, templatesDir, grafanaUrl });
  const rendered = files["alertmanager.yml"] as string;
  const configFile = join(dir, "alertmanager.yml");
  writeFileSync(configFile, rendered);
  writeFileSync(
    join(templatesDir, ALERTMANAGER_TEMPLATE_FILE),
    files[`templates/${ALERTMANAGER_TEMPLATE_FILE}`] as string,
  );
  return { configFile, templatesDir, rendered };
}

function checkConfig(fixture: Fixture): void {
  const args = ["check-config", fixture.configFile];
  const result = runTool(TOOLS.amtool, args);
  expect(result.status, describeRun(TOOLS.amtool, args, result)).toBe(0);
}

/** Runs `amtool config routes test` and returns the receivers the labels reach. */
function routeOf(fixture: Fixture, labels: Record<string, string>): string[] {
  const args = [
    "config",
    "routes",
    "test",
    `--config.file=${fixture.configFile}`,
    ...Object.entries(labels).map(([name, value]) => `${name}=${value}`),
  ];
  const result = runTool(TOOLS.amtool, args);
  expect(result.status, describeRun(TOOLS.amtool, args, result)).toBe(0);
  return result.stdout
    .trim()
    .split(",")
    .map((name) => name.trim());
}

function receiverNamed(document: Yaml, name: string): Yaml {
  const found = document.receivers.find((receiver: Yaml) => receiver.name === name);
  expect(found, `receiver ${name}`).toBeDefined();
  return found;
}

function channelsOf(receiver: Yaml): string[] {
  return Object.keys(receiver)
    .filter((key) => key.endsWith("_configs"))
    .sort();
}

it("finds the real stacks", () => {
  expect(REAL_STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
});

describe.each(Object.entries(VARIANTS))("alertmanager.yml for %s", (_name, config) => {
  const fixture = writeFixture(config);
  const document: Yaml = parse(fixture.rendered);
  const expectedWatchdogReceiver = config.alerting.heartbeat ? RECEIVERS.heartbeat : RECEIVERS.blackhole;

  it("passes amtool check-config", () => {
    checkConfig(fixture);
  });

  it("routes the Watchdog to the heartbeat or nowhere, whatever its severity", () => {
    expect(routeOf(fixture, { alertname: WATCHDOG_ALERT, severity: "none" })).toEqual([
      expectedWatchdogReceiver,
    ]);
    expect(routeOf(fixture, { alertname: WATCHDOG_ALERT, severity: "critical" })).toEqual([
      expectedWatchdogReceiver,
    ]);
    const watchdogReceiver = receiverNamed(document, expectedWatchdogReceiver);
    expect(watchdogReceiver.email_configs).toBeUndefined();
    expect(channelsOf(watchdogReceiver)).toEqual(config.alerting.heartbeat ? ["webhook_configs"] : []);
  });

  it("routes each severity to its own receiver, and an unknown severity to warning", () => {
    const labels = { alertname: "DiskAlmostFull", environment: config.stack, instance: "web-1" };
    expect(routeOf(fixture, { ...labels, severity: "critical" })).toEqual([RECEIVERS.critical]);
    expect(routeOf(fixture, { ...labels, severity: "warning" })).toEqual([RECEIVERS.warning]);
    expect(routeOf(fixture, { ...labels, severity: "info" })).toEqual([RECEIVERS.info]);
    expect(routeOf(fixture, labels)).toEqual([RECEIVERS.warning]);
  });

  it("gives each receiver the channels the stack configures", () => {
    const { email, slack, pagerduty } = config.alerting;
    const expected = (channels: Record<string, boolean>) =>
      Object.keys(channels)
        .filter((key) => channels[key])
        .sort();
    expect(channelsOf(receiverNamed(document, RECEIVERS.critical))).toEqual(
      expected({ email_configs: !!email, slack_configs: !!slack, pagerduty_configs: pagerduty }),
    );
    expect(channelsOf(receiverNamed(document, RECEIVERS.warning))).toEqual(
      expected({ email_configs: !!email, slack_configs: !!slack }),
    );
    expect(channelsOf(receiverNamed(document, RECEIVERS.info))).toEqual(
      slack ? ["slack_configs"] : expected({ email_configs: !!email }),
    );
  });

  it("sends resolved notifications from every email, Slack and PagerDuty config, never to the heartbeat", () => {
    for (const receiver of document.receivers) {
      for (const key of ["email_configs", "slack_configs", "pagerduty_configs"]) {
        for (const channel of receiver[key] ?? []) {
          expect(channel.send_resolved, `${receiver.name}.${key}`).toBe(true);
        }
      }
      for (const webhook of receiver.webhook_configs ?? []) expect(webhook.send_resolved).toBe(false);
    }
  });

  it("sends email with the configured SMTP settings and the templates", () => {
    const email = config.alerting.email;
    const emailConfig = receiverNamed(document, RECEIVERS.warning).email_configs?.[0];
    if (email === undefined) {
      expect(emailConfig).toBeUndefined();
      return;
    }
    expect(emailConfig).toMatchObject({
      to: email.to.join(", "),
      from: email.from,
      smarthost: email.smarthost,
      require_tls: email.requireTls,
      headers: { Subject: `{{ template "${TEMPLATE_NAMES.emailSubject}" . }}` },
      html: `{{ template "${TEMPLATE_NAMES.emailHtml}" . }}`,
    });
    expect(emailConfig.auth_username).toBe(email.username === "" ? undefined : email.username);
  });

  it("reads every secret from a file the deploy writes, and names exactly those files", () => {
    const secretsDir = "/run/test-secrets";
    const rendered: Yaml = parse(renderAlertmanagerYaml(config, { secretsDir }));
    const forbiddenInline = ["auth_password", "auth_secret", "api_url", "routing_key", "service_key", "url"];
    const referenced: string[] = [];
    const walk = (node: Yaml, path: string): void => {
      if (node === null || typeof node !== "object") return;
      for (const [key, value] of Object.entries(node)) {
        expect(forbiddenInline, `${path}.${key} must be a *_file field`).not.toContain(key);
        if (key.endsWith("_file")) {
          expect(value as string, `${path}.${key}`).toMatch(new RegExp(`^${secretsDir}/[a-z_]+$`));
          referenced.push((value as string).slice(secretsDir.length + 1));
        }
        walk(value, `${path}.${key}`);
      }
    };
    walk(rendered, "");
    expect([...new Set(referenced)].sort()).toEqual([...alertmanagerSecretFiles(config)].sort());
  });

  it("renders the same bytes every time, from equal but distinct inputs", () => {
    const copy: StackConfig = JSON.parse(JSON.stringify(config));
    expect(renderAlertmanagerYaml(copy)).toBe(renderAlertmanagerYaml(config));
    expect(renderAlertmanagerFiles(copy)).toEqual(renderAlertmanagerFiles(config));
  });
});

describe("inhibition", () => {
  const document: Yaml = parse(renderAlertmanagerYaml(base));
  const rules: Yaml[] = document.inhibit_rules;

  it("lets an unreachable host mute that host's other alerts, keyed on labels every host alert has", () => {
    const hostDown = rules.find((rule) =>
      rule.source_matchers.includes(`alertname="${HOST_UNREACHABLE_ALERT}"`),
    );
    expect(hostDown).toBeDefined();
    expect(hostDown.equal).toEqual(expect.arrayContaining(["instance", "environment"]));
    // Never mutes itself, nor the sample-limit alert that says why the host looks down, nor
    // alerts that are about no host.
    expect(hostDown.target_matchers).toContain(
      `alertname!~"${HOST_UNREACHABLE_ALERT}|ScrapeSampleLimitExceeded"`,
    );
    expect(hostDown.target_matchers).toContain('instance=~".+"');
  });

  it("lets a critical alert mute the warning of the same alert on the same host", () => {
    const severity = rules.find((rule) => rule.source_matchers.includes('severity="critical"'));
    expect(severity.target_matchers).toEqual(['severity="warning"']);
    expect([...severity.equal].sort()).toEqual(["alertname", "environment", "instance"]);
  });

  it("lets an alert mute the alerts it makes redundant (its `mutes`), on the labels it names", () => {
    const ruleList = buildRuleGroups(base).flatMap((group) => group.rules);
    const names = new Set(ruleList.map((rule) => rule.name));
    const muting = ruleList.filter((rule) => rule.mutes !== undefined);
    expect(muting.map((rule) => rule.name)).toContain("HostDiskWillFillImminently");
    for (const rule of muting) {
      const inhibit = rules.find((entry) => entry.source_matchers.includes(`alertname="${rule.name}"`));
      expect(inhibit, rule.name).toBeDefined();
      for (const target of rule.mutes?.alerts ?? []) {
        expect(names.has(target), `${rule.name} mutes ${target}, which no rule defines`).toBe(true);
        expect(inhibit.target_matchers[0]).toMatch(new RegExp(`^alertname=~".*\\b${target}\\b.*"$`));
      }
      expect(inhibit.equal).toEqual(expect.arrayContaining(["environment", ...(rule.mutes?.equal ?? [])]));
      // Only labels the muted alerts keep can match.
      const target = ruleList.find((candidate) => candidate.name === rule.mutes?.alerts[0]);
      const kept = Object.keys(
        target?.cases.find((entry) => entry.expectedAlerts.length > 0)?.expectedAlerts[0]?.labels ?? {},
      );
      for (const label of rule.mutes?.equal ?? []) expect(kept, `${rule.name}: ${label}`).toContain(label);
    }
  });

  it("uses only the matcher syntax (no deprecated source_match/target_match)", () => {
    for (const rule of rules) {
      expect(Object.keys(rule).sort()).toEqual(["equal", "source_matchers", "target_matchers"]);
    }
  });
});

describe("agreement with the alert rules", () => {
  const rules = everyAlert(base);

  it("defines the alerts alertmanager.yml keys on by name", () => {
    const hostDown = rules.find((rule) => rule.name === HOST_UNREACHABLE_ALERT);
    expect(hostDown?.severity).toBe("critical");
    expect(rules.find((rule) => rule.name === WATCHDOG_ALERT)).toBeDefined();
  });

  it("gives every alert but the Watchdog a severity that has its own route", () => {
    const severityRoutes: string[] = [...SEVERITIES];
    const unrouted = rules
      .filter((rule) => rule.name !== WATCHDOG_ALERT && !severityRoutes.includes(rule.severity))
      .map((rule) => `${rule.name}: ${rule.severity}`);
    expect(unrouted).toEqual([]);
  });
});

describe("flags and secrets", () => {
  it("runs a single instance with clustering off and the default paths", () => {
    const flags = alertmanagerFlags(base);
    expect(flags).toContain("--cluster.listen-address=");
    expect(flags).toContain(`--config.file=${ALERTMANAGER_PATHS.configFile}`);
    expect(flags).toContain(`--storage.path=${ALERTMANAGER_PATHS.storagePath}`);
    expect(flags.some((flag) => flag.startsWith("--web.external-url"))).toBe(false);
    expect(alertmanagerFlags(base, { externalUrl: "https://am.example.com" })).toContain(
      "--web.external-url=https://am.example.com",
    );
  });

  it("names one secret file per configured channel", () => {
    expect(enabledSecrets(SAMPLE_VARIANTS["email only"] as StackConfig)).toEqual(["smtpPassword"]);
    expect(enabledSecrets(base)).toEqual([
      "smtpPassword",
      "slackWebhookUrl",
      "pagerdutyRoutingKey",
      "heartbeatUrl",
    ]);
    expect(alertmanagerSecretFiles(base)).toEqual([
      "smtp_password",
      "slack_webhook_url",
      "pagerduty_routing_key",
      "heartbeat_url",
    ]);
  });

  it("pins an Alertmanager image new enough for webhook url_file", () => {
    const tag = /:v?(\d+)\.(\d+)\.(\d+)/.exec(IMAGES.alertmanager);
    expect(tag, IMAGES.alertmanager).not.toBeNull();
    expect(
      compareVersions(tag?.slice(1).join(".") ?? "", ALERTMANAGER_URL_FILE_SINCE),
    ).toBeGreaterThanOrEqual(0);
  });
});

describe("notification templates", () => {
  const grafanaUrl = "https://grafana.example.com";
  const fixture = writeFixture(base, grafanaUrl);
  const alert = (status: "firing" | "resolved", instance: string) => ({
    status,
    labels: { alertname: HOST_UNREACHABLE_ALERT, environment: "prod", instance, severity: "critical" },
    annotations: {
      summary: "A host stopped answering scrapes.",
      description: `${instance} has not answered for 2m.`,
      runbook_url: "https://github.com/example/observability/blob/main/runbooks/host-unreachable.md",
    },
    startsAt: "2026-11-23T10:00:00Z",
    endsAt: status === "resolved" ? "2026-11-23T10:30:00Z" : "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph",
    fingerprint: instance,
  });
  const data = (status: "firing" | "resolved", alerts: object[]) => ({
    receiver: "critical",
    status,
    alerts,
    groupLabels: { alertname: HOST_UNREACHABLE_ALERT, environment: "prod" },
    commonLabels: { alertname: HOST_UNREACHABLE_ALERT, environment: "prod", severity: "critical" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.example:9093",
  });

  function render(templateName: string, input: object, type: "text" | "html" = "text"): string {
    const dataFile = join(workDir, `data-${templateName}-${type}-${JSON.stringify(input).length}.json`);
    writeFileSync(dataFile, JSON.stringify(input));
    const args = [
      "template",
      "render",
      `--template.glob=${fixture.templatesDir}/*.tmpl`,
      `--template.text={{ template "${templateName}" . }}`,
      `--template.type=${type}`,
      `--template.data=${dataFile}`,
    ];
    const result = runTool(TOOLS.amtool, args);
    expect(result.status, describeRun(TOOLS.amtool, args, result)).toBe(0);
    return result.stdout;
  }

  const firing = data("firing", [alert("firing", "web-1"), alert("firing", "web-2")]);
  const resolved = data("resolved", [alert("resolved", "web-1")]);

  it("says FIRING with the count, or RESOLVED, in the subject", () => {
    expect(render(TEMPLATE_NAMES.emailSubject, firing).trim()).toBe(
      `[FIRING:2] ${HOST_UNREACHABLE_ALERT} [prod]`,
    );
    expect(render(TEMPLATE_NAMES.emailSubject, resolved).trim()).toBe(
      `[RESOLVED] ${HOST_UNREACHABLE_ALERT} [prod]`,
    );
  });

  it("lists each alert with summary, description, labels, runbook and a Grafana link in the HTML body", () => {
    const html = render(TEMPLATE_NAMES.emailHtml, firing, "html");
    expect(html).toContain("FIRING (2)");
    expect(html).not.toContain("RESOLVED (");
    expect(html).toContain("A host stopped answering scrapes.");
    expect(html).toContain("web-1 has not answered for 2m.");
    expect(html).toContain("web-2 has not answered for 2m.");
    expect(html).toContain("<code>instance=web-2</code>");
    expect(html).toContain(
      'href="https://github.com/example/observability/blob/main/runbooks/host-unreachable.md"',
    );
    expect(html).toContain(`href="${grafanaUrl}"`);
  });

  it("marks resolved alerts with their end time in the text body", () => {
    const text = render(TEMPLATE_NAMES.emailText, resolved);
    expect(text.split("\n")[0]).toBe(`[RESOLVED] ${HOST_UNREACHABLE_ALERT} [prod]`);
    expect(text).toContain("RESOLVED (1)");
    expect(text).toContain("Resolved: 2026-11-23 10:30:00 UTC");
    expect(text).toContain(`Grafana: ${grafanaUrl}`);
  });

  it("renders the Slack text with status and runbook per alert", () => {
    const slack = render(TEMPLATE_NAMES.slackText, firing);
    expect(slack).toContain("*FIRING* A host stopped answering scrapes. on web-1");
    expect(slack).toContain("|Runbook>");
  });

  /** Go's url.QueryEscape, as Prometheus writes the expression into the GeneratorURL. */
  const queryEscape = (text: string) =>
    encodeURIComponent(text)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, "+");
  const expression = 'label_replace(up{job="node"}, "host", "$1", "instance", "(.+)\\.example")\n  == 0';
  const withExpression = data("firing", [
    {
      ...alert("firing", "web-1"),
      generatorURL: `http://localhost:9090/graph?g0.expr=${queryEscape(expression)}&g0.tab=1`,
    },
  ]);
  it("links each alert's expression in Grafana Explore and a prefilled silence; every link is Grafana's or the runbook's", () => {
    const rendered = {
      text: textLinks(render(TEMPLATE_NAMES.emailText, withExpression)),
      html: htmlLinks(render(TEMPLATE_NAMES.emailHtml, withExpression, "html")),
      slack: slackLinks(render(TEMPLATE_NAMES.slackText, withExpression)),
      pagerduty: textLinks(render(TEMPLATE_NAMES.pagerdutyFiring, withExpression)),
    };
    for (const [channel, found] of Object.entries(rendered)) {
      const explore = found.filter((link) => link.startsWith(`${grafanaUrl}/explore?`));
      expect(explore, channel).toHaveLength(1);
      expect(exploreQuery(explore[0] as string), channel).toEqual({
        expr: expression,
        datasource: "prometheus",
      });
      const silence = found.filter((link) => link.startsWith(`${grafanaUrl}/alerting/silence/new?`));
      expect(silence, channel).toHaveLength(1);
      const matchers = new URL(silence[0] as string).searchParams;
      expect(matchers.get("alertmanager"), channel).toBe("alertmanager");
      expect(matchers.getAll("matcher"), channel).toEqual([
        `alertname=${HOST_UNREACHABLE_ALERT}`,
        "instance=web-1",
      ]);
      for (const link of found) {
        expect(
          link.startsWith(`${grafanaUrl}/`) ||
            link === grafanaUrl ||
            link.startsWith("https://github.com/example/"),
          `${channel}: ${link}`,
        ).toBe(true);
      }
      expect(found.join(" "), channel).not.toContain("localhost:9090");
    }
    expect(rendered.text).toContain(`${grafanaUrl}/alerting/groups?alertmanager=alertmanager`);
  });

  it("escapes label and annotation values in Slack mrkdwn: no channel pings, no forged links", () => {
    const hostile = data("firing", [
      {
        ...alert("firing", "<!channel> & <https://evil.example|web-1>"),
        annotations: {
          summary: "Disk <b>full</b> & <@U123> pinged",
          description: "see <https://evil.example|the docs> & <!here>",
        },
      },
    ]);
    const slack = render(TEMPLATE_NAMES.slackText, hostile);
    expect(slack).toContain("on &lt;!channel&gt; &amp; &lt;https://evil.example|web-1&gt;");
    expect(slack).toContain("Disk &lt;b&gt;full&lt;/b&gt; &amp; &lt;@U123&gt; pinged");
    expect(slack).toContain("see &lt;https://evil.example|the docs&gt; &amp; &lt;!here&gt;");
    for (const forbidden of ["<!channel>", "<!here>", "<@U123>", "<https://evil.example"]) {
      expect(slack).not.toContain(forbidden);
    }
    // The only mrkdwn links left are the template's own.
    const mrkdwnLinks = [...slack.matchAll(/<([^|>]+)\|([^>]+)>/g)].map((match) => match[2]);
    expect(mrkdwnLinks).toEqual(["Silence", "Grafana", "Alerts and silences"]);
  });

  it("uses the stack's Grafana URL, else a visible placeholder, and rejects what is not a link", () => {
    const withRoot = sampleStackConfig({
      grafana: { rootUrl: "https://grafana.prod.example.com", exposure: { mode: "tunnel" } },
    });
    expect(renderAlertmanagerFiles(withRoot)[`templates/${ALERTMANAGER_TEMPLATE_FILE}`]).toContain(
      "https://grafana.prod.example.com{{ end }}",
    );
    // The placeholder still makes a template Alertmanager can load and render.
    const placeholderDir = join(workDir, "placeholder-templates");
    mkdirSync(placeholderDir, { recursive: true });
    writeFileSync(join(placeholderDir, ALERTMANAGER_TEMPLATE_FILE), renderNotificationTemplates());
    const args = [
      "template",
      "render",
      `--template.glob=${placeholderDir}/*.tmpl`,
      `--template.text={{ template "${TEMPLATE_NAMES.emailHtml}" . }}`,
      "--template.type=html",
    ];
    const result = runTool(TOOLS.amtool, args);
    expect(result.status, describeRun(TOOLS.amtool, args, result)).toBe(0);
    expect(result.stdout).toContain(`href="${GRAFANA_ROOT_URL_PLACEHOLDER}"`);
    expect(() => renderNotificationTemplates({ grafanaUrl: "grafana.example.com" })).toThrow(/not a URL/);
    expect(() => renderNotificationTemplates({ grafanaUrl: "javascript:alert(1)" })).toThrow(/http/);
    expect(() => renderNotificationTemplates({ grafanaUrl: 'https://x.example/{{ .Foo }}"' })).toThrow(
      /characters/,
    );
  });
});
