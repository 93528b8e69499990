/**
 * The whole program (index.ts) under Pulumi mocks, for every stack file in the repository, with
 * exact assertions on what decides security: who can reach what, what the hosts may do in AWS,
 * how the log bucket is locked down and kept, how the instances are hardened, and that no secret
 * leaves Pulumi's secret handling. Expected values come from the stack's validated config and the
 * service catalogue, never from the components.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { HOST_KEY_READ_COMMAND } from "../components/ssh-key";
import { EXPORTERS, exporterRecord } from "../configs/exporters";
import { monitorFiles, stackImages } from "../configs/host-files";
import { AGENT_PORTS, DATA_SNAPSHOT_TAG, DISCOVERY_TAGS, MONITOR_PORTS, SSH_PORT } from "../lib/catalog";
import { LOKI_INDEX_PREFIX, LOKI_TENANT, lokiLifecyclePlan } from "../lib/retention";
import { CANONICAL_OWNER_ID, PROJECT, type StackConfig } from "../lib/stack-config";
import { listStackNames } from "../lib/stack-files";
import {
  FAKE_ACCOUNT_ID,
  FAKE_AVAILABILITY_ZONE,
  fakeHostKey,
  fakeImageDigest,
  isSecretValue,
  type ProgramRun,
  plainStrings,
  REMOTE_COMMAND_TYPE,
  REPO_ROOT,
  type RecordedResource,
  resourcesOfType,
  runProgram,
  runRefusedProgram,
  TEST_SECRET_VALUES,
  unwrapSecret,
} from "./support/pulumi-mocks";
import { SECRET_SETTINGS } from "./support/stack-files";

const T = {
  provider: "pulumi:providers:aws",
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  igw: "aws:ec2/internetGateway:InternetGateway",
  routeTable: "aws:ec2/routeTable:RouteTable",
  route: "aws:ec2/route:Route",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  instanceProfile: "aws:iam/instanceProfile:InstanceProfile",
  instance: "aws:ec2/instance:Instance",
  volume: "aws:ebs/volume:Volume",
  volumeAttachment: "aws:ec2/volumeAttachment:VolumeAttachment",
  eip: "aws:ec2/eip:Eip",
  eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
  keyPair: "aws:ec2/keyPair:KeyPair",
  dockerProvider: "pulumi:providers:docker",
} as const;

const MONITOR_HOST_TYPE = "observability:hosts:MonitorHost";
const CLIENT_HOST_TYPE = "observability:hosts:ClientHost";

const EC2_ASSUME_ROLE = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

const EXPECTED_METADATA_OPTIONS = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 2,
  instanceMetadataTags: "disabled",
};

function only(run: ProgramRun, type: string): RecordedResource {
  const found = resourcesOfType(run, type);
  expect(
    found.map((resource) => resource.name),
    `exactly one ${type}`,
  ).toHaveLength(1);
  return found[0] as RecordedResource;
}

function input<T = unknown>(resource: RecordedResource, key: string): T {
  return resource.inputs[key] as T;
}

function parsedPolicy(resource: RecordedResource, key = "policy"): unknown {
  return JSON.parse(input<string>(resource, key));
}

function instancesUnder(run: ProgramRun, componentType: string): RecordedResource[] {
  return resourcesOfType(run, T.instance).filter((instance) =>
    instance.parent?.startsWith(`${componentType}::`),
  );
}

function monitorInstance(run: ProgramRun): RecordedResource {
  const instances = instancesUnder(run, MONITOR_HOST_TYPE);
  expect(instances).toHaveLength(1);
  return instances[0] as RecordedResource;
}

/** The instance profile with this name and the role inside it; fails the test when either is missing. */
function profileAndRole(
  run: ProgramRun,
  profileName: unknown,
): { profile: RecordedResource; role: RecordedResource } {
  const profile = resourcesOfType(run, T.instanceProfile).find((entry) => entry.state.name === profileName);
  if (!profile) throw new Error(`no instance profile named ${String(profileName)} was created`);
  const role = resourcesOfType(run, T.role).find((entry) => entry.state.name === input(profile, "role"));
  if (!role) throw new Error(`instance profile ${String(profileName)} holds no role created here`);
  return { profile, role };
}

/** The client instance tagged with this name; fails the test when there is none. */
function clientInstance(run: ProgramRun, name: string): RecordedResource {
  const instance = instancesUnder(run, CLIENT_HOST_TYPE).find(
    (entry) => input<Record<string, string>>(entry, "tags").Name === name,
  );
  if (!instance) throw new Error(`no client instance tagged Name=${name}`);
  return instance;
}

/** Security group id -> role, from the groups the instances actually run with. */
function groupRoles(run: ProgramRun): Map<string, "monitor" | "clients"> {
  const groups = resourcesOfType(run, T.securityGroup);
  expect(groups).toHaveLength(2);
  const monitorGroups = input<string[]>(monitorInstance(run), "vpcSecurityGroupIds");
  expect(monitorGroups).toHaveLength(1);
  const roles = new Map<string, "monitor" | "clients">();
  for (const group of groups) roles.set(group.id, group.id === monitorGroups[0] ? "monitor" : "clients");
  for (const client of instancesUnder(run, CLIENT_HOST_TYPE)) {
    const ids = input<string[]>(client, "vpcSecurityGroupIds");
    expect(ids).toHaveLength(1);
    expect(roles.get(ids[0] as string)).toBe("clients");
  }
  return roles;
}

function describeIngress(rule: RecordedResource, roles: Map<string, string>): string {
  const {
    securityGroupId,
    ipProtocol,
    fromPort,
    toPort,
    cidrIpv4,
    cidrIpv6,
    referencedSecurityGroupId,
    prefixListId,
  } = rule.inputs as Record<string, string | number | undefined>;
  const sources = [
    cidrIpv4 !== undefined ? `cidr ${cidrIpv4}` : undefined,
    cidrIpv6 !== undefined ? `cidr6 ${cidrIpv6}` : undefined,
    prefixListId !== undefined ? `prefix-list ${prefixListId}` : undefined,
    referencedSecurityGroupId !== undefined
      ? `group ${roles.get(String(referencedSecurityGroupId))}`
      : undefined,
  ].filter((source) => source !== undefined);
  return `${roles.get(String(securityGroupId))} ${ipProtocol} ${fromPort}-${toPort} from ${sources.join(" + ")}`;
}

