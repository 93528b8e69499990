/**
 * The push gateway's allow/deny table against real nginx (Debian's) running the monitor's
 * rendered gateway config, changed only by gatewayOnLoopback (addresses, ports, paths), in front
 * of a stand-in upstream that records what reaches it. The hash files are renderHtpasswd's output
 * for generated passwords, 0400 and owned by the user nginx runs as, as on the monitor: every
 * host's (web-1 on EC2, onprem-1 outside AWS) for logs, the outside host's for remote write.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_CONFIG_FILE, GATEWAY_CONTAINER_CONFIG_PATH, renderHtpasswd } from "../configs/gateway";
import { monitorFiles } from "../configs/host-files";
import { monitorComposeData } from "../configs/monitor-compose";
import { gatewayOnLoopback } from "./support/loopback";
import { freePort, ProcessGroup, readRequestBody } from "./support/processes";
import { sampleStackConfig } from "./support/sample-config";
import { UNPRIVILEGED } from "./support/services";
import { tempDirMaker } from "./support/temp-files";
import { SERVICES } from "./support/tools";

const makeTempDir = tempDirMaker("gateway-");
const group = new ProcessGroup();
const runningAsRoot = process.getuid?.() === 0;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

const seen: Seen[] = [];
let upstream: Server;
let gatewayPort: number;
let htpasswdPath: string;
let metricsHtpasswdPath: string;
let accessLog: string;

const secret = () => randomBytes(24).toString("base64url").replace(/[-_]/g, "x").slice(0, 32);
const credentials = {
  "web-1": { password: secret(), salt: "webSalt0123456789".slice(0, 16) },
  "onprem-1": { password: secret(), salt: "onpremSalt012345" },
};

function writeHtpasswd(
  entries: Record<string, { password: string; salt: string }>,
  path: string = htpasswdPath,
): void {
  const text = renderHtpasswd(Object.entries(entries).map(([user, value]) => ({ user, ...value })));
  // In place, as the deploy's put_secret writes it: the running nginx must see the new content.
  chmodSync(path, 0o600);
  writeFileSync(path, text);
  chmodSync(path, 0o400);
}

/** The metrics writers: the hosts outside AWS. */
const metricsWriters = () => ({ "onprem-1": credentials["onprem-1"] });

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request with the path exactly as given (no client-side normalisation). */
function send(
  method: string,
  path: string,
  options: { user?: string; password?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ""}`).toString("base64")}`;
  }
  const body = options.body ?? "";
  headers["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: gatewayPort, method, path, headers }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const asHost = (host: keyof typeof credentials) => ({ user: host, password: credentials[host].password });

beforeAll(async () => {
  const dir = makeTempDir();
  if (runningAsRoot) chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const runtime = join(dir, "run");
  mkdirSync(runtime);
  if (runningAsRoot) chownSync(runtime, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  htpasswdPath = join(dir, "push_htpasswd");
  metricsHtpasswdPath = join(dir, "push_htpasswd_metrics");
  for (const path of [htpasswdPath, metricsHtpasswdPath]) {
    writeFileSync(path, "", { mode: 0o400 });
    if (runningAsRoot) chownSync(path, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  }
  writeHtpasswd(credentials);
  writeHtpasswd(metricsWriters(), metricsHtpasswdPath);
  accessLog = join(runtime, "access.log");

  upstream = createServer(async (req, res) => {
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: await readRequestBody(req),
    });
    res.writeHead(204);
    res.end();
  });
  const upstreamPort = await freePort();
  await new Promise<void>((resolve) => upstream.listen(upstreamPort, "127.0.0.1", resolve));

  gatewayPort = await freePort();
  const config = sampleStackConfig();
  const rendered = monitorFiles(config)[GATEWAY_CONFIG_FILE] as string;
  const configPath = join(dir, "nginx.conf");
  writeFileSync(
    configPath,
    gatewayOnLoopback(rendered, {
      listen: `127.0.0.1:${gatewayPort}`,
      upstreams: { loki: `127.0.0.1:${upstreamPort}`, prometheus: `127.0.0.1:${upstreamPort}` },
      htpasswdPath,
      metricsHtpasswdPath,
      runtimeDir: runtime,
      accessLog,
    }),
  );
  // The container's own command line, with the config path moved here.
  const command = (monitorComposeData(config).services.gateway?.command ?? []).map((arg) =>
    arg === GATEWAY_CONTAINER_CONFIG_PATH ? configPath : arg,
  );
  expect(command).toContain(configPath);
  await group.start({
    name: "gateway",
    tool: SERVICES.nginx,
    args: command,
    readyUrl: `http://127.0.0.1:${gatewayPort}/`,
    readyProbe: async () => (await send("GET", "/").catch(() => undefined))?.status === 404,
    cwd: dir,
    user: UNPRIVILEGED,
  });
}, 60_000);

afterAll(async () => {
  await group.stopAll();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
});

describe("the push gateway (real nginx, rendered config)", () => {
  it("forwards a push with the host's own credentials, on the fixed path, without the credentials", async () => {
    const before = seen.length;
    const reply = await send("POST", "/loki/api/v1/push", {
      ...asHost("web-1"),
      headers: { "content-type": "application/json", "x-scope-orgid": "someone-else" },
      body: '{"streams":[]}',
    });
    expect(reply.status).toBe(204);
    expect(seen.length).toBe(before + 1);
    const forwarded = seen.at(-1) as Seen;
    expect(forwarded).toMatchObject({ method: "POST", url: "/loki/api/v1/push", body: '{"streams":[]}' });
    expect(forwarded.headers.authorization).toBeUndefined();
    expect(forwarded.headers["x-scope-orgid"]).toBeUndefined();
    expect((await send("POST", "/loki/api/v1/push", asHost("onprem-1"))).status).toBe(204);
  });

  it("passes on only the push path, whatever the client spelled", async () => {
    for (const path of ["/loki/api/v1/push?tenant=x", "/loki/api/v1/p%75sh", "//loki/api/v1/push"]) {
      const before = seen.length;
      expect((await send("POST", path, asHost("web-1"))).status, path).toBe(204);
      expect(
        seen.slice(before).map((request) => request.url),
        path,
      ).toEqual(["/loki/api/v1/push"]);
    }
  });

  it("refuses a push without credentials, with wrong ones, or with another host's", async () => {
    const before = seen.length;
    const web = credentials["web-1"].password;
    const onprem = credentials["onprem-1"].password;
    for (const [what, options] of [
      ["no credentials", {}],
      ["an empty password", { user: "web-1", password: "" }],
      ["a wrong password", { user: "web-1", password: `${web}x` }],
      ["web-1 with onprem-1's password", { user: "web-1", password: onprem }],
      ["onprem-1 with web-1's password", { user: "onprem-1", password: web }],
      ["a user that does not exist", { user: "web-2", password: web }],
      [
        "the hash as a password",
        { user: "web-1", password: readFileSync(htpasswdPath, "utf8").split(":")[1] },
      ],
    ] as const) {
      expect((await send("POST", "/loki/api/v1/push", options)).status, what).toBe(401);
    }
    expect(seen.length, "a refused push reached Loki").toBe(before);
  });

  it("answers 404 to every other path, with or without credentials, and 403 to other methods on the push path", async () => {
    const before = seen.length;
    const refused: [string, string, number][] = [
      ["GET", "/loki/api/v1/push", 403],
      ["PUT", "/loki/api/v1/push", 403],
      ["DELETE", "/loki/api/v1/push", 403],
      ["GET", "/loki/api/v1/query_range?query=%7Bhost%3D%22web-1%22%7D", 404],
      ["GET", "/loki/api/v1/query?query=%7Bhost%3D%22web-1%22%7D", 404],
      ["GET", "/loki/api/v1/labels", 404],
      ["GET", "/loki/api/v1/tail", 404],
      ["POST", "/loki/api/v1/delete?query=%7Bhost%3D%22web-1%22%7D&start=0", 404],
      ["DELETE", "/loki/api/v1/delete", 404],
      ["GET", "/loki/api/v1/delete", 404],
      ["POST", "/ingester/shutdown", 404],
      ["GET", "/ingester/shutdown", 404],
      ["POST", "/ingester/flush_shutdown", 404],
      ["POST", "/flush", 404],
      ["GET", "/compactor/ring", 404],
      ["GET", "/config", 404],
      ["GET", "/metrics", 404],
      ["GET", "/ready", 404],
      ["POST", "/api/prom/push", 404],
      ["POST", "/loki/api/v1/push/../query_range", 404],
      ["POST", "/loki/api/v1/push/../../../ingester/shutdown", 404],
      ["POST", "/loki/api/v1/push/%2e%2e/query_range", 404],
      ["POST", "/loki/api/v1/push/", 404],
      ["POST", "/loki/api/v1/PUSH", 404],
      ["POST", "/otlp/v1/logs", 404],
    ];
    for (const [method, path, status] of refused) {
      expect((await send(method, path, asHost("web-1"))).status, `${method} ${path} as web-1`).toBe(status);
      if (status === 404) expect((await send(method, path)).status, `${method} ${path} anonymous`).toBe(404);
    }
    expect(seen.length, "a refused request reached Loki").toBe(before);
  });

  it("forwards a remote write from a host outside AWS, on Prometheus' fixed path, without the credentials", async () => {
    const before = seen.length;
    const reply = await send("POST", "/api/v1/write", {
      ...asHost("onprem-1"),
      headers: { "content-type": "application/x-protobuf", "x-scope-orgid": "someone-else" },
      body: "snappy-bytes",
    });
    expect(reply.status).toBe(204);
    const forwarded = seen.at(-1) as Seen;
    expect(forwarded).toMatchObject({ method: "POST", url: "/api/v1/write", body: "snappy-bytes" });
    expect(forwarded.headers.authorization).toBeUndefined();
    expect(forwarded.headers["x-scope-orgid"]).toBeUndefined();
    expect((await send("POST", "/api/v1/write?x=1", asHost("onprem-1"))).status).toBe(204);
    expect(seen.slice(before).map((request) => request.url)).toEqual(["/api/v1/write", "/api/v1/write"]);
  });

  it("refuses a remote write from an EC2 client even with its own valid password, and without or with wrong credentials", async () => {
    const before = seen.length;
    const onprem = credentials["onprem-1"].password;
    const web = credentials["web-1"].password;
    for (const [what, options] of [
      // web-1 pushes logs with this password, but is not a metrics writer.
      ["web-1 with its own password", asHost("web-1")],
      ["web-1 with onprem-1's password", { user: "web-1", password: onprem }],
      ["no credentials", {}],
      ["a user that does not exist", { user: "web-2", password: onprem }],
      ["onprem-1 with a wrong password", { user: "onprem-1", password: `${onprem}x` }],
      ["onprem-1 with web-1's password", { user: "onprem-1", password: web }],
      ["onprem-1 with an empty password", { user: "onprem-1", password: "" }],
    ] as const) {
      expect((await send("POST", "/api/v1/write", options)).status, what).toBe(401);
    }
    expect(seen.length, "a refused write reached Prometheus").toBe(before);
    expect((await send("POST", "/loki/api/v1/push", asHost("web-1"))).status, "web-1's logs").toBe(204);
    for (const method of ["GET", "PUT", "DELETE"]) {
      expect((await send(method, "/api/v1/write", asHost("onprem-1"))).status, method).toBe(403);
    }
    // Prometheus' other paths, and tricks on the write path, are not routes.
    for (const path of [
      "/api/v1/query?query=up",
      "/api/v1/series?match[]=up",
      "/api/v1/admin/tsdb/delete_series?match[]=up",
      "/api/v1/admin/tsdb/snapshot",
      "/-/reload",
      "/-/quit",
      "/api/v1/otlp/v1/metrics",
      "/api/v1/write/../query",
      "/api/v1/write/",
      "/api/v1/WRITE",
      "/federate",
    ]) {
      expect((await send("POST", path, asHost("onprem-1"))).status, path).toBe(404);
      expect((await send("GET", path)).status, `${path} anonymous`).toBe(404);
    }
    expect(seen.length - before, "requests that reached an upstream besides web-1's log push").toBe(1);
  });

  it("admits a host added to the metrics writers' file at once, and refuses one removed, without a reload", async () => {
    writeHtpasswd({ ...metricsWriters(), "web-1": credentials["web-1"] }, metricsHtpasswdPath);
    try {
      expect((await send("POST", "/api/v1/write", asHost("web-1"))).status).toBe(204);
    } finally {
      writeHtpasswd(metricsWriters(), metricsHtpasswdPath);
    }
    expect((await send("POST", "/api/v1/write", asHost("web-1"))).status).toBe(401);
    writeHtpasswd({}, metricsHtpasswdPath);
    try {
      expect((await send("POST", "/api/v1/write", asHost("onprem-1"))).status).toBe(401);
      expect((await send("POST", "/loki/api/v1/push", asHost("onprem-1"))).status).toBe(204);
    } finally {
      writeHtpasswd(metricsWriters(), metricsHtpasswdPath);
    }
  });

  it("logs refused requests with the user and the status, and not accepted pushes", async () => {
    const lines = readFileSync(accessLog, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines.some((line) => line.status === "401" && line.user === "web-2")).toBe(true);
    expect(lines.some((line) => line.status === "404" && line.path === "/ingester/shutdown")).toBe(true);
    expect(lines.every((line) => !line.status?.startsWith("2"))).toBe(true);
  });

  it("takes a replaced password at once, without a reload: the old one is refused", async () => {
    const old = credentials["web-1"].password;
    const rotated = { ...credentials, "web-1": { password: secret(), salt: "rotatedSalt01234" } };
    writeHtpasswd(rotated);
    try {
      expect((await send("POST", "/loki/api/v1/push", { user: "web-1", password: old })).status).toBe(401);
      expect(
        (await send("POST", "/loki/api/v1/push", { user: "web-1", password: rotated["web-1"].password }))
          .status,
      ).toBe(204);
      expect((await send("POST", "/loki/api/v1/push", asHost("onprem-1"))).status).toBe(204);
    } finally {
      writeHtpasswd(credentials);
    }
  });

  it("refuses every push when the host is gone from the hash file", async () => {
    writeHtpasswd({ "onprem-1": credentials["onprem-1"] });
    try {
      expect((await send("POST", "/loki/api/v1/push", asHost("web-1"))).status).toBe(401);
    } finally {
      writeHtpasswd(credentials);
    }
  });
});
