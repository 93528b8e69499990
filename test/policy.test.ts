/**
 * The policy pack (policy/): every rule against a compliant and a non-compliant resource, without
 * an engine; the @pulumi/policy adapters the engine calls (config, provider, URN, preview proxy);
 * and the whole pack over every resource of the mocked dev and prod programs, which must pass.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { AGENT_PORTS, MONITOR_PORTS, SSH_PORT } from "../lib/catalog";
import { listStackNames } from "../lib/stack-files";
import { POLICIES, POLICY_PACK_NAME, STACK_POLICIES } from "../policy/policies";
import {
  BUCKET_LOCKDOWN_POLICY,
  bucketLockdownViolations,
  DEFAULT_PUBLIC_INGRESS_PORTS,
  INTERNET_UNION_POLICY,
  internetUnionViolations,
  POLICY_NAMES,
  POLICY_RULES,
  type RuleContext,
  ruleApplies,
  type StackResource,
  stackFromUrn,
} from "../policy/rules";
import { checkResource, type ProviderDescription, RESOURCE_TYPES as T } from "./support/policy";
import { type ProgramRun, REPO_ROOT, type RecordedResource, runProgram } from "./support/pulumi-mocks";

const NO_PORTS: RuleContext = { allowedPublicIngressPorts: [] };

/** Messages of one policy for one resource. */
function messagesOf(
  policy: string,
  type: string,
  props: Record<string, unknown>,
  context: RuleContext = NO_PORTS,
): string[] {
  const rule = POLICY_RULES.find((candidate) => candidate.name === policy);
  if (!rule) throw new Error(`no policy ${policy}`);
  expect(ruleApplies(rule, type), `${policy} must inspect ${type}`).toBe(true);
  return rule.check(type, props, context);
}

const HARDENED_INSTANCE = {
  instanceType: "t3.small",
  metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
  rootBlockDevice: { volumeType: "gp3", volumeSize: 16, encrypted: true },
  tags: { Name: "web-1", Environment: "dev" },
};

const TLS_ONLY_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ],
};

describe(POLICY_NAMES.publicIngress, () => {
  const rule = (cidrIpv4: string, port: number, extra: Record<string, unknown> = {}) => ({
    securityGroupId: "sg-1",
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    cidrIpv4,
    ...extra,
  });

  test("passes an office CIDR and a rule from another security group", () => {
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, rule("203.0.113.0/24", 3000))).toEqual([]);
    expect(
      messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, {
        ipProtocol: "tcp",
        fromPort: 3100,
        toPort: 3100,
        referencedSecurityGroupId: "sg-2",
      }),
    ).toEqual([]);
  });

  test("fails 0.0.0.0/0 and ::/0 on a port the stack does not allow", () => {
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, rule("0.0.0.0/0", SSH_PORT))).toEqual([
      "cidrIpv4/cidrIpv6 admits 0.0.0.0/0 (the whole internet) on tcp port 22; ports allowed from the internet: none (policy config allowedPublicIngressPorts)",
    ]);
    const ipv6 = { ipProtocol: "tcp", fromPort: 9090, toPort: 9090, cidrIpv6: "::/0" };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, ipv6)).toEqual([
      expect.stringContaining("admits ::/0 (the whole internet) on tcp port 9090"),
    ]);
  });

  test("passes exactly the configured ports, and no range that reaches beyond them", () => {
    const https: RuleContext = { allowedPublicIngressPorts: [443] };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, rule("0.0.0.0/0", 443), https)).toEqual([]);
    const range = rule("0.0.0.0/0", 443, { toPort: 444 });
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, range, https)).toEqual([
      expect.stringContaining("on tcp ports 443-444; ports allowed from the internet: 443"),
    ]);
  });

  test("fails every protocol (-1) and non-port protocols from the internet whatever is allowed", () => {
    const all = { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" };
    expect(
      messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, all, { allowedPublicIngressPorts: [443] }),
    ).toEqual([expect.stringContaining("on every protocol and port")]);
    const icmp = { ipProtocol: "icmp", fromPort: -1, toPort: -1, cidrIpv4: "0.0.0.0/0" };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.ingressRule, icmp)).toEqual([
      expect.stringContaining("for protocol icmp"),
    ]);
  });

  test("inspects inline security group ingress and security group rules too", () => {
    const group = {
      ingress: [
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.10/32"] },
        { protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"] },
      ],
    };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.securityGroup, group)).toEqual([
      expect.stringMatching(/^ingress\[1\] admits 0\.0\.0\.0\/0 .* port 3000;/),
    ]);
    const egress = { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.securityGroupRule, egress)).toEqual([]);
    const ingress = { ...egress, type: "ingress", protocol: "tcp", fromPort: 9100, toPort: 9100 };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.securityGroupRule, ingress)).toHaveLength(1);
  });

  test("by default the pack allows no port from the internet (the stack opens none)", () => {
    expect(DEFAULT_PUBLIC_INGRESS_PORTS).toEqual([]);
  });
});

