/**
 * Fleet enrolment under Pulumi mocks (components/fleet-enrolment.ts, configs/fleet-bundle.ts,
 * configs/fleet-bootstrap.ts): with fleetEnrolment on, the bundle bucket, the published bundle
 * and pointer, the SSM SecureString, the client role's exact rights and the outputs a launch
 * template needs; with it off (the shipped stacks), none of it. The bootstrap itself runs for real
 * in test/fleet-bootstrap.test.ts.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMPOSE_FILE } from "../configs/agents/client-compose";
import { FLEET_HOST_VARIABLE, fleetBundleFiles, renderFleetPointer } from "../configs/fleet-bundle";
import { stackHostFiles } from "../configs/host-files";
import { FLEET_DISCOVERY_TAG, FLEET_PUSH_USER } from "../lib/catalog";
import { PROJECT } from "../lib/stack-config";
import {
  bucketLockdownViolations,
  DEFAULT_PUBLIC_INGRESS_PORTS,
  POLICY_NAMES,
  type StackResource,
} from "../policy/rules";
import { checkResource } from "./support/policy";
import {
  isSecretValue,
  type ProgramRun,
  REPO_ROOT,
  type RecordedResource,
  resourcesOfType,
  runProgram,
  runRefusedProgram,
  TEST_SECRET_VALUES,
  unwrapSecret,
} from "./support/pulumi-mocks";
import { sampleStackConfig } from "./support/sample-config";
import { tempDirMaker } from "./support/temp-files";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  parameter: "aws:ssm/parameter:Parameter",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  profile: "aws:iam/instanceProfile:InstanceProfile",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  password: "random:index/randomPassword:RandomPassword",
  command: "command:remote:Command",
} as const;

const tempDir = tempDirMaker("fleet-enrolment-");

function named(run: ProgramRun, type: string, name: string): RecordedResource {
  const found = resourcesOfType(run, type).find((resource) => resource.name === name);
  if (found === undefined) throw new Error(`no ${type} named ${name}`);
  return found;
}

/** Every string the monitor's deploy steps carry (their scripts embed the files they write). */
function monitorStepText(run: ProgramRun): string {
  return resourcesOfType(run, T.command)
    .filter((step) => step.parent?.endsWith("-deploy-monitor"))
    .map((step) => JSON.stringify(unwrapSecret(step.inputs)))
    .join("\n");
}

interface FleetOutput {
  readonly userData: string;
  readonly instanceProfileName: string;
  readonly instanceProfileArn: string;
  readonly securityGroupId: string;
  readonly subnetId: string;
  readonly discoveryTags: Record<string, string>;
  readonly bundleBucket: string;
  readonly pointerKey: string;
  readonly bundleSha256: string;
  readonly pushPasswordParameter: string;
}

