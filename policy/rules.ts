/**
 * The guardrails the product promises, as pure functions over a resource's type and inputs.
 *
 * `policy/policies.ts` adapts them to `@pulumi/policy` (the engine hands every resource to each
 * one during `pulumi preview` / `pulumi up --policy-pack policy`); test/policy.test.ts calls them
 * directly, and over every resource of the mocked dev and prod programs. Nothing here imports
 * Pulumi: a rule sees plain data and returns the violation messages, an empty list when compliant.
 * Messages name the resource property at fault and never repeat a value that may be a secret.
 */
import { coversWholeIpv4, type GroupIngress, internetCoverageViolations } from "./internet-coverage";

/** The resource's provider, as the engine describes it (the stack's `aws.Provider` for AWS resources). */
interface ProviderDescription {
  readonly type: string;
  readonly props: Readonly<Record<string, unknown>>;
}

export interface RuleContext {
  /**
   * Ports that may accept traffic from the whole internet (`0.0.0.0/0`, `::/0`): the pack's
   * `allowedPublicIngressPorts` config, DEFAULT_PUBLIC_INGRESS_PORTS unless a stack passes its own.
   */
  readonly allowedPublicIngressPorts: readonly number[];
  /**
   * Access key ids accepted in inputs (the pack's `allowedAccessKeyIds` config, default none): an
   * Amazon SES SMTP user name is an access key id, and Alertmanager's config carries it in plain text.
   */
  readonly allowedAccessKeyIds?: readonly string[];
  /** Stack name (from the URN): the value every instance's Environment tag must carry. */
  readonly stack?: string;
  /**
   * Stacks where Grafana's plain-HTTP port may not be open to any CIDR (the pack's
   * `plainHttpForbiddenStacks` config, DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS unless set).
   */
  readonly plainHttpForbiddenStacks?: readonly string[];
  readonly provider?: ProviderDescription;
}

export interface PolicyRule {
  /** Policy name as the engine reports it (unique in the pack). */
  readonly name: string;
  readonly description: string;
  /** Resource types the rule inspects; undefined means every resource. */
  readonly resourceTypes?: readonly string[];
  readonly check: (type: string, props: Readonly<Record<string, unknown>>, context: RuleContext) => string[];
}

/**
 * The stack opens no port to the whole internet: SSH and Grafana accept only `sshAllowedCidrs` and
 * `grafanaAllowedCidrs`, which the config loader refuses to set to 0.0.0.0/0 (lib/stack-config/),
 * and every other port is reachable from inside the VPC only (components/network.ts). A stack that
 * fronts Grafana with a public HTTPS endpoint passes its own list (docs/ci.md, "Policy pack").
 */
export const DEFAULT_PUBLIC_INGRESS_PORTS: readonly number[] = [];

const RESOURCE_TYPES = {
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  instance: "aws:ec2/instance:Instance",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  volume: "aws:ebs/volume:Volume",
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  bucketAcl: "aws:s3/bucketAcl:BucketAcl",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  encryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
} as const;

type Props = Readonly<Record<string, unknown>>;

function record(value: unknown): Props | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Props) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