describe(POLICY_NAMES.grafanaPlainHttp, () => {
  const grafana = (extra: Record<string, unknown> = {}) => ({
    securityGroupId: "sg-1",
    ipProtocol: "tcp",
    fromPort: MONITOR_PORTS.grafana,
    toPort: MONITOR_PORTS.grafana,
    cidrIpv4: "203.0.113.0/24",
    ...extra,
  });
  const prod: RuleContext = { allowedPublicIngressPorts: [], stack: "prod" };

  test("fails any CIDR on Grafana's port (alone, in a range, or every protocol) in prod", () => {
    expect(messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, grafana(), prod)).toEqual([
      expect.stringContaining(`admits 203.0.113.0/24 to Grafana's plain-HTTP port 3000 in stack "prod"`),
    ]);
    const range = grafana({ fromPort: 2000, toPort: 4000 });
    expect(messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, range, prod)).toHaveLength(1);
    const all = { ipProtocol: "-1", cidrIpv4: "10.0.0.0/8" };
    expect(messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, all, prod)).toHaveLength(1);
  });

  test("passes the load balancer's group as source, other ports, and stacks not listed", () => {
    const fromGroup = grafana({ cidrIpv4: undefined, referencedSecurityGroupId: "sg-lb" });
    expect(messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, fromGroup, prod)).toEqual([]);
    expect(
      messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, grafana({ fromPort: 443, toPort: 443 }), prod),
    ).toEqual([]);
    expect(
      messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, grafana(), { ...prod, stack: "dev" }),
    ).toEqual([]);
    const listed: RuleContext = { ...prod, stack: "staging", plainHttpForbiddenStacks: ["staging"] };
    expect(messagesOf(POLICY_NAMES.grafanaPlainHttp, T.ingressRule, grafana(), listed)).toHaveLength(1);
  });

  test("flags the prod program with grafanaInsecurePlainHttp, and not dev's", async () => {
    for (const stack of ["prod", "dev"]) {
      const run = await runProgram(stack, {
        configOverrides: { "observability:grafanaInsecurePlainHttp": "true" },
      });
      const flagged = run.resources.flatMap((resource) =>
        checkResource(resource.type, resource.inputs, { allowedPublicIngressPorts: [], stack })
          .filter((violation) => violation.policy === POLICY_NAMES.grafanaPlainHttp)
          .map(() => resource.name),
      );
      expect(flagged.length, stack).toBe(stack === "prod" ? run.stackConfig.access.grafanaCidrs.length : 0);
    }
  });
});

describe("the whole internet as a union of CIDRs", () => {
  const ssh = (cidrIpv4: string, group = "sg-1", port = SSH_PORT) => ({
    securityGroupId: group,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    cidrIpv4,
  });
  const asStack = (rules: Record<string, unknown>[]): StackResource[] =>
    rules.map((props, index) => ({
      type: T.ingressRule,
      urn: `urn:pulumi:prod::o::${T.ingressRule}::r${index}`,
      props,
    }));

  test("one resource listing 0.0.0.0/1 and 128.0.0.0/1 opens SSH to the internet", () => {
    const inline = {
      ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"] }],
    };
    expect(messagesOf(POLICY_NAMES.publicIngress, T.securityGroup, inline)).toEqual([
      expect.stringContaining("admits 0.0.0.0/1 and 128.0.0.0/1 (the whole internet) on tcp port 22"),
    ]);
  });

  test("two rule resources of one group, 0.0.0.0/1 and 128.0.0.0/1, fail the stack policy, each reported", () => {
    const violations = internetUnionViolations(asStack([ssh("0.0.0.0/1"), ssh("128.0.0.0/1")]), []);
    expect(violations.map((violation) => violation.urn)).toEqual([
      `urn:pulumi:prod::o::${T.ingressRule}::r0`,
      `urn:pulumi:prod::o::${T.ingressRule}::r1`,
    ]);
    expect(violations[0]?.message).toContain(
      "admit the whole internet (0.0.0.0/1, 128.0.0.0/1) on tcp port 22",
    );
    // Four quarters, out of order, and a port range that includes 22, count too.
    const quarters = ["192.0.0.0/2", "0.0.0.0/2", "128.0.0.0/2", "64.0.0.0/2"].map((cidr) => ssh(cidr));
    expect(internetUnionViolations(asStack(quarters), [])).toHaveLength(4);
    const range = { ...ssh("0.0.0.0/1"), fromPort: 20, toPort: 30 };
    expect(internetUnionViolations(asStack([range, ssh("128.0.0.0/1")]), [])).not.toEqual([]);
  });

  test("passes a gap, halves in different groups or on different ports, and allowed ports", () => {
    expect(internetUnionViolations(asStack([ssh("0.0.0.0/1"), ssh("128.0.0.0/2")]), [])).toEqual([]);
    expect(internetUnionViolations(asStack([ssh("0.0.0.0/1"), ssh("128.0.0.0/1", "sg-2")]), [])).toEqual([]);
    expect(internetUnionViolations(asStack([ssh("0.0.0.0/1"), ssh("128.0.0.0/1", "sg-1", 443)]), [])).toEqual(
      [],
    );
    const https = [ssh("0.0.0.0/1", "sg-1", 443), ssh("128.0.0.0/1", "sg-1", 443)];
    expect(internetUnionViolations(asStack(https), [443])).toEqual([]);
    expect(internetUnionViolations(asStack(https), [])).toHaveLength(2);
  });
});