/** Every ingress rule the stack must have, and no other: derived from config and the catalogue. */
function expectedIngress(config: StackConfig): string[] {
  const rules: string[] = [];
  for (const cidr of config.access.sshCidrs) {
    rules.push(`monitor tcp ${SSH_PORT}-${SSH_PORT} from cidr ${cidr}`);
  }
  // Clients: SSH only through the monitor (the deploy's and operators' jump host).
  rules.push(`clients tcp ${SSH_PORT}-${SSH_PORT} from group monitor`);
  for (const host of config.externalHosts) {
    rules.push(`monitor tcp ${MONITOR_PORTS.gateway}-${MONITOR_PORTS.gateway} from cidr ${host.address}/32`);
  }
  // Grafana's port from CIDRs only with the explicit insecure setting (the stacks' files have none).
  if (config.grafana.exposure.mode === "insecure-http") {
    for (const cidr of config.access.grafanaCidrs) {
      rules.push(`monitor tcp ${MONITOR_PORTS.grafana}-${MONITOR_PORTS.grafana} from cidr ${cidr}`);
    }
  }
  rules.push(`monitor tcp ${MONITOR_PORTS.gateway}-${MONITOR_PORTS.gateway} from group clients`);
  const clientPorts = new Set<number>(Object.values(AGENT_PORTS));
  for (const client of config.clients) {
    for (const exporter of client.exporters) clientPorts.add(exporterRecord(exporter).port);
  }
  for (const port of clientPorts) rules.push(`clients tcp ${port}-${port} from group monitor`);
  return rules.sort();
}

const stacks = listStackNames(REPO_ROOT);

test("the repository has stack files to test", () => {
  expect(stacks).toEqual(expect.arrayContaining(["dev", "prod"]));
});

