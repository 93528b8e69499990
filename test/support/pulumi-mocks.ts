/**
 * Runs Pulumi code under mocks and records everything it asks the engine for.
 *
 * - Every registered resource: type, name, inputs (secrets stay wrapped, so a test can tell a
 *   secret input from a plain one), and the options that decide safety (protect,
 *   retainOnDelete, deleteBeforeReplace, parent), captured by a stack transformation.
 * - Every provider function call; any call not answered here throws, so a new lookup cannot slip
 *   into the program unnoticed.
 * - The stack outputs, fully resolved.
 *
 * Fake outputs (ids, IPs from 10.0.0.0/8 and the 192.0.2.0/24 documentation range, ARNs) are
 * derived from resource names only, so two runs of the same config record identical data. Nothing
 * is ever contacted.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { HOST_KEY_READ_COMMAND } from "../../components/ssh-key";
import { EXPORTER_SETTINGS } from "../../configs/exporters";
import { PROJECT, type SecretSetting, type StackConfig } from "../../lib/stack-config";
import { SECRET_SETTINGS } from "./stack-files";

/** Marker the Pulumi runtime uses for secret values it hands to mocks. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export const FAKE_ACCOUNT_ID = "123456789012";
export const FAKE_AVAILABILITY_ZONE = "mock-zone-1a";
/** The other zone the mocked region offers (a load balancer's second subnet lands there). */
export const SECOND_AVAILABILITY_ZONE = "mock-zone-1b";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  /** Provider reference (`urn::id`) the engine was asked to use; undefined means the default provider. */
  readonly provider?: string;
  /** Id and output state the mock answered with. */
  readonly id: string;
  readonly state: Record<string, unknown>;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  readonly deleteBeforeReplace?: boolean;
  /** `type::name` of the parent resource, when it has one other than the stack. */
  readonly parent?: string;
  /** `type::name` of each resource in the `dependsOn` option, sorted. */
  readonly dependsOn?: readonly string[];
}

export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
  /** What the mock answered. */
  readonly result: Record<string, unknown>;
}

export interface MockedRun {
  readonly resources: RecordedResource[];
  readonly calls: RecordedCall[];
  readonly outputs: Record<string, unknown>;
}

/** True for a value the runtime marked secret. */
export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE
  );
}

/** The value inside a secret the runtime handed to the mocks; other values as they are. */
export function unwrapSecret(value: unknown): unknown {
  return isSecretValue(value) ? (value as Record<string, unknown>).value : value;
}

/** Every string in a value, except inside values the runtime marked secret. */
export function plainStrings(value: unknown, found: string[] = []): string[] {
  if (isSecretValue(value)) return found;
  if (typeof value === "string") found.push(value);
  else if (Array.isArray(value)) for (const item of value) plainStrings(item, found);
  else if (typeof value === "object" && value !== null)
    for (const item of Object.values(value)) plainStrings(item, found);
  return found;
}

/** Deterministic hex derived from a name. */
function hashHex(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The registry digest the mocked getRegistryImage gives an image reference (stable per name). */
export function fakeImageDigest(image: string): string {
  return `sha256:${hashHex(`registry-digest:${image}`, 64)}`;
}

/**
 * The host key (`ecdsa-sha2-nistp256 <base64>`, the type an Ubuntu host's read step prints) the
 * mocked host-key step of resource `name` prints: a well-formed key blob whose point derives
 * from the name.
 */
export function fakeHostKey(name: string): string {
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const seed = createHash("sha512").update(`host-key:${name}`).digest();
  // An uncompressed point: 0x04 then 64 bytes (never checked to lie on the curve here).
  const point = Buffer.concat([Buffer.from([4]), seed]);
  const blob = Buffer.concat([
    field(Buffer.from("ecdsa-sha2-nistp256")),
    field(Buffer.from("nistp256")),
    field(point),
  ]);
  return `ecdsa-sha2-nistp256 ${blob.toString("base64")}`;
}

function hashByte(text: string, salt: string): number {
  return Number.parseInt(hashHex(`${salt}:${text}`, 2), 16);
}

function fakePrivateIp(name: string): string {
  return `10.${hashByte(name, "a")}.${hashByte(name, "b")}.${(hashByte(name, "c") % 250) + 4}`;
}

function fakePublicIp(name: string): string {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): documentation only, never routed.
  return `192.0.2.${(hashByte(name, "p") % 250) + 1}`;
}

