/**
 * The monitor's alerting pipeline run for real on 127.0.0.1: Prometheus and Alertmanager
 * (Debian binaries) started from the files the deploy ships (`monitorFiles`), scraping hosts
 * made of real node and process exporters or of series the test controls, and notifying an
 * SMTP sink and a webhook sink (Slack, PagerDuty, heartbeat).
 *
 * The rendered files are changed in exactly one place, `pointAtLoopback` (test/support/loopback.ts):
 * addresses, ports, paths and durations only. Rules, routes, receivers, inhibitions and templates are the
 * rendered ones. Used by the end-to-end test and by the alert pipeline benchmark.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROCESS_EXPORTER_CONFIG_FILE } from "../../configs/agents/process-exporter";
import { ALERTMANAGER_SECRET_FILES } from "../../configs/alertmanager";
import { clientFiles, monitorFiles } from "../../configs/host-files";
import { JOB_NAMES } from "../../configs/prometheus";
import type { ExternalHost, StackConfig } from "../../lib/stack-config";
import { alertmanagerSecretFiles } from "./alertmanager";
import { nodeExporterSpec, processExporterSpec } from "./exporters";
import { FAKE_VPC_ID, type FakeEc2, startFakeEc2 } from "./fake-ec2";
import { type FakeExporter, startFakeExporter } from "./fake-exporter";
import { type LoopbackMonitor, type LoopbackPlan, pointAtLoopback, required } from "./loopback";
import { freePort, getJson, getText, ProcessGroup, type ProcessSpec, pollUntil } from "./processes";
import { sampleStackConfig } from "./sample-config";
import { type SmtpSink, startSmtpSink } from "./smtp-sink";
import { TOOLS } from "./tools";
import { startWebhookSink, type WebhookSink } from "./webhook-sink";

export const E2E_STACK = "e2e";
export const SMTP_PASSWORD = "e2e-smtp-password-from-file";
export const PAGERDUTY_ROUTING_KEY = "e2e-pagerduty-routing-key";
/** Link target only: nothing is served there and nothing contacts it. */
export const GRAFANA_URL = "http://127.0.0.1:3000/";
export const WEBHOOK_PATHS = { slack: "/slack", pagerduty: "/pagerduty", heartbeat: "/heartbeat" } as const;

/** Two hosts with real exporters, and one whose node_* series the test sets. */
export const REAL_HOSTS = ["host-a", "host-b"] as const;
export const CONTROLLED_HOST = "host-c";

function externalHost(name: string, address: string): ExternalHost {
  return { name, address, sshUser: "deploy", exporters: [], exporterSettings: {} };
}

/**
 * The stack under test: every alerting channel on (email, Slack, PagerDuty, heartbeat), three
 * hosts outside AWS (file SD), no EC2 clients. Thresholds and intervals are the sample stack's.
 * The host addresses are documentation addresses: `pointAtLoopback` replaces every target.
 */
export function e2eStackConfig(smtpPort: number): StackConfig {
  const base = sampleStackConfig({
    stack: E2E_STACK,
    clients: [],
    externalHosts: [
      externalHost(REAL_HOSTS[0], "192.0.2.11"),
      externalHost(REAL_HOSTS[1], "192.0.2.12"),
      externalHost(CONTROLLED_HOST, "192.0.2.13"),
    ],
  });
  return {
    ...base,
    alerting: {
      ...base.alerting,
      email: {
        to: ["oncall@example.com"],
        from: "alertmanager@example.com",
        smarthost: `127.0.0.1:${smtpPort}`,
        username: "alertmanager",
        // The sink speaks plain SMTP.
        requireTls: false,
      },
      slack: { channel: "#alerts-e2e" },
      pagerduty: true,
      heartbeat: true,
    },
  };
}

/** A client host: real exporters, or (the controlled host) one fake exporter on every job. */
export interface E2eHost {
  readonly name: string;
  /** Takes every exporter of the host down (node exporter last, as when a host dies it all goes). */
  stop(): Promise<void>;
  /** Brings the agents back first and the node exporter last (see `start`). */
  start(): Promise<void>;
}

export interface E2eStackOptions {
  /** Scratch directory prefix. */
  readonly label?: string;
}

export interface PrometheusAlert {
  readonly labels: Record<string, string>;
  readonly state: string;
}

export interface AlertmanagerAlert {
  readonly labels: Record<string, string>;
  readonly receivers: { readonly name: string }[];
  readonly status: { readonly state: string; readonly inhibitedBy: string[]; readonly silencedBy: string[] };
}