describe(POLICY_NAMES.imdsv2, () => {
  test("passes IMDSv2 with hop limit 2", () => {
    expect(messagesOf(POLICY_NAMES.imdsv2, T.instance, HARDENED_INSTANCE)).toEqual([]);
  });

  test("fails optional tokens, the default hop limit 1, and a missing metadataOptions", () => {
    const optional = {
      ...HARDENED_INSTANCE,
      metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 },
    };
    expect(messagesOf(POLICY_NAMES.imdsv2, T.instance, optional)).toEqual([
      'metadataOptions.httpTokens must be "required" (IMDSv2 only), got "optional"',
      "metadataOptions.httpPutResponseHopLimit must be 2 (containers on Docker's bridge network need the second hop for instance-profile credentials), got 1",
    ]);
    const { metadataOptions: _omitted, ...bare } = HARDENED_INSTANCE;
    expect(messagesOf(POLICY_NAMES.imdsv2, T.instance, bare)).toHaveLength(2);
  });
});

describe(POLICY_NAMES.encryptedVolumes, () => {
  test("passes encrypted root, extra and standalone volumes", () => {
    const withExtra = {
      ...HARDENED_INSTANCE,
      ebsBlockDevices: [{ deviceName: "/dev/sdg", encrypted: true }],
    };
    expect(messagesOf(POLICY_NAMES.encryptedVolumes, T.instance, withExtra)).toEqual([]);
    expect(messagesOf(POLICY_NAMES.encryptedVolumes, T.volume, { size: 50, encrypted: true })).toEqual([]);
  });

  test("fails an unencrypted root, extra or standalone volume", () => {
    const plain = {
      ...HARDENED_INSTANCE,
      rootBlockDevice: { volumeSize: 16 },
      ebsBlockDevices: [{ deviceName: "/dev/sdg", encrypted: false }],
    };
    expect(messagesOf(POLICY_NAMES.encryptedVolumes, T.instance, plain)).toEqual([
      "rootBlockDevice.encrypted must be true",
      "ebsBlockDevices[0].encrypted must be true",
    ]);
    expect(messagesOf(POLICY_NAMES.encryptedVolumes, T.volume, { size: 50 })).toEqual([
      "encrypted must be true on every EBS volume",
    ]);
  });
});

describe(POLICY_NAMES.s3PublicAccess, () => {
  const blocked = {
    bucket: "logs",
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  };

  test("passes a block with all four flags and a private bucket", () => {
    expect(messagesOf(POLICY_NAMES.s3PublicAccess, T.publicAccessBlock, blocked)).toEqual([]);
    expect(messagesOf(POLICY_NAMES.s3PublicAccess, T.bucket, { forceDestroy: false })).toEqual([]);
  });

  test("fails a block missing a flag and a public-read bucket", () => {
    expect(
      messagesOf(POLICY_NAMES.s3PublicAccess, T.publicAccessBlock, {
        ...blocked,
        restrictPublicBuckets: false,
      }),
    ).toEqual(["restrictPublicBuckets must be true"]);
    expect(messagesOf(POLICY_NAMES.s3PublicAccess, T.bucket, { acl: "public-read" })).toEqual([
      'acl "public-read" makes the bucket\'s objects readable outside the account',
    ]);
  });
});

describe(POLICY_NAMES.s3Encryption, () => {
  const encryption = (sseAlgorithm?: string) => ({
    bucket: "logs",
    rules: [
      { applyServerSideEncryptionByDefault: sseAlgorithm ? { sseAlgorithm } : {}, bucketKeyEnabled: true },
    ],
  });

  test("passes SSE-KMS and SSE-S3", () => {
    expect(messagesOf(POLICY_NAMES.s3Encryption, T.encryption, encryption("aws:kms"))).toEqual([]);
    expect(messagesOf(POLICY_NAMES.s3Encryption, T.encryption, encryption("AES256"))).toEqual([]);
  });

  test("fails a rule without an algorithm and a configuration without rules", () => {
    expect(messagesOf(POLICY_NAMES.s3Encryption, T.encryption, encryption())).toEqual([
      "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm must be aws:kms, aws:kms:dsse or AES256, got null",
    ]);
    expect(messagesOf(POLICY_NAMES.s3Encryption, T.encryption, { bucket: "logs", rules: [] })).toEqual([
      "rules must set a default encryption (sseAlgorithm aws:kms or AES256)",
    ]);
  });
});

