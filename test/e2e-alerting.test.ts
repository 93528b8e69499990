/**
 * End to end with the real binaries, all on 127.0.0.1: node exporter -> Prometheus (rendered
 * config and rules) -> Alertmanager (rendered config and templates) -> an SMTP sink.
 * A host going down must produce a FIRING mail, its return a RESOLVED mail, and the Watchdog no
 * mail at all. A second Alertmanager checks inhibition with alerts posted to its API.
 *
 * Timing comes from config (1s scrape/evaluation/grouping, 5s host-down `for`); every wait is a
 * bounded poll, and nothing asserts on how long anything took.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALERTMANAGER_SECRET_FILES,
  alertmanagerFlags,
  alertmanagerSecretFiles,
  HOST_UNREACHABLE_ALERT,
  RECEIVERS,
  renderAlertmanagerFiles,
  WATCHDOG_ALERT,
} from "../configs/alertmanager";
import { MONITOR_INSTANCE, renderFileSdTargets, renderPrometheusConfig } from "../configs/prometheus";
import { renderRuleFiles, runbookUrl } from "../configs/rules";
import type { StackConfig } from "../lib/stack-config";
import { freePort, getJson, ProcessGroup, type ProcessSpec, pollUntil, postJson } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { type ReceivedMail, type SmtpSink, startSmtpSink } from "./support/smtp-sink";
import { TOOLS } from "./support/tools";

const SMTP_PASSWORD = "e2e-smtp-password-from-file";
const GRAFANA_URL = "http://127.0.0.1:3000";
const FAST_TIMING = {
  groupWait: "1s",
  groupInterval: "1s",
  heartbeatGroupInterval: "1s",
  repeatInterval: { critical: "1h", warning: "1h", info: "1h", heartbeat: "1h" },
};

/** A stack alerting by email only, through the sink, with seconds instead of minutes. */
function e2eStackConfig(smtpPort: number): StackConfig {
  // No clients or outside hosts: every scrape target stays on loopback.
  const base = sampleStackConfig({ stack: "e2e", clients: [], externalHosts: [] });
  return {
    ...base,
    metrics: { ...base.metrics, scrapeInterval: "1s", evaluationInterval: "1s" },
    alerting: {
      ...base.alerting,
      email: {
        to: ["oncall@example.com"],
        from: "alertmanager@example.com",
        smarthost: `127.0.0.1:${smtpPort}`,
        username: "alertmanager",
        requireTls: false,
      },
      slack: undefined,
      pagerduty: false,
      heartbeat: false,
      thresholds: { ...base.alerting.thresholds, hostDownFor: "5s" },
    },
  };
}

/** Writes the rendered Alertmanager files and dummy secrets under dir; returns the process spec. */
function alertmanagerSpec(config: StackConfig, dir: string, port: number): ProcessSpec {
  const secretsDir = join(dir, "secrets");
  const templatesDir = join(dir, "templates");
  mkdirSync(secretsDir, { recursive: true });
  mkdirSync(templatesDir, { recursive: true });
  for (const name of alertmanagerSecretFiles(config)) {
    const value = name === ALERTMANAGER_SECRET_FILES.smtpPassword ? SMTP_PASSWORD : `dummy-${name}`;
    writeFileSync(join(secretsDir, name), value, { mode: 0o600 });
  }
  const files = renderAlertmanagerFiles(config, {
    secretsDir,
    templatesDir,
    grafanaUrl: GRAFANA_URL,
    timing: FAST_TIMING,
  });
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  return {
    name: "alertmanager",
    tool: TOOLS.alertmanager,
    args: alertmanagerFlags(config, {
      configFile: join(dir, "alertmanager.yml"),
      storagePath: join(dir, "data"),
      listenAddress: `127.0.0.1:${port}`,
      externalUrl: `http://127.0.0.1:${port}`,
    }),
    readyUrl: `http://127.0.0.1:${port}/-/ready`,
  };
}