/** A workspace id as AWS prints them: `ws-` and a UUID, derived from the resource name. */
function fakeWorkspaceId(name: string): string {
  const hex = hashHex(`workspace:${name}`, 32);
  return `ws-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A managed Prometheus workspace's ARN and endpoint, as the API reports them (mock region). */
function fakeWorkspace(id: string): { arn: string; prometheusEndpoint: string } {
  return {
    arn: `arn:aws:aps:mock:${FAKE_ACCOUNT_ID}:workspace/${id}`,
    prometheusEndpoint: `https://aps-workspaces.mock.amazonaws.com/workspaces/${id}/`,
  };
}

function fakeState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
  const suffix = hashHex(`${type}:${name}`, 17);
  switch (type) {
    case "aws:ec2/instance:Instance":
      return {
        id: `i-${suffix}`,
        state: {
          ...inputs,
          arn: `arn:aws:ec2:mock:${FAKE_ACCOUNT_ID}:instance/i-${suffix}`,
          privateIp: fakePrivateIp(name),
          publicIp: fakePublicIp(name),
          availabilityZone: FAKE_AVAILABILITY_ZONE,
        },
      };
    case "aws:s3/bucket:Bucket": {
      const bucket = (inputs.bucket as string | undefined) ?? `${name}-${suffix.slice(0, 7)}`;
      return { id: bucket, state: { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}` } };
    }
    case "aws:ssm/parameter:Parameter":
      return {
        id: String(inputs.name),
        state: { ...inputs, arn: `arn:aws:ssm:mock:${FAKE_ACCOUNT_ID}:parameter${String(inputs.name)}` },
      };
    case "aws:ec2/eip:Eip":
      return {
        id: `eipalloc-${suffix}`,
        state: { ...inputs, allocationId: `eipalloc-${suffix}`, publicIp: fakePublicIp(name) },
      };
    case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
      return {
        id: `policy-${suffix}`,
        state: { ...inputs, arn: `arn:aws:dlm:mock:${FAKE_ACCOUNT_ID}:policy/policy-${suffix}` },
      };
    case "aws:iam/role:Role":
      return {
        id: `${name}-${suffix.slice(0, 7)}`,
        state: {
          ...inputs,
          name: `${name}-${suffix.slice(0, 7)}`,
          arn: `arn:aws:iam::${FAKE_ACCOUNT_ID}:role/${name}-${suffix.slice(0, 7)}`,
        },
      };
    case "aws:iam/instanceProfile:InstanceProfile":
      return {
        id: `${name}-${suffix.slice(0, 7)}`,
        state: {
          ...inputs,
          name: `${name}-${suffix.slice(0, 7)}`,
          arn: `arn:aws:iam::${FAKE_ACCOUNT_ID}:instance-profile/${name}-${suffix.slice(0, 7)}`,
        },
      };
    case "aws:ec2/keyPair:KeyPair":
      return {
        id: `${name}-${suffix.slice(0, 7)}`,
        state: { ...inputs, keyName: `${name}-${suffix.slice(0, 7)}` },
      };
    case "aws:ec2/subnet:Subnet":
      return {
        id: `subnet-${suffix}`,
        state: { ...inputs, availabilityZone: inputs.availabilityZone ?? FAKE_AVAILABILITY_ZONE },
      };
    case "aws:ec2/vpc:Vpc":
      return { id: `vpc-${suffix}`, state: inputs };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: `sg-${suffix}`, state: inputs };
    case "aws:ebs/volume:Volume":
      return { id: `vol-${suffix}`, state: inputs };
    case "aws:acm/certificate:Certificate": {
      const arn = `arn:aws:acm:mock:${FAKE_ACCOUNT_ID}:certificate/${suffix}`;
      const domainName = String(inputs.domainName);
      const domainValidationOptions = [
        {
          domainName,
          resourceRecordName: `_${hashHex(`validation:${domainName}`, 32)}.${domainName}.`,
          resourceRecordType: "CNAME",
          resourceRecordValue: `_${hashHex(`validation-value:${domainName}`, 32)}.acm-validations.aws.`,
        },
      ];
      return { id: arn, state: { ...inputs, arn, domainValidationOptions } };
    }
    case "aws:lb/loadBalancer:LoadBalancer": {
      const arn = `arn:aws:elasticloadbalancing:mock:${FAKE_ACCOUNT_ID}:loadbalancer/app/${name}/${suffix}`;
      return {
        id: arn,
        state: {
          ...inputs,
          arn,
          dnsName: `${name}-${suffix.slice(0, 9)}.mock.elb.amazonaws.com`,
          zoneId: "Z32O12XQLNTSW2",
        },
      };
    }
    case "aws:lb/targetGroup:TargetGroup": {
      const arn = `arn:aws:elasticloadbalancing:mock:${FAKE_ACCOUNT_ID}:targetgroup/${name}/${suffix}`;
      return { id: arn, state: { ...inputs, arn } };
    }
    case "aws:route53/record:Record":
      return { id: `${name}-id`, state: { ...inputs, fqdn: String(inputs.name).replace(/\.$/, "") } };
    case "aws:amp/workspace:Workspace": {
      const id = fakeWorkspaceId(name);
      return { id, state: { ...inputs, ...fakeWorkspace(id) } };
    }
    case "command:remote:Command":
      // The host-key read prints the host's public key; other steps' output is not used.
      return inputs.create === HOST_KEY_READ_COMMAND
        ? { id: `${name}-id`, state: { ...inputs, stdout: `${fakeHostKey(name)}\n`, stderr: "" } }
        : { id: `${name}-id`, state: inputs };
    case "random:index/randomString:RandomString":
      return { id: "none", state: { ...inputs, result: `salt${hashHex(`salt:${name}`, 12)}` } };
    case "random:index/randomPassword:RandomPassword":
      // Deterministic, so two runs record identical data; the SDK marks `result` secret.
      return { id: "none", state: { ...inputs, result: `generated-${hashHex(`password:${name}`, 40)}` } };
    default:
      return { id: `${name}-id`, state: inputs };
  }
}

/** Answers the provider functions the program may call; anything else is a test failure. */
export function answerCall(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:ec2/getAmi:getAmi": {
      const filters = (inputs.filters as { name: string; values: string[] }[] | undefined) ?? [];
      const imageName = filters.find((filter) => filter.name === "name")?.values[0];
      if (!imageName) throw new Error("getAmi mock: the lookup must filter on an exact image name");
      return {
        id: `ami-${hashHex(imageName, 17)}`,
        name: imageName,
        imageId: `ami-${hashHex(imageName, 17)}`,
      };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        id: "mock",
        names: [FAKE_AVAILABILITY_ZONE, SECOND_AVAILABILITY_ZONE],
        zoneIds: ["mock-az1", "mock-az2"],
      };
    case "aws:iam/getInstanceProfile:getInstanceProfile": {
      const name = String(inputs.name);
      return {
        id: name,
        name,
        arn: `arn:aws:iam::${FAKE_ACCOUNT_ID}:instance-profile/${name}`,
        roleArn: `arn:aws:iam::${FAKE_ACCOUNT_ID}:role/${name}-role`,
        roleName: `${name}-role`,
      };
    }
    case "aws:ec2/getSubnet:getSubnet":
      return {
        id: inputs.id,
        vpcId: `vpc-${hashHex(String(inputs.id), 17)}`,
        availabilityZone: FAKE_AVAILABILITY_ZONE,
      };
    case "aws:amp/getWorkspace:getWorkspace": {
      const id = String(inputs.workspaceId);
      return { id, workspaceId: id, ...fakeWorkspace(id) };
    }
    case "docker:index/getRegistryImage:getRegistryImage": {
      const name = String(inputs.name);
      if (name.includes("@")) throw new Error(`getRegistryImage mock: ${name} is already pinned by digest`);
      return { id: name, name, sha256Digest: fakeImageDigest(name), insecureSkipVerify: false };
    }
    default:
      throw new Error(`un-mocked provider call ${token}(${JSON.stringify(inputs)})`);
  }
}

interface TransformationArgs {
  readonly type: string;
  readonly name: string;
  readonly opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
}

type RecordedOptions = Pick<
  RecordedResource,
  "protect" | "retainOnDelete" | "deleteBeforeReplace" | "parent" | "dependsOn"
>;

interface ResourceIdentity {
  __pulumiType?: string;
  __name?: string;
}

/** `type::name` of a resource object the program handed to an option. */
function resourceKey(resource: unknown): string | undefined {
  const identity = resource as ResourceIdentity | undefined;
  return identity?.__pulumiType ? `${identity.__pulumiType}::${identity.__name}` : undefined;
}

/** The runtime's internal RPC drain; the public API has no way to await every registration. */
function waitForRegistrations(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== "function") {
    throw new Error(
      "@pulumi/pulumi no longer exposes runtime.waitForRPCs: update test/support/pulumi-mocks.ts",
    );
  }
  return runtime.waitForRPCs();
}

export interface MockedRunOptions {
  readonly stack: string;
  /** `pulumi preview` (true) or `pulumi up` (false, the default). */
  readonly preview?: boolean;
  /** Fully-qualified config (`observability:key`, `aws:region`) -> string value. */
  readonly config: Record<string, string>;
  readonly secretKeys: readonly string[];
  /** Creates the resources and returns the stack outputs. Runs after mocks and config are set. */
  readonly program: () => Promise<Record<string, unknown>>;
}

/**
 * Mocks only reach resources created through the same @pulumi/pulumi instance that set them; a
 * second copy (e.g. nested under @pulumi/aws after a version bump) fails with the obscure
 * "Program run without the Pulumi engine". Say what is wrong instead.
 */
function assertSinglePulumiSdk(): void {
  const ours = require.resolve("@pulumi/pulumi");
  for (const dependent of ["@pulumi/aws"]) {
    const theirs = require.resolve("@pulumi/pulumi", { paths: [path.dirname(require.resolve(dependent))] });
    if (theirs !== ours) {
      throw new Error(
        `${dependent} loads its own @pulumi/pulumi (${theirs}); run \`npm dedupe\` so one copy remains`,
      );
    }
  }
}