describe(POLICY_NAMES.s3TlsOnly, () => {
  test("passes a policy denying non-TLS requests to the bucket and its objects", () => {
    const policy = { bucket: "logs", policy: JSON.stringify(TLS_ONLY_POLICY) };
    expect(messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, policy)).toEqual([]);
  });

  test("fails a policy whose deny misses the objects, and one that allows everyone", () => {
    const [deny] = TLS_ONLY_POLICY.Statement;
    const bucketOnly = { ...TLS_ONLY_POLICY, Statement: [{ ...deny, Resource: "arn:aws:s3:::logs" }] };
    expect(
      messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, { policy: JSON.stringify(bucketOnly) }),
    ).toEqual([
      'policy must deny every S3 action on this bucket and its objects to everyone when "aws:SecureTransport" is "false" (TLS only)',
    ]);
    const publicRead = {
      ...TLS_ONLY_POLICY,
      Statement: [
        ...TLS_ONLY_POLICY.Statement,
        { Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::logs/*" },
      ],
    };
    expect(
      messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, { policy: JSON.stringify(publicRead) }),
    ).toEqual([
      'policy Statement[1] allows everyone ("*") without a condition: grant named principals instead',
    ]);
  });

  test("fails an allow-everyone statement whatever its condition", () => {
    for (const Condition of [
      { IpAddress: { "aws:SourceIp": "0.0.0.0/0" } },
      { StringLike: { "aws:UserAgent": "*" } },
      { Bool: { "aws:SecureTransport": "true" } },
    ]) {
      const conditioned = {
        ...TLS_ONLY_POLICY,
        Statement: [
          ...TLS_ONLY_POLICY.Statement,
          {
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::logs/*",
            Condition,
          },
        ],
      };
      expect(
        messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, {
          bucket: "logs",
          policy: JSON.stringify(conditioned),
        }),
        JSON.stringify(Condition),
      ).toEqual([
        'policy Statement[1] allows everyone ("*") (a condition does not make it private): grant named principals instead',
      ]);
    }
    // A condition on who the caller is keeps a Deny for everyone fine (the Loki bucket's own policy).
    const denyOthers = {
      ...TLS_ONLY_POLICY,
      Statement: [
        ...TLS_ONLY_POLICY.Statement,
        {
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: "arn:aws:s3:::logs/*",
          Condition: { ArnNotLike: { "aws:PrincipalArn": ["arn:aws:iam::123456789012:role/monitor"] } },
        },
      ],
    };
    expect(
      messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, {
        bucket: "logs",
        policy: JSON.stringify(denyOthers),
      }),
    ).toEqual([]);
  });

  test("fails a TLS deny that names another bucket, and passes one covering this bucket by pattern", () => {
    const [deny] = TLS_ONLY_POLICY.Statement;
    const naming = (Resource: string[]) =>
      messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, {
        bucket: "logs",
        policy: JSON.stringify({ ...TLS_ONLY_POLICY, Statement: [{ ...deny, Resource }] }),
      });
    expect(naming(["arn:aws:s3:::other-bucket", "arn:aws:s3:::other-bucket/*"])).toEqual([
      expect.stringContaining("policy must deny every S3 action on this bucket"),
    ]);
    expect(naming(["arn:aws:s3:::logs-archive", "arn:aws:s3:::logs/*"])).toHaveLength(1);
    expect(naming(["arn:aws:s3:::logs", "arn:aws:s3:::logs/chunks/*"])).toHaveLength(1);
    expect(naming(["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"])).toEqual([]);
    expect(naming(["arn:aws-us-gov:s3:::logs", "arn:aws-us-gov:s3:::logs/*"])).toEqual([]);
    expect(naming(["arn:aws:s3:::log?", "arn:aws:s3:::*"])).toEqual([]);
    // While a new bucket's name is unknown (preview), any bucket/objects pair is accepted.
    expect(
      messagesOf(POLICY_NAMES.s3TlsOnly, T.bucketPolicy, {
        policy: JSON.stringify({
          ...TLS_ONLY_POLICY,
          Statement: [{ ...deny, Resource: ["arn:aws:s3:::x", "arn:aws:s3:::x/*"] }],
        }),
      }),
    ).toEqual([]);
  });
});

describe(POLICY_NAMES.noAccessKeys, () => {
  // Built at run time so no key-shaped literal sits in the repository for scanners to flag.
  const fakeKeyId = ["AKIA", "Z".repeat(16)].join("");
  const fakeSessionKeyId = ["ASIA", "Y7".repeat(8)].join("");

  test("passes inputs without credentials (an SSH key and a Grafana secret-key file are no AWS keys)", () => {
    const command = {
      connection: { host: "192.0.2.1", user: "ubuntu", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      environment: { GF_SECURITY_SECRET_KEY__FILE: "/run/secrets/grafana_secret_key" },
      create: "docker compose up --detach",
    };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "command:remote:Command", command)).toEqual([]);
  });

  test("fails a key id anywhere, a credentials-file line, and credential fields", () => {
    const userData = { userData: `#!/bin/sh\nexport KEY=${fakeKeyId}\n` };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, T.instance, userData)).toEqual([
      "userData contains an AWS access key id (AKIA/ASIA...); never put keys in resource inputs (an SES SMTP user name is one: list it in allowedAccessKeyIds to accept it)",
    ]);
    const nested = { environment: { list: ["x", `id=${fakeSessionKeyId}`] } };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "command:remote:Command", nested)).toEqual([
      "environment.list[1] contains an AWS access key id (AKIA/ASIA...); never put keys in resource inputs (an SES SMTP user name is one: list it in allowedAccessKeyIds to accept it)",
    ]);
    const credentialsFile = { content: "[default]\naws_secret_access_key = abc\n" };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "command:remote:CopyToRemote", credentialsFile)).toEqual([
      "content sets an AWS secret access key or session token; never put keys in resource inputs",
    ]);
    const provider = { region: "eu-west-1", accessKey: "x", secretKey: "y", token: "z" };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "pulumi:providers:aws", provider)).toEqual([
      "accessKey holds AWS credentials; use an instance profile or OIDC role instead",
      "secretKey holds AWS credentials; use an instance profile or OIDC role instead",
      "token holds AWS credentials; use an instance profile or OIDC role instead",
    ]);
  });

  test("accepts exactly the key ids the pack config lists (an SES SMTP user name)", () => {
    const smtpConfig = { content: `smtp_auth_username: ${fakeKeyId}\n` };
    const accepted: RuleContext = { ...NO_PORTS, allowedAccessKeyIds: [fakeKeyId] };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "command:remote:Command", smtpConfig, accepted)).toEqual([]);
    const another = { content: `${smtpConfig.content}id=${fakeSessionKeyId}\n` };
    expect(messagesOf(POLICY_NAMES.noAccessKeys, "command:remote:Command", another, accepted)).toHaveLength(
      1,
    );
  });

  test("never repeats the key in its message", () => {
    const [message] = messagesOf(POLICY_NAMES.noAccessKeys, T.instance, { userData: fakeKeyId });
    expect(message).not.toContain(fakeKeyId);
  });
});

describe(POLICY_NAMES.environmentTag, () => {
  const provider = (tags: Record<string, string>, asJson: boolean): ProviderDescription => ({
    type: "pulumi:providers:aws",
    props: { region: "eu-west-1", defaultTags: asJson ? JSON.stringify({ tags }) : { tags } },
  });

  test("passes its own tag, or the provider's default tag (object or JSON text), matching the stack", () => {
    const context = { ...NO_PORTS, stack: "dev" };
    expect(messagesOf(POLICY_NAMES.environmentTag, T.instance, HARDENED_INSTANCE, context)).toEqual([]);
    const untagged = { ...HARDENED_INSTANCE, tags: { Name: "dev-monitor" } };
    for (const asJson of [true, false]) {
      const withProvider = {
        ...context,
        provider: provider({ Environment: "dev", ManagedBy: "pulumi" }, asJson),
      };
      expect(messagesOf(POLICY_NAMES.environmentTag, T.instance, untagged, withProvider)).toEqual([]);
    }
  });

  test("fails an instance without the tag, and one tagged for another stack", () => {
    const untagged = { ...HARDENED_INSTANCE, tags: { Name: "dev-monitor" } };
    const context = { ...NO_PORTS, stack: "dev", provider: provider({ ManagedBy: "pulumi" }, true) };
    expect(messagesOf(POLICY_NAMES.environmentTag, T.instance, untagged, context)).toEqual([
      "no Environment tag, neither in tags nor in the provider's defaultTags: Prometheus' EC2 discovery and cost reports select hosts by it",
    ]);
    expect(
      messagesOf(POLICY_NAMES.environmentTag, T.instance, HARDENED_INSTANCE, { ...NO_PORTS, stack: "prod" }),
    ).toEqual([
      'Environment tag is "dev" but the stack is "prod": this stack\'s Prometheus would not discover the host',
    ]);
  });
});

describe(BUCKET_LOCKDOWN_POLICY.name, () => {
  const bucketUrn = `urn:pulumi:dev::observability::observability:storage:LokiBucket$${T.bucket}::dev-loki`;
  const bucket: StackResource = { type: T.bucket, urn: bucketUrn, props: { bucket: "dev-loki-1a2b3c4" } };
  /** A companion whose `bucket` input was computed from the bucket, as the engine records it. */
  const companion = (type: string): StackResource => ({
    type,
    urn: `urn:pulumi:dev::observability::${type}::companion`,
    props: {},
    propertyDependencies: { bucket: [bucketUrn] },
  });
  const lockedDown = [
    bucket,
    companion(T.publicAccessBlock),
    companion(T.encryption),
    companion(T.bucketPolicy),
  ];

  test("passes a bucket with its public access block, encryption and policy", () => {
    expect(bucketLockdownViolations(lockedDown)).toEqual([]);
  });

  test("passes companions that name the bucket instead of depending on it", () => {
    const named = lockedDown.map((resource) =>
      resource === bucket
        ? resource
        : { ...resource, propertyDependencies: {}, props: { bucket: "dev-loki-1a2b3c4" } },
    );
    expect(bucketLockdownViolations(named)).toEqual([]);
  });

  test("fails a bucket without a TLS policy, and one whose companions configure another bucket", () => {
    expect(
      bucketLockdownViolations(lockedDown.filter((resource) => resource.type !== T.bucketPolicy)),
    ).toEqual([{ urn: bucketUrn, message: "bucket has no bucket policy (aws.s3.BucketPolicy, TLS only)" }]);
    const other = { ...bucket, urn: `${bucketUrn}-other`, props: { bucket: "other" } };
    expect(bucketLockdownViolations([...lockedDown, other]).map((violation) => violation.urn)).toEqual([
      other.urn,
      other.urn,
      other.urn,
    ]);
  });
});

describe("the pack as the engine runs it", () => {
  interface Reported {
    readonly policy: string;
    readonly message: string;
  }

  /** Calls every policy of the pack the way @pulumi/policy's server does, collecting violations. */
  function runPack(
    type: string,
    props: Record<string, unknown>,
    options: { urn?: string; config?: Record<string, unknown>; provider?: ProviderDescription } = {},
  ): Reported[] {
    const reported: Reported[] = [];
    for (const policy of POLICIES) {
      const args = {
        type,
        props,
        urn: options.urn ?? `urn:pulumi:dev::observability::${type}::example`,
        name: "example",
        opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [] },
        stackTags: new Map<string, string>(),
        getConfig: () => options.config?.[policy.name] ?? {},
        ...(options.provider
          ? { provider: { ...options.provider, urn: "urn:provider", name: "dev-aws" } }
          : {}),
      } as unknown as ResourceValidationArgs;
      const report: ReportViolation = (message) => {
        reported.push({ policy: policy.name, message });
      };
      const validations = policy.validateResource;
      for (const validate of Array.isArray(validations) ? validations : validations ? [validations] : []) {
        void validate(args, report);
      }
    }
    return reported;
  }

  test("every rule is a mandatory policy of the pack, once", () => {
    expect(POLICY_PACK_NAME).toMatch(/^[a-zA-Z0-9._-]+$/);
    expect(POLICIES.map((policy) => policy.name)).toEqual(POLICY_RULES.map((rule) => rule.name));
    expect(STACK_POLICIES.map((policy) => policy.name)).toEqual([
      BUCKET_LOCKDOWN_POLICY.name,
      INTERNET_UNION_POLICY.name,
    ]);
    const all = [...POLICIES, ...STACK_POLICIES];
    expect(new Set(all.map((policy) => policy.name)).size).toBe(all.length);
    for (const policy of all) expect(policy.enforcementLevel, policy.name).toBe("mandatory");
  });

  test("the public-ingress policy reads its allowed ports from the pack config", () => {
    const world443 = { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" };
    expect(runPack(T.ingressRule, world443).map((entry) => entry.policy)).toEqual([
      POLICY_NAMES.publicIngress,
    ]);
    const config = { [POLICY_NAMES.publicIngress]: { allowedPublicIngressPorts: [443] } };
    expect(runPack(T.ingressRule, world443, { config })).toEqual([]);
  });

  test("the access-key policy reads the accepted key ids from the pack config", () => {
    const keyId = ["AKIA", "X".repeat(16)].join("");
    const props = { content: `smtp_auth_username: ${keyId}` };
    const policies = (config?: Record<string, unknown>) =>
      runPack("command:remote:Command", props, config ? { config } : {}).map((entry) => entry.policy);
    expect(policies()).toEqual([POLICY_NAMES.noAccessKeys]);
    expect(policies({ [POLICY_NAMES.noAccessKeys]: { allowedAccessKeyIds: [keyId] } })).toEqual([]);
  });

  test("the Environment tag is checked against the stack in the URN and the provider's default tags", () => {
    const untagged = { ...HARDENED_INSTANCE, tags: { Name: "prod-monitor" } };
    const provider: ProviderDescription = {
      type: "pulumi:providers:aws",
      props: { defaultTags: JSON.stringify({ tags: { Environment: "prod" } }) },
    };
    const prodUrn = `urn:pulumi:prod::observability::observability:hosts:MonitorHost$${T.instance}::prod-monitor`;
    expect(stackFromUrn(prodUrn)).toBe("prod");
    expect(runPack(T.instance, untagged, { urn: prodUrn, provider })).toEqual([]);
    expect(runPack(T.instance, untagged, { urn: prodUrn.replace(":prod::", ":dev::"), provider })).toEqual([
      { policy: POLICY_NAMES.environmentTag, message: expect.stringContaining('the stack is "dev"') },
    ]);
  });

  test("the access-key scan reads through the engine's preview proxy instead of tripping on unknowns", () => {
    const fakeKeyId = ["AKIA", "Q".repeat(16)].join("");
    const plain = { userData: `KEY=${fakeKeyId}`, ami: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" };
    const proxied = new Proxy(plain, {
      get: (target, property) => {
        if (property === "__getSpecialProxyTarget") return target;
        if (property === "ami") throw new Error("unknown during preview");
        return target[property as keyof typeof target];
      },
    });
    const keyPolicy = POLICIES.find((policy) => policy.name === POLICY_NAMES.noAccessKeys);
    const messages: string[] = [];
    const validate = keyPolicy?.validateResource;
    if (typeof validate !== "function") throw new Error("the access-key policy has one validation");
    void validate(
      {
        type: "random:index/randomPassword:RandomPassword",
        props: proxied,
        urn: "urn:pulumi:dev::p::t::n",
        getConfig: () => ({}),
      } as never,
      (message) => {
        messages.push(message);
      },
    );
    expect(messages).toEqual([
      "userData contains an AWS access key id (AKIA/ASIA...); never put keys in resource inputs (an SES SMTP user name is one: list it in allowedAccessKeyIds to accept it)",
    ]);
  });
});

describe("policy/ runs as documented: `pulumi preview --policy-pack policy`", () => {
  test("PulumiPolicy.yaml declares the nodejs runtime and package.json the version @pulumi/policy reads", () => {
    const manifest = parse(readFileSync(join(REPO_ROOT, "policy", "PulumiPolicy.yaml"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(manifest.runtime).toBe("nodejs");
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "policy", "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    // Its dependencies resolve from the repository root (npm ci there); none of its own to install.
    expect(pkg.dependencies).toBeUndefined();
    expect(require.resolve("@pulumi/policy", { paths: [join(REPO_ROOT, "policy")] })).toBe(
      require.resolve("@pulumi/policy"),
    );
  });
});

/**
 * The pack started the way the Node.js language host starts a policy pack for
 * `pulumi preview --policy-pack policy` (`run-policy-pack <engine> .` in the pack directory: ts-node
 * compiles index.ts, @pulumi/policy reads policy/package.json and serves the analyzer over gRPC),
 * then asked over gRPC what the engine asks: which policies it has, and what it makes of a resource.
 */
describe("the pack served over gRPC as the CLI runs it", () => {
  // The gRPC and protobuf packages @pulumi/policy itself talks with.
  const policyRequire = createRequire(require.resolve("@pulumi/policy"));
  const grpc = policyRequire("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
  const { Struct } = policyRequire("google-protobuf/google/protobuf/struct_pb") as {
    Struct: { fromJavaScript(value: Record<string, unknown>): unknown };
  };
  const { Empty } = policyRequire("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };
  const analyzerRpc = policyRequire("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
  const analyzerMessages = policyRequire("@pulumi/pulumi/proto/analyzer_pb.js");

  interface Diagnostic {
    getPolicyname(): string;
    getMessage(): string;
    getEnforcementlevel(): number;
  }
  interface AnalyzerClient {
    getAnalyzerInfo(request: unknown, callback: (error: Error | null, info: AnalyzerInfo) => void): void;
    analyze(request: unknown, callback: (error: Error | null, response: AnalyzeResponse) => void): void;
    close(): void;
  }
  interface AnalyzerInfo {
    getName(): string;
    getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[];
  }
  interface AnalyzeResponse {
    getDiagnosticsList(): Diagnostic[];
  }
  /** pulumirpc.EnforcementLevel */
  const MANDATORY = 1;

  let server: ChildProcess | undefined;
  let client: AnalyzerClient;

  beforeAll(async () => {
    const started = spawn(
      process.execPath,
      [require.resolve("@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", "."],
      { cwd: join(REPO_ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] },
    );
    server = started;
    const port = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      started.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const printed = /^(\d+)\s*$/m.exec(stdout);
        if (printed?.[1]) resolve(printed[1]);
      });
      started.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      started.on("exit", (code) =>
        reject(new Error(`the policy pack exited (${code}) before serving:\n${stderr}`)),
      );
    });
    client = new analyzerRpc.AnalyzerClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as AnalyzerClient;
  }, 120_000);

  afterAll(() => {
    client?.close();
    server?.kill();
  });

  function analyze(type: string, props: Record<string, unknown>): Promise<Diagnostic[]> {
    const request = new analyzerMessages.AnalyzeRequest();
    request.setType(type);
    request.setName("example");
    request.setUrn(`urn:pulumi:dev::observability::${type}::example`);
    request.setProperties(Struct.fromJavaScript(props));
    request.setOptions(new analyzerMessages.AnalyzerResourceOptions());
    return new Promise((resolve, reject) => {
      client.analyze(request, (error, response) =>
        error ? reject(error) : resolve(response.getDiagnosticsList()),
      );
    });
  }

  test("announces every policy, mandatory", async () => {
    const info = await new Promise<AnalyzerInfo>((resolve, reject) => {
      client.getAnalyzerInfo(new Empty(), (error, result) => (error ? reject(error) : resolve(result)));
    });
    expect(info.getName()).toBe(POLICY_PACK_NAME);
    expect(info.getPoliciesList().map((policy) => [policy.getName(), policy.getEnforcementlevel()])).toEqual(
      [...POLICY_RULES.map((rule) => rule.name), BUCKET_LOCKDOWN_POLICY.name, INTERNET_UNION_POLICY.name].map(
        (policy) => [policy, MANDATORY],
      ),
    );
  });

  test("reports a world-open SSH rule as a mandatory violation and passes an office CIDR", async () => {
    const rule = { ipProtocol: "tcp", fromPort: SSH_PORT, toPort: SSH_PORT };
    const open = await analyze(T.ingressRule, { ...rule, cidrIpv4: "0.0.0.0/0" });
    expect(open.map((d) => [d.getPolicyname(), d.getEnforcementlevel()])).toEqual([
      [POLICY_NAMES.publicIngress, MANDATORY],
    ]);
    expect(open[0]?.getMessage()).toContain("admits 0.0.0.0/0 (the whole internet) on tcp port 22");
    expect(await analyze(T.ingressRule, { ...rule, cidrIpv4: "203.0.113.10/32" })).toEqual([]);
  });
});

describe.each(listStackNames(REPO_ROOT))("stack %s under mocks", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  /** The provider resource a recorded reference (`<urn>::<id>`) points at. */
  function providerOf(resource: RecordedResource): ProviderDescription | undefined {
    if (!resource.provider) return undefined;
    const provider = run.resources.find(
      (candidate) =>
        candidate.type.startsWith("pulumi:providers:") &&
        resource.provider?.endsWith(`${candidate.type}::${candidate.name}::${candidate.id}`),
    );
    if (!provider) throw new Error(`${resource.name}: provider ${resource.provider} was not recorded`);
    return { type: provider.type, props: provider.inputs };
  }

  /** The stack's own pack config, as the workflows pass it (policy/config/<stack>.json). */
  const packConfig = () =>
    JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", `${stack}.json`), "utf8")) as Record<
      string,
      { allowedAccessKeyIds?: string[] }
    >;
  const violationsWith = (allowedAccessKeyIds: readonly string[]) =>
    run.resources.flatMap((resource) =>
      checkResource(resource.type, resource.inputs, {
        allowedPublicIngressPorts: DEFAULT_PUBLIC_INGRESS_PORTS,
        allowedAccessKeyIds,
        stack,
        provider: providerOf(resource),
      }).map((violation) => `${resource.type}::${resource.name}: [${violation.policy}] ${violation.message}`),
    );

  test("every resource passes every policy, with the stack's own pack config", () => {
    const config = packConfig();
    expect(Object.keys(config)).toEqual([POLICY_NAMES.noAccessKeys]);
    expect(violationsWith(config[POLICY_NAMES.noAccessKeys]?.allowedAccessKeyIds ?? [])).toEqual([]);
  });

  test("the pack config accepts exactly the stack's SES SMTP user (an access key id), which fails without it", () => {
    const username = run.stackConfig.alerting.email?.username ?? "";
    expect(username).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(packConfig()[POLICY_NAMES.noAccessKeys]?.allowedAccessKeyIds).toEqual([username]);
    const without = violationsWith([]);
    expect(without.length).toBeGreaterThan(0);
    for (const violation of without) expect(violation).toContain(`[${POLICY_NAMES.noAccessKeys}]`);
  });

  test("every bucket of the program has its public access block, encryption and TLS-only policy", () => {
    const resources: StackResource[] = run.resources.map((resource) => ({
      type: resource.type,
      urn: `urn:pulumi:${stack}::observability::${resource.type}::${resource.name}`,
      props: { ...resource.state, id: resource.id },
    }));
    expect(resources.filter((resource) => resource.type === T.bucket).length).toBeGreaterThan(0);
    expect(bucketLockdownViolations(resources)).toEqual([]);
    const withoutPolicy = resources.filter((resource) => resource.type !== T.bucketPolicy);
    expect(bucketLockdownViolations(withoutPolicy).map((violation) => violation.message)).toEqual([
      "bucket has no bucket policy (aws.s3.BucketPolicy, TLS only)",
    ]);
  });

  test("no security group's rules cover the whole internet together", () => {
    const resources: StackResource[] = run.resources.map((resource) => ({
      type: resource.type,
      urn: `urn:pulumi:${stack}::observability::${resource.type}::${resource.name}`,
      props: { ...resource.state, id: resource.id },
    }));
    expect(internetUnionViolations(resources, DEFAULT_PUBLIC_INGRESS_PORTS)).toEqual([]);
    // The same stack with SSH's CIDR swapped for the two halves of the internet would be refused.
    const sshRule = resources.find(
      (r) => r.type === T.ingressRule && r.props.fromPort === SSH_PORT && r.props.cidrIpv4,
    );
    if (!sshRule) throw new Error("the program has no SSH rule from a CIDR");
    const halves = [
      { ...sshRule, urn: `${sshRule.urn}-a`, props: { ...sshRule.props, cidrIpv4: "0.0.0.0/1" } },
      { ...sshRule, urn: `${sshRule.urn}-b`, props: { ...sshRule.props, cidrIpv4: "128.0.0.0/1" } },
    ];
    // Every rule admitting SSH in that group is named, the halves among them.
    const urns = internetUnionViolations([...resources, ...halves], DEFAULT_PUBLIC_INGRESS_PORTS).map(
      (v) => v.urn,
    );
    expect(urns).toEqual(expect.arrayContaining([`${sshRule.urn}-a`, `${sshRule.urn}-b`]));
    expect(urns.every((urn) => urn.includes("SecurityGroupIngressRule"))).toBe(true);
  });

  test("every policy found resources of its kind to judge (the pass above means something)", () => {
    for (const rule of POLICY_RULES) {
      const judged = run.resources.filter((resource) => ruleApplies(rule, resource.type));
      expect(judged.length, rule.name).toBeGreaterThan(0);
    }
    // The ports the program opens are all admitted by the pack without any config.
    const opened = run.resources
      .filter((resource) => resource.type === T.ingressRule)
      .map((resource) => resource.inputs.fromPort);
    expect(opened).toEqual(expect.arrayContaining([SSH_PORT, AGENT_PORTS.nodeExporter]));
  });

  test("the same program with a world-open rule or a bare instance would be refused", () => {
    const sshRule = run.resources.find(
      (resource) =>
        resource.type === T.ingressRule &&
        resource.inputs.fromPort === SSH_PORT &&
        resource.inputs.cidrIpv4 !== undefined,
    );
    const instance = run.resources.find((resource) => resource.type === T.instance);
    if (!sshRule || !instance) throw new Error("the program has no SSH rule or no instance");
    const context: RuleContext = { allowedPublicIngressPorts: [], stack, provider: providerOf(instance) };
    expect(
      checkResource(T.ingressRule, { ...sshRule.inputs, cidrIpv4: "0.0.0.0/0" }, context).map(
        (v) => v.policy,
      ),
    ).toEqual([POLICY_NAMES.publicIngress]);
    const bareInstance = { ...instance.inputs, metadataOptions: undefined, rootBlockDevice: undefined };
    expect(checkResource(T.instance, bareInstance, context).map((v) => v.policy)).toEqual([
      POLICY_NAMES.imdsv2,
      POLICY_NAMES.imdsv2,
      POLICY_NAMES.encryptedVolumes,
    ]);
  });
});
