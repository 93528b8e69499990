/**
 * Components on their own, under mocks, for the cases the shipped stack files do not cover.
 * The whole program with the real stacks is tested in program.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, test } from "vitest";
import { ClientHost } from "../components/client-host";
import { sshConnection, throughJumpHost } from "../components/host-deployment";
import { ImageDigests } from "../components/image-digests";
import { InstanceRoles } from "../components/instance-roles";
import { LokiBucket } from "../components/loki-bucket";
import { MonitorHost } from "../components/monitor-host";
import { Network } from "../components/network";
import { HOST_KEY_READ_COMMAND, hostKeyFromOutput, SshKey } from "../components/ssh-key";
import { exporterRecord } from "../configs/exporters";
import { AGENT_PORTS } from "../lib/catalog";
import type { ClientHost as ClientHostSettings } from "../lib/stack-config";
import {
  answerCall,
  fakeHostKey,
  fakeImageDigest,
  type MockedRun,
  resourcesOfType,
  runMocked,
} from "./support/pulumi-mocks";
import { sampleStackConfig } from "./support/sample-config";

const config = sampleStackConfig();

/** A well-formed ed25519 public key line whose key bytes derive from `seed`. */
function fakeEd25519(seed: string): string {
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const key = Buffer.alloc(32, seed);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(key)]).toString("base64")}`;
}

function runComponents(program: () => Record<string, unknown>): Promise<MockedRun> {
  return runMocked({ stack: "test", config: {}, secretKeys: [], program: async () => program() });
}

describe("client scrape ports", () => {
  const agentPorts = Object.values(AGENT_PORTS).sort((a, b) => a - b);

  /** The ports the Network opens on the clients for the monitor's scrapes, one rule each, sorted. */
  async function scrapePortsOpened(clientExporters: string[]): Promise<number[]> {
    const run = await runComponents(() => {
      new Network("n", {
        environment: "test",
        network: config.network,
        sshCidrs: [],
        grafanaCidrs: [],
        grafanaExposure: { mode: "tunnel" },
        clientExporters,
      });
      return {};
    });
    return resourcesOfType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter(
        (rule) => /^n-clients-.+-from-monitor$/.test(rule.name) && rule.name !== "n-clients-ssh-from-monitor",
      )
      .map((rule) => rule.inputs.fromPort as number)
      .sort((x, y) => x - y);
  }

  test("without optional exporters only the agents are opened", async () => {
    expect(await scrapePortsOpened([])).toEqual(agentPorts);
  });

  test("each exporter in use adds its port once, however many clients run it", async () => {
    expect(await scrapePortsOpened(["redis", "nginx", "redis", "nginx"])).toEqual(
      [...agentPorts, exporterRecord("nginx").port, exporterRecord("redis").port].sort((a, b) => a - b),
    );
  });
});

describe("Network", () => {
  test("with no optional exporters in use, clients accept only the agent ports from the monitor", async () => {
    const run = await runComponents(() => {
      new Network("n", {
        environment: "test",
        network: config.network,
        sshCidrs: ["198.51.100.7/32"],
        grafanaCidrs: [],
        grafanaExposure: { mode: "tunnel" },
        clientExporters: [],
      });
      return {};
    });
    const rules = resourcesOfType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    const fromMonitor = rules.filter((rule) => rule.inputs.referencedSecurityGroupId !== undefined);
    const clientPorts = fromMonitor
      .filter((rule) => rule.inputs.fromPort !== 3101 && rule.inputs.fromPort !== 22)
      .map((rule) => rule.inputs.fromPort);
    expect(clientPorts.sort()).toEqual(Object.values(AGENT_PORTS).sort());
    // SSH on the clients comes from the monitor (the jump host), never from a CIDR.
    const ssh = rules.filter((rule) => rule.inputs.fromPort === 22);
    const sources = ssh.map((rule) =>
      rule.inputs.cidrIpv4 !== undefined ? `cidr ${rule.inputs.cidrIpv4}` : "monitor group",
    );
    expect(sources.sort()).toEqual(["cidr 198.51.100.7/32", "monitor group"]);
    // No Grafana CIDRs configured: no Grafana rule at all, rather than an open one.
    expect(rules.filter((rule) => rule.inputs.fromPort === 3000)).toEqual([]);
  });
});

/** What LokiBucket needs besides the environment, retention and protection. */
const BUCKET_ACCESS = {
  noncurrentVersionDays: 7,
  monitorPrincipalArn: "arn:aws:iam::123456789012:role/monitor",
  adminArns: [],
} as const;

describe("LokiBucket", () => {
  test("a destroyable bucket in dev, with the lifecycle following a short retention", async () => {
    const run = await runComponents(() => {
      new LokiBucket("b", { environment: "dev", retentionDays: 7, protectData: false, ...BUCKET_ACCESS });
      return {};
    });
    const [bucket] = resourcesOfType(run, "aws:s3/bucket:Bucket");
    expect(bucket?.inputs.forceDestroy).toBe(true);
    expect(bucket?.protect).toBeFalsy();
    expect(bucket?.retainOnDelete).toBeFalsy();
    const [lifecycle] = resourcesOfType(
      run,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    );
    const rules = lifecycle?.inputs.rules as { id: string; expiration?: { days: number } }[];
    expect(rules.find((rule) => rule.id === "expire-loki-chunks")?.expiration?.days).toBe(8);
  });

  test("a bucket retention below one day is refused before anything is registered", () => {
    expect(
      () =>
        new LokiBucket("b", { environment: "dev", retentionDays: 0, protectData: false, ...BUCKET_ACCESS }),
    ).toThrow(/retention/);
  });

  test("admits the monitor, the account root of the monitor's account and the listed admins only", async () => {
    const run = await runComponents(() => {
      new LokiBucket("b", {
        environment: "dev",
        retentionDays: 7,
        protectData: false,
        ...BUCKET_ACCESS,
        monitorPrincipalArn: "arn:aws-us-gov:iam::210987654321:role/LabRole",
        adminArns: [
          "arn:aws-us-gov:iam::210987654321:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
        ],
      });
      return {};
    });
    const [policy] = resourcesOfType(run, "aws:s3/bucketPolicy:BucketPolicy");
    const document = JSON.parse(String(policy?.inputs.policy)) as {
      Statement: { Sid: string; Condition?: Record<string, Record<string, unknown>> }[];
    };
    const objects = document.Statement.find((s) => s.Sid === "DenyObjectAccessExceptMonitorAndAdmins");
    expect(objects?.Condition).toEqual({
      ArnNotLike: {
        "aws:PrincipalArn": [
          "arn:aws-us-gov:iam::210987654321:role/LabRole",
          "arn:aws-us-gov:iam::210987654321:root",
          "arn:aws-us-gov:iam::210987654321:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
        ],
      },
    });
  });
});

describe("InstanceRoles", () => {
  test("an existing instance profile creates no IAM resource and gives clients none", async () => {
    let roles: InstanceRoles | undefined;
    const run = await runComponents(() => {
      roles = new InstanceRoles("r", {
        environment: "test",
        lokiBucketArn: "arn:aws:s3:::bucket",
        existingInstanceProfile: "LabInstanceProfile",
      });
      return { monitorProfile: roles.monitorInstanceProfileName, principal: roles.monitorPrincipalArn };
    });
    expect(run.resources.filter((resource) => resource.type.startsWith("aws:"))).toEqual([]);
    expect(run.outputs.monitorProfile).toBe("LabInstanceProfile");
    // The Loki bucket admits the existing profile's role, looked up by the profile's name.
    expect(run.outputs.principal).toBe("arn:aws:iam::123456789012:role/LabInstanceProfile-role");
    expect(run.calls.map((call) => [call.token, call.inputs.name])).toEqual([
      ["aws:iam/getInstanceProfile:getInstanceProfile", "LabInstanceProfile"],
    ]);
    expect(roles?.clientInstanceProfileName).toBeUndefined();
    expect(roles?.monitorRoleArn).toBeUndefined();
  });
});

describe("SshKey", () => {
  test("an existing key pair is used by name, and nothing is imported", async () => {
    const run = await runComponents(() => ({
      keyName: new SshKey("k", { environment: "test", existingKeyPairName: "ops" }).keyName,
    }));
    expect(resourcesOfType(run, "aws:ec2/keyPair:KeyPair")).toEqual([]);
    expect(run.outputs.keyName).toBe("ops");
  });

  test("neither or both of a key and a key pair name is a programming error", () => {
    expect(() => new SshKey("k", { environment: "test" })).toThrow(/exactly one/);
    expect(
      () =>
        new SshKey("k", { environment: "test", publicKey: "ssh-ed25519 AAAA", existingKeyPairName: "ops" }),
    ).toThrow(/exactly one/);
  });
});

describe("hosts", () => {
  const hostArgs = {
    subnetId: "subnet-0123456789abcdef0",
    securityGroupId: "sg-0123456789abcdef0",
    keyName: "ops",
  };

  test("an explicit AMI id is used as is, without any image lookup", async () => {
    const images = { ...config.images, amiId: "ami-0fedcba9876543210" };
    const run = await runComponents(() => {
      new MonitorHost("m", {
        ...hostArgs,
        environment: "test",
        settings: config.monitor,
        images,
        availabilityZone: "eu-west-1b",
        instanceProfileName: "profile",
        protectData: false,
      });
      new ClientHost("c", {
        ...hostArgs,
        environment: "test",
        client: config.clients[0] as ClientHostSettings,
        images,
      });
      return {};
    });
    expect(run.calls).toEqual([]);
    const instances = resourcesOfType(run, "aws:ec2/instance:Instance");
    expect(instances.map((instance) => instance.inputs.ami)).toEqual([images.amiId, images.amiId]);
  });

  test("the monitor's data volume is created in the zone it is given and is destroyable when data is not protected", async () => {
    const run = await runComponents(() => {
      new MonitorHost("m", {
        ...hostArgs,
        environment: "test",
        settings: config.monitor,
        images: config.images,
        availabilityZone: "eu-west-1b",
        instanceProfileName: "profile",
        protectData: false,
      });
      return {};
    });
    const [volume] = resourcesOfType(run, "aws:ebs/volume:Volume");
    expect(volume?.inputs.availabilityZone).toBe("eu-west-1b");
    expect(volume?.protect).toBeFalsy();
    expect(volume?.retainOnDelete).toBeFalsy();
  });

  test("a client without an instance profile gets none, and announces no exporters with an empty tag", async () => {
    const client: ClientHostSettings = { ...(config.clients[0] as ClientHostSettings), exporters: [] };
    const run = await runComponents(() => {
      new ClientHost("c", { ...hostArgs, environment: "test", client, images: config.images });
      return {};
    });
    const [instance] = resourcesOfType(run, "aws:ec2/instance:Instance");
    expect(instance?.inputs.iamInstanceProfile).toBeUndefined();
    expect(instance?.inputs.tags).toEqual({
      Name: client.name,
      Scrape: "true",
      Environment: "test",
      Exporters: "",
    });
  });
});

test("a provider call the mocks do not answer is an error, never an empty answer", () => {
  expect(() => answerCall("aws:index/getCallerIdentity:getCallerIdentity", {})).toThrow(
    /un-mocked provider call aws:index\/getCallerIdentity/,
  );
  expect(() => answerCall("aws:ec2/getAmi:getAmi", { owners: ["099720109477"] })).toThrow(/exact image name/);
});

test("the Loki bucket's name is valid for S3 whatever the stack is called", async () => {
  const run = await runComponents(() => {
    new LokiBucket("Prod_EU-loki", {
      environment: "Prod_EU",
      retentionDays: 30,
      protectData: true,
      ...BUCKET_ACCESS,
    });
    return {};
  });
  const [bucket] = resourcesOfType(run, "aws:s3/bucket:Bucket");
  expect(bucket?.name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
});

describe("SSH connections and host keys", () => {
  const privateKey = pulumi.secret("key-material");

  test("key login carries the key to the host and the jump leg; agent login carries none and no socket path", () => {
    const monitor = sshConnection("192.0.2.1", "ubuntu", { privateKey });
    const client = throughJumpHost("10.42.1.20", "ubuntu", { ...monitor, hostKey: "ssh-ed25519 AAAA" });
    expect(client.privateKey).toBe(privateKey);
    expect(client.proxy).toMatchObject({ host: "192.0.2.1", privateKey, hostKey: "ssh-ed25519 AAAA" });
    expect(client.hostKey).toBeUndefined();

    const agentMonitor = sshConnection("192.0.2.1", "ubuntu", {});
    const agentClient = throughJumpHost("10.42.1.20", "ubuntu", agentMonitor);
    for (const connection of [agentMonitor, agentClient, agentClient.proxy ?? {}]) {
      expect(Object.keys(connection)).not.toContain("privateKey");
      expect(Object.keys(connection)).not.toContain("agentSocketPath");
    }
  });

  const fingerprint = (publicKeyLine: string) =>
    execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: publicKeyLine, encoding: "utf8" })
      .split(" ")
      .slice(0, 2)
      .join(" ");

  test("the host-key read prints this machine's ECDSA host key (what Go's SSH client is shown first), as type and key", () => {
    const file = "/etc/ssh/ssh_host_ecdsa_key.pub";
    if (!existsSync(file)) {
      throw new Error(
        `${file} is missing. Install it with: apt-get update && apt-get install -y openssh-server`,
      );
    }
    const printed = execFileSync("sh", ["-c", HOST_KEY_READ_COMMAND], { encoding: "utf8" });
    const key = hostKeyFromOutput("this machine", printed);
    expect(`${key}\n`).toBe(printed);
    expect(key.startsWith("ecdsa-sha2-")).toBe(true);
    // The same key ssh-keygen reads from the file sshd serves (compared by fingerprint).
    expect(fingerprint(key)).toBe(fingerprint(readFileSync(file, "utf8")));
  });

  test("without an ECDSA key the ed25519 key is read; without either the read fails and says why", () => {
    const directory = mkdtempSync(join(tmpdir(), "host-keys-"));
    try {
      const ed25519 = `${fakeEd25519("k")} root@host`;
      writeFileSync(join(directory, "ssh_host_ed25519_key.pub"), `${ed25519}\n`);
      writeFileSync(join(directory, "ssh_host_rsa_key.pub"), "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB root@host\n");
      const printed = execFileSync("sh", ["-c", HOST_KEY_READ_COMMAND.replaceAll("/etc/ssh", directory)], {
        encoding: "utf8",
      });
      expect(hostKeyFromOutput("h", printed)).toBe(ed25519.split(" ").slice(0, 2).join(" "));
      rmSync(join(directory, "ssh_host_ed25519_key.pub"));
      const failed = spawnSync("sh", ["-c", HOST_KEY_READ_COMMAND.replaceAll("/etc/ssh", directory)], {
        encoding: "utf8",
      });
      expect(failed.status).toBe(1);
      expect(failed.stdout).toBe("");
      expect(failed.stderr).toContain(`no ECDSA or ed25519 host key in ${directory}`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test("anything but one ECDSA or ed25519 key line is refused, so no step is pinned to garbage", () => {
    const good = hostKeyFromOutput("h", ` ${fakeHostKey("h")} \n`);
    expect(good).toBe(fakeHostKey("h"));
    expect(hostKeyFromOutput("h", fakeEd25519("e"))).toBe(fakeEd25519("e"));
    for (const output of [
      "",
      "cut: /etc/ssh/ssh_host_ecdsa_key.pub: No such file or directory",
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB",
      `${good}\n${good}`,
      "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB",
    ]) {
      expect(() => hostKeyFromOutput("web-1", output), JSON.stringify(output)).toThrow(
        /^web-1: .*cannot be pinned/,
      );
    }
  });
});

describe("ImageDigests", () => {
  test("looks each image up once, through its own daemon-less docker provider, and maps it to its digest", async () => {
    const images = ["docker.io/prom/prometheus:v3.14.0", "ghcr.io/google/cadvisor:v0.60.5"];
    const run = await runComponents(() => ({
      digests: new ImageDigests("images", { images: [images[1] as string, ...images] }).digests,
    }));
    const lookups = run.calls.filter(
      (call) => call.token === "docker:index/getRegistryImage:getRegistryImage",
    );
    expect(lookups.map((call) => call.inputs.name).sort()).toEqual(images);
    const providers = resourcesOfType(run, "pulumi:providers:docker");
    expect(providers).toHaveLength(1);
    for (const call of lookups)
      expect(call.provider).toContain(`pulumi:providers:docker::${providers[0]?.name}`);
    expect(run.outputs.digests).toEqual(
      Object.fromEntries(images.map((image) => [image, fakeImageDigest(image)])),
    );
  });
});