/** Runs `program` as the body of a mocked Pulumi stack and records what it registered. */
export async function runMocked(options: MockedRunOptions): Promise<MockedRun> {
  assertSinglePulumiSdk();
  const registered: Omit<RecordedResource, keyof RecordedOptions>[] = [];
  const calls: RecordedCall[] = [];
  const optionsByResource = new Map<string, RecordedOptions>();
  const unanswered: string[] = [];

  pulumi.runtime.setAllConfig(options.config, [...options.secretKeys]);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const answer = fakeState(args.type, args.name, inputs);
        registered.push({
          type: args.type,
          name: args.name,
          custom: args.custom ?? false,
          inputs,
          provider: args.provider || undefined,
          ...answer,
        });
        return answer;
      },
      call: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        let result: Record<string, unknown>;
        try {
          result = answerCall(args.token, inputs);
        } catch (error) {
          // The runtime drops the message of an invoke error; keep it for the report below.
          unanswered.push((error as Error).message);
          throw error;
        }
        calls.push({ token: args.token, inputs, provider: args.provider || undefined, result });
        return result;
      },
    },
    PROJECT,
    options.stack,
    options.preview ?? false,
  );

  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = (await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args: TransformationArgs) => {
        const dependsOn = args.opts.dependsOn;
        // Only plain resources or arrays of them are recorded; the program passes nothing else.
        const dependencies = (Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : [])
          .map(resourceKey)
          .filter((key): key is string => key !== undefined)
          .sort();
        optionsByResource.set(`${args.type}::${args.name}`, {
          protect: args.opts.protect,
          retainOnDelete: args.opts.retainOnDelete,
          deleteBeforeReplace: args.opts.deleteBeforeReplace,
          parent: resourceKey(args.opts.parent),
          ...(dependencies.length > 0 ? { dependsOn: dependencies } : {}),
        });
        return undefined;
      });
      return options.program();
    })) as Record<string, unknown> | undefined;
    await waitForRegistrations();
  } catch (error) {
    if (unanswered.length > 0) throw new Error(unanswered.join("\n"));
    throw error;
  }
  if (unanswered.length > 0) throw new Error(unanswered.join("\n"));

  // Sorted: registration order depends on when each RPC resolves, not on the program.
  const resources = registered
    .filter((resource) => resource.type !== "pulumi:pulumi:Stack")
    .map((resource) => ({ ...resource, ...optionsByResource.get(`${resource.type}::${resource.name}`) }))
    .sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));
  return { resources, calls, outputs: outputs ?? {} };
}

