/**
 * Uptime probes on real programs: Debian sid's blackbox exporter 0.28 runs the rendered
 * blackbox.yml (checked first with its own --config.check), Debian sid's Prometheus runs the
 * rendered blackbox job and probe rules (intervals and `for` scaled by test/support/loopback.ts),
 * against this test's own loopback servers: an HTTP one it makes fail, a TLS one with a one-day
 * certificate from openssl that it later renews, and a TCP port. The probe and certificate alerts
 * fire and resolve. Also: nothing of it is rendered without probes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { BLACKBOX_SERVICE, renderBlackboxConfig } from "../configs/blackbox";
import { monitorFiles } from "../configs/host-files";
import { monitorComposeData } from "../configs/monitor-compose";
import { renderRuleFiles } from "../configs/rules";
import type { StackConfig } from "../lib/stack-config";
import { probeJobAtLoopback, scaledRuleFile } from "./support/loopback";
import {
  freePort,
  getJson,
  getText,
  ProcessGroup,
  pollUntil,
  startLocalPrometheus,
} from "./support/processes";
import { renderRuleTests } from "./support/rule-tests";
import { sampleStackConfig } from "./support/sample-config";
import { withReliability } from "./support/stacks";
import { tempDirMaker, writeFiles } from "./support/temp-files";
import { describeRun, requireTool, runTool, TOOLS } from "./support/tools";

const tempDir = tempDirMaker("probes-");

describe("without probes", () => {
  it("renders no blackbox exporter, config, job, rules or dashboard", () => {
    const config = sampleStackConfig();
    const files = Object.keys(monitorFiles(config));
    expect(files.filter((path) => /blackbox|probes/.test(path))).toEqual([]);
    expect(monitorComposeData(config).services[BLACKBOX_SERVICE]).toBeUndefined();
    expect(renderBlackboxConfig(config)).toBeUndefined();
  });
});

describe("with probes", () => {
  const config = withReliability(sampleStackConfig());

  it("the rendered blackbox.yml passes the blackbox exporter's own check", () => {
    requireTool(TOOLS.blackboxExporter);
    const file = join(tempDir(), "blackbox.yml");
    writeFileSync(file, renderBlackboxConfig(config) ?? "");
    const args = ["--config.check", `--config.file=${file}`];
    const result = runTool(TOOLS.blackboxExporter, args);
    expect(result.status, describeRun(TOOLS.blackboxExporter, args, result)).toBe(0);
    const modules = YAML.parse(renderBlackboxConfig(config) ?? "").modules;
    expect(modules.homepage.http).toMatchObject({
      valid_status_codes: [200],
      fail_if_not_ssl: true,
      fail_if_body_not_matches_regexp: ["Example Domain"],
    });
    expect(modules.database.prober).toBe("tcp");
  });

  it("runs the exporter on the compose network only, pinned, with the config directory read-only", () => {
    const service = monitorComposeData(config).services[BLACKBOX_SERVICE];
    expect(service?.image).toBe("docker.io/prom/blackbox-exporter:v0.28.0");
    expect(service?.ports).toBeUndefined();
    expect(service?.volumes).toEqual(["./blackbox:/etc/blackbox:ro"]);
  });

  it("the probe rules pass promtool's firing and quiet cases", () => {
    const dir = tempDir();
    const paths = writeFiles(dir, {
      "probes.yml": renderRuleFiles(config)["probes.yml"] ?? "",
      "tests/probes.yml": renderRuleTests(config)["tests/probes.yml"] ?? "",
    });
    const result = runTool(TOOLS.promtool, ["test", "rules", paths[1] as string]);
    expect(result.status, describeRun(TOOLS.promtool, ["test", "rules"], result)).toBe(0);
    expect(renderRuleFiles(config)["probes.yml"]).toContain("< 21");
  });
});

/** A certificate for 127.0.0.1 valid for `days`, self-signed (it is its own CA here). */
function certificate(dir: string, name: string, days: number): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      String(days),
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "pipe" },
  );
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

interface AlertsResponse {
  data: { alerts: { labels: Record<string, string>; state: string }[] };
}