describe.each(stacks)("stack %s", (stack) => {
  let run: ProgramRun;
  let config: StackConfig;

  beforeAll(async () => {
    run = await runProgram(stack);
    config = run.stackConfig;
  });

  describe("network", () => {
    test("a dedicated VPC with DNS, one public subnet routed to an internet gateway", () => {
      if (config.network.mode !== "create") return expect(resourcesOfType(run, T.vpc)).toEqual([]);
      const vpc = only(run, T.vpc);
      expect(vpc.inputs).toMatchObject({
        cidrBlock: config.network.vpcCidr,
        enableDnsSupport: true,
        enableDnsHostnames: true,
      });
      const subnet = only(run, T.subnet);
      expect(subnet.inputs).toMatchObject({
        vpcId: vpc.id,
        cidrBlock: config.network.subnetCidr,
        mapPublicIpOnLaunch: false,
      });
      const gateway = only(run, T.igw);
      expect(input(gateway, "vpcId")).toBe(vpc.id);
      const routeTable = only(run, T.routeTable);
      expect(only(run, T.route).inputs).toMatchObject({
        routeTableId: routeTable.id,
        destinationCidrBlock: "0.0.0.0/0",
        gatewayId: gateway.id,
      });
      expect(only(run, T.routeTableAssociation).inputs).toMatchObject({
        subnetId: subnet.id,
        routeTableId: routeTable.id,
      });
      for (const group of resourcesOfType(run, T.securityGroup)) expect(input(group, "vpcId")).toBe(vpc.id);
    });

    test("no security group rule opens Grafana's port to a CIDR", () => {
      const grafanaFromCidrs = resourcesOfType(run, T.ingress).filter(
        (rule) =>
          Number(rule.inputs.fromPort) <= MONITOR_PORTS.grafana &&
          Number(rule.inputs.toPort) >= MONITOR_PORTS.grafana &&
          (rule.inputs.cidrIpv4 !== undefined || rule.inputs.cidrIpv6 !== undefined),
      );
      expect(config.grafana.exposure.mode).not.toBe("insecure-http");
      expect(grafanaFromCidrs.map((rule) => rule.name)).toEqual([]);
    });

    test("exactly the expected ingress rules, each one port from one source", () => {
      const roles = groupRoles(run);
      const actual = resourcesOfType(run, T.ingress)
        .map((rule) => describeIngress(rule, roles))
        .sort();
      expect(actual).toEqual(expectedIngress(config));
    });

    test("nothing but SSH, Grafana and the push gateway for hosts outside AWS is reachable from any CIDR, never from the whole internet; Loki from nowhere", () => {
      const internalPorts = new Set<number>([
        MONITOR_PORTS.prometheus,
        MONITOR_PORTS.alertmanager,
        MONITOR_PORTS.loki,
        ...Object.values(AGENT_PORTS),
        ...EXPORTERS.map((record) => record.port),
      ]);
      for (const rule of resourcesOfType(run, T.ingress)) {
        const { fromPort, toPort, cidrIpv4, cidrIpv6, ipProtocol } = rule.inputs as Record<string, unknown>;
        expect(ipProtocol, rule.name).toBe("tcp");
        expect(fromPort, rule.name).toBe(toPort);
        expect(cidrIpv4, rule.name).not.toBe("0.0.0.0/0");
        expect(cidrIpv6, rule.name).toBeUndefined();
        expect(fromPort, `${rule.name} opens Loki's own port`).not.toBe(MONITOR_PORTS.loki);
        const externalLokiPush =
          fromPort === MONITOR_PORTS.gateway &&
          config.externalHosts.some((host) => `${host.address}/32` === cidrIpv4);
        if (cidrIpv4 !== undefined && !externalLokiPush) {
          expect(internalPorts.has(fromPort as number), `${rule.name} opens ${fromPort} to ${cidrIpv4}`).toBe(
            false,
          );
          expect([SSH_PORT, MONITOR_PORTS.grafana]).toContain(fromPort);
        }
      }
      const allPorts = resourcesOfType(run, T.ingress).map((rule) => input<number>(rule, "fromPort"));
      expect(allPorts).not.toContain(MONITOR_PORTS.prometheus);
      expect(allPorts).not.toContain(MONITOR_PORTS.alertmanager);
      expect(JSON.stringify(resourcesOfType(run, T.ingress).map((rule) => rule.inputs))).not.toContain(
        "0.0.0.0/0",
      );
    });

    test("security groups carry no inline rules; each role has one allow-all IPv4 egress rule", () => {
      const roles = groupRoles(run);
      for (const group of resourcesOfType(run, T.securityGroup)) {
        expect(group.inputs.ingress ?? []).toEqual([]);
        expect(group.inputs.egress ?? []).toEqual([]);
      }
      const egress = resourcesOfType(run, T.egress).map((rule) => ({
        role: roles.get(input(rule, "securityGroupId")),
        ipProtocol: input(rule, "ipProtocol"),
        cidrIpv4: input(rule, "cidrIpv4"),
      }));
      expect(egress.sort((a, b) => String(a.role).localeCompare(String(b.role)))).toEqual([
        { role: "clients", ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
        { role: "monitor", ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
      ]);
    });
  });

  describe("Loki bucket", () => {
    test("public access blocked, owner enforced, encrypted with KMS and a bucket key", () => {
      const bucket = only(run, T.bucket);
      expect(only(run, T.publicAccessBlock).inputs).toEqual({
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(only(run, T.ownership).inputs).toEqual({
        bucket: bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      });
      expect(only(run, T.encryption).inputs).toEqual({
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
      });
      // The bucket itself carries no legacy inline policy, ACL, or lifecycle.
      for (const legacy of ["policy", "acl", "grants", "lifecycleRules", "website"]) {
        expect(bucket.inputs[legacy], legacy).toBeUndefined();
      }
    });

    test("versioned, so a deleted or overwritten object can be recovered", () => {
      expect(only(run, T.versioning).inputs).toEqual({
        bucket: only(run, T.bucket).id,
        versioningConfiguration: { status: "Enabled" },
      });
    });

    test("the policy: TLS only; objects for the monitor role, the account root and listed admins only", () => {
      const bucket = only(run, T.bucket);
      const arn = String(bucket.state.arn);
      const policy = only(run, T.bucketPolicy);
      const { role } = profileAndRole(run, input(monitorInstance(run), "iamInstanceProfile"));
      const monitorArn = String(role.state.arn);
      const admitted = [monitorArn, `arn:aws:iam::${FAKE_ACCOUNT_ID}:root`, ...config.logs.bucketAdminArns];
      expect(input(policy, "bucket")).toBe(bucket.id);
      expect(parsedPolicy(policy)).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [arn, `${arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyObjectAccessExceptMonitorAndAdmins",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: `${arn}/*`,
            Condition: { ArnNotLike: { "aws:PrincipalArn": admitted } },
          },
          {
            Sid: "DenyListingExceptMonitorAndAdmins",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"],
            Resource: arn,
            Condition: { ArnNotLike: { "aws:PrincipalArn": admitted } },
          },
          {
            Sid: "DenyMonitorPermanentDeletion",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:DeleteObjectVersion", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
            Resource: [arn, `${arn}/*`],
            Condition: { ArnEquals: { "aws:PrincipalArn": monitorArn } },
          },
        ],
      });
      // The owner is never locked out: over TLS, nothing denies anyone changing or removing the policy.
      const statements = (
        parsedPolicy(policy) as { Statement: { Sid: string; Action: string | string[]; Resource: unknown }[] }
      ).Statement;
      for (const statement of statements.filter((st) => st.Sid !== "DenyInsecureTransport")) {
        const actions = ([] as string[]).concat(statement.Action);
        expect(
          actions.filter((action) => action === "*" || /BucketPolicy$/.test(action)),
          statement.Sid,
        ).toEqual([]);
        if (actions.includes("s3:*")) expect(statement.Resource, statement.Sid).toBe(`${arn}/*`);
      }
    });

    test("lifecycle expires only chunks, after the compactor, old versions after the undo window, and stale uploads", () => {
      const lifecycle = only(run, T.lifecycle);
      const plan = lokiLifecyclePlan(config.logs.retentionDays);
      expect(input(lifecycle, "bucket")).toBe(only(run, T.bucket).id);
      const rules = input<Record<string, unknown>[]>(lifecycle, "rules");
      expect(rules).toEqual([
        {
          id: "expire-loki-chunks",
          status: "Enabled",
          filter: { prefix: `${LOKI_TENANT}/` },
          expiration: { days: plan.expireChunksAfterDays },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: config.logs.noncurrentVersionDays },
          expiration: { expiredObjectDeleteMarker: true },
        },
      ]);
      // Independent of the plan's arithmetic: never earlier than Loki's own retention, never the index.
      const expiry = rules[0] as { filter: { prefix: string }; expiration: { days: number } };
      expect(expiry.expiration.days).toBeGreaterThan(config.logs.retentionDays);
      expect(expiry.filter.prefix).not.toBe("");
      expect(expiry.filter.prefix.startsWith(LOKI_INDEX_PREFIX)).toBe(false);
      // Only the chunk rule expires current objects; the others remove old versions and bare markers.
      for (const rule of rules.filter((candidate) => candidate !== expiry)) {
        expect(
          (rule.expiration as object | undefined) ?? { expiredObjectDeleteMarker: true },
          String(rule.id),
        ).toEqual({
          expiredObjectDeleteMarker: true,
        });
      }
    });

    test("protected and kept in prod-like stacks, destroyable in dev-like stacks", () => {
      const bucket = only(run, T.bucket);
      expect(input(bucket, "forceDestroy")).toBe(!config.protectData);
      expect(Boolean(bucket.protect)).toBe(config.protectData);
      expect(Boolean(bucket.retainOnDelete)).toBe(config.protectData);
    });
  });

  describe("IAM", () => {
    test("no static credentials and no managed or attached policies anywhere", () => {
      const types = run.resources.map((resource) => resource.type);
      for (const forbidden of [
        "aws:iam/accessKey:AccessKey",
        "aws:iam/user:User",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/policy:Policy",
      ]) {
        expect(types).not.toContain(forbidden);
      }
      for (const role of resourcesOfType(run, T.role)) {
        expect(role.inputs.managedPolicyArns, role.name).toBeUndefined();
        expect(role.inputs.inlinePolicies, role.name).toBeUndefined();
      }
    });

    test("the monitor may discover EC2 instances and use the Loki bucket, nothing more", () => {
      const { role } = profileAndRole(run, input(monitorInstance(run), "iamInstanceProfile"));
      expect(JSON.parse(input<string>(role, "assumeRolePolicy"))).toEqual(EC2_ASSUME_ROLE);

      // Every role policy but the snapshot role's (backups and restore, below) is the monitor's.
      const policies = resourcesOfType(run, T.rolePolicy).filter(
        (policy) => !policy.name.endsWith("-snapshots-dlm"),
      );
      expect(policies.map((policy) => input(policy, "role"))).toEqual([role.state.name]);
      const bucketArn = String(only(run, T.bucket).state.arn);
      expect(parsedPolicy(policies[0] as RecordedResource)).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "PrometheusEc2Discovery",
            Effect: "Allow",
            Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"],
            Resource: "*",
          },
          { Sid: "LokiListBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
          {
            Sid: "LokiReadWriteObjects",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            Resource: `${bucketArn}/*`,
          },
        ],
      });
    });

    test("clients run with a role that has no permissions at all", () => {
      const clientProfiles = new Set(
        instancesUnder(run, CLIENT_HOST_TYPE).map((instance) =>
          input<string>(instance, "iamInstanceProfile"),
        ),
      );
      expect(clientProfiles.size).toBe(1);
      const { role } = profileAndRole(run, [...clientProfiles][0]);
      expect(JSON.parse(input<string>(role, "assumeRolePolicy"))).toEqual(EC2_ASSUME_ROLE);
      expect(resourcesOfType(run, T.rolePolicy).map((policy) => input(policy, "role"))).not.toContain(
        role.state.name,
      );
    });
  });

  describe("hosts", () => {
    test("every instance: pinned Canonical image, IMDSv2 with hop limit 2, encrypted gp3 root, user data never replaces", () => {
      const instances = resourcesOfType(run, T.instance);
      expect(instances).toHaveLength(1 + config.clients.length);
      const amiCalls = run.calls.filter((call) => call.token === "aws:ec2/getAmi:getAmi");
      for (const call of amiCalls) {
        expect(call.inputs.owners).toEqual([CANONICAL_OWNER_ID]);
        expect(call.inputs.mostRecent).toBe(true);
      }
      const hosts = [
        { instance: monitorInstance(run), architecture: config.monitor.architecture },
        ...config.clients.map((client) => ({
          instance: clientInstance(run, client.name),
          architecture: client.architecture,
        })),
      ];
      for (const { instance, architecture } of hosts) {
        const imageName = config.images.ubuntuImageNames[architecture];
        const call = amiCalls.find(
          (entry) =>
            JSON.stringify(entry.inputs.filters).includes(JSON.stringify(imageName)) &&
            JSON.stringify(entry.inputs.filters).includes(JSON.stringify(architecture)),
        );
        expect(call, `an exact-name lookup of ${imageName}`).toBeDefined();
        expect(input(instance, "ami")).toBe(config.images.amiId ?? call?.result.id);
        expect(input(instance, "metadataOptions")).toEqual(EXPECTED_METADATA_OPTIONS);
        expect(input(instance, "rootBlockDevice")).toMatchObject({ encrypted: true, volumeType: "gp3" });
        expect(input(instance, "userDataReplaceOnChange")).toBe(false);
        expect(String(input(instance, "userData")).split("\n")[0]).toBe("#cloud-config");
        expect(input(instance, "subnetId")).toBe(run.outputs.subnetId);
      }
      expect(input(monitorInstance(run), "instanceType")).toBe(config.monitor.instanceType);
      expect(input(monitorInstance(run), "rootBlockDevice")).toMatchObject({
        volumeSize: config.monitor.rootVolumeGb,
      });
    });

    test("the monitor keeps its data on a separate encrypted volume in its zone, mounted by volume id", () => {
      const volume = only(run, T.volume);
      expect(volume.inputs).toMatchObject({
        encrypted: true,
        type: "gp3",
        size: config.monitor.dataVolumeGb,
        availabilityZone: FAKE_AVAILABILITY_ZONE,
      });
      expect(Boolean(volume.protect)).toBe(config.protectData);
      expect(Boolean(volume.retainOnDelete)).toBe(config.protectData);
      const monitor = monitorInstance(run);
      expect(only(run, T.volumeAttachment).inputs).toMatchObject({
        instanceId: monitor.id,
        volumeId: volume.id,
        deviceName: "/dev/sdf",
      });
      expect(only(run, T.volumeAttachment).deleteBeforeReplace).toBe(true);
      expect(String(input(monitor, "userData"))).toContain(volume.id);
    });

    test("the monitor has an Elastic IP and is not itself a discovery target", () => {
      const eip = only(run, T.eip);
      expect(input(eip, "domain")).toBe("vpc");
      expect(only(run, T.eipAssociation).inputs).toMatchObject({
        allocationId: eip.state.allocationId,
        instanceId: monitorInstance(run).id,
      });
      expect(only(run, T.eipAssociation).deleteBeforeReplace).toBe(true);
      expect(input<Record<string, string>>(monitorInstance(run), "tags")).toEqual({
        Name: `${stack}-monitor`,
      });
    });

    test("each client is tagged for discovery with its name, environment and optional exporters", () => {
      const clients = instancesUnder(run, CLIENT_HOST_TYPE);
      const tags = clients.map((client) => input<Record<string, string>>(client, "tags"));
      expect(tags.sort((a, b) => String(a.Name).localeCompare(String(b.Name)))).toEqual(
        config.clients
          .map((client) => ({
            [DISCOVERY_TAGS.name]: client.name,
            [DISCOVERY_TAGS.scrape]: "true",
            [DISCOVERY_TAGS.environment]: stack,
            [DISCOVERY_TAGS.exporters]: client.exporters.join(","),
          }))
          .sort((a, b) => String(a.Name).localeCompare(String(b.Name))),
      );
      for (const client of config.clients) {
        const instance = clientInstance(run, client.name);
        expect(input(instance, "instanceType")).toBe(client.instanceType);
        expect(input(instance, "rootBlockDevice")).toMatchObject({ volumeSize: client.rootVolumeGb });
      }
    });

    test("every host accepts the configured key pair", () => {
      for (const instance of resourcesOfType(run, T.instance)) {
        expect(input(instance, "keyName")).toBe(
          config.access.sshKeyPairName ?? only(run, T.keyPair).state.keyName,
        );
      }
    });
  });

  describe("provider and structure", () => {
    test("every AWS resource uses the stack's provider: its region and default tags", () => {
      const provider = only(run, T.provider);
      expect(input(provider, "region")).toBe(config.region);
      expect(JSON.parse(input<string>(provider, "defaultTags"))).toEqual({
        tags: { ...config.tags, Environment: stack, ManagedBy: "pulumi" },
      });
      // The engine's reference: `<provider urn>::<provider id>`.
      const usesStackProvider = (reference: string | undefined) =>
        reference?.startsWith(`urn:pulumi:${stack}::${PROJECT}::`) === true &&
        reference.endsWith(`${T.provider}::${provider.name}::${provider.id}`);
      const custom = run.resources.filter((entry) => entry.custom && entry.type !== T.provider);
      for (const resource of custom.filter((entry) => entry.type.startsWith("aws:"))) {
        expect(usesStackProvider(resource.provider), `${resource.name}: ${resource.provider}`).toBe(true);
      }
      // The deploy's commands and generated secrets are no AWS resources: default providers. The
      // registry lookups have their own docker provider, which never pings a Docker engine.
      for (const resource of custom.filter((entry) => !entry.type.startsWith("aws:"))) {
        expect(resource.type, resource.name).toMatch(
          /^(command:remote:Command|random:index\/random(Password:RandomPassword|String:RandomString)|pulumi:providers:docker)$/,
        );
        expect(resource.provider?.includes(T.provider) ?? false, resource.name).toBe(false);
      }
      const docker = only(run, T.dockerProvider);
      expect(String(input(docker, "disableDockerDaemonCheck"))).toBe("true");
      expect(input(docker, "host")).toBeUndefined();
      const usesDockerProvider = (reference: string | undefined) =>
        reference?.endsWith(`${T.dockerProvider}::${docker.name}::${docker.id}`) === true;
      for (const call of run.calls) {
        const expected = call.token.startsWith("docker:") ? usesDockerProvider : usesStackProvider;
        expect(expected(call.provider), call.token).toBe(true);
      }
    });

    test("every resource belongs to a component", () => {
      for (const resource of run.resources.filter((entry) => entry.custom && entry.type !== T.provider)) {
        expect(resource.parent, resource.name).toMatch(/^observability:[a-z]+:[A-Za-z]+::/);
      }
    });
  });

  describe("outputs", () => {
    test("name the monitor, its tunnels, the bucket, the roles and every client", () => {
      const monitor = monitorInstance(run);
      const eip = only(run, T.eip);
      const bucket = only(run, T.bucket);
      const publicIp = String(eip.state.publicIp);
      expect(run.outputs).toMatchObject({
        monitorInstanceId: monitor.id,
        monitorPublicIp: publicIp,
        monitorPrivateIp: monitor.state.privateIp,
        // Without a domain Grafana is not on the internet: reached through its SSH tunnel.
        grafanaUrl: config.grafana.rootUrl ?? `http://localhost:${MONITOR_PORTS.grafana}/`,
        grafanaTunnel: `ssh -N -L 3000:localhost:3000 ${config.access.sshUser}@${publicIp}`,
        grafanaLoadBalancerDnsName: null,
        prometheusTunnel: `ssh -N -L 9090:localhost:9090 ${config.access.sshUser}@${publicIp}`,
        alertmanagerTunnel: `ssh -N -L 9093:localhost:9093 ${config.access.sshUser}@${publicIp}`,
        lokiBucketName: bucket.state.bucket,
        lokiBucketArn: bucket.state.arn,
      });
      const roleArns = resourcesOfType(run, T.role).map((role) => role.state.arn);
      expect(roleArns).toContain(run.outputs.monitorRoleArn);
      expect(roleArns).toContain(run.outputs.clientRoleArn);
      expect(run.outputs.monitorRoleArn).not.toBe(run.outputs.clientRoleArn);
      expect(run.outputs.clients).toEqual(
        config.clients.map((client) => {
          const instance = clientInstance(run, client.name);
          return {
            name: client.name,
            instanceId: instance.id,
            privateIp: instance.state.privateIp,
            publicIp: instance.state.publicIp,
            ssh: `ssh -J ${config.access.sshUser}@${publicIp} ${config.access.sshUser}@${instance.state.privateIp}`,
          };
        }),
      );
    });

    test("give a URL for every dashboard the monitor provisions, by its uid under grafanaUrl", () => {
      const grafanaUrl = String(run.outputs.grafanaUrl);
      const provisioned = Object.entries(monitorFiles(config))
        .filter(([path]) => path.startsWith("grafana/dashboards/") && path.endsWith(".json"))
        .map(([path, content]) => [
          path.slice(path.lastIndexOf("/") + 1, -".json".length),
          JSON.parse(content).uid,
        ]);
      expect(provisioned.length).toBeGreaterThan(5);
      expect(run.outputs.dashboards).toEqual(
        Object.fromEntries(
          provisioned.map(([key, uid]) => [key, `${grafanaUrl.replace(/\/$/, "")}/d/${uid}`]),
        ),
      );
    });

    test("no secret reaches an output or any plain resource input", () => {
      // The secrets were really given to the program, so their absence below means something.
      for (const setting of SECRET_SETTINGS) expect(config.secretsSet[setting], setting).toBe(true);
      const serialisedOutputs = JSON.stringify(run.outputs);
      const inputs = run.resources.flatMap((resource) => plainStrings(resource.inputs));
      for (const [setting, value] of Object.entries(TEST_SECRET_VALUES)) {
        expect(serialisedOutputs.includes(value), `${setting} in outputs`).toBe(false);
        const leaks = inputs.filter((text) => text.includes(value));
        expect(leaks, `${setting} in a plain resource input`).toEqual([]);
      }
    });
  });
});

/** A well-formed ed25519 public key line (32 fixed bytes): only the public half is ever needed. */
function testPublicKey(): string {
  const name = Buffer.from("ssh-ed25519");
  const key = Buffer.alloc(32, 7);
  const length = (value: number) => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    return buffer;
  };
  return `ssh-ed25519 ${Buffer.concat([length(name.length), name, length(key.length), key]).toString("base64")} sre@example`;
}

describe.each(stacks)("stack %s, variants", (stack) => {
  test("the same config gives the same resources and outputs twice", async () => {
    const first = await runProgram(stack);
    const second = await runProgram(stack);
    expect(second.resources).toEqual(first.resources);
    expect(second.calls).toEqual(first.calls);
    expect(second.outputs).toEqual(first.outputs);
  });

  test("with an existing instance profile no IAM resource is created and clients get no profile", async () => {
    const run = await runProgram(stack, {
      configOverrides: { [`${PROJECT}:instanceProfileName`]: "LabInstanceProfile" },
    });
    expect(run.resources.filter((resource) => resource.type.startsWith("aws:iam/"))).toEqual([]);
    expect(input(monitorInstance(run), "iamInstanceProfile")).toBe("LabInstanceProfile");
    for (const client of instancesUnder(run, CLIENT_HOST_TYPE)) {
      expect(client.inputs.iamInstanceProfile, client.name).toBeUndefined();
    }
    expect(run.outputs.monitorInstanceProfileName).toBe("LabInstanceProfile");
    expect(run.outputs).toMatchObject({ monitorRoleArn: null, clientRoleArn: null });
    // The bucket admits the existing profile's role (looked up) in place of a created one.
    const policy = parsedPolicy(only(run, T.bucketPolicy)) as {
      Statement: { Sid: string; Condition?: unknown }[];
    };
    expect(policy.Statement.find((st) => st.Sid === "DenyMonitorPermanentDeletion")?.Condition).toEqual({
      ArnEquals: { "aws:PrincipalArn": `arn:aws:iam::${FAKE_ACCOUNT_ID}:role/LabInstanceProfile-role` },
    });
  });

  test("with an existing VPC and subnet no network is created and the data volume follows the subnet's zone", async () => {
    const vpcId = "vpc-0a1b2c3d4e5f60718";
    const subnetId = "subnet-0a1b2c3d4e5f60718";
    const run = await runProgram(stack, {
      configOverrides: { [`${PROJECT}:existingVpcId`]: vpcId, [`${PROJECT}:existingSubnetId`]: subnetId },
    });
    for (const type of [T.vpc, T.subnet, T.igw, T.routeTable, T.route, T.routeTableAssociation]) {
      expect(resourcesOfType(run, type), type).toEqual([]);
    }
    for (const group of resourcesOfType(run, T.securityGroup)) expect(input(group, "vpcId")).toBe(vpcId);
    for (const instance of resourcesOfType(run, T.instance))
      expect(input(instance, "subnetId")).toBe(subnetId);
    const lookups = run.calls.filter((call) => call.token === "aws:ec2/getSubnet:getSubnet");
    expect(lookups.map((call) => call.inputs.id)).toEqual([subnetId]);
    expect(input(only(run, T.volume), "availabilityZone")).toBe(lookups[0]?.result.availabilityZone);
    // The security rules do not depend on who made the network.
    const roles = groupRoles(run);
    expect(
      resourcesOfType(run, T.ingress)
        .map((rule) => describeIngress(rule, roles))
        .sort(),
    ).toEqual(expectedIngress(run.stackConfig));
  });

  test("bad settings are refused with every problem and its fix, before any resource exists", async () => {
    const refused = await runRefusedProgram(stack, {
      configOverrides: {
        [`${PROJECT}:sshAllowedCidrs`]: JSON.stringify(["0.0.0.0/0"]),
        [`${PROJECT}:logRetentionDays`]: "0",
      },
    });
    const message = String((refused.error as Error).message);
    expect(message).toContain(`${PROJECT}:sshAllowedCidrs`);
    expect(message).toContain(`${PROJECT}:logRetentionDays`);
    expect(message.match(/pulumi config set/g)?.length).toBeGreaterThanOrEqual(2);
    expect(refused.registeredTypes).toEqual([]);
  });

  test("a missing Grafana admin password is refused before any resource exists", async () => {
    const { grafanaAdminPassword: _omitted, ...otherSecrets } = TEST_SECRET_VALUES;
    const refused = await runRefusedProgram(stack, { secrets: otherSecrets });
    expect(String((refused.error as Error).message)).toContain("pulumi config set --secret");
    expect(String((refused.error as Error).message)).toContain("grafanaAdminPassword");
    expect(refused.registeredTypes).toEqual([]);
  });

  test("a configured Grafana root URL is the Grafana output as given", async () => {
    const rootUrl = "https://grafana.example.com/";
    const run = await runProgram(stack, { configOverrides: { [`${PROJECT}:grafanaRootUrl`]: rootUrl } });
    expect(run.outputs.grafanaUrl).toBe(rootUrl);
  });

  test("with a public key instead of a key pair name, one key pair is imported and used by every host", async () => {
    const publicKey = testPublicKey();
    const run = await runProgram(stack, {
      configOverrides: { [`${PROJECT}:sshKeyPairName`]: undefined, [`${PROJECT}:sshPublicKey`]: publicKey },
    });
    const keyPair = only(run, T.keyPair);
    expect(input(keyPair, "publicKey")).toBe(publicKey);
    for (const instance of resourcesOfType(run, T.instance)) {
      expect(input(instance, "keyName")).toBe(keyPair.state.keyName);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// SSH login, host keys and images pinned by digest
// ---------------------------------------------------------------------------------------------

const DEPLOYMENT_TYPE = "observability:deploy:HostDeployment";

interface Connection {
  readonly host?: unknown;
  readonly user?: unknown;
  readonly privateKey?: unknown;
  readonly hostKey?: unknown;
  readonly agentSocketPath?: unknown;
  readonly proxy?: Connection;
}

function remoteCommands(run: ProgramRun): RecordedResource[] {
  return resourcesOfType(run, REMOTE_COMMAND_TYPE);
}

/** deployment name -> its commands. */
function stepsByDeployment(run: ProgramRun): Map<string, RecordedResource[]> {
  const byDeployment = new Map<string, RecordedResource[]>();
  for (const deployment of resourcesOfType(run, DEPLOYMENT_TYPE)) {
    byDeployment.set(
      deployment.name,
      remoteCommands(run).filter((step) => step.parent === `${DEPLOYMENT_TYPE}::${deployment.name}`),
    );
  }
  return byDeployment;
}

function connectionOf(step: RecordedResource): Connection {
  return unwrapSecret(step.inputs.connection) as Connection;
}

/** The image references of every `image:` line in a deploy step's script (compose YAML, quoted or not). */
function imageLines(script: string): string[] {
  return [...script.matchAll(/^\s*image:\s*"?([^"\s]+)"?\s*$/gm)].map((match) => match[1] as string);
}

const OUTSIDE_HOSTS = [
  {
    name: "onprem-1",
    address: "198.51.100.21",
    sshUser: "deploy",
    exporters: ["nginx"],
  },
  {
    name: "onprem-2",
    address: "198.51.100.22",
    sshUser: "ops",
    exporters: ["postgres"],
  },
];

/** A well-formed ed25519 host key line for an outside host, as an operator would paste it. */
function outsideHostKey(seed: number): string {
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(Buffer.alloc(32, seed))]);
  return `ssh-ed25519 ${blob.toString("base64")}`;
}

describe.each(stacks)("stack %s, SSH and images", (stack) => {
  const configuredKey = outsideHostKey(42);
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack, {
      configOverrides: {
        [`${PROJECT}:externalHosts`]: JSON.stringify([
          // As pasted from the host's .pub file, comment included: the comment is dropped.
          { ...OUTSIDE_HOSTS[0], hostKey: `${configuredKey} root@onprem-1` },
          OUTSIDE_HOSTS[1],
        ]),
      },
    });
  });

  test("EC2 hosts and outside hosts without a key: readiness, then one host-key read, then every step verifies that key", () => {
    const monitorKey = fakeHostKey(`${stack}-deploy-monitor-host-key`);
    const trustOnFirstUse = [
      "monitor",
      ...run.stackConfig.clients.map((client) => client.name),
      OUTSIDE_HOSTS[1]?.name,
    ].map((host) => `${stack}-deploy-${host}`);
    const deployments = stepsByDeployment(run);
    for (const deployment of trustOnFirstUse) {
      const steps = deployments.get(deployment) ?? [];
      const ready = steps.find((step) => step.name === `${deployment}-ready`);
      const readKey = steps.find((step) => step.name === `${deployment}-host-key`);
      if (!ready || !readKey) throw new Error(`${deployment}: no readiness or host-key step`);
      expect(readKey.inputs.create, deployment).toBe(HOST_KEY_READ_COMMAND);
      // Read again exactly when the machine changes: the same identity trigger as readiness.
      expect(readKey.inputs.triggers, deployment).toEqual(ready.inputs.triggers);
      expect(readKey.dependsOn, deployment).toEqual([`${REMOTE_COMMAND_TYPE}::${ready.name}`]);
      const expectedKey = fakeHostKey(readKey.name);
      for (const step of steps) {
        const connection = connectionOf(step);
        const firstContact = step === ready || step === readKey;
        expect(connection.hostKey, step.name).toBe(firstContact ? undefined : expectedKey);
        // The jump leg to the monitor is verified on every step, the first ones included.
        if (deployment !== `${stack}-deploy-monitor`) {
          expect(connection.proxy?.hostKey, `${step.name} (jump host)`).toBe(monitorKey);
        }
      }
      expect(steps.length, deployment).toBeGreaterThan(3);
    }
  });

  test("an outside host with a configured key verifies it from the very first step and has no host-key read", () => {
    const deployment = `${stack}-deploy-${OUTSIDE_HOSTS[0]?.name}`;
    const steps = stepsByDeployment(run).get(deployment) ?? [];
    expect(steps.map((step) => step.name)).toContain(`${deployment}-ready`);
    expect(steps.map((step) => step.name)).not.toContain(`${deployment}-host-key`);
    for (const step of steps) {
      expect(connectionOf(step).hostKey, step.name).toBe(configuredKey);
      expect(connectionOf(step).proxy?.hostKey, step.name).toBe(
        fakeHostKey(`${stack}-deploy-monitor-host-key`),
      );
    }
  });

  test("sshKnownHosts gives operators one known_hosts line per host with the key the deploy verifies", () => {
    const eip = String(only(run, T.eip).state.publicIp);
    expect(run.outputs.sshKnownHosts).toBe(
      [
        `${eip} ${fakeHostKey(`${stack}-deploy-monitor-host-key`)}`,
        ...run.stackConfig.clients.map(
          (client) =>
            `${clientInstance(run, client.name).state.privateIp} ${fakeHostKey(`${stack}-deploy-${client.name}-host-key`)}`,
        ),
        `${OUTSIDE_HOSTS[0]?.address} ${configuredKey}`,
        `${OUTSIDE_HOSTS[1]?.address} ${fakeHostKey(`${stack}-deploy-${OUTSIDE_HOSTS[1]?.name}-host-key`)}`,
        "",
      ].join("\n"),
    );
  });

  test("key login: every connection and jump leg carries the private key, only ever inside a secret", () => {
    for (const step of remoteCommands(run)) {
      expect(isSecretValue(step.inputs.connection), step.name).toBe(true);
      const connection = connectionOf(step);
      expect(connection.privateKey, step.name).toBe(TEST_SECRET_VALUES.sshPrivateKey);
      expect(connection.agentSocketPath, step.name).toBeUndefined();
      if (connection.proxy)
        expect(connection.proxy.privateKey, step.name).toBe(TEST_SECRET_VALUES.sshPrivateKey);
    }
  });

  test("every image in every compose file the hosts receive is tag@digest, the digest from the registry lookup", () => {
    const lookups = run.calls.filter(
      (call) => call.token === "docker:index/getRegistryImage:getRegistryImage",
    );
    const looked = lookups.map((call) => String(call.inputs.name)).sort();
    expect(looked).toEqual([...new Set(looked)]);
    expect(looked).toEqual(stackImages(run.stackConfig));
    const composeSteps = remoteCommands(run).filter((step) => step.name.endsWith("-compose"));
    expect(composeSteps.map((step) => step.parent).sort()).toEqual(
      resourcesOfType(run, DEPLOYMENT_TYPE)
        .map((deployment) => `${DEPLOYMENT_TYPE}::${deployment.name}`)
        .sort(),
    );
    for (const step of composeSteps) {
      const images = imageLines(String(unwrapSecret(step.inputs.stdin)));
      expect(images.length, step.name).toBeGreaterThan(3);
      for (const image of images) {
        const [tag, digest] = image.split("@");
        expect(digest, `${step.name}: ${image}`).toBe(fakeImageDigest(String(tag)));
        expect(looked, step.name).toContain(tag);
      }
    }
  });
});

describe.each(stacks)("stack %s, SSH and image variants", (stack) => {
  test("agent login: no private key anywhere, no agent socket path, host keys still pinned", async () => {
    const { sshPrivateKey: _unused, ...otherSecrets } = TEST_SECRET_VALUES;
    const run = await runProgram(stack, {
      configOverrides: { [`${PROJECT}:sshAuth`]: "agent" },
      secrets: otherSecrets,
    });
    const steps = remoteCommands(run);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      // @pulumi/command stores every connection as a secret itself; inside it, no key.
      const connection = connectionOf(step);
      expect(Object.keys(connection), step.name).not.toContain("privateKey");
      expect(Object.keys(connection.proxy ?? {}), step.name).not.toContain("privateKey");
      // Unset: the provider reads SSH_AUTH_SOCK on whichever machine runs the update.
      expect(connection.agentSocketPath, step.name).toBeUndefined();
      if (!step.name.endsWith("-ready") && !step.name.endsWith("-host-key")) {
        expect(connection.hostKey, step.name).toMatch(/^ecdsa-sha2-nistp256 [A-Za-z0-9+/]+=*$/);
      }
    }
    expect(JSON.stringify(run.resources.map((resource) => resource.inputs))).not.toContain("PRIVATE KEY");
  });

  test("agent login with the sshPrivateKey secret still set is refused with the fix, before any resource exists", async () => {
    const refused = await runRefusedProgram(stack, { configOverrides: { [`${PROJECT}:sshAuth`]: "agent" } });
    const message = String((refused.error as Error).message);
    expect(message).toContain(`${PROJECT}:sshPrivateKey`);
    expect(message).toContain(`pulumi config rm ${PROJECT}:sshPrivateKey`);
    expect(refused.registeredTypes).toEqual([]);
  });

  test("pinImageDigests false: no registry lookup, no docker provider, and compose files run plain tags", async () => {
    const run = await runProgram(stack, { configOverrides: { [`${PROJECT}:pinImageDigests`]: "false" } });
    expect(run.calls.filter((call) => call.token.startsWith("docker:"))).toEqual([]);
    expect(resourcesOfType(run, T.dockerProvider)).toEqual([]);
    const composeSteps = remoteCommands(run).filter((step) => step.name.endsWith("-compose"));
    expect(composeSteps.length).toBe(resourcesOfType(run, DEPLOYMENT_TYPE).length);
    const images = new Set(stackImages(run.stackConfig));
    for (const step of composeSteps) {
      const script = String(unwrapSecret(step.inputs.stdin));
      expect(script, step.name).not.toContain("@sha256:");
      const lines = imageLines(script);
      expect(lines.length, step.name).toBeGreaterThan(3);
      for (const image of lines) expect(images.has(image), `${step.name}: ${image}`).toBe(true);
    }
  });
});

describe("a production stack", () => {
  test("pulumi up refuses a production stack's documentation placeholders before any resource; preview goes ahead", async () => {
    const refused = await runRefusedProgram("prod");
    const message = String((refused.error as Error).message);
    expect(message).toContain(
      `${PROJECT}:alertEmailTo[0]: "oncall@example.com" is a documentation placeholder`,
    );
    expect(message).toContain("pulumi up of a production stack (production: true) refuses");
    expect(refused.registeredTypes).toEqual([]);
    const preview = await runProgram("prod", { preview: true });
    expect(resourcesOfType(preview, T.instance).length).toBeGreaterThan(0);
  });
});

describe("backups and restore", () => {
  const DLM_POLICY = "aws:dlm/lifecyclePolicy:LifecyclePolicy";
  const dataVolume = (run: ProgramRun) =>
    resourcesOfType(run, T.volume).find((volume) => volume.name.endsWith("-monitor-data"));

  test("the prod graph snapshots the data volume daily and keeps 14; dev keeps none", async () => {
    const prod = await runProgram("prod");
    const [policy, ...others] = resourcesOfType(prod, DLM_POLICY);
    expect(others).toEqual([]);
    const volume = dataVolume(prod);
    const target = { [DATA_SNAPSHOT_TAG]: "prod-monitor-data" };
    expect(volume?.inputs.tags).toMatchObject(target);
    expect(policy?.inputs.state).toBe("ENABLED");
    expect(policy?.inputs.policyDetails).toEqual({
      resourceTypes: ["VOLUME"],
      targetTags: target,
      schedules: [
        {
          name: "daily",
          createRule: { interval: 24, intervalUnit: "HOURS", times: "03:00" },
          retainRule: { count: 14 },
          copyTags: true,
          tagsToAdd: { SnapshotCreator: "dlm" },
        },
      ],
    });
    // DLM acts through its own role, which only DLM can assume, with AWS's DLM service policy.
    const role = resourcesOfType(prod, "aws:iam/role:Role").find((entry) =>
      entry.name.endsWith("-snapshots-dlm"),
    );
    expect(policy?.inputs.executionRoleArn).toBe(role?.state.arn);
    expect(JSON.parse(String(role?.inputs.assumeRolePolicy)).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    const permissions = resourcesOfType(prod, T.rolePolicy).filter((entry) =>
      entry.name.endsWith("-snapshots-dlm"),
    );
    expect(permissions.map((entry) => entry.inputs.role)).toEqual([role?.id]);
    // Snapshot the data volume, tag and delete its snapshots: nothing else, no managed policy.
    expect(JSON.parse(String(permissions[0]?.inputs.policy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "SnapshotVolumes",
          Effect: "Allow",
          Action: [
            "ec2:CreateSnapshot",
            "ec2:CreateSnapshots",
            "ec2:DeleteSnapshot",
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "ec2:DescribeSnapshots",
          ],
          Resource: "*",
        },
        {
          Sid: "TagSnapshots",
          Effect: "Allow",
          Action: "ec2:CreateTags",
          Resource: "arn:aws:ec2:*::snapshot/*",
        },
      ],
    });
    expect(prod.outputs.monitorDataSnapshotPolicyArn).toBe(policy?.state.arn);
    expect(String(policy?.state.arn)).toMatch(/^arn:aws:dlm:/);
    expect(volume?.inputs.snapshotId).toBeUndefined();

    const dev = await runProgram("dev");
    expect(resourcesOfType(dev, DLM_POLICY)).toEqual([]);
    expect(dev.outputs.monitorDataSnapshotPolicyArn).toBeNull();
    const devKeeping = await runProgram("dev", {
      configOverrides: { [`${PROJECT}:dataSnapshotRetainCount`]: "7" },
    });
    expect(resourcesOfType(devKeeping, DLM_POLICY)[0]?.inputs.policyDetails).toMatchObject({
      schedules: [{ retainRule: { count: 7 } }],
    });
  });

  test("docs/operations.md's restore steps, run under mocks, create the data volume from the snapshot", async () => {
    const docs = readFileSync(join(REPO_ROOT, "docs", "operations.md"), "utf8");
    const section = docs.slice(docs.indexOf("## Restore the monitor's data from a snapshot"));
    const steps = section.slice(0, section.indexOf("\n## ", 4));
    const settings = [...steps.matchAll(/^\s*pulumi config set (observability:\S+) (\S+)\s*$/gm)].map(
      (match) => [match[1] as string, match[2] as string] as const,
    );
    expect(settings).toEqual([[`${PROJECT}:dataVolumeSnapshotId`, "snap-0123456789abcdef0"]]);
    const restored = await runProgram("prod", { configOverrides: Object.fromEntries(settings) });
    const volume = dataVolume(restored);
    expect(volume?.inputs.snapshotId).toBe("snap-0123456789abcdef0");
    expect(volume?.inputs).toMatchObject({ encrypted: true, type: "gp3" });
    // The snapshot policy keeps covering the restored volume.
    expect(resourcesOfType(restored, DLM_POLICY)[0]?.inputs.policyDetails).toMatchObject({
      targetTags: volume?.inputs.tags ? { [DATA_SNAPSHOT_TAG]: "prod-monitor-data" } : {},
    });
    // The step that finds the snapshot filters on the tag the volume and its snapshots carry.
    expect(steps).toContain(`Name=tag:${DATA_SNAPSHOT_TAG},Values=prod-monitor-data`);
    expect(steps).toContain("ssh-keygen -R");
    expect(steps).toContain("pulumi refresh");
  });
});