/** The whole loopback stack; `close()` stops everything it started, whatever state it is in. */
export class E2eStack {
  readonly processes = new ProcessGroup();
  readonly workDir: string;
  smtp!: SmtpSink;
  webhooks!: WebhookSink;
  config!: StackConfig;
  prometheusUrl = "";
  alertmanagerUrl = "";
  /** Series of the controlled host (node_* as the test sets them). */
  controlled!: FakeExporter;
  /** Answers for monitor services not run here (Loki, Grafana, cAdvisor, Alloy, node exporter). */
  private monitorStub?: FakeExporter;
  private agentStubs: FakeExporter[] = [];
  private fakeEc2?: FakeEc2;
  private prometheusSpec?: ProcessSpec;
  private alertmanagerSpec?: ProcessSpec;
  readonly hosts = new Map<string, E2eHost>();
  loopback!: LoopbackMonitor;

  constructor(options: E2eStackOptions = {}) {
    this.workDir = mkdtempSync(join(tmpdir(), `${options.label ?? "e2e-stack"}-`));
  }

  async start(): Promise<void> {
    this.smtp = await startSmtpSink();
    this.webhooks = await startWebhookSink();
    this.config = e2eStackConfig(this.smtp.port);
    this.monitorStub = await startFakeExporter();
    this.controlled = await startFakeExporter();
    this.fakeEc2 = await startFakeEc2([], this.config.region);
    const prometheus = `127.0.0.1:${await freePort()}`;
    const alertmanager = `127.0.0.1:${await freePort()}`;
    this.prometheusUrl = `http://${prometheus}`;
    this.alertmanagerUrl = `http://${alertmanager}`;

    const hostTargets: Record<string, Record<string, string>> = {};
    for (const name of REAL_HOSTS) {
      const host = await this.realHost(name);
      hostTargets[name] = host.targets;
      this.hosts.set(name, host.host);
    }
    hostTargets[CONTROLLED_HOST] = {
      [JOB_NAMES.node]: this.controlled.address,
      [JOB_NAMES.process]: this.controlled.address,
      [JOB_NAMES.cadvisor]: this.controlled.address,
      [JOB_NAMES.alloy]: this.controlled.address,
    };
    const controlled = this.controlled;
    this.hosts.set(CONTROLLED_HOST, {
      name: CONTROLLED_HOST,
      stop: () => controlled.stop(),
      start: () => controlled.resume(),
    });

    const monitorStub = this.monitorStub.address;
    const plan: LoopbackPlan = {
      dir: this.workDir,
      prometheus,
      alertmanager,
      monitorTargets: {
        [JOB_NAMES.prometheus]: prometheus,
        [JOB_NAMES.alertmanager]: alertmanager,
        [JOB_NAMES.loki]: monitorStub,
        [JOB_NAMES.grafana]: monitorStub,
        [JOB_NAMES.node]: monitorStub,
        [JOB_NAMES.process]: monitorStub,
        [JOB_NAMES.cadvisor]: monitorStub,
        [JOB_NAMES.alloy]: monitorStub,
      },
      hostTargets,
      ec2Endpoint: this.fakeEc2.url,
      smtpSmarthost: `127.0.0.1:${this.smtp.port}`,
      pagerdutyUrl: this.webhooks.url(WEBHOOK_PATHS.pagerduty),
    };
    this.loopback = pointAtLoopback(
      monitorFiles(this.config, { grafanaUrl: GRAFANA_URL, vpcId: FAKE_VPC_ID }),
      plan,
    );
    for (const [path, content] of Object.entries(this.loopback.files)) this.write(path, content);
    this.writeSecrets();

    this.alertmanagerSpec = {
      name: "alertmanager",
      tool: TOOLS.alertmanager,
      args: this.loopback.alertmanagerArgs,
      readyUrl: `${this.alertmanagerUrl}/-/ready`,
    };
    await this.processes.start(this.alertmanagerSpec);
    this.prometheusSpec = {
      name: "prometheus",
      tool: TOOLS.prometheus,
      args: this.loopback.prometheusArgs,
      readyUrl: `${this.prometheusUrl}/-/ready`,
      // EC2 SD must never reach for instance metadata or AWS from a test.
      env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" },
    };
    await this.processes.start(this.prometheusSpec);
  }

  /** A host of real exporters: node and process exporter, plus a stub for cAdvisor and Alloy. */
  private async realHost(name: string): Promise<{ host: E2eHost; targets: Record<string, string> }> {
    const hostDir = join(this.workDir, "hosts", name);
    const processConfig = join(hostDir, PROCESS_EXPORTER_CONFIG_FILE);
    const host = required(
      this.config.externalHosts.find((candidate) => candidate.name === name),
      `external host ${name}`,
    );
    const rendered = required(clientFiles(this.config, host)[PROCESS_EXPORTER_CONFIG_FILE], "process config");
    mkdirSync(dirname(processConfig), { recursive: true });
    writeFileSync(processConfig, rendered);
    const node = nodeExporterSpec(`${name} node exporter`, await freePort());
    const processes = processExporterSpec(`${name} process exporter`, processConfig, await freePort());
    const agents = await startFakeExporter();
    this.agentStubs.push(agents);
    const group = this.processes;
    await group.start(node);
    await group.start(processes);
    const targets = {
      [JOB_NAMES.node]: new URL(node.readyUrl).host,
      [JOB_NAMES.process]: new URL(processes.readyUrl).host,
      [JOB_NAMES.cadvisor]: agents.address,
      [JOB_NAMES.alloy]: agents.address,
    };
    return {
      targets,
      host: {
        name,
        async stop() {
          await group.find(node.name).stop();
          await group.find(processes.name).stop();
          await agents.stop();
        },
        async start() {
          await agents.resume();
          await group.start(processes);
          await group.start(node);
        },
      },
    };
  }