/** Distinctive stand-ins for every secret setting; tests check that none of them leaks. */
export const TEST_SECRET_VALUES: Readonly<Record<SecretSetting, string>> = {
  smtpPassword: "canary-smtp-password-5b1f0c9e",
  slackWebhookUrl: "https://hooks.slack.com/services/T0CANARY/B0CANARY/canarySlackWebhook5b1f0c9e",
  pagerdutyRoutingKey: "canarypagerdutyroutingkey5b1f0c9",
  heartbeatUrl: "https://heartbeat.example.com/ping/canary-heartbeat-5b1f0c9e",
  grafanaAdminPassword: "canary-grafana-admin-5b1f0c9e",
  sshPrivateKey:
    "-----BEGIN OPENSSH PRIVATE KEY-----\ncanarySshPrivateKey5b1f0c9e\n-----END OPENSSH PRIVATE KEY-----\n",
  // Exporter passwords: values every credential file format accepts (no $, quotes, backslashes, spaces).
  postgresExporterPassword: "canary-postgres-exporter-5b1f0c9e",
  mysqlExporterPassword: "canary-mysql-exporter-5b1f0c9e",
  mongodbExporterPassword: "canary-mongodb-exporter-5b1f0c9e",
  redisExporterPassword: "canary-redis-exporter-5b1f0c9e",
};

