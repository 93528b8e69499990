/**
 * Remote write to Amazon Managed Service for Prometheus (managedPrometheus):
 * - under Pulumi mocks: the workspace (created or looked up), the monitor role's rights on that one
 *   workspace, and the URLs the monitor's Prometheus and Grafana get; nothing of it when off;
 * - for real: Debian sid's Prometheus 3 with the rendered remote_write block (only its URL swapped)
 *   signs with SigV4 from dummy environment credentials; a loopback receiver checks the signature's
 *   shape and forwards to a second Prometheus with the remote-write receiver on, where the series
 *   arrive; a refused write shows in the failure counter the alert reads.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { renderPrometheusConfig } from "../configs/prometheus";
import { PROJECT } from "../lib/stack-config";
import {
  freePort,
  getJson,
  getText,
  ProcessGroup,
  pollUntil,
  startLocalPrometheus,
} from "./support/processes";
import {
  FAKE_ACCOUNT_ID,
  type ProgramRun,
  type RecordedResource,
  resourcesOfType,
  runProgram,
  unwrapSecret,
} from "./support/pulumi-mocks";
import { sampleStackConfig } from "./support/sample-config";
import { withManagedStore } from "./support/stacks";
import { requireTool, TOOLS } from "./support/tools";

const WORKSPACE = "aws:amp/workspace:Workspace";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const EXISTING_ID = "ws-b226cc2a-a446-46a9-933a-ac50479a5568";

/** Every string a deploy step of the monitor carries (its scripts embed the files they write). */
function monitorStepText(run: ProgramRun): string {
  return resourcesOfType(run, "command:remote:Command")
    .filter((step) => step.parent?.endsWith("-deploy-monitor"))
    .map((step) => JSON.stringify(unwrapSecret(step.inputs)))
    .join("\n");
}

function policyStatements(resource: RecordedResource): unknown[] {
  return (JSON.parse(String(resource.inputs.policy)) as { Statement: unknown[] }).Statement;
}

const rightsOn = (arn: string) => [
  { Sid: "PrometheusRemoteWrite", Effect: "Allow", Action: "aps:RemoteWrite", Resource: arn },
  {
    Sid: "GrafanaQuery",
    Effect: "Allow",
    Action: ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"],
    Resource: arn,
  },
];

describe("under mocks (prod stack)", () => {
  it("creates a workspace, grants the monitor role write and query on it alone, and points Prometheus and Grafana at it", async () => {
    const run = await runProgram("prod", { configOverrides: { [`${PROJECT}:managedPrometheus`]: "create" } });
    const [workspace, ...others] = resourcesOfType(run, WORKSPACE);
    expect(others).toEqual([]);
    expect(workspace?.inputs.alias).toBe("observability-prod");
    const output = run.outputs.managedPrometheusWorkspace as Record<string, string>;
    expect(output.arn).toMatch(
      new RegExp(`^arn:aws:aps:mock:${FAKE_ACCOUNT_ID}:workspace/ws-[0-9a-f-]{36}$`),
    );
    expect(output.remoteWriteUrl).toBe(`${output.queryUrl}api/v1/remote_write`);

    const grants = resourcesOfType(run, ROLE_POLICY).filter((policy) =>
      String(policy.inputs.policy).includes("aps:"),
    );
    expect(grants.map((policy) => policy.name)).toEqual(["prod-hosts-monitor-managed-prometheus"]);
    expect(policyStatements(grants[0] as RecordedResource)).toEqual(rightsOn(output.arn as string));

    const steps = monitorStepText(run);
    expect(steps).toContain(output.remoteWriteUrl);
    expect(steps).toContain(output.queryUrl);
    expect(steps).toContain("GF_AUTH_SIGV4_AUTH_ENABLED");
  });

  it("writes to an existing workspace looked up by id, creating none", async () => {
    const run = await runProgram("prod", {
      configOverrides: {
        [`${PROJECT}:managedPrometheus`]: "existing",
        [`${PROJECT}:managedPrometheusWorkspaceId`]: EXISTING_ID,
      },
    });
    expect(resourcesOfType(run, WORKSPACE)).toEqual([]);
    const lookups = run.calls.filter((call) => call.token === "aws:amp/getWorkspace:getWorkspace");
    expect(lookups.map((call) => call.inputs.workspaceId)).toEqual([EXISTING_ID]);
    const arn = `arn:aws:aps:mock:${FAKE_ACCOUNT_ID}:workspace/${EXISTING_ID}`;
    const grant = resourcesOfType(run, ROLE_POLICY).find((policy) =>
      String(policy.inputs.policy).includes("aps:"),
    );
    expect(policyStatements(grant as RecordedResource)).toEqual(rightsOn(arn));
    expect(monitorStepText(run)).toContain(`workspaces/${EXISTING_ID}/api/v1/remote_write`);
  });

  it("when off (the shipped stacks), creates nothing, grants nothing and outputs null", async () => {
    const run = await runProgram("prod");
    expect(resourcesOfType(run, WORKSPACE)).toEqual([]);
    expect(run.calls.filter((call) => call.token.startsWith("aws:amp/"))).toEqual([]);
    for (const policy of resourcesOfType(run, ROLE_POLICY))
      expect(String(policy.inputs.policy)).not.toContain("aps:");
    expect(run.outputs.managedPrometheusWorkspace).toBeNull();
    expect(monitorStepText(run)).not.toContain("remote_write");
  });
});

interface ReceivedWrite {
  readonly authorization: string;
  readonly headers: IncomingMessage["headers"];
}