/** The engine passes some nested provider inputs as JSON text: accept both forms. */
function objectOrJson(value: unknown): Props | undefined {
  if (typeof value === "string") {
    try {
      return record(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return record(value);
}

// ---------------------------------------------------------------------------------------------
// Security group ingress from the whole internet
// ---------------------------------------------------------------------------------------------

/** 0.0.0.0/0, ::/0 and any other spelling of a zero-length prefix. */
export function isWholeInternet(cidr: unknown): boolean {
  return typeof cidr === "string" && /^[0-9a-f.:]+\/0+$/i.test(cidr.trim());
}

interface IngressPermission {
  /** Where in the resource's inputs it was found, for the message. */
  readonly where: string;
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrs: readonly string[];
}

function ingressPermissions(type: string, props: Props): IngressPermission[] {
  switch (type) {
    case RESOURCE_TYPES.ingressRule:
      return [
        {
          where: "cidrIpv4/cidrIpv6",
          protocol: String(props.ipProtocol ?? ""),
          fromPort: asNumber(props.fromPort),
          toPort: asNumber(props.toPort),
          cidrs: [props.cidrIpv4, props.cidrIpv6].filter((cidr): cidr is string => typeof cidr === "string"),
        },
      ];
    case RESOURCE_TYPES.securityGroupRule:
      if (props.type !== "ingress") return [];
      return [
        {
          where: "cidrBlocks/ipv6CidrBlocks",
          protocol: String(props.protocol ?? ""),
          fromPort: asNumber(props.fromPort),
          toPort: asNumber(props.toPort),
          cidrs: [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)].map(String),
        },
      ];
    case RESOURCE_TYPES.securityGroup:
      return list(props.ingress).map((entry, index) => {
        const rule = record(entry) ?? {};
        return {
          where: `ingress[${index}]`,
          protocol: String(rule.protocol ?? ""),
          fromPort: asNumber(rule.fromPort),
          toPort: asNumber(rule.toPort),
          cidrs: [...list(rule.cidrBlocks), ...list(rule.ipv6CidrBlocks)].map(String),
        };
      });
    default:
      return [];
  }
}

const ALL_PROTOCOLS = new Set(["-1", "all"]);
const PORT_PROTOCOLS = new Set(["tcp", "udp", "6", "17"]);

function describePorts(fromPort: number, toPort: number): string {
  return fromPort === toPort ? `port ${fromPort}` : `ports ${fromPort}-${toPort}`;
}

function publicIngressViolations(type: string, props: Props, context: RuleContext): string[] {
  const allowed = new Set(context.allowedPublicIngressPorts);
  const allowedText = allowed.size > 0 ? [...allowed].sort((a, b) => a - b).join(", ") : "none";
  const messages: string[] = [];
  for (const permission of ingressPermissions(type, props)) {
    // 0.0.0.0/0 itself, or CIDRs of one permission that cover it together (0.0.0.0/1 + 128.0.0.0/1).
    const whole = permission.cidrs.filter(isWholeInternet);
    const open = whole.length > 0 ? whole : coversWholeIpv4(permission.cidrs) ? permission.cidrs : [];
    if (open.length === 0) continue;
    const source = `${permission.where} admits ${open.join(" and ")} (the whole internet)`;
    const protocol = permission.protocol.toLowerCase();
    const { fromPort, toPort } = permission;
    if (ALL_PROTOCOLS.has(protocol)) {
      messages.push(`${source} on every protocol and port; ports allowed from the internet: ${allowedText}`);
    } else if (!PORT_PROTOCOLS.has(protocol)) {
      messages.push(`${source} for protocol ${permission.protocol}; only tcp/udp ports may be allowed`);
    } else if (fromPort === undefined || toPort === undefined) {
      messages.push(`${source} without a port range; ports allowed from the internet: ${allowedText}`);
    } else {
      let everyPortAllowed = toPort - fromPort < 65536;
      for (let port = fromPort; everyPortAllowed && port <= toPort; port++) {
        everyPortAllowed = allowed.has(port);
      }
      if (!everyPortAllowed) {
        messages.push(
          `${source} on ${protocol} ${describePorts(fromPort, toPort)}; ports allowed from the internet: ${allowedText} (policy config allowedPublicIngressPorts)`,
        );
      }
    }
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------
// Grafana's plain-HTTP port from CIDRs (grafanaInsecurePlainHttp) in prod
// ---------------------------------------------------------------------------------------------

/** Grafana's own port, which serves plain HTTP (its load balancer terminates TLS in front of it). */
export const GRAFANA_HTTP_PORT = 3000;
export const DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS: readonly string[] = ["prod"];

function plainHttpGrafanaViolations(type: string, props: Props, context: RuleContext): string[] {
  const forbidden = context.plainHttpForbiddenStacks ?? DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS;
  if (context.stack === undefined || !forbidden.includes(context.stack)) return [];
  return ingressPermissions(type, props)
    .filter(
      (permission) =>
        permission.cidrs.length > 0 &&
        (ALL_PROTOCOLS.has(permission.protocol.toLowerCase()) ||
          permission.fromPort === undefined ||
          permission.toPort === undefined ||
          (permission.fromPort <= GRAFANA_HTTP_PORT && GRAFANA_HTTP_PORT <= permission.toPort)),
    )
    .map(
      (permission) =>
        `${permission.where} admits ${permission.cidrs.join(" and ")} to Grafana's plain-HTTP port ${GRAFANA_HTTP_PORT} in stack "${context.stack}": serve Grafana over HTTPS (grafanaDomain) or through the SSH tunnel, not grafanaInsecurePlainHttp`,
    );
}

// ---------------------------------------------------------------------------------------------
// Instances: IMDSv2, encrypted volumes, Environment tag
// ---------------------------------------------------------------------------------------------

export const REQUIRED_HOP_LIMIT = 2;

function metadataViolations(_type: string, props: Props): string[] {
  const options = record(props.metadataOptions);
  const messages: string[] = [];
  if (options?.httpTokens !== "required") {
    messages.push(
      `metadataOptions.httpTokens must be "required" (IMDSv2 only), got ${JSON.stringify(options?.httpTokens ?? null)}`,
    );
  }
  const hopLimit = asNumber(options?.httpPutResponseHopLimit);
  if (hopLimit !== REQUIRED_HOP_LIMIT) {
    messages.push(
      `metadataOptions.httpPutResponseHopLimit must be ${REQUIRED_HOP_LIMIT} (containers on Docker's bridge network need the second hop for instance-profile credentials), got ${hopLimit ?? "unset"}`,
    );
  }
  return messages;
}

/** `true` or the launch template's `"true"`. */
function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

function volumeEncryptionViolations(type: string, props: Props): string[] {
  if (type === RESOURCE_TYPES.volume) {
    return isTrue(props.encrypted) ? [] : ["encrypted must be true on every EBS volume"];
  }
  if (type === RESOURCE_TYPES.instance) {
    const messages: string[] = [];
    if (!isTrue(record(props.rootBlockDevice)?.encrypted)) {
      messages.push("rootBlockDevice.encrypted must be true");
    }
    list(props.ebsBlockDevices).forEach((device, index) => {
      if (!isTrue(record(device)?.encrypted))
        messages.push(`ebsBlockDevices[${index}].encrypted must be true`);
    });
    return messages;
  }
  if (type === RESOURCE_TYPES.launchTemplate) {
    return list(props.blockDeviceMappings).flatMap((mapping, index) => {
      const ebs = record(record(mapping)?.ebs);
      return ebs && !isTrue(ebs.encrypted)
        ? [`blockDeviceMappings[${index}].ebs.encrypted must be true`]
        : [];
    });
  }
  return [];
}

export const ENVIRONMENT_TAG = "Environment";

/** The Environment tag the instance ends up with: its own tags win over the provider's default tags. */
export function effectiveEnvironmentTag(props: Props, provider?: ProviderDescription): unknown {
  const own = record(props.tags)?.[ENVIRONMENT_TAG];
  if (own !== undefined) return own;
  const defaultTags = objectOrJson(provider?.props.defaultTags);
  return record(defaultTags?.tags)?.[ENVIRONMENT_TAG];
}

function environmentTagViolations(_type: string, props: Props, context: RuleContext): string[] {
  const value = effectiveEnvironmentTag(props, context.provider);
  if (typeof value !== "string" || value.trim() === "") {
    return [
      `no ${ENVIRONMENT_TAG} tag, neither in tags nor in the provider's defaultTags: Prometheus' EC2 discovery and cost reports select hosts by it`,
    ];
  }
  if (context.stack !== undefined && value !== context.stack) {
    return [
      `${ENVIRONMENT_TAG} tag is "${value}" but the stack is "${context.stack}": this stack's Prometheus would not discover the host`,
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// S3: public access, encryption, TLS only
// ---------------------------------------------------------------------------------------------

const PUBLIC_ACCESS_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
] as const;
const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);

function publicAccessViolations(type: string, props: Props): string[] {
  if (type === RESOURCE_TYPES.publicAccessBlock) {
    return PUBLIC_ACCESS_FLAGS.filter((flag) => !isTrue(props[flag])).map((flag) => `${flag} must be true`);
  }
  if (typeof props.acl === "string" && PUBLIC_ACLS.has(props.acl)) {
    return [`acl "${props.acl}" makes the bucket's objects readable outside the account`];
  }
  return [];
}

const ENCRYPTION_ALGORITHMS = new Set(["aws:kms", "aws:kms:dsse", "AES256"]);

function encryptionViolations(_type: string, props: Props): string[] {
  const rules = list(props.rules);
  if (rules.length === 0) return ["rules must set a default encryption (sseAlgorithm aws:kms or AES256)"];
  return rules.flatMap((rule, index) => {
    const algorithm = record(record(rule)?.applyServerSideEncryptionByDefault)?.sseAlgorithm;
    return typeof algorithm === "string" && ENCRYPTION_ALGORITHMS.has(algorithm)
      ? []
      : [
          `rules[${index}].applyServerSideEncryptionByDefault.sseAlgorithm must be aws:kms, aws:kms:dsse or AES256, got ${JSON.stringify(algorithm ?? null)}`,
        ];
  });
}

function isEveryone(principal: unknown): boolean {
  if (principal === "*") return true;
  const aws = record(principal)?.AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}

function strings(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === "string");
}

/** IAM's `*` and `?` wildcards in an ARN pattern, matched against a whole ARN. */
function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${regex}$`).test(arn);
}

const PARTITIONS = ["aws", "aws-cn", "aws-us-gov"];

/** Whether some resource pattern covers `arn:<partition>:s3:::<suffix>` (in any partition). */
function coversArn(resources: readonly string[], suffix: string): boolean {
  return resources.some((resource) =>
    PARTITIONS.some((partition) => arnMatches(resource, `arn:${partition}:s3:::${suffix}`)),
  );
}

/**
 * A Deny for everyone, on every S3 action, of the bucket and its objects, when the request is not
 * TLS. With the bucket's name known, the resources must cover that bucket and all its objects (a
 * deny naming another bucket protects nothing); unknown (a preview of a new bucket), any pair.
 */
function deniesInsecureTransport(statement: Props, bucket: unknown): boolean {
  const secureTransport = record(record(statement.Condition)?.Bool)?.["aws:SecureTransport"];
  const resources = strings(statement.Resource);
  const named = typeof bucket === "string" && bucket !== "";
  const coversBucket = named
    ? coversArn(resources, bucket)
    : resources.some((resource) => !resource.endsWith("/*"));
  const coversObjects = named
    ? coversArn(resources, `${bucket}/*`)
    : resources.some((resource) => resource.endsWith("/*"));
  return (
    statement.Effect === "Deny" &&
    isEveryone(statement.Principal) &&
    strings(statement.Action).some((action) => action === "s3:*" || action === "*") &&
    (secureTransport === false || secureTransport === "false") &&
    coversBucket &&
    coversObjects
  );
}

function bucketPolicyViolations(_type: string, props: Props): string[] {
  const document = objectOrJson(props.policy);
  if (!document) return ["policy is not a JSON policy document"];
  const statements = list(document.Statement).map((statement) => record(statement) ?? {});
  const messages: string[] = [];
  if (!statements.some((statement) => deniesInsecureTransport(statement, props.bucket))) {
    messages.push(
      'policy must deny every S3 action on this bucket and its objects to everyone when "aws:SecureTransport" is "false" (TLS only)',
    );
  }
  statements.forEach((statement, index) => {
    // Any condition at all: one on a header, address or date the requester controls or can wait
    // for still lets anyone in. Grant principals by name instead.
    if (
      statement.Effect === "Allow" &&
      (isEveryone(statement.Principal) || statement.NotPrincipal !== undefined)
    ) {
      const how =
        statement.Condition === undefined ? "without a condition" : "(a condition does not make it private)";
      messages.push(
        `policy Statement[${index}] allows everyone ("*") ${how}: grant named principals instead`,
      );
    }
  });
  return messages;
}

// ---------------------------------------------------------------------------------------------
// No AWS access keys anywhere
// ---------------------------------------------------------------------------------------------

/** Long-term (AKIA) and temporary (ASIA) access key ids. */
const ACCESS_KEY_IDS = /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g;
/** Credentials-file and environment spellings, e.g. `aws_secret_access_key = ...`, `AWS_SECRET_ACCESS_KEY=...`. */
const SECRET_KEY_ASSIGNMENT = /aws_(?:secret_access_key|session_token)\s*[=:]/i;
/** Input names (lowercase, letters and digits only) that hold AWS credentials. */
const CREDENTIAL_FIELDS = new Set([
  "accesskey",
  "secretkey",
  "accesskeyid",
  "secretaccesskey",
  "awsaccesskeyid",
  "awssecretaccesskey",
  "awssessiontoken",
  "sessiontoken",
  "token",
]);

function credentialViolations(type: string, props: Props, context: RuleContext): string[] {
  const allowedKeyIds = new Set(context.allowedAccessKeyIds ?? []);
  const hasUnlistedKeyId = (text: string) =>
    [...text.matchAll(ACCESS_KEY_IDS)].some(([keyId]) => !allowedKeyIds.has(keyId));
  const messages: string[] = [];
  const visit = (value: unknown, path: string, key: string | undefined) => {
    if (typeof value === "string") {
      const normalizedKey = key?.toLowerCase().replace(/[^a-z0-9]/g, "");
      // `token` is only a credential on the AWS provider itself.
      const credentialField =
        normalizedKey !== undefined &&
        CREDENTIAL_FIELDS.has(normalizedKey) &&
        (normalizedKey !== "token" || type.startsWith("pulumi:providers:aws"));
      if (credentialField && value.trim() !== "") {
        messages.push(`${path} holds AWS credentials; use an instance profile or OIDC role instead`);
      } else if (hasUnlistedKeyId(value)) {
        messages.push(
          `${path} contains an AWS access key id (AKIA/ASIA...); never put keys in resource inputs (an SES SMTP user name is one: list it in allowedAccessKeyIds to accept it)`,
        );
      } else if (SECRET_KEY_ASSIGNMENT.test(value)) {
        messages.push(
          `${path} sets an AWS secret access key or session token; never put keys in resource inputs`,
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(item, `${path}[${index}]`, key);
      });
      return;
    }
    const object = record(value);
    if (!object) return;
    for (const [childKey, child] of Object.entries(object)) {
      visit(child, path === "" ? childKey : `${path}.${childKey}`, childKey);
    }
  };
  visit(props, "", undefined);
  return messages;
}

// ---------------------------------------------------------------------------------------------
// The pack
// ---------------------------------------------------------------------------------------------

export const POLICY_NAMES = {
  publicIngress: "no-public-ingress-except-allowed-ports",
  imdsv2: "imdsv2-required-hop-limit-2",
  encryptedVolumes: "encrypted-ebs-volumes",
  s3PublicAccess: "s3-public-access-blocked",
  s3Encryption: "s3-default-encryption",
  s3TlsOnly: "s3-tls-only-bucket-policy",
  noAccessKeys: "no-aws-access-keys-in-inputs",
  environmentTag: "instances-tagged-environment",
  grafanaPlainHttp: "no-plain-http-grafana-in-prod",
} as const;

export const POLICY_RULES: readonly PolicyRule[] = [
  {
    name: POLICY_NAMES.publicIngress,
    description:
      "Security groups admit 0.0.0.0/0 or ::/0 only on the ports the stack allows (config allowedPublicIngressPorts).",
    resourceTypes: [
      RESOURCE_TYPES.ingressRule,
      RESOURCE_TYPES.securityGroup,
      RESOURCE_TYPES.securityGroupRule,
    ],
    check: publicIngressViolations,
  },
  {
    name: POLICY_NAMES.grafanaPlainHttp,
    description:
      "In prod stacks (config plainHttpForbiddenStacks), no security group admits a CIDR to Grafana's plain-HTTP port 3000.",
    resourceTypes: [
      RESOURCE_TYPES.ingressRule,
      RESOURCE_TYPES.securityGroup,
      RESOURCE_TYPES.securityGroupRule,
    ],
    check: plainHttpGrafanaViolations,
  },
  {
    name: POLICY_NAMES.imdsv2,
    description:
      "EC2 instances and launch templates require IMDSv2 tokens with a PUT response hop limit of 2.",
    resourceTypes: [RESOURCE_TYPES.instance, RESOURCE_TYPES.launchTemplate],
    check: metadataViolations,
  },
  {
    name: POLICY_NAMES.encryptedVolumes,
    description: "EBS volumes, instance root and block devices, and launch template devices are encrypted.",
    resourceTypes: [RESOURCE_TYPES.volume, RESOURCE_TYPES.instance, RESOURCE_TYPES.launchTemplate],
    check: volumeEncryptionViolations,
  },
  {
    name: POLICY_NAMES.s3PublicAccess,
    description: "S3 public access blocks set all four flags; no bucket or bucket ACL is public.",
    resourceTypes: [
      RESOURCE_TYPES.publicAccessBlock,
      RESOURCE_TYPES.bucket,
      RESOURCE_TYPES.bucketV2,
      RESOURCE_TYPES.bucketAcl,
    ],
    check: publicAccessViolations,
  },
  {
    name: POLICY_NAMES.s3Encryption,
    description: "S3 default encryption is aws:kms, aws:kms:dsse or AES256.",
    resourceTypes: [RESOURCE_TYPES.encryption, RESOURCE_TYPES.encryptionV2],
    check: encryptionViolations,
  },
  {
    name: POLICY_NAMES.s3TlsOnly,
    description:
      "S3 bucket policies deny every request without TLS on that bucket and its objects, and allow nothing to everyone, with or without a condition.",
    resourceTypes: [RESOURCE_TYPES.bucketPolicy],
    check: bucketPolicyViolations,
  },
  {
    name: POLICY_NAMES.noAccessKeys,
    description: "No resource input holds an AWS access key id, secret access key or session token.",
    check: credentialViolations,
  },
  {
    name: POLICY_NAMES.environmentTag,
    description:
      "Every EC2 instance carries the stack's Environment tag (its own or the provider's default tags).",
    resourceTypes: [RESOURCE_TYPES.instance],
    check: environmentTagViolations,
  },
];

/** Whether a rule looks at resources of this type. */
export function ruleApplies(rule: PolicyRule, type: string): boolean {
  return rule.resourceTypes === undefined || rule.resourceTypes.includes(type);
}

// ---------------------------------------------------------------------------------------------
// Stack policy: every bucket has its public access block, default encryption and TLS-only policy
// ---------------------------------------------------------------------------------------------

export const BUCKET_LOCKDOWN_POLICY = {
  name: "s3-buckets-locked-down",
  description:
    "Every S3 bucket has a public access block, a default encryption configuration and a bucket policy of its own.",
} as const;

/** A resource as a stack policy sees it: its outputs and what each input was computed from. */
export interface StackResource {
  readonly type: string;
  readonly urn: string;
  readonly props: Props;
  /** Input name -> URNs of the resources the value came from (the engine's propertyDependencies). */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

export interface StackViolation {
  readonly urn: string;
  readonly message: string;
}

const BUCKET_COMPANIONS: readonly { readonly types: readonly string[]; readonly what: string }[] = [
  { types: [RESOURCE_TYPES.publicAccessBlock], what: "public access block (aws.s3.BucketPublicAccessBlock)" },
  {
    types: [RESOURCE_TYPES.encryption, RESOURCE_TYPES.encryptionV2],
    what: "default encryption (aws.s3.BucketServerSideEncryptionConfiguration)",
  },
  { types: [RESOURCE_TYPES.bucketPolicy], what: "bucket policy (aws.s3.BucketPolicy, TLS only)" },
];

/**
 * Whether `companion` configures `bucket`: its `bucket` input was computed from the bucket (known
 * even during a preview, before the bucket has a name), or names it.
 */
function configures(companion: StackResource, bucket: StackResource): boolean {
  if (companion.propertyDependencies?.bucket?.includes(bucket.urn)) return true;
  const target = companion.props.bucket;
  return typeof target === "string" && (target === bucket.props.bucket || target === bucket.props.id);
}

/** For each bucket of the stack, the companions it lacks. */
export function bucketLockdownViolations(resources: readonly StackResource[]): StackViolation[] {
  const buckets = resources.filter(
    (resource) => resource.type === RESOURCE_TYPES.bucket || resource.type === RESOURCE_TYPES.bucketV2,
  );
  return buckets.flatMap((bucket) =>
    BUCKET_COMPANIONS.filter(
      ({ types }) =>
        !resources.some((resource) => types.includes(resource.type) && configures(resource, bucket)),
    ).map(({ what }) => ({ urn: bucket.urn, message: `bucket has no ${what}` })),
  );
}

// ---------------------------------------------------------------------------------------------
// Stack policy: CIDRs of separate rules that admit the whole internet together
// ---------------------------------------------------------------------------------------------

export const INTERNET_UNION_POLICY = {
  name: "no-public-ingress-by-cidr-union",
  description:
    "No security group's rules admit the whole internet together (0.0.0.0/1 plus 128.0.0.0/1, ...) on a port the stack does not allow from it.",
} as const;

/** Every ingress permission of the stack, keyed by its security group (id, or its URN in preview). */
function stackIngress(resources: readonly StackResource[]): GroupIngress[] {
  return resources.flatMap((resource) => {
    const groupId =
      resource.type === RESOURCE_TYPES.securityGroup
        ? (resource.props.id ?? resource.urn)
        : (resource.props.securityGroupId ?? resource.propertyDependencies?.securityGroupId?.[0]);
    if (typeof groupId !== "string") return [];
    return ingressPermissions(resource.type, resource.props).map((permission) => ({
      group: groupId,
      urn: resource.urn,
      protocol: permission.protocol,
      fromPort: permission.fromPort,
      toPort: permission.toPort,
      cidrs: permission.cidrs,
    }));
  });
}

export function internetUnionViolations(
  resources: readonly StackResource[],
  allowedPorts: readonly number[],
): StackViolation[] {
  return internetCoverageViolations(stackIngress(resources), allowedPorts);
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` -> `<stack>`. */
export function stackFromUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}