describe("probes and their alerts on real data (blackbox exporter 0.28, Prometheus 3.5)", () => {
  const group = new ProcessGroup();
  const servers: (Server | TcpServer)[] = [];
  let httpStatus = 200;
  let httpBody = "ok";
  let prometheus = "";
  let exporter = "";
  let renewed: { key: string; cert: string };
  let tlsServer: ReturnType<typeof createHttpsServer>;
  let config: StackConfig;

  const listen = (server: Server | TcpServer, port: number) =>
    new Promise<void>((resolve) => {
      servers.push(server);
      server.listen(port, "127.0.0.1", resolve);
    });
  const firing = async (alertname: string) =>
    (await getJson<AlertsResponse>(`${prometheus}/api/v1/alerts`)).data.alerts
      .filter((alert) => alert.labels.alertname === alertname && alert.state === "firing")
      .map((alert) => alert.labels.probe)
      .sort();
  const until = (what: string, alertname: string, probes: string[]) =>
    pollUntil(
      what,
      async () => {
        const now = await firing(alertname);
        return JSON.stringify(now) === JSON.stringify(probes) ? now : undefined;
      },
      { attempts: 120, intervalMs: 500 },
    );

  beforeAll(async () => {
    requireTool(TOOLS.prometheus);
    requireTool(TOOLS.blackboxExporter);
    const dir = tempDir();
    const shortLived = certificate(dir, "short-lived", 1);
    renewed = certificate(dir, "renewed", 400);
    // The exporter trusts both certificates as roots (Go reads SSL_CERT_FILE for its system pool).
    writeFileSync(join(dir, "roots.pem"), shortLived.cert + renewed.cert);

    const [httpPort, tlsPort, tcpPort] = [await freePort(), await freePort(), await freePort()];
    await listen(
      createHttpServer((_, response) => {
        response.statusCode = httpStatus;
        response.end(httpBody);
      }),
      httpPort,
    );
    tlsServer = createHttpsServer(shortLived, (_, response) => response.end("secure"));
    await listen(tlsServer, tlsPort);
    await listen(
      createTcpServer((socket) => socket.end()),
      tcpPort,
    );

    config = sampleStackConfig({
      probes: {
        certExpiryDays: 14,
        targets: [
          {
            name: "web",
            kind: "http",
            url: `http://127.0.0.1:${httpPort}/health`,
            expectStatus: [200],
            bodyMatch: "^ok$",
          },
          { name: "tls", kind: "http", url: `https://127.0.0.1:${tlsPort}/`, expectStatus: [200] },
          { name: "port", kind: "tcp", address: `127.0.0.1:${tcpPort}` },
        ],
      },
    });
    const rendered = monitorFiles(config);
    writeFileSync(join(dir, "blackbox.yml"), rendered["blackbox/blackbox.yml"] ?? "");
    writeFileSync(join(dir, "probes.yml"), scaledRuleFile(rendered["prometheus/rules/probes.yml"] ?? ""));

    const exporterPort = await freePort();
    exporter = `127.0.0.1:${exporterPort}`;
    await group.start({
      name: "blackbox exporter",
      tool: TOOLS.blackboxExporter,
      args: [`--config.file=${join(dir, "blackbox.yml")}`, `--web.listen-address=${exporter}`],
      env: { SSL_CERT_FILE: join(dir, "roots.pem") },
      readyUrl: `http://${exporter}/-/healthy`,
    });
    writeFileSync(
      join(dir, "prometheus.yml"),
      probeJobAtLoopback(rendered["prometheus/prometheus.yml"] ?? "", exporter, join(dir, "probes.yml")),
    );
    prometheus = await startLocalPrometheus(group, {
      name: "prometheus",
      configFile: join(dir, "prometheus.yml"),
      dataDir: join(dir, "data"),
    });
  }, 60_000);

  afterAll(async () => {
    await group.stopAll();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it("a body that does not match fails the probe", async () => {
    httpBody = "maintenance";
    const probe = await getText(
      `http://${exporter}/probe?module=web&target=${encodeURIComponent(
        (config.probes.targets[0] as { url: string }).url,
      )}`,
    );
    httpBody = "ok";
    expect(probe?.body).toMatch(/^probe_success 0$/m);
  });

  it("ProbeCertificateExpiring fires on a one-day certificate and resolves once it is renewed", async () => {
    await until("the short-lived certificate alert", "ProbeCertificateExpiring", ["tls"]);
    tlsServer.setSecureContext(renewed);
    await until("the certificate alert to resolve", "ProbeCertificateExpiring", []);
  }, 90_000);

  it("ProbeFailing fires while the service answers 500 and resolves when it recovers", async () => {
    expect(await firing("ProbeFailing")).toEqual([]);
    httpStatus = 500;
    await until("ProbeFailing for web", "ProbeFailing", ["web"]);
    httpStatus = 200;
    await until("ProbeFailing to resolve", "ProbeFailing", []);
  }, 90_000);
});