/**
 * A stand-in EC2 API on loopback: Prometheus' EC2 discovery gets valid, empty answers (no
 * instances), so discovery works without AWS and no failing-discovery alert muddies the test.
 */
interface FakeEc2 {
  readonly endpoint: string;
  /** Actions called so far, e.g. DescribeInstances. */
  readonly actions: string[];
  close(): Promise<void>;
}

function startFakeEc2(): Promise<FakeEc2> {
  const actions: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const action = new URLSearchParams(body).get("Action") ?? "";
      actions.push(action);
      const namespace = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
      const payload =
        action === "DescribeAvailabilityZones"
          ? `<DescribeAvailabilityZonesResponse ${namespace}><requestId>e2e</requestId><availabilityZoneInfo/></DescribeAvailabilityZonesResponse>`
          : `<DescribeInstancesResponse ${namespace}><requestId>e2e</requestId><reservationSet/></DescribeInstancesResponse>`;
      response.writeHead(200, { "content-type": "text/xml" });
      response.end(payload);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as AddressInfo;
      resolve({
        endpoint: `http://127.0.0.1:${address.port}`,
        actions,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

interface PrometheusPorts {
  readonly prometheus: number;
  readonly alertmanager: number;
  readonly nodeExporter: number;
  /** Monitor services that do not run in this test: nothing listens there. */
  readonly unused: number;
}

/** The real prometheus.yml, file SD targets and rule files, pointed at loopback. */
function writePrometheusFiles(
  config: StackConfig,
  dir: string,
  ports: PrometheusPorts,
  ec2Endpoint: string,
): void {
  const rulesDir = join(dir, "rules");
  const fileSdDir = join(dir, "file_sd");
  mkdirSync(rulesDir, { recursive: true });
  mkdirSync(fileSdDir, { recursive: true });
  const unused = `127.0.0.1:${ports.unused}`;
  const prometheusYml = renderPrometheusConfig(config, {
    prometheus: `127.0.0.1:${ports.prometheus}`,
    alertmanager: `127.0.0.1:${ports.alertmanager}`,
    nodeExporter: `127.0.0.1:${ports.nodeExporter}`,
    loki: unused,
    grafana: unused,
    cadvisor: unused,
    alloy: unused,
    ruleFiles: `${rulesDir}/*.yml`,
    fileSdDir,
    ec2Endpoint,
  });
  writeFileSync(join(dir, "prometheus.yml"), prometheusYml);
  for (const [name, content] of Object.entries(renderFileSdTargets(config))) {
    writeFileSync(join(fileSdDir, name), content);
  }
  for (const [name, content] of Object.entries(renderRuleFiles(config))) {
    writeFileSync(join(rulesDir, name), content);
  }
}

interface AlertmanagerAlert {
  labels: Record<string, string>;
  receivers: { name: string }[];
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

interface PrometheusAlerts {
  data: { alerts: { labels: Record<string, string>; state: string }[] };
}

function mailsAbout(sink: SmtpSink, alertname: string): ReceivedMail[] {
  return sink.mails.filter((mail) => mail.subject.includes(alertname));
}

function describeMails(sink: SmtpSink): string {
  return `mails so far: ${JSON.stringify(sink.mails.map((mail) => mail.subject))}`;
}

describe("alerting end to end: node exporter -> Prometheus -> Alertmanager -> email", () => {
  const processes = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "e2e-alerting-"));
  let sink: SmtpSink;
  let config: StackConfig;
  let nodeExporterSpec: ProcessSpec;
  let prometheusUrl: string;
  let alertmanagerUrl: string;
  let fakeEc2: FakeEc2 | undefined;

  beforeAll(async () => {
    sink = await startSmtpSink();
    config = e2eStackConfig(sink.port);
    const [alertmanagerPort, prometheusPort, nodeExporterPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;

    nodeExporterSpec = {
      name: "node exporter",
      tool: TOOLS.nodeExporter,
      args: [`--web.listen-address=127.0.0.1:${nodeExporterPort}`],
      readyUrl: `http://127.0.0.1:${nodeExporterPort}/metrics`,
    };
    await processes.start(nodeExporterSpec);

    const alertmanagerDir = join(workDir, "alertmanager");
    mkdirSync(alertmanagerDir);
    await processes.start(alertmanagerSpec(config, alertmanagerDir, alertmanagerPort));

    const prometheusDir = join(workDir, "prometheus");
    fakeEc2 = await startFakeEc2();
    writePrometheusFiles(
      config,
      prometheusDir,
      {
        prometheus: prometheusPort,
        alertmanager: alertmanagerPort,
        nodeExporter: nodeExporterPort,
        unused: await freePort(),
      },
      fakeEc2.endpoint,
    );
    await processes.start({
      name: "prometheus",
      tool: TOOLS.prometheus,
      args: [
        `--config.file=${join(prometheusDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(prometheusDir, "data")}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        // Alertmanager is discovered a few seconds after the first evaluation; alerts evaluated
        // before that are dropped and by default re-sent only a minute later.
        "--rules.alert.resend-delay=1s",
      ],
      readyUrl: `${prometheusUrl}/-/ready`,
      // EC2 SD must never reach for instance metadata or AWS from a test.
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" },
    });
  });

  afterAll(async () => {
    await processes.stopAll();
    await sink?.close();
    await fakeEc2?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("raises no host alert while the node exporter answers, and the Watchdog reaches Alertmanager only", async () => {
    await pollUntil("Prometheus to scrape the node exporter", async () => {
      const result = await getJson<{ data: { result: { value: [number, string] }[] } }>(
        `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="node"}')}`,
      );
      return result.data.result[0]?.value[1] === "1" ? true : undefined;
    });
    // EC2 discovery asked the stand-in (loopback), not AWS.
    await pollUntil("EC2 discovery to call the stand-in EC2 API", () =>
      fakeEc2?.actions.includes("DescribeInstances") ? true : undefined,
    );
    const watchdog = await pollUntil("the Watchdog to reach Alertmanager", async () => {
      const alerts = await getJson<AlertmanagerAlert[]>(`${alertmanagerUrl}/api/v2/alerts`);
      return alerts.find((alert) => alert.labels.alertname === WATCHDOG_ALERT);
    });
    expect(watchdog.receivers.map((receiver) => receiver.name)).toEqual([RECEIVERS.blackhole]);
    expect(watchdog.labels.environment).toBe(config.stack);

    const prometheusAlerts = await getJson<PrometheusAlerts>(`${prometheusUrl}/api/v1/alerts`);
    expect(prometheusAlerts.data.alerts.map((alert) => alert.labels.alertname)).not.toContain(
      HOST_UNREACHABLE_ALERT,
    );
    expect(mailsAbout(sink, HOST_UNREACHABLE_ALERT)).toEqual([]);
  });

  it("mails FIRING when the node exporter dies and RESOLVED when it is back, never about the Watchdog", async () => {
    const nodeExporter = processes.find(nodeExporterSpec.name);
    await nodeExporter.stop();

    const firing = await pollUntil(
      "a FIRING mail about the host",
      () => mailsAbout(sink, HOST_UNREACHABLE_ALERT).find((mail) => mail.subject.startsWith("[FIRING")),
      { attempts: 240 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; ${describeMails(sink)}`);
    });
    expect(firing.subject).toBe(`[FIRING:1] ${HOST_UNREACHABLE_ALERT} [${config.stack}]`);
    expect(firing.envelopeTo).toEqual(["oncall@example.com"]);
    expect(firing.envelopeFrom).toBe("alertmanager@example.com");
    expect(firing.auth).toEqual({ username: "alertmanager", password: SMTP_PASSWORD });
    expect(firing.text).toContain(`Prometheus cannot scrape the node exporter on ${MONITOR_INSTANCE}`);
    // Both labels inhibition keys on reach Alertmanager on the real alert.
    expect(firing.text).toContain(`instance=${MONITOR_INSTANCE}`);
    expect(firing.text).toContain(`environment=${config.stack}`);
    expect(firing.html).toContain(`href="${runbookUrl(config, HOST_UNREACHABLE_ALERT)}"`);
    expect(firing.html).toContain(`href="${GRAFANA_URL}"`);

    await processes.start(nodeExporterSpec);
    const resolved = await pollUntil(
      "a RESOLVED mail about the host",
      () => mailsAbout(sink, HOST_UNREACHABLE_ALERT).find((mail) => mail.subject.startsWith("[RESOLVED")),
      { attempts: 240 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; ${describeMails(sink)}`);
    });
    expect(resolved.subject).toBe(`[RESOLVED] ${HOST_UNREACHABLE_ALERT} [${config.stack}]`);
    expect(resolved.text).toContain("RESOLVED (1)");
    expect(resolved.envelopeTo).toEqual(["oncall@example.com"]);

    // The Watchdog has been firing all along, with group_wait of a second: any mail would be here.
    expect(mailsAbout(sink, WATCHDOG_ALERT)).toEqual([]);
  });
});

describe("inhibition in a real Alertmanager", () => {
  const processes = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "e2e-inhibit-"));
  let sink: SmtpSink;
  let alertmanagerUrl: string;

  beforeAll(async () => {
    sink = await startSmtpSink();
    const port = await freePort();
    alertmanagerUrl = `http://127.0.0.1:${port}`;
    await processes.start(alertmanagerSpec(e2eStackConfig(sink.port), workDir, port));
  });

  afterAll(async () => {
    await processes.stopAll();
    await sink?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("mutes a down host's other alerts and a critical alert's warning twin, and nothing else", async () => {
    const alert = (alertname: string, instance: string, severity: string, environment = "e2e") => ({
      labels: { alertname, instance, severity, environment },
      annotations: { summary: `${alertname} on ${instance}.` },
    });
    const posted = [
      alert(HOST_UNREACHABLE_ALERT, "web-1", "critical"),
      alert("HostHighCpu", "web-1", "warning"),
      alert("HostHighCpu", "web-2", "warning"),
      alert("HostHighCpu", "web-1", "warning", "other-stack"),
      alert("DiskAlmostFull", "web-2", "critical"),
      alert("DiskAlmostFull", "web-2", "warning"),
      alert("DiskAlmostFull", "web-3", "warning"),
    ];
    await postJson(`${alertmanagerUrl}/api/v2/alerts`, posted);

    const key = (labels: Record<string, string>) =>
      `${labels.alertname}/${labels.instance}/${labels.severity}/${labels.environment}`;
    const states = await pollUntil("Alertmanager to hold every posted alert", async () => {
      const alerts = await getJson<AlertmanagerAlert[]>(`${alertmanagerUrl}/api/v2/alerts`);
      if (alerts.length < posted.length) return undefined;
      return Object.fromEntries(alerts.map((held) => [key(held.labels), held.status.inhibitedBy.length > 0]));
    });
    expect(states).toEqual({
      "HostUnreachable/web-1/critical/e2e": false,
      "HostHighCpu/web-1/warning/e2e": true,
      "HostHighCpu/web-2/warning/e2e": false,
      "HostHighCpu/web-1/warning/other-stack": false,
      "DiskAlmostFull/web-2/critical/e2e": false,
      "DiskAlmostFull/web-2/warning/e2e": true,
      "DiskAlmostFull/web-3/warning/e2e": false,
    });

    // The mail about HostHighCpu in e2e lists only the host that is not down.
    const cpuMail = await pollUntil("a mail about HostHighCpu in e2e", () =>
      sink.mails.find((mail) => mail.subject === "[FIRING:1] HostHighCpu [e2e]"),
    ).catch((error: Error) => {
      throw new Error(`${error.message}; ${describeMails(sink)}`);
    });
    expect(cpuMail.text).toContain("instance=web-2");
    expect(cpuMail.text).not.toContain("instance=web-1");
  });
});