/** SigV4 as AWS defines it, for the service `aps` in `region` with the dummy key id. */
function sigv4Shape(region: string, keyId: string): RegExp {
  return new RegExp(
    `^AWS4-HMAC-SHA256 Credential=${keyId}/\\d{8}/${region}/aps/aws4_request, SignedHeaders=([a-z0-9-]+;)*host(;[a-z0-9-]+)*, Signature=[0-9a-f]{64}$`,
  );
}

describe("Prometheus 3 writing to the managed store's endpoint, for real", () => {
  const config = withManagedStore(sampleStackConfig());
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), "managed-prometheus-"));
  const received: ReceivedWrite[] = [];
  const keyId = "AKIDEXAMPLE0000TEST";
  let refuse = false;
  let receiver: Server | undefined;
  let storeUrl = "";
  let senderUrl = "";

  beforeAll(async () => {
    requireTool(TOOLS.prometheus);
    storeUrl = await startLocalPrometheus(group, {
      name: "store",
      configFile: writeConfig("store.yml", { global: { scrape_interval: "1m" } }),
      dataDir: join(workDir, "store-data"),
      extraArgs: ["--web.enable-remote-write-receiver"],
    });

    // The workspace's stand-in: records each write's signature, then hands the body on unchanged.
    receiver = createServer((incoming, answer) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        received.push({
          authorization: String(incoming.headers.authorization ?? ""),
          headers: incoming.headers,
        });
        if (refuse) {
          answer.writeHead(403).end("signature refused");
          return;
        }
        const forward = request(
          `${storeUrl}/api/v1/write`,
          {
            method: "POST",
            headers: {
              "content-type": String(incoming.headers["content-type"]),
              "content-encoding": String(incoming.headers["content-encoding"]),
              "x-prometheus-remote-write-version": String(
                incoming.headers["x-prometheus-remote-write-version"],
              ),
            },
          },
          (stored) => {
            answer.writeHead(stored.statusCode ?? 502);
            stored.pipe(answer);
          },
        );
        forward.on("error", () => answer.writeHead(502).end());
        forward.end(Buffer.concat(chunks));
      });
    });
    const receiverPort = await freePort();
    await new Promise<void>((resolve) => receiver?.listen(receiverPort, "127.0.0.1", resolve));

    // The rendered remote_write block, only its URL swapped for the stand-in's.
    const rendered = parse(renderPrometheusConfig(config)) as {
      global: Record<string, unknown>;
      remote_write: Record<string, unknown>[];
    };
    const remoteWrite = {
      ...rendered.remote_write[0],
      url: `http://127.0.0.1:${receiverPort}/api/v1/remote_write`,
    };
    const senderPort = await freePort();
    senderUrl = `http://127.0.0.1:${senderPort}`;
    await group.start({
      name: "sender",
      tool: TOOLS.prometheus,
      args: [
        `--config.file=${writeConfig("sender.yml", {
          global: { ...rendered.global, scrape_interval: "1s" },
          remote_write: [remoteWrite],
          scrape_configs: [
            { job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${senderPort}`] }] },
          ],
        })}`,
        `--storage.tsdb.path=${join(workDir, "sender-data")}`,
        `--web.listen-address=127.0.0.1:${senderPort}`,
      ],
      readyUrl: `${senderUrl}/-/ready`,
      // Dummy credentials from the environment, as the SDK's default chain finds them; never IMDS.
      env: {
        AWS_ACCESS_KEY_ID: keyId,
        AWS_SECRET_ACCESS_KEY: "dummy-secret-for-a-loopback-test",
        AWS_EC2_METADATA_DISABLED: "true",
      },
    });
  });

  afterAll(async () => {
    await group.stopAll();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    rmSync(workDir, { recursive: true, force: true });
  });

  function writeConfig(name: string, document: unknown): string {
    const path = join(workDir, name);
    writeFileSync(path, stringify(document));
    return path;
  }

  it("signs every write with SigV4 for the aps service in the stack's region", async () => {
    await pollUntil("a remote write", () => (received.length > 0 ? true : undefined), { attempts: 120 });
    for (const write of received) {
      expect(write.authorization).toMatch(sigv4Shape(config.region, keyId));
      expect(write.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
      expect(write.headers["content-encoding"]).toBe("snappy");
    }
  });

  it("delivers the series, labelled with the stack's environment, to the store", async () => {
    const found = await pollUntil(
      "the sender's series in the store",
      async () => {
        const answer = await getJson<{ data: { result: { metric: Record<string, string> }[] } }>(
          `${storeUrl}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`,
        );
        return answer.data.result[0];
      },
      { attempts: 120 },
    );
    expect(found.metric).toMatchObject({ job: "prometheus", environment: config.stack });
  });

  it("counts refused samples in the series the ManagedPrometheusWriteFailing alert reads", async () => {
    const failed = async () => {
      const page = (await getText(`${senderUrl}/metrics`))?.body ?? "";
      const line = page
        .split("\n")
        .find(
          (text) =>
            text.startsWith("prometheus_remote_storage_samples_failed_total{") &&
            text.includes('remote_name="managed-prometheus"'),
        );
      return Number(line?.split(" ").at(-1) ?? Number.NaN);
    };
    const metrics = (await getText(`${senderUrl}/metrics`))?.body ?? "";
    for (const name of [
      "prometheus_remote_storage_highest_timestamp_in_seconds",
      "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
    ]) {
      expect(metrics, name).toMatch(new RegExp(`^${name}[{ ]`, "m"));
    }
    expect(await failed()).toBe(0);
    refuse = true;
    await pollUntil("refused samples counted", async () => ((await failed()) > 0 ? true : undefined), {
      attempts: 120,
    });
    refuse = false;
  });
});
