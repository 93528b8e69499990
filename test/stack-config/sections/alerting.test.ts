/** The alerting section: receivers, thresholds and runbook links. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import {
  CORE_SETTINGS,
  type ConfigProblem,
  DEFAULT_ALERT_THRESHOLDS,
  PROJECT,
  settingsTable,
} from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseAlerting } from "../../../lib/stack-config/sections/alerting";
import { pasteFix, pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

const EMAIL = {
  alertEmailTo: ["oncall@example.com"],
  smtpSmarthost: "email-smtp.eu-west-1.amazonaws.com:587",
  smtpFrom: "alertmanager@example.com",
  smtpUsername: "smtp-user",
};
const ALL_RECEIVERS = ["smtpPassword", "slackWebhookUrl", "pagerdutyRoutingKey", "heartbeatUrl"];

interface Options {
  readonly secrets?: readonly string[];
  readonly requireSecrets?: boolean;
  readonly scrapeIntervalMs?: number;
}

function alerting(values: Record<string, unknown>, options: Options = {}) {
  const reader = new SettingsReader(values, TABLE);
  const result = parseAlerting(
    reader,
    new Set(options.secrets ?? ALL_RECEIVERS),
    options.requireSecrets ?? true,
    options.scrapeIntervalMs ?? 30_000,
  );
  return { result, problems: reader.problems, warnings: reader.warnings };
}

function problemAt(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  const matching = problems.filter((p) => p.setting === setting);
  expect(matching, JSON.stringify(problems)).toHaveLength(1);
  return matching[0] as ConfigProblem;
}

const argv = (fix: string) => pulumiInvocations(fix);

describe("receivers", () => {
  it("turn on exactly when their secrets are set", () => {
    const all = alerting({ ...EMAIL, slackChannel: "#ops" });
    expect(all.problems).toEqual([]);
    expect(all.result).toMatchObject({
      email: { to: ["oncall@example.com"], requireTls: true, username: "smtp-user" },
      slack: { channel: "#ops" },
      pagerduty: true,
      heartbeat: true,
    });
    const emailOnly = alerting(EMAIL, { secrets: ["smtpPassword"] });
    expect(emailOnly.result?.slack).toBeUndefined();
    expect(emailOnly.result?.pagerduty).toBe(false);
    expect(emailOnly.result?.heartbeat).toBe(false);
    const slackOnly = alerting({}, { secrets: ["slackWebhookUrl"] });
    expect(slackOnly.result?.email).toBeUndefined();
    expect(slackOnly.result?.slack).toEqual({ channel: "#alerts" });
  });

  it("must exist: alerts that go nowhere are refused, the fix asking for a recipient", () => {
    const { result, problems } = alerting({ alertEmailTo: [] }, { secrets: [] });
    expect(result).toBeUndefined();
    const found = problemAt(problems, P("alertEmailTo"));
    expect(found.problem).toMatch(/no alert receiver is configured.*slackWebhookUrl or pagerdutyRoutingKey/);
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("alertEmailTo[0]")]]);
  });

  it("are not required without the stack's secrets, which may turn Slack or PagerDuty on", () => {
    const { result, problems } = alerting({}, { secrets: [], requireSecrets: false });
    expect(problems).toEqual([]);
    expect(result?.email).toBeUndefined();
  });
});

describe("email", () => {
  it("needs the SMTP password secret, set by prompt", () => {
    const found = problemAt(alerting(EMAIL, { secrets: [] }).problems, P("smtpPassword"));
    expect(found.problem).toMatch(/^is required when alertEmailTo is set/);
    expect(argv(found.fix)).toEqual([["config", "set", "--secret", P("smtpPassword")]]);
    const without = alerting(EMAIL, { secrets: [], requireSecrets: false });
    expect(without.problems).toEqual([]);
    expect(without.result?.email?.to).toEqual(["oncall@example.com"]);
  });

  it("needs the relay, sender and user, which the operator types", () => {
    const { problems } = alerting({ alertEmailTo: ["oncall@example.com"] });
    for (const key of ["smtpSmarthost", "smtpFrom", "smtpUsername"]) {
      const found = problemAt(problems, P(key));
      expect(found.problem).toMatch(/^is required when alertEmailTo is set/);
      expect(argv(found.fix)).toEqual([["config", "set", P(key)]]);
    }
  });

  it.each(["smtp.example.com", "smtp.example.com:0", "smtp.example.com:70000", "smtp_host:587", "[::1]:25"])(
    "refuses the relay %s: it must be host:port",
    (smarthost) => {
      const found = problemAt(alerting({ ...EMAIL, smtpSmarthost: smarthost }).problems, P("smtpSmarthost"));
      expect(found.problem).toBe(
        `"${smarthost}" must be host:port, e.g. email-smtp.eu-west-1.amazonaws.com:587`,
      );
      expect(argv(found.fix)).toEqual([["config", "set", P("smtpSmarthost")]]);
    },
  );

  it("refuses addresses that are not email addresses, and a recipient listed twice", () => {
    const { problems } = alerting({
      ...EMAIL,
      alertEmailTo: ["oncall@example.com", "not-an-address", "OnCall@Example.com"],
      smtpFrom: "alertmanager",
    });
    expect(problemAt(problems, P("alertEmailTo[1]")).problem).toBe(
      '"not-an-address" is not an email address',
    );
    expect(argv(problemAt(problems, P("alertEmailTo[1]")).fix)).toEqual([
      ["config", "set", "--path", P("alertEmailTo[1]")],
    ]);
    expect(problemAt(problems, P("alertEmailTo[2]")).problem).toBe('"OnCall@Example.com" is listed twice');
    expect(argv(problemAt(problems, P("alertEmailTo[2]")).fix)).toEqual([
      ["config", "rm", "--path", P("alertEmailTo[2]")],
    ]);
    expect(problemAt(problems, P("smtpFrom")).problem).toBe('"alertmanager" is not an email address');
  });

  it("refuses to send the SMTP password in clear text; implicit TLS on 465 may skip STARTTLS", () => {
    const found = problemAt(alerting({ ...EMAIL, smtpRequireTls: "false" }).problems, P("smtpRequireTls"));
    expect(found.problem).toMatch(
      /is not implicit TLS \(port 465\): the SMTP password would cross the network/,
    );
    expect(argv(found.fix)).toEqual([["config", "set", P("smtpRequireTls"), "true"]]);
    const implicit = alerting({ ...EMAIL, smtpRequireTls: false, smtpSmarthost: "smtp.example.com:465" });
    expect(implicit.problems).toEqual([]);
    expect(implicit.result?.email?.requireTls).toBe(false);
  });
});

describe("the Slack channel", () => {
  it.each([
    ["alerts", "#alerts"],
    ["#Prod Alerts", "#prod-alerts"],
    ["#", "#alerts"],
  ])("%j is refused, the fix suggesting %s", (channel, suggestion) => {
    const found = problemAt(alerting({ slackChannel: channel }).problems, P("slackChannel"));
    expect(found.problem).toMatch(/is not a Slack channel like #alerts/);
    expect(argv(found.fix)).toEqual([["config", "set", P("slackChannel"), suggestion]]);
  });
});

describe("thresholds", () => {
  it("default to the catalogue's, overridden one by one, from data or Pulumi's JSON text", () => {
    expect(alerting({}).result?.thresholds).toEqual(DEFAULT_ALERT_THRESHOLDS);
    const fromText = alerting({ alertThresholds: '{"cpuPercent":"70","diskFillHours":"48","cpuFor":"10m"}' });
    expect(fromText.problems).toEqual([]);
    expect(fromText.result?.thresholds).toEqual({
      ...DEFAULT_ALERT_THRESHOLDS,
      cpuPercent: 70,
      diskFillHours: 48,
      cpuFor: "10m",
    });
    expect(alerting({ alertThresholds: { inodePercent: 99.5 } }).result?.thresholds.inodePercent).toBe(99.5);
  });

  it("refuse bad values, each with its field's fix", () => {
    const { result, problems } = alerting({
      alertThresholds: {
        cpuPercent: 100,
        memoryPercent: "0",
        diskFor: "5 minutes",
        cpuPercnt: "90",
        diskFillHours: 0,
        inodePercent: "lots",
      },
    });
    expect(result).toBeUndefined();
    const cpu = problemAt(problems, P("alertThresholds.cpuPercent"));
    expect(cpu.problem).toBe("must be a percentage from 1 up to (not including) 100, got 100");
    expect(argv(cpu.fix)).toEqual([["config", "set", "--path", P("alertThresholds.cpuPercent"), "80"]]);
    expect(problemAt(problems, P("alertThresholds.memoryPercent")).problem).toMatch(/percentage from 1/);
    expect(problemAt(problems, P("alertThresholds.inodePercent")).problem).toMatch(/percentage from 1/);
    const diskFor = problemAt(problems, P("alertThresholds.diskFor"));
    expect(diskFor.problem).toBe('must be a Prometheus duration like 5m, got "5 minutes"');
    expect(argv(diskFor.fix)).toEqual([["config", "set", "--path", P("alertThresholds.diskFor"), "5m"]]);
    const hours = problemAt(problems, P("alertThresholds.diskFillHours"));
    expect(hours.problem).toBe("must be a whole number from 1 to 720, got 0");
    expect(argv(hours.fix)).toEqual([["config", "set", "--path", P("alertThresholds.diskFillHours"), "24"]]);
  });

  it("move a misspelt threshold's value to the right field", () => {
    const found = problemAt(
      alerting({ alertThresholds: { cpuPercnt: "90" } }).problems,
      P("alertThresholds.cpuPercnt"),
    );
    expect(found.problem).toMatch(/^is not a known field \(did you mean "cpuPercent"\?\)/);
    const state = pasteFix(
      { values: { [P("alertThresholds")]: { cpuPercnt: "90" } }, secrets: new Set() },
      found.fix,
      () => {
        throw new Error("no prompt expected");
      },
    );
    const values = { alertThresholds: state.values[P("alertThresholds")] };
    expect(alerting(values).result?.thresholds.cpuPercent).toBe(90);
  });

  it("recognise a fraction meant as a percentage, suggesting the percentage", () => {
    const found = problemAt(
      alerting({ alertThresholds: { diskPercent: "0.85" } }).problems,
      P("alertThresholds.diskPercent"),
    );
    expect(found.problem).toBe(
      '"0.85" looks like a fraction; thresholds are percentages (0.85 means 0.85%, not 85%)',
    );
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("alertThresholds.diskPercent"), "85"]]);
  });

  it.each([
    ["cpuFor", "30s", "1m"],
    ["memoryFor", "2d", "1d"],
  ])("refuse %s %s outside 1m to 1d, fixing with %s", (field, value, nearest) => {
    const found = problemAt(
      alerting({ alertThresholds: { [field]: value } }).problems,
      P(`alertThresholds.${field}`),
    );
    expect(found.problem).toMatch(new RegExp(`^"${value}" must be from 1m to 1d`));
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P(`alertThresholds.${field}`), nearest]]);
  });

  it("want a host missed for at least two scrapes before it counts as down", () => {
    const slow = alerting({ alertThresholds: { hostDownFor: "1m" } }, { scrapeIntervalMs: 45_000 });
    const found = problemAt(slow.problems, P("alertThresholds.hostDownFor"));
    expect(found.problem).toBe(
      '"1m" must be from 1m30s to 1d (at least 2 scrape intervals, so one missed scrape does not page)',
    );
    expect(argv(found.fix)).toEqual([["config", "set", "--path", P("alertThresholds.hostDownFor"), "1m30s"]]);
    expect(
      alerting({ alertThresholds: { hostDownFor: "1m" } }, { scrapeIntervalMs: 30_000 }).problems,
    ).toEqual([]);
  });

  it("must be a map", () => {
    const found = problemAt(alerting({ alertThresholds: "90" }).problems, P("alertThresholds"));
    expect(found.problem).toMatch(/^must be a map/);
  });
});

describe("runbook links", () => {
  it("are unset by default (alerts then link to Grafana's Runbooks dashboard): the table declares no default", () => {
    const spec = CORE_SETTINGS.find((candidate) => candidate.key === "runbookBaseUrl");
    expect(spec?.type === "string" ? spec.default : "not a string setting").toBeUndefined();
    const result = alerting({}).result;
    expect(result).toBeDefined();
    expect(result?.runbookBaseUrl).toBeUndefined();
  });

  it("warn about an example repository left in, naming the way back to Grafana's runbooks", () => {
    const url = "https://github.com/example-org/observability/blob/main/runbooks";
    const outcome = alerting({ runbookBaseUrl: url });
    expect(outcome.result?.runbookBaseUrl).toBe(url);
    expect(JSON.stringify(outcome.warnings)).toMatch(/example-org repository.*leave runbookBaseUrl unset/);
  });

  it("take any https URL without a trailing slash", () => {
    const url = "https://git.example.com/sre/observability/-/blob/main/runbooks";
    expect(alerting({ runbookBaseUrl: url }).result?.runbookBaseUrl).toBe(url);
  });

  it("refuse a trailing slash, suggesting the URL without it", () => {
    const found = problemAt(
      alerting({ runbookBaseUrl: "https://git.example.com/runbooks//" }).problems,
      P("runbookBaseUrl"),
    );
    expect(found.problem).toMatch(/ends with a slash; alerts append \/<AlertName>\.md themselves/);
    expect(argv(found.fix)).toEqual([
      ["config", "set", P("runbookBaseUrl"), "https://git.example.com/runbooks"],
    ]);
  });

  it.each([
    ["http://git.example.com/runbooks", /is not an https URL/],
    ["https://user:token@git.example.com/runbooks", /carries credentials/],
    ["https://git.example.com/runbooks?ref=main", /has a query or fragment/],
    ["runbooks", /is not a URL/],
    ["https://git.example.com/run books", /space/],
  ])("refuse %s; the operator types the URL", (url, problem) => {
    const found = problemAt(alerting({ runbookBaseUrl: url }).problems, P("runbookBaseUrl"));
    expect(found.problem).toMatch(problem);
    expect(found.problem).toMatch(/\(alerts link to <runbookBaseUrl>\/<AlertName>\.md\)$/);
    expect(argv(found.fix)).toEqual([["config", "set", P("runbookBaseUrl")]]);
  });
});