  private write(relativePath: string, content: string): void {
    const path = join(this.workDir, relativePath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }

  /** The secret files the deploy would write, with loopback sink addresses as their values. */
  private writeSecrets(): void {
    const values: Record<string, string> = {
      [ALERTMANAGER_SECRET_FILES.smtpPassword]: SMTP_PASSWORD,
      [ALERTMANAGER_SECRET_FILES.slackWebhookUrl]: this.webhooks.url(WEBHOOK_PATHS.slack),
      [ALERTMANAGER_SECRET_FILES.pagerdutyRoutingKey]: PAGERDUTY_ROUTING_KEY,
      [ALERTMANAGER_SECRET_FILES.heartbeatUrl]: this.webhooks.url(WEBHOOK_PATHS.heartbeat),
    };
    mkdirSync(join(this.workDir, "secrets"), { recursive: true });
    for (const name of alertmanagerSecretFiles(this.config)) {
      const value = required(values[name], `a value for secret file ${name}`);
      writeFileSync(join(this.workDir, "secrets", name), value, { mode: 0o600 });
    }
  }

  host(name: string): E2eHost {
    return required(this.hosts.get(name), `host ${name}`);
  }

  /** Stops Alertmanager and starts it again on the same port with the same data directory. */
  async restartAlertmanager(): Promise<void> {
    const spec = required(this.alertmanagerSpec, "Alertmanager (start() first)");
    await this.processes.find(spec.name).stop();
    await this.processes.start(spec);
  }

  /** Overwrites prometheus.yml and asks Prometheus to reload; returns the HTTP status. */
  async reloadPrometheus(prometheusYml: string): Promise<number> {
    this.write("prometheus/prometheus.yml", prometheusYml);
    const response = await fetch(`${this.prometheusUrl}/-/reload`, {
      method: "POST",
      signal: AbortSignal.timeout(10_000),
    });
    await response.text();
    return response.status;
  }

  async query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const result = await getJson<{
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    }>(`${this.prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return result.data.result;
  }

  async prometheusAlerts(): Promise<PrometheusAlert[]> {
    const body = await getJson<{ data: { alerts: PrometheusAlert[] } }>(
      `${this.prometheusUrl}/api/v1/alerts`,
    );
    return body.data.alerts;
  }

  async alertmanagerAlerts(): Promise<AlertmanagerAlert[]> {
    return getJson<AlertmanagerAlert[]>(`${this.alertmanagerUrl}/api/v2/alerts`);
  }

  /** One value from Alertmanager's own /metrics, summed over series matching every label given. */
  async alertmanagerMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const page = await getText(`${this.alertmanagerUrl}/metrics`);
    if (page?.status !== 200) throw new Error("Alertmanager /metrics did not answer");
    let total = 0;
    for (const line of page.body.split("\n")) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  }

  /**
   * Waits for `count` more Watchdog heartbeats. Heartbeats leave on Alertmanager's own schedule
   * (every scaled repeat interval), so this is a clock that proves Alertmanager has flushed its
   * groups since: a notification that was going to be sent by then has been.
   */
  async heartbeatsPass(count: number): Promise<void> {
    const seen = this.webhooks.posts(WEBHOOK_PATHS.heartbeat).length;
    await pollUntil(
      `${count} more heartbeats`,
      () => (this.webhooks.posts(WEBHOOK_PATHS.heartbeat).length >= seen + count ? true : undefined),
      { attempts: 400 },
    );
  }

  async close(): Promise<void> {
    await this.processes.stopAll();
    await Promise.allSettled([
      this.smtp?.close(),
      this.webhooks?.close(),
      this.monitorStub?.close(),
      this.controlled?.close(),
      this.fakeEc2?.close(),
      ...this.agentStubs.map((stub) => stub.close()),
    ]);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Waits until `up` of one host's job is the given value in Prometheus. */
export function waitForUp(stack: E2eStack, instance: string, job: string, value: 0 | 1): Promise<true> {
  return pollUntil(
    `up{instance="${instance}", job="${job}"} == ${value}`,
    async () => {
      const result = await stack.query(`up{instance="${instance}", job="${job}"}`);
      return result[0]?.value[1] === String(value) ? true : undefined;
    },
    { attempts: 240 },
  );
}
