/**
 * The deploy on test hosts with real Docker engines (test/support/docker-deploy.ts): wall time of
 * the first deploy of a monitor and one client, of running every step again with nothing changed,
 * and each container's memory once idle. Needs the test engine: `bash .ci/docker-engine start`.
 * The images are the tests' (Debian's Prometheus family, stand-ins for Grafana, Loki, Alloy and
 * cAdvisor), so the memory of those four says nothing about the real services.
 */
import { randomBytes } from "node:crypto";
import { deployMonitorAndClient } from "../test/support/docker-deploy";
import { dockerEngine } from "../test/support/docker-engine";
import type { TestHost } from "../test/support/docker-hosts";

export interface ContainerMemory {
  readonly host: string;
  readonly container: string;
  readonly image: string;
  readonly mebibytes: number;
}

export interface DockerDeployFigures {
  readonly firstDeploySeconds: number;
  readonly redeploySeconds: number;
  readonly idleSeconds: number;
  readonly memory: readonly ContainerMemory[];
}

const UNITS: Readonly<Record<string, number>> = { B: 1 / 1024 / 1024, KiB: 1 / 1024, MiB: 1, GiB: 1024 };

function memoryOf(host: TestHost, label: string): ContainerMemory[] {
  const stats = host.exec(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"]);
  const images = host.exec(["docker", "ps", "--format", "{{.Names}}\t{{.Image}}"]);
  if (stats.status !== 0 || images.status !== 0)
    throw new Error(`docker stats on ${label}: ${stats.stderr}${images.stderr}`);
  const imageOf = new Map(
    images.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t") as [string, string]),
  );
  return stats.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [container = "", usage = ""] = line.split("\t");
      const match = /^([\d.]+)([KMG]?i?B)/.exec(usage.trim());
      const mebibytes = match ? Number(match[1]) * (UNITS[match[2] as string] ?? Number.NaN) : Number.NaN;
      return { host: label, container, image: imageOf.get(container) ?? "?", mebibytes };
    });
}

export async function measureDockerDeploy(idleSeconds: number): Promise<DockerDeployFigures> {
  const stack = await deployMonitorAndClient(dockerEngine(), randomBytes(12).toString("hex"));
  try {
    const redeploySeconds = await stack.redeploySeconds();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    return {
      firstDeploySeconds: stack.deploySeconds,
      redeploySeconds,
      idleSeconds,
      memory: [...memoryOf(stack.monitor, "monitor"), ...memoryOf(stack.client, "client")],
    };
  } finally {
    stack.stop();
  }
}