export interface ProgramRunOptions {
  /** Changes to the stack's config map: a string sets the key, undefined removes it. */
  readonly configOverrides?: Readonly<Record<string, string | undefined>>;
  /** Secret settings to provide (default: all of TEST_SECRET_VALUES). */
  readonly secrets?: Partial<Record<SecretSetting, string>>;
  /**
   * Run as `pulumi preview` (the default: the mocked graph is the same as `pulumi up`'s, and the
   * repository's production stack file, with its documentation placeholders, previews) or, with
   * false, as `pulumi up`, where a production stack refuses placeholders.
   */
  readonly preview?: boolean;
}

export interface ProgramRun extends MockedRun {
  /** The config map the program ran with (plain values; secrets are separate). */
  readonly config: Record<string, string>;
  readonly secrets: Partial<Record<SecretSetting, string>>;
  /** The validated config the program saw, from the same loader index.ts uses. */
  readonly stackConfig: StackConfig;
}

export const REPO_ROOT = path.resolve(__dirname, "../..");

interface ProgramConfig {
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
  readonly secrets: Partial<Record<SecretSetting, string>>;
}

/** The stack file's settings (through the same reader the CLI-less tools use), plus test secrets. */
async function programConfig(stack: string, options: ProgramRunOptions): Promise<ProgramConfig> {
  const { stackConfigMap } = await import("./stack-files");
  const config: Record<string, string> = { ...stackConfigMap(stack, REPO_ROOT) };
  for (const [key, value] of Object.entries(options.configOverrides ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  const secrets = options.secrets ?? TEST_SECRET_VALUES;
  const secretKeys: string[] = [];
  for (const setting of SECRET_SETTINGS) {
    const value = secrets[setting];
    if (value === undefined) continue;
    config[`${PROJECT}:${setting}`] = value;
    secretKeys.push(`${PROJECT}:${setting}`);
  }
  return { config, secretKeys, secrets };
}

/** Runs index.ts for one stack as `pulumi preview` (default) or `pulumi up` would. */
export async function runProgram(stack: string, options: ProgramRunOptions = {}): Promise<ProgramRun> {
  const { config, secretKeys, secrets } = await programConfig(stack, options);
  const plainConfig = Object.fromEntries(Object.entries(config).filter(([key]) => !secretKeys.includes(key)));

  // A fresh copy of the program (and of the config it reads at import time) for every run.
  vi.resetModules();
  let stackConfig: StackConfig | undefined;
  const run = await runMocked({
    stack,
    preview: options.preview ?? true,
    config,
    secretKeys,
    program: async () => {
      const program = (await import("../../index")) as Record<string, unknown>;
      stackConfig = (await import("../../lib/pulumi-config")).loadStackConfig(EXPORTER_SETTINGS).config;
      return Object.fromEntries(Object.entries(program).filter(([key]) => key !== "default"));
    },
  });
  if (!stackConfig) throw new Error(`the program for stack ${stack} did not run`);
  return { ...run, config: plainConfig, secrets, stackConfig };
}

export interface RefusedProgram {
  /** What importing the program threw. */
  readonly error: unknown;
  /** Resources registered before it threw (there must be none). */
  readonly registeredTypes: string[];
}

/**
 * Imports index.ts for a config that must be refused, outside a stack so that the refusal is the
 * only error: returns what it threw and every resource registration it made before that.
 */
export async function runRefusedProgram(
  stack: string,
  options: ProgramRunOptions = {},
): Promise<RefusedProgram> {
  const { config, secretKeys } = await programConfig(stack, options);
  const registeredTypes: string[] = [];
  vi.resetModules();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registeredTypes.push(args.type);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => answerCall(args.token, args.inputs),
    },
    PROJECT,
    stack,
    false,
  );
  try {
    await import("../../index");
  } catch (error) {
    await waitForRegistrations();
    return { error, registeredTypes };
  }
  await waitForRegistrations();
  throw new Error(
    `the program accepted the config of stack ${stack}; registered ${registeredTypes.join(", ")}`,
  );
}

/** Resource type of `command.remote.Command`, which every deploy step is. */
export const REMOTE_COMMAND_TYPE = "command:remote:Command";

/** Resources of one type, in registration order. */
export function resourcesOfType(run: MockedRun, type: string): RecordedResource[] {
  return run.resources.filter((resource) => resource.type === type);
}