describe("with fleetEnrolment on (prod stack, under mocks)", () => {
  let run: ProgramRun;
  let fleet: FleetOutput;
  let bucket: RecordedResource;

  beforeAll(async () => {
    run = await runProgram("prod", { configOverrides: { [`${PROJECT}:fleetEnrolment`]: "true" } });
    fleet = run.outputs.fleetEnrolment as FleetOutput;
    bucket = named(run, T.bucket, "prod-fleet");
  }, 180_000);

  it("grants the client role exactly its environment's bundle prefix and the password parameter", () => {
    const clientRole = named(run, T.role, "prod-hosts-client");
    const policies = resourcesOfType(run, T.rolePolicy).filter(
      (policy) => policy.inputs.role === clientRole.state.name,
    );
    expect(policies.map((policy) => policy.name)).toEqual(["prod-fleet-client-read"]);
    const parameter = named(run, T.parameter, "prod-fleet-push-password");
    expect(JSON.parse(String(policies[0]?.inputs.policy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "FleetBundleRead",
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: `arn:aws:s3:::${bucket.state.bucket}/prod/*`,
        },
        {
          Sid: "FleetPushPasswordRead",
          Effect: "Allow",
          Action: "ssm:GetParameter",
          Resource: parameter.state.arn,
        },
      ],
    });
    // The monitor's role gets nothing of the fleet's.
    for (const policy of resourcesOfType(run, T.rolePolicy).filter((p) => p !== policies[0])) {
      expect(String(policy.inputs.policy)).not.toContain(String(bucket.state.bucket));
      expect(String(policy.inputs.policy)).not.toContain("ssm:");
    }
  });

  it("keeps bundles in a bucket of their own: private, owner-enforced, encrypted, TLS-only, versioned", () => {
    const buckets = resourcesOfType(run, T.bucket).map((resource) => resource.name);
    expect(buckets.sort()).toEqual(["prod-fleet", "prod-loki"]);
    expect(bucket.protect).toBe(true);
    const of = (type: string) =>
      resourcesOfType(run, type).filter((resource) => resource.inputs.bucket === bucket.id);
    expect(of(T.publicAccess).map((r) => r.inputs)).toEqual([
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
    ]);
    expect(of(T.versioning).map((r) => r.inputs.versioningConfiguration)).toEqual([{ status: "Enabled" }]);
    expect(JSON.stringify(of(T.encryption)[0]?.inputs.rules)).toContain('"sseAlgorithm":"aws:kms"');
    const [policy] = of(T.bucketPolicy);
    expect(JSON.parse(String(policy?.inputs.policy)).Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${bucket.state.bucket}`, `arn:aws:s3:::${bucket.state.bucket}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
  });

  it("publishes the bundle under prod/bundles/<sha256>.tar, with a pointer written after it", () => {
    const bundle = named(run, T.object, "prod-fleet-bundle");
    const archive = Buffer.from(String(bundle.inputs.contentBase64), "base64");
    const digest = createHash("sha256").update(archive).digest("hex");
    expect(bundle.inputs.key).toBe(`prod/bundles/${digest}.tar`);
    expect(fleet.bundleSha256).toBe(digest);
    const pointer = named(run, T.object, "prod-fleet-pointer");
    expect(pointer.inputs.key).toBe("prod/current");
    expect(pointer.inputs.content).toBe(
      renderFleetPointer({ key: `prod/bundles/${digest}.tar`, sha256: digest }),
    );
    expect(pointer.dependsOn).toEqual([`${T.object}::prod-fleet-bundle`]);

    // GNU tar reads it: the agents' compose file with images pinned by digest, pushing to the monitor.
    const dir = tempDir();
    writeFileSync(join(dir, "bundle.tar"), archive);
    const untar = spawnSync("tar", ["-x", "-f", "bundle.tar"], { cwd: dir, encoding: "utf8" });
    expect(untar.stderr).toBe("");
    const compose = readFileSync(join(dir, COMPOSE_FILE), "utf8");
    expect(compose).toMatch(/image: \S+@sha256:[0-9a-f]{64}/);
    expect(compose).not.toMatch(/^ +image: [^@\s]+$/m);
    const alloy = readFileSync(join(dir, "alloy/config.alloy"), "utf8");
    expect(alloy).toContain(String(run.outputs.monitorPrivateIp));
    // One bundle for every instance: each names itself from the .env its sync writes.
    expect(alloy).toContain(`host = sys.env("${FLEET_HOST_VARIABLE}")`);
    const services = (
      parse(compose) as { services: Record<string, { environment?: Record<string, string> }> }
    ).services;
    expect(services.alloy?.environment).toEqual({
      [FLEET_HOST_VARIABLE]: `\${${FLEET_HOST_VARIABLE}:?written by the fleet sync}`,
    });
    expect(existsSync(join(dir, "secrets"))).toBe(false);
  });

  it("puts the fleet's push password in an SSM SecureString only: not in user data, outputs or the bundle", () => {
    const parameter = named(run, T.parameter, "prod-fleet-push-password");
    expect(parameter.inputs.type).toBe("SecureString");
    expect(parameter.inputs.name).toBe("/observability/prod/fleet/push-password");
    expect(isSecretValue(parameter.inputs.value)).toBe(true);
    const password = String(named(run, T.password, "prod-push-fleet").state.result);
    expect(unwrapSecret(parameter.inputs.value)).toBe(password);
    expect(JSON.stringify(run.outputs)).not.toContain(password);
    expect(String(named(run, T.object, "prod-fleet-bundle").inputs.contentBase64)).not.toContain(
      Buffer.from(password).toString("base64").slice(0, 20),
    );
    for (const secret of Object.values(TEST_SECRET_VALUES)) expect(fleet.userData).not.toContain(secret);
    // The gateway admits the fleet user.
    expect(monitorStepText(run)).toMatch(/fleet:\$6\$/);
  });

  it("outputs what a launch template needs, and discovery names fleet hosts by instance id", () => {
    expect(fleet.instanceProfileName).toBe(named(run, T.profile, "prod-hosts-client").state.name);
    expect(fleet.instanceProfileArn).toBe(named(run, T.profile, "prod-hosts-client").state.arn);
    expect(fleet.securityGroupId).toBe(named(run, T.securityGroup, "prod-network-clients").id);
    expect(fleet.subnetId).toBe(run.outputs.subnetId);
    expect(fleet.discoveryTags).toEqual({
      Scrape: "true",
      Environment: "prod",
      Exporters: "",
      [FLEET_DISCOVERY_TAG]: "true",
    });
    expect(fleet.bundleBucket).toBe(bucket.state.bucket);
    expect(fleet.pointerKey).toBe("prod/current");
    expect(fleet.pushPasswordParameter).toBe("/observability/prod/fleet/push-password");
    // The user data names where to read, with the instance role; nothing else of the stack.
    for (const line of [
      `fleet_setting bucket ${fleet.bundleBucket}`,
      "fleet_setting pointer prod/current",
      `fleet_setting region ${run.stackConfig.region}`,
      `fleet_setting parameter ${fleet.pushPasswordParameter}`,
    ]) {
      expect(fleet.userData.split("\n")).toContain(line);
    }
    expect(fleet.userData).toMatch(/^#!\/bin\/bash\n/);
    expect(monitorStepText(run)).toContain(`__meta_ec2_tag_${FLEET_DISCOVERY_TAG}`);
  });

  it("passes the policy pack with prod's pack config: every resource, and every bucket locked down", () => {
    const provider = run.resources.find((resource) => resource.type === "pulumi:providers:aws");
    const packConfig = JSON.parse(
      readFileSync(join(REPO_ROOT, "policy", "config", "prod.json"), "utf8"),
    ) as Record<string, { allowedAccessKeyIds?: string[] }>;
    const context = {
      allowedPublicIngressPorts: DEFAULT_PUBLIC_INGRESS_PORTS,
      allowedAccessKeyIds: packConfig[POLICY_NAMES.noAccessKeys]?.allowedAccessKeyIds ?? [],
      stack: "prod",
      ...(provider ? { provider: { type: provider.type, props: provider.inputs } } : {}),
    };
    const violations = run.resources.flatMap((resource) =>
      checkResource(resource.type, resource.inputs, context).map(
        (violation) => `${resource.type}::${resource.name}: [${violation.policy}] ${violation.message}`,
      ),
    );
    expect(violations).toEqual([]);
    const resources: StackResource[] = run.resources.map((resource) => ({
      type: resource.type,
      urn: `urn:pulumi:prod::observability::${resource.type}::${resource.name}`,
      props: { ...resource.state, id: resource.id },
    }));
    expect(bucketLockdownViolations(resources)).toEqual([]);
  });

  it("renders user data that shellcheck finds clean", () => {
    const shellcheck = "/usr/bin/shellcheck";
    if (!existsSync(shellcheck)) {
      throw new Error(
        `${shellcheck} is missing. Install it with: apt-get update && apt-get install -y shellcheck`,
      );
    }
    const result = spawnSync(shellcheck, ["-s", "bash", "-"], { input: fleet.userData, encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("with fleetEnrolment off (the shipped stacks)", () => {
  it("creates no bundle bucket, parameter or client rights, and outputs null", async () => {
    const run = await runProgram("prod");
    expect(resourcesOfType(run, T.bucket).map((resource) => resource.name)).toEqual(["prod-loki"]);
    expect(resourcesOfType(run, T.parameter)).toEqual([]);
    expect(resourcesOfType(run, T.object)).toEqual([]);
    const clientRole = named(run, T.role, "prod-hosts-client");
    expect(resourcesOfType(run, T.rolePolicy).filter((p) => p.inputs.role === clientRole.state.name)).toEqual(
      [],
    );
    expect(run.outputs.fleetEnrolment).toBeNull();
    expect(monitorStepText(run)).not.toContain(FLEET_DISCOVERY_TAG);
  }, 180_000);
});

describe("refused", () => {
  it("with an existing instance profile (no client role to scope), before any resource exists", async () => {
    const refused = await runRefusedProgram("dev", {
      configOverrides: {
        [`${PROJECT}:fleetEnrolment`]: "true",
        [`${PROJECT}:instanceProfileName`]: "LabInstanceProfile",
      },
    });
    const message = String((refused.error as Error).message);
    expect(message).toContain(`${PROJECT}:fleetEnrolment`);
    expect(message).toContain("existing instance profile");
    expect(refused.registeredTypes).toEqual([]);
  });
});

describe("the render command's view", () => {
  it("shows the fleet bundle under fleet/ when fleet enrolment is on, and not otherwise", () => {
    const config = sampleStackConfig();
    const info = { monitorPrivateIp: "10.42.1.10" };
    expect(Object.keys(stackHostFiles(config, info))).not.toContain(FLEET_PUSH_USER);
    const rendered = stackHostFiles({ ...config, fleetEnrolment: true }, info);
    expect(rendered[FLEET_PUSH_USER]).toEqual(fleetBundleFiles(config, { monitorAddress: "10.42.1.10" }));
  });
});
