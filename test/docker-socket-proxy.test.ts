/**
 * The Docker socket proxy's allowlist, as the proxy applies it: each pattern anchored (`^...$`)
 * and matched against the request's decoded path, per method; a method without patterns is
 * refused. (The patterns use only syntax on which Go's RE2 and JavaScript agree: groups,
 * alternation, classes, bounded repeats.) No socket-proxy binary runs here; the compose wiring is
 * checked on the rendered files.
 */
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { FILTERED_DOCKER_SOCKET } from "../configs/agents/docker-socket-proxy";
import { clientFiles, monitorFiles } from "../configs/host-files";
import type { ClientHost } from "../lib/stack-config";
import { sampleStackConfig } from "./support/sample-config";

/** The proxy's flags, as a client's rendered compose file starts it. */
function renderedFlags(): string[] {
  const config = sampleStackConfig();
  const compose = YAML.parse(clientFiles(config, config.clients[0] as ClientHost)["compose.yaml"] as string);
  return compose.services["docker-socket-proxy"].command;
}

/** The proxy's decision for one request, from the rendered flags. */
function allowed(method: string, path: string): boolean {
  const patterns = renderedFlags()
    .filter((flag) => flag.startsWith(`-allow${method}=`))
    .map((flag) => new RegExp(`^(?:${flag.slice(flag.indexOf("=") + 1)})$`));
  return patterns.some((pattern) => pattern.test(path));
}

describe("the Docker socket proxy's allowlist", () => {
  it("lets through what Alloy's Docker discovery and log source call, with or without a version prefix", () => {
    for (const prefix of ["", "/v1.41", "/v1.47"]) {
      for (const path of [
        "/_ping",
        "/version",
        "/containers/json",
        "/containers/4f1c2e9a7b3d/json",
        "/containers/observability-alloy-1/logs",
        "/networks",
      ]) {
        expect(allowed("GET", `${prefix}${path}`), `GET ${prefix}${path}`).toBe(true);
      }
      expect(allowed("HEAD", `${prefix}/_ping`)).toBe(true);
    }
  });

  it("refuses every write, exec, file copy, export, and anything outside containers and logs", () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "CONNECT", "OPTIONS", "TRACE"]) {
      for (const path of ["/containers/create", "/containers/abc/exec", "/containers/abc/start", "/_ping"]) {
        expect(allowed(method, path), `${method} ${path}`).toBe(false);
      }
    }
    for (const path of [
      "/containers/abc/archive",
      "/containers/abc/export",
      "/containers/abc/top",
      "/containers/abc/changes",
      "/containers/abc/stats",
      "/containers/abc/attach/ws",
      "/containers/abc/logs/extra",
      "/containers/../images/json",
      "/exec/abc/json",
      "/images/json",
      "/volumes",
      "/info",
      "/events",
      "/secrets",
      "/swarm",
      "/plugins",
      "/system/df",
      "/networks/abc",
      "/v2.0/containers/json",
      "/v1.41/v1.41/containers/json",
      "/containers/json/",
    ]) {
      expect(allowed("GET", path), `GET ${path}`).toBe(false);
    }
    expect(allowed("HEAD", "/containers/json")).toBe(false);
    const methods = renderedFlags().flatMap((flag) => /^-allow([A-Z]+)=/.exec(flag)?.[1] ?? []);
    expect([...new Set(methods)].sort()).toEqual(["GET", "HEAD"]);
  });
});

describe("the socket proxy on every host", () => {
  const config = sampleStackConfig();
  const bundles = {
    monitor: monitorFiles(config),
    client: clientFiles(config, config.clients[0] as ClientHost),
  };

  for (const [host, files] of Object.entries(bundles)) {
    it(`${host}: only the proxy mounts Docker's socket; Alloy reads the proxy's socket, and the proxy has no port`, () => {
      const compose = YAML.parse(files["compose.yaml"] as string);
      const proxy = compose.services["docker-socket-proxy"];
      expect(proxy.volumes).toContain("/var/run/docker.sock:/var/run/docker.sock:ro");
      expect(proxy.ports).toBeUndefined();
      expect(proxy).toMatchObject({ read_only: true, cap_drop: ["ALL"] });
      expect(proxy.command).toContain(`-proxysocketendpoint=${FILTERED_DOCKER_SOCKET}`);
      expect(compose.services.alloy.volumes).toContain("docker-socket-proxy:/run/docker-socket-proxy:ro");
      for (const [name, service] of Object.entries(
        compose.services as Record<string, { volumes?: string[] }>,
      )) {
        if (name === "docker-socket-proxy" || name === "cadvisor") continue;
        for (const volume of service.volumes ?? []) expect(volume, name).not.toMatch(/docker\.sock/);
      }
      const alloy = files["alloy/config.alloy"] as string;
      expect(alloy).toContain(`host = "unix://${FILTERED_DOCKER_SOCKET}"`);
      expect(alloy).not.toContain("/var/run/docker.sock");
    });
  }
});
