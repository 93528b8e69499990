/**
 * The typed, validated stack configuration: the only thing components and renderers see.
 *
 * `parseStackConfig` is pure: it takes the raw settings (as Pulumi or a stack file holds them)
 * and either returns a frozen StackConfig or throws a StackConfigError listing every problem,
 * each with the `pulumi config set ...` line that fixes it. Secrets never enter StackConfig:
 * it only records which ones are set; their values travel separately as Pulumi secrets.
 */

// The rules own the default runbook location. configs/rules imports only types from this file;
// a value import there would make this a cycle (test/stack-config.test.ts "runbook links" catches it).
import { isOptionalExporter, OPTIONAL_EXPORTERS, type OptionalExporter } from "./catalog";
import {
  cidrContains,
  formatIpv4,
  type Ipv4Cidr,
  isPrivateCidr,
  PRIVATE_RANGES,
  parseCidr,
  parseIpv4,
} from "./cidr";

/** Project name in Pulumi.yaml: the namespace of every setting (`observability:logRetentionDays`); the region is `aws:region`. */
export const PROJECT = "observability";

export type Architecture = "x86_64" | "arm64";

/**
 * How Pulumi authenticates over SSH to deploy the hosts: `key` with the sshPrivateKey secret from
 * stack config, `agent` with whatever key the SSH agent of the machine running `pulumi up` holds.
 */
export const SSH_AUTH_MODES = ["key", "agent"] as const;
export type SshAuth = (typeof SSH_AUTH_MODES)[number];

/** Names of the settings that hold secrets; their values never enter StackConfig. */
export const SECRET_SETTINGS = [
  "smtpPassword",
  "slackWebhookUrl",
  "pagerdutyRoutingKey",
  "heartbeatUrl",
  "grafanaAdminPassword",
  "sshPrivateKey",
  "postgresExporterPassword",
  "mysqlExporterPassword",
  "mongodbExporterPassword",
  "redisExporterPassword",
] as const;
export type SecretSetting = (typeof SECRET_SETTINGS)[number];

/** Optional exporters that log in to their service, each with one monitoring account per stack. */
export const CREDENTIALED_EXPORTERS = ["postgres", "mysql", "mongodb", "redis"] as const;
export type CredentialedExporter = (typeof CREDENTIALED_EXPORTERS)[number];

/** The secret holding each credentialed exporter's password. */
export const EXPORTER_PASSWORD_SETTINGS: Readonly<Record<CredentialedExporter, SecretSetting>> = {
  postgres: "postgresExporterPassword",
  mysql: "mysqlExporterPassword",
  mongodb: "mongodbExporterPassword",
  redis: "redisExporterPassword",
};

/** Exporters whose service always needs a password; Redis may run without `requirepass`. */
const PASSWORD_REQUIRED_EXPORTERS: readonly CredentialedExporter[] = ["postgres", "mysql", "mongodb"];

export function isCredentialedExporter(exporter: OptionalExporter): exporter is CredentialedExporter {
  return (CREDENTIALED_EXPORTERS as readonly string[]).includes(exporter);
}

export interface InstanceSettings {
  readonly instanceType: string;
  /** Derived from the instance family (t4g, m7g, ... are arm64). */
  readonly architecture: Architecture;
}

export interface MonitorSettings extends InstanceSettings {
  readonly rootVolumeGb: number;
  /** Separate encrypted EBS volume for Prometheus, Loki, Grafana and Alertmanager data. */
  readonly dataVolumeGb: number;
}

export interface ClientHost extends InstanceSettings {
  readonly name: string;
  readonly rootVolumeGb: number;
  readonly exporters: readonly OptionalExporter[];
}

/** A host outside AWS: scraped through file SD, agents deployed over SSH. */
export interface ExternalHost {
  readonly name: string;
  /**
   * IPv4 address Prometheus scrapes and SSH reaches; the monitor admits the host's log pushes to
   * Loki from `<address>/32`, so it is never a DNS name.
   */
  readonly address: string;
  readonly sshUser: string;
  readonly exporters: readonly OptionalExporter[];
  /**
   * The host's SSH host key as `<type> <base64>` (comment dropped). When set, every connection to
   * the host verifies it, the first one included; unset means trust on first use (docs/ssh.md).
   */
  readonly hostKey?: string;
}

export type NetworkSettings =
  | { readonly mode: "create"; readonly vpcCidr: string; readonly subnetCidr: string }
  | { readonly mode: "existing"; readonly vpcId: string; readonly subnetId: string };

export interface AccessSettings {
  /** CIDRs allowed to reach SSH (22) on every host. Never 0.0.0.0/0. */
  readonly sshCidrs: readonly string[];
  /** CIDRs allowed to reach Grafana (3000) on the monitor. */
  readonly grafanaCidrs: readonly string[];
  /** Exactly one of these is set. */
  readonly sshPublicKey?: string;
  readonly sshKeyPairName?: string;
  /** Login user on the AMI (ubuntu). */
  readonly sshUser: string;
  /** How the deploy authenticates over SSH; unset means `key` (the sshPrivateKey secret). */
  readonly sshAuth?: SshAuth;
}

export interface ImageSettings {
  /** An explicit AMI id wins over the name lookup. */
  readonly amiId?: string;
  /** Exact, dated Canonical image name per architecture: the same image every run. */
  readonly ubuntuImageNames: Readonly<Record<Architecture, string>>;
  readonly ubuntuImageOwner: string;
}

export interface MetricsSettings {
  /** Prometheus durations, e.g. "30s", "15d". */
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  readonly retentionTime: string;
  /** e.g. "40GB"; unset means time-based retention only. */
  readonly retentionSize?: string;
}

export interface LogSettings {
  /** Loki compactor retention; the bucket's lifecycle safety net is derived from it. */
  readonly retentionDays: number;
}

export interface EmailSettings {
  readonly to: readonly string[];
  readonly from: string;
  /** host:port */
  readonly smarthost: string;
  readonly username: string;
  readonly requireTls: boolean;
}

/** Alert thresholds and `for` durations, settable per stack. */
export interface AlertThresholds {
  readonly hostDownFor: string;
  readonly cpuPercent: number;
  readonly cpuFor: string;
  readonly memoryPercent: number;
  readonly memoryFor: string;
  readonly diskPercent: number;
  readonly diskFor: string;
  /** Hours ahead `predict_linear` looks for a filesystem filling up. */
  readonly diskFillHours: number;
  readonly inodePercent: number;
}

export interface AlertingSettings {
  /** Present when email alerting is on (then the SMTP password secret is set). */
  readonly email?: EmailSettings;
  /** Present when the Slack webhook secret is set. */
  readonly slack?: { readonly channel: string };
  /** True when the PagerDuty routing key secret is set. */
  readonly pagerduty: boolean;
  /** True when the Watchdog heartbeat URL secret is set. */
  readonly heartbeat: boolean;
  readonly thresholds: AlertThresholds;
  /** https URL without trailing slash; every alert's runbook_url is `<runbookBaseUrl>/<Alert>.md`. */
  readonly runbookBaseUrl: string;
}

/**
 * Login names of the exporters' monitoring accounts: one per exporter kind per stack, shared by
 * every host that enables that exporter (Redis has no user: it authenticates by password only).
 */
export interface ExporterUsers {
  readonly postgres: string;
  readonly mysql: string;
  readonly mongodb: string;
}

export interface GrafanaSettings {
  /** Public root URL; unset means derived from the monitor's Elastic IP at deploy time. */
  readonly rootUrl?: string;
}

export interface StackConfig {
  readonly project: string;
  /** The Pulumi stack name; also the `Environment` tag and Prometheus `environment` label. */
  readonly stack: string;
  readonly region: string;
  /** Extra tags on every resource (merged under the product's own tags). */
  readonly tags: Readonly<Record<string, string>>;
  /** Prod: protect the Loki bucket and data volume from deletion. Dev: destroyable. */
  readonly protectData: boolean;
  readonly network: NetworkSettings;
  readonly access: AccessSettings;
  /** Existing instance profile to attach instead of creating IAM roles (restricted accounts). */
  readonly existingInstanceProfile?: string;
  readonly images: ImageSettings;
  readonly monitor: MonitorSettings;
  readonly clients: readonly ClientHost[];
  readonly externalHosts: readonly ExternalHost[];
  readonly metrics: MetricsSettings;
  readonly logs: LogSettings;
  readonly alerting: AlertingSettings;
  readonly grafana: GrafanaSettings;
  readonly exporterUsers: ExporterUsers;
  /** Which secret settings are set (values are never here). */
  readonly secretsSet: Readonly<Record<SecretSetting, boolean>>;
  /**
   * Deployed compose files name every image as `repo:tag@sha256:<digest>`, the digest read from
   * the registry at preview/up time; unset means true. False: tags only (registry unreachable).
   */
  readonly pinImageDigests?: boolean;
}

/** How the deploy authenticates over SSH (`key` when the config does not say). */
export function sshAuthOf(config: StackConfig): SshAuth {
  return config.access.sshAuth ?? "key";
}

/** Whether deployed compose files pin images by registry digest (true when the config does not say). */
export function pinsImageDigests(config: StackConfig): boolean {
  return config.pinImageDigests ?? true;
}

// ---------------------------------------------------------------------------------------------
// Settings catalogue: every setting the loader knows, with its Pulumi.yaml type and default.
// Pulumi.yaml declares the scalar ones (a test keeps the two in step); structured ones (objects,
// arrays of objects) and secrets are validated here and documented in docs/configuration.md.
// ---------------------------------------------------------------------------------------------

/** Key of the region setting: it belongs to the AWS provider, so Pulumi.yaml cannot type it. */
export const REGION_KEY = "aws:region";

/** Canonical's AWS account: owner of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";

/** Pinned, dated Ubuntu 24.04 LTS images: the same image every run, never "most recent". */
export const DEFAULT_UBUNTU_IMAGE_NAMES: Readonly<Record<Architecture, string>> = {
  x86_64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610",
  arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610",
};

/** Where `runbooks/<AlertName>.md` is browsable unless a stack sets runbookBaseUrl (point it at your fork). */
export const DEFAULT_RUNBOOK_BASE_URL = "https://github.com/example-org/observability/blob/main/runbooks";

export const MAX_CLIENTS = 20;
export const MAX_EXTERNAL_HOSTS = 50;

/** How a setting is typed in Pulumi.yaml (`array` means an array of strings). */
export type SettingType = "string" | "integer" | "boolean" | "array";

export interface ScalarSettingSpec {
  readonly kind: "scalar";
  readonly key: string;
  readonly type: SettingType;
  /** Pulumi.yaml default. An empty string or array means "unset" (or, if required, "must be set"). */
  readonly default: string | number | boolean | readonly string[];
  readonly description: string;
  /** Value used in `pulumi config set` fix lines. */
  readonly example: string;
}

export interface StructuredSettingSpec {
  readonly kind: "structured";
  readonly key: string;
  readonly description: string;
  readonly example: string;
}

export interface SecretSettingSpec {
  readonly kind: "secret";
  readonly key: SecretSetting;
  readonly description: string;
  readonly example: string;
}

export type SettingSpec = ScalarSettingSpec | StructuredSettingSpec | SecretSettingSpec;

const scalar = (
  key: string,
  type: SettingType,
  defaultValue: ScalarSettingSpec["default"],
  example: string,
  description: string,
): ScalarSettingSpec => ({ kind: "scalar", key, type, default: defaultValue, example, description });

/** Every scalar setting, in the order Pulumi.yaml and docs/configuration.md list them. */
export const SCALAR_SETTINGS: readonly ScalarSettingSpec[] = [
  scalar(
    "monitorInstanceType",
    "string",
    "t3.medium",
    "m6i.large",
    "EC2 type of the monitor host (Prometheus, Loki, Grafana, Alertmanager); medium or larger.",
  ),
  scalar(
    "clientInstanceType",
    "string",
    "t3.small",
    "t3.small",
    "Default EC2 type of client hosts (a client may override it).",
  ),
  scalar(
    "vpcCidr",
    "string",
    "10.42.0.0/16",
    "10.42.0.0/16",
    "CIDR of the dedicated VPC (ignored with existingVpcId).",
  ),
  scalar(
    "subnetCidr",
    "string",
    "10.42.1.0/24",
    "10.42.1.0/24",
    "CIDR of the public subnet, inside vpcCidr (ignored with existingSubnetId).",
  ),
  scalar(
    "existingVpcId",
    "string",
    "",
    "vpc-0123456789abcdef0",
    "Use this VPC instead of creating one (set together with existingSubnetId).",
  ),
  scalar(
    "existingSubnetId",
    "string",
    "",
    "subnet-0123456789abcdef0",
    "Subnet in existingVpcId for every host (set together with existingVpcId).",
  ),
  scalar(
    "sshAllowedCidrs",
    "array",
    [],
    "203.0.113.10/32",
    "Required. IPv4 CIDRs allowed to reach SSH (22); /16 or narrower, never 0.0.0.0/0.",
  ),
  scalar(
    "grafanaAllowedCidrs",
    "array",
    [],
    "203.0.113.0/24",
    "Required. IPv4 CIDRs allowed to reach Grafana (3000, plain HTTP); /8 or narrower, never 0.0.0.0/0.",
  ),
  scalar(
    "sshPublicKey",
    "string",
    "",
    "'ssh-ed25519 AAAA... you@example.com'",
    "OpenSSH public key to install on every host (exactly one of this and sshKeyPairName).",
  ),
  scalar(
    "sshKeyPairName",
    "string",
    "",
    "ops-keypair",
    "Existing EC2 key pair name (exactly one of this and sshPublicKey).",
  ),
  scalar("sshUser", "string", "ubuntu", "ubuntu", "Login user of the AMI."),
  scalar(
    "sshAuth",
    "string",
    "key",
    "agent",
    "How the deploy logs in over SSH: key (the sshPrivateKey secret) or agent (the SSH agent at SSH_AUTH_SOCK of the machine running pulumi).",
  ),
  scalar(
    "instanceProfileName",
    "string",
    "",
    "LabInstanceProfile",
    "Existing instance profile to attach instead of creating IAM roles (restricted accounts).",
  ),
  scalar(
    "amiId",
    "string",
    "",
    "ami-0123456789abcdef0",
    "Explicit AMI for every host; wins over the Ubuntu image names. Must match every host's architecture.",
  ),
  scalar(
    "ubuntuImageNameX86",
    "string",
    DEFAULT_UBUNTU_IMAGE_NAMES.x86_64,
    DEFAULT_UBUNTU_IMAGE_NAMES.x86_64,
    "Exact dated Canonical image name for x86_64 hosts.",
  ),
  scalar(
    "ubuntuImageNameArm",
    "string",
    DEFAULT_UBUNTU_IMAGE_NAMES.arm64,
    DEFAULT_UBUNTU_IMAGE_NAMES.arm64,
    "Exact dated Canonical image name for arm64 hosts.",
  ),
  scalar("monitorRootVolumeGb", "integer", 20, "20", "Monitor root volume (GiB, encrypted gp3), at least 8."),
  scalar(
    "monitorDataVolumeGb",
    "integer",
    50,
    "100",
    "Monitor data volume for Prometheus, Loki, Grafana and Alertmanager data (GiB, encrypted gp3), at least 10.",
  ),
  scalar(
    "clientRootVolumeGb",
    "integer",
    16,
    "16",
    "Default client root volume (GiB, encrypted gp3), at least 8.",
  ),
  scalar(
    "scrapeInterval",
    "string",
    "30s",
    "30s",
    "Prometheus scrape interval (Prometheus duration, 1s to 5m).",
  ),
  scalar(
    "evaluationInterval",
    "string",
    "30s",
    "30s",
    "Prometheus rule evaluation interval (Prometheus duration, 1s to 5m).",
  ),
  scalar(
    "metricsRetention",
    "string",
    "15d",
    "15d",
    "Prometheus retention time (Prometheus duration, at least 1d).",
  ),
  scalar(
    "metricsRetentionSize",
    "string",
    "",
    "40GB",
    "Optional Prometheus size limit (e.g. 40GB); must fit the data volume.",
  ),
  scalar(
    "logRetentionDays",
    "integer",
    30,
    "30",
    "Loki retention in days (1-3650); the bucket's lifecycle safety net follows it.",
  ),
  scalar(
    "alertEmailTo",
    "array",
    [],
    "oncall@example.com",
    "Alert email recipients; empty turns email alerting off.",
  ),
  scalar(
    "smtpSmarthost",
    "string",
    "",
    "email-smtp.eu-west-1.amazonaws.com:587",
    "SMTP relay as host:port (required with email).",
  ),
  scalar(
    "smtpFrom",
    "string",
    "",
    "alertmanager@example.com",
    "Sender address of alert emails (required with email).",
  ),
  scalar(
    "smtpUsername",
    "string",
    "",
    "AKIAEXAMPLESMTPUSER",
    "SMTP auth user name (required with email; the password is the smtpPassword secret).",
  ),
  scalar(
    "smtpRequireTls",
    "boolean",
    true,
    "true",
    "Require STARTTLS to the relay; may be false only for implicit TLS on port 465.",
  ),
  scalar(
    "slackChannel",
    "string",
    "#alerts",
    "'#alerts'",
    "Slack channel for alerts (used when the slackWebhookUrl secret is set).",
  ),
  scalar(
    "runbookBaseUrl",
    "string",
    DEFAULT_RUNBOOK_BASE_URL,
    "https://git.example.com/sre/observability/blob/main/runbooks",
    "https URL (no trailing slash) where runbooks/<AlertName>.md is browsable; alerts link to it.",
  ),
  scalar(
    "grafanaRootUrl",
    "string",
    "",
    "https://grafana.example.com/",
    "Public Grafana URL; unset means http://<monitor Elastic IP>:3000/.",
  ),
  scalar(
    "protectData",
    "boolean",
    false,
    "true",
    "Protect the Loki bucket and the monitor data volume from deletion (prod).",
  ),
  scalar(
    "pinImageDigests",
    "boolean",
    true,
    "false",
    "Deploy every container image as tag@sha256 digest read from its registry (false: tags only, for registries this machine cannot reach).",
  ),
  scalar(
    "postgresExporterUser",
    "string",
    "postgres_exporter",
    "postgres_exporter",
    "PostgreSQL role the postgres exporter logs in as (one per stack; password: postgresExporterPassword).",
  ),
  scalar(
    "mysqlExporterUser",
    "string",
    "exporter",
    "exporter",
    "MySQL user the mysqld exporter logs in as (one per stack; password: mysqlExporterPassword).",
  ),
  scalar(
    "mongodbExporterUser",
    "string",
    "exporter",
    "exporter",
    "MongoDB user the mongodb exporter logs in as (one per stack; password: mongodbExporterPassword).",
  ),
];

export const STRUCTURED_SETTINGS: readonly StructuredSettingSpec[] = [
  {
    kind: "structured",
    key: "clients",
    description:
      "Client hosts: list of { name, instanceType?, exporters?, rootVolumeGb? }. Default: one client named client-1.",
    example: "web-1",
  },
  {
    kind: "structured",
    key: "externalHosts",
    description:
      "Hosts outside AWS: list of { name, address (IPv4), sshUser, exporters?, hostKey? }. Default: none.",
    example: "onprem-1",
  },
  {
    kind: "structured",
    key: "tags",
    description: "Extra tags on every resource (map of key to value). Default: none.",
    example: "sre",
  },
  {
    kind: "structured",
    key: "alertThresholds",
    description: "Overrides of alert thresholds (see the table in docs/configuration.md). Default: none.",
    example: "90",
  },
];

export const SECRET_SETTING_SPECS: readonly SecretSettingSpec[] = [
  {
    kind: "secret",
    key: "grafanaAdminPassword",
    example: "<password>",
    description: "Required. Grafana admin password.",
  },
  {
    kind: "secret",
    key: "smtpPassword",
    example: "<smtp-password>",
    description: "SMTP password; required when alertEmailTo is set.",
  },
  {
    kind: "secret",
    key: "slackWebhookUrl",
    example: "https://hooks.slack.com/services/<...>",
    description: "Slack incoming webhook; turns Slack alerts on.",
  },
  {
    kind: "secret",
    key: "pagerdutyRoutingKey",
    example: "<routing-key>",
    description: "PagerDuty Events v2 routing key; turns paging on.",
  },
  {
    kind: "secret",
    key: "heartbeatUrl",
    example: "https://heartbeat.example.com/<id>",
    description: "Dead man's switch URL the Watchdog alert is sent to.",
  },
  {
    kind: "secret",
    key: "sshPrivateKey",
    example: '"$(cat ~/.ssh/id_ed25519)"',
    description:
      "Private key (matching the hosts' key pair) Pulumi deploys files and containers with over SSH; required unless sshAuth is agent.",
  },
  {
    kind: "secret",
    key: "postgresExporterPassword",
    example: "<password>",
    description: "Password of postgresExporterUser; required when a host enables the postgres exporter.",
  },
  {
    kind: "secret",
    key: "mysqlExporterPassword",
    example: "<password>",
    description: "Password of mysqlExporterUser; required when a host enables the mysql exporter.",
  },
  {
    kind: "secret",
    key: "mongodbExporterPassword",
    example: "<password>",
    description: "Password of mongodbExporterUser; required when a host enables the mongodb exporter.",
  },
  {
    kind: "secret",
    key: "redisExporterPassword",
    example: "<password>",
    description: "Redis `requirepass` password; optional (unset: Redis without a password).",
  },
];

export const ALL_SETTINGS: readonly SettingSpec[] = [
  ...SCALAR_SETTINGS,
  ...STRUCTURED_SETTINGS,
  ...SECRET_SETTING_SPECS,
];

export const DEFAULT_CLIENT_NAME = "client-1";

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = {
  hostDownFor: "2m",
  cpuPercent: 80,
  cpuFor: "5m",
  memoryPercent: 85,
  memoryFor: "5m",
  diskPercent: 85,
  diskFor: "5m",
  diskFillHours: 24,
  inodePercent: 90,
};

/** Tags the product sets itself; extra tags may not override them. */
export const RESERVED_TAG_KEYS = ["Name", "Environment", "Scrape", "Exporters", "ManagedBy"] as const;

// ---------------------------------------------------------------------------------------------
// Instance types
// ---------------------------------------------------------------------------------------------

/** Instance families the stack is tested against, with their CPU architecture. */
export const INSTANCE_FAMILIES: Readonly<Record<string, Architecture>> = {
  t3: "x86_64",
  t3a: "x86_64",
  m5: "x86_64",
  m6i: "x86_64",
  m6a: "x86_64",
  m7i: "x86_64",
  c6i: "x86_64",
  c7i: "x86_64",
  r6i: "x86_64",
  r7i: "x86_64",
  t4g: "arm64",
  m6g: "arm64",
  m7g: "arm64",
  c7g: "arm64",
  r7g: "arm64",
};

const BURSTABLE_FAMILIES = new Set(["t3", "t3a", "t4g"]);
const SIZE_ORDER = ["nano", "micro", "small", "medium", "large", "xlarge"];

/** Rank of a size: nano 0 ... large 4, xlarge 5, 2xlarge 6, ...; metal ranks highest. */
function sizeRank(size: string): number {
  const index = SIZE_ORDER.indexOf(size);
  if (index !== -1) return index;
  if (size === "metal") return 1000;
  const multiple = /^(\d+)xlarge$/.exec(size);
  return multiple ? 5 + Number(multiple[1]) : -1;
}

export interface InstanceTypeInfo {
  readonly family: string;
  readonly size: string;
  readonly architecture: Architecture;
}

/** Parses `family.size` against the allow-list; a string result is the problem. */
export function parseInstanceType(instanceType: string): InstanceTypeInfo | string {
  const match = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(instanceType);
  if (!match) return `"${instanceType}" is not an EC2 instance type like t3.medium`;
  const family = match[1] as string;
  const size = match[2] as string;
  const architecture = INSTANCE_FAMILIES[family];
  if (!architecture) {
    return `instance family "${family}" is not supported (allowed: ${Object.keys(INSTANCE_FAMILIES).join(", ")})`;
  }
  const rank = sizeRank(size);
  const smallest = BURSTABLE_FAMILIES.has(family) ? "nano" : architecture === "arm64" ? "medium" : "large";
  const largest = BURSTABLE_FAMILIES.has(family) ? "2xlarge" : "metal";
  if (rank < sizeRank(smallest) || rank > sizeRank(largest)) {
    return `"${instanceType}" does not exist: ${family} sizes run from ${smallest} to ${largest}`;
  }
  return { family, size, architecture };
}

/** Architecture of a supported instance type; throws on an unsupported one. */
export function instanceArchitecture(instanceType: string): Architecture {
  const parsed = parseInstanceType(instanceType);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed.architecture;
}

// ---------------------------------------------------------------------------------------------
// Prometheus durations
// ---------------------------------------------------------------------------------------------

const DURATION_UNITS_MS: ReadonlyArray<readonly [string, number]> = [
  ["y", 365 * 24 * 3600 * 1000],
  ["w", 7 * 24 * 3600 * 1000],
  ["d", 24 * 3600 * 1000],
  ["h", 3600 * 1000],
  ["m", 60 * 1000],
  ["s", 1000],
  ["ms", 1],
];

/**
 * Milliseconds of a Prometheus duration (`30s`, `1h30m`, `15d`): units y w d h m s ms, each at
 * most once, largest first. Undefined when malformed.
 */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const pattern = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
  if (text === "") return undefined;
  const match = pattern.exec(text);
  if (!match) return undefined;
  let total = 0;
  DURATION_UNITS_MS.forEach(([, unitMs], index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * unitMs;
  });
  return total;
}

const DAY_MS = 24 * 3600 * 1000;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export interface ConfigProblem {
  /** Fully qualified setting, e.g. `observability:clients[1].name` or `aws:region`. */
  readonly setting: string;
  readonly problem: string;
  /** The command that fixes it: `pulumi config set [--secret|--path] ...` or `pulumi config rm ...`. */
  readonly fix: string;
}

export class StackConfigError extends Error {
  /** The Pulumi stack name (not `stack`, which Error uses for the trace). */
  readonly stackName: string;
  readonly problems: readonly ConfigProblem[];

  constructor(stack: string, problems: readonly ConfigProblem[]) {
    const count = problems.length;
    const lines = problems.map((p) => `  - ${p.setting}: ${p.problem}. Fix: ${p.fix}`);
    super(
      [`Stack "${stack}" has ${count} configuration problem${count === 1 ? "" : "s"}:`, ...lines].join("\n"),
    );
    this.name = "StackConfigError";
    this.stackName = stack;
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

// ---------------------------------------------------------------------------------------------
// Raw input
// ---------------------------------------------------------------------------------------------

export interface RawSettings {
  /**
   * Setting values keyed by name without namespace (`monitorInstanceType`), plus `aws:region`.
   * Values may be parsed (numbers, booleans, arrays, objects) or strings as Pulumi stores them.
   * Keys in other namespaces (`aws:profile`, ...) are ignored.
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** Secret settings that hold a (secure) value. */
  readonly secretsSet: ReadonlySet<SecretSetting>;
  /**
   * Problems with secret values, found by the caller that can read them (the Pulumi entry point;
   * stack files hold only ciphertext). Reported like every other problem, with the `--secret` fix.
   * The text must describe the value, never repeat it.
   */
  readonly secretValueProblems?: Readonly<Partial<Record<SecretSetting, string>>>;
}

export interface ParseOptions {
  /**
   * Default true: a missing required secret is a problem. False for tools that read stack files
   * without the stack's secrets (rendering, tests); then `secretsSet` still says what is missing.
   */
  readonly requireSecrets?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Fix lines
// ---------------------------------------------------------------------------------------------

const ns = (key: string): string =>
  key.startsWith("aws:") || key.startsWith(`${PROJECT}:`) ? key : `${PROJECT}:${key}`;

/** Quotes a shell word unless it is safe as is, already quoted, or a `<placeholder>`. */
function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  if (/^'.*'$/.test(word) || /^".*"$/.test(word) || /^<[^<>]*>$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function setFix(key: string, example: string): string {
  return `pulumi config set ${ns(key)} ${shellWord(example)}`;
}

function pathFix(path: string, example: string): string {
  return `pulumi config set --path '${ns(path)}' ${shellWord(example)}`;
}

function secretFix(key: SecretSetting): string {
  const spec = SECRET_SETTING_SPECS.find((s) => s.key === key);
  return `pulumi config set --secret ${ns(key)} ${spec?.example ?? "<value>"}`;
}

function rmFix(key: string): string {
  return `pulumi config rm ${ns(key)}`;
}

function exampleOf(key: string): string {
  return SCALAR_SETTINGS.find((s) => s.key === key)?.example ?? "<value>";
}

// ---------------------------------------------------------------------------------------------
// Typo suggestions
// ---------------------------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const substitution = diagonal + (a[i - 1] === b[j - 1] ? 0 : 1);
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, substitution);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** The known name closest to `name`, if close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (!best) return undefined;
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  // A key missing or adding a few letters at the end (`tag`, `clientss`) is still a likely typo.
  const containsOther =
    name.length >= 3 &&
    (name.toLowerCase().includes(best.candidate.toLowerCase()) ||
      best.candidate.toLowerCase().includes(name.toLowerCase()));
  return best.distance <= tolerance || containsOther ? best.candidate : undefined;
}

// ---------------------------------------------------------------------------------------------
// Small validators
// ---------------------------------------------------------------------------------------------

const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const HOST_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const LINUX_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
const AWS_ID = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
];
const IMAGE_NAME_PATTERN =
  /^ubuntu\/images\/hvm-ssd(-gp3)?\/ubuntu-[a-z]+-(\d{2}\.\d{2})-(amd64|arm64)-server-(\d{8}(\.\d+)?)$/;
const SIZE_PATTERN = /^[1-9]\d*(B|KB|MB|GB|TB|PB|EB)$/;
const SIZE_UNIT_GB: Readonly<Record<string, number>> = {
  B: 1 / 1024 ** 3,
  KB: 1 / 1024 ** 2,
  MB: 1 / 1024,
  GB: 1,
  TB: 1024,
  PB: 1024 ** 2,
  EB: 1024 ** 3,
};

/** Problem with an OpenSSH public key line, or undefined when it looks right. */
export function sshPublicKeyProblem(line: string): string | undefined {
  if (/PRIVATE KEY/.test(line)) {
    return "holds a PRIVATE key; never put a private key here (the public key is the .pub file)";
  }
  const parts = line.trim().split(/\s+/);
  const [type, body] = parts;
  if (!type || !SSH_KEY_TYPES.includes(type) || !body) {
    return `is not an OpenSSH public key line ("<type> <base64> [comment]" with type ${SSH_KEY_TYPES.join(", ")})`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return "has a key body that is not base64";
  const decoded = Buffer.from(body, "base64");
  const nameLength = decoded.length >= 4 ? decoded.readUInt32BE(0) : -1;
  const embedded = nameLength > 0 ? decoded.subarray(4, 4 + nameLength).toString("latin1") : "";
  if (embedded !== type) return `has a key body that does not encode a ${type} key (truncated or mixed up?)`;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? `"${value}"` : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The reader: coerces raw values and collects problems instead of throwing on the first one.
// ---------------------------------------------------------------------------------------------

class SettingsReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly values: Readonly<Record<string, unknown>>) {}

  report(setting: string, problem: string, fix: string): void {
    this.problems.push({ setting: ns(setting), problem, fix });
  }

  /** Raw value, with "" and null treated as unset (Pulumi.yaml declares optional strings as ""). */
  raw(key: string): unknown {
    const value = this.values[key];
    return value === "" || value === null ? undefined : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === "string") return value.trim();
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    this.report(key, `must be a string, got ${describe(value)}`, setFix(key, exampleOf(key)));
    return undefined;
  }

  stringOr(key: string, fallback: string): string {
    return this.string(key) ?? fallback;
  }

  integer(key: string, fallback: number, min: number, max: number, why = ""): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const parsed = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isInteger(parsed)) {
      this.report(key, `must be a whole number, got ${describe(value)}`, setFix(key, exampleOf(key)));
      return undefined;
    }
    if (parsed < min || parsed > max) {
      this.report(
        key,
        `must be between ${min} and ${max}, got ${parsed}${why}`,
        setFix(key, String(fallback)),
      );
      return undefined;
    }
    return parsed;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    this.report(key, `must be true or false, got ${describe(value)}`, setFix(key, String(fallback)));
    return fallback;
  }

  /** Structured value: accepts parsed JSON or the JSON string Pulumi stores. */
  structured(key: string, expect: "array" | "object", example: string): unknown {
    let value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        this.report(
          key,
          `must be ${expect === "array" ? "a list" : "a map"}, got the plain string ${describe(value)}`,
          expect === "array" ? pathFix(`${key}[0]`, example) : pathFix(`${key}.<name>`, example),
        );
        return undefined;
      }
    }
    const ok = expect === "array" ? Array.isArray(value) : isPlainObject(value);
    if (!ok) {
      this.report(
        key,
        `must be ${expect === "array" ? "a list" : "a map"}, got ${describe(value)}`,
        expect === "array" ? pathFix(`${key}[0]`, example) : pathFix(`${key}.<name>`, example),
      );
      return undefined;
    }
    return value;
  }

  stringList(key: string): string[] | undefined {
    const value = this.structured(key, "array", exampleOf(key));
    if (value === undefined) return undefined;
    const items: string[] = [];
    let ok = true;
    (value as unknown[]).forEach((item, index) => {
      if (typeof item === "string" && item.trim() !== "") {
        items.push(item.trim());
      } else {
        ok = false;
        this.report(
          `${key}[${index}]`,
          `must be a non-empty string, got ${describe(item)}`,
          pathFix(`${key}[${index}]`, exampleOf(key)),
        );
      }
    });
    return ok ? items : undefined;
  }

  duration(
    key: string,
    fallback: string,
    minMs: number,
    maxMs: number,
    rangeText: string,
  ): string | undefined {
    const text = this.stringOr(key, fallback);
    const ms = parsePrometheusDuration(text);
    if (ms === undefined) {
      this.report(
        key,
        `"${text}" is not a Prometheus duration (units y w d h m s ms, largest first, e.g. 30s, 1h30m, 15d)`,
        setFix(key, exampleOf(key)),
      );
      return undefined;
    }
    if (ms < minMs || ms > maxMs) {
      this.report(key, `"${text}" is out of range: must be ${rangeText}`, setFix(key, exampleOf(key)));
      return undefined;
    }
    return text;
  }

  /** Flags keys of a structured item that the loader does not know, suggesting the closest one. */
  unknownFields(
    path: string,
    item: Record<string, unknown>,
    known: readonly string[],
    example: string,
  ): void {
    for (const field of Object.keys(item)) {
      if (known.includes(field)) continue;
      const suggestion = closestName(field, known);
      this.report(
        `${path}.${field}`,
        `is not a known field${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; known fields: ${known.join(", ")}`,
        `pulumi config rm --path '${ns(`${path}.${field}`)}'${suggestion ? ` && ${pathFix(`${path}.${suggestion}`, example)}` : ""}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Section parsers
// ---------------------------------------------------------------------------------------------

function checkUnknownKeys(reader: SettingsReader, values: Readonly<Record<string, unknown>>): void {
  const known = ALL_SETTINGS.map((s) => s.key);
  for (const key of Object.keys(values)) {
    if (key.includes(":")) continue; // other namespaces (aws:region is read separately)
    if (known.includes(key)) continue;
    const suggestion = closestName(key, known);
    reader.report(
      key,
      suggestion
        ? `is not a known setting (did you mean "${suggestion}"?)`
        : "is not a known setting (see docs/configuration.md for the list)",
      suggestion ? `${rmFix(key)} && ${setFix(suggestion, exampleOf(suggestion))}` : rmFix(key),
    );
  }
}

function parseRegion(reader: SettingsReader, values: Readonly<Record<string, unknown>>): string {
  const region = values[REGION_KEY];
  if (region === undefined || region === "") {
    reader.report(
      REGION_KEY,
      "is required (the AWS region to deploy into)",
      "pulumi config set aws:region eu-west-1",
    );
    return "";
  }
  if (typeof region !== "string" || !REGION_PATTERN.test(region)) {
    reader.report(
      REGION_KEY,
      `${describe(region)} is not an AWS region like eu-west-1`,
      "pulumi config set aws:region eu-west-1",
    );
    return "";
  }
  return region;
}

function parseInstance(
  reader: SettingsReader,
  setting: string,
  instanceType: string,
  fixFor: (example: string) => string,
): InstanceSettings | undefined {
  const parsed = parseInstanceType(instanceType);
  if (typeof parsed === "string") {
    reader.report(setting, parsed, fixFor(setting === "monitorInstanceType" ? "t3.medium" : "t3.small"));
    return undefined;
  }
  return { instanceType, architecture: parsed.architecture };
}

function parseMonitor(reader: SettingsReader): MonitorSettings | undefined {
  const instanceType = reader.stringOr("monitorInstanceType", "t3.medium");
  const instance = parseInstance(reader, "monitorInstanceType", instanceType, (e) =>
    setFix("monitorInstanceType", e),
  );
  if (instance) {
    const info = parseInstanceType(instanceType) as InstanceTypeInfo;
    if (sizeRank(info.size) < sizeRank("medium")) {
      reader.report(
        "monitorInstanceType",
        `"${instanceType}" is too small for Prometheus, Loki, Grafana and Alertmanager together (medium or larger)`,
        setFix("monitorInstanceType", `${info.family}.medium`),
      );
    }
  }
  const rootVolumeGb = reader.integer("monitorRootVolumeGb", 20, 8, 1024);
  const dataVolumeGb = reader.integer("monitorDataVolumeGb", 50, 10, 16384);
  if (!instance || rootVolumeGb === undefined || dataVolumeGb === undefined) return undefined;
  return { ...instance, rootVolumeGb, dataVolumeGb };
}

function parseExporters(
  reader: SettingsReader,
  path: string,
  value: unknown,
): OptionalExporter[] | undefined {
  if (value === undefined || value === null) return [];
  let list = value;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      // fall through to the type problem below
    }
  }
  if (!Array.isArray(list)) {
    reader.report(
      path,
      `must be a list of exporters, got ${describe(value)}`,
      pathFix(`${path}[0]`, "nginx"),
    );
    return undefined;
  }
  const exporters: OptionalExporter[] = [];
  let ok = true;
  list.forEach((item, index) => {
    if (typeof item !== "string" || !isOptionalExporter(item)) {
      ok = false;
      const suggestion = typeof item === "string" ? closestName(item, OPTIONAL_EXPORTERS) : undefined;
      reader.report(
        `${path}[${index}]`,
        `${describe(item)} is not an optional exporter${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; choose from ${OPTIONAL_EXPORTERS.join(", ")}`,
        pathFix(`${path}[${index}]`, suggestion ?? "nginx"),
      );
    } else if (exporters.includes(item)) {
      ok = false;
      reader.report(
        `${path}[${index}]`,
        `lists "${item}" twice`,
        `pulumi config rm --path '${ns(`${path}[${index}]`)}'`,
      );
    } else {
      exporters.push(item);
    }
  });
  return ok ? exporters : undefined;
}

function checkHostName(
  reader: SettingsReader,
  path: string,
  name: unknown,
  seen: Map<string, string>,
): string | undefined {
  const fix = pathFix(`${path}.name`, "web-1");
  if (typeof name !== "string" || name === "") {
    reader.report(`${path}.name`, "is required (a DNS-label-like host name, e.g. web-1)", fix);
    return undefined;
  }
  if (!HOST_NAME_PATTERN.test(name)) {
    reader.report(
      `${path}.name`,
      `"${name}" must be 1-32 lowercase letters, digits or hyphens, starting and ending with a letter or digit`,
      pathFix(
        `${path}.name`,
        name
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, "-")
          .replace(/^-+|-+$/g, "")
          .slice(0, 32) || "web-1",
      ),
    );
    return undefined;
  }
  if (name === "monitor") {
    reader.report(
      `${path}.name`,
      `"monitor" is the monitor host's own name`,
      pathFix(`${path}.name`, "app-1"),
    );
    return undefined;
  }
  const previous = seen.get(name);
  if (previous !== undefined) {
    reader.report(
      `${path}.name`,
      `"${name}" is already used by ${previous}; host names must be unique across clients and externalHosts`,
      pathFix(`${path}.name`, `${name}-2`),
    );
    return undefined;
  }
  seen.set(name, ns(path));
  return name;
}

/**
 * Addresses an outside host may not have: the monitor would scrape itself (loopback), the instance
 * metadata service or another link-local service (169.254.0.0/16), nothing at all (0.0.0.0/8), or
 * no single host (multicast 224.0.0.0/4, reserved 240.0.0.0/4 and the broadcast address).
 */
const UNREACHABLE_RANGES: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "unspecified"],
  ["127.0.0.0/8", "loopback: the monitor would scrape itself"],
  ["169.254.0.0/16", "link-local: the monitor would reach its own metadata service"],
  ["224.0.0.0/4", "multicast, not a host"],
  ["240.0.0.0/4", "reserved or broadcast, not a host"],
];

interface AddressProblem {
  readonly problem: string;
  /** Value for the fix line: the corrected address, or a `<placeholder>` saying what to look up. */
  readonly suggestion: string;
}

/**
 * Why an outside host's address is unusable, or undefined. It must be an IPv4 address: the
 * monitor admits the host's log pushes to Loki by an ingress rule from `<address>/32`, and a
 * security group rule takes no DNS name. `vpcCidr` is the stack's own VPC when the stack creates it.
 */
function externalAddressProblem(
  address: string | undefined,
  vpcCidr: Ipv4Cidr | undefined,
): AddressProblem | undefined {
  const lookUp = "<IPv4 address of the host>";
  if (address === undefined || address === "") {
    return {
      problem: "is required (the host's IPv4 address, which Prometheus scrapes, SSH reaches and Loki admits)",
      suggestion: lookUp,
    };
  }
  const ip = parseIpv4(address);
  if (ip === undefined) {
    const slash = address.indexOf("/");
    const bare = slash === -1 ? undefined : parseIpv4(address.slice(0, slash));
    if (bare !== undefined) {
      return {
        problem: `"${address}" is a CIDR; give the host's single IPv4 address (the ingress rule adds the /32)`,
        suggestion: formatIpv4(bare),
      };
    }
    if (address.includes(":")) {
      return {
        problem: `"${address}" is not an IPv4 address; the monitor's ingress rules for outside hosts are IPv4 (<address>/32)`,
        suggestion: lookUp,
      };
    }
    if (DNS_NAME_PATTERN.test(address) && !/^[\d.]+$/.test(address)) {
      return {
        problem: `"${address}" is a DNS name; hosts outside AWS need their IPv4 address, because the monitor admits their log pushes to Loki by an ingress rule from <address>/32 (look it up with: dig +short A ${address})`,
        suggestion: `<IPv4 address of ${address}>`,
      };
    }
    return { problem: `"${address}" is not an IPv4 address like 192.0.2.10`, suggestion: lookUp };
  }
  const host = parseCidr(`${formatIpv4(ip)}/32`);
  if (!host.ok) return { problem: `"${address}" is not an IPv4 address like 192.0.2.10`, suggestion: lookUp };
  for (const [range, why] of UNREACHABLE_RANGES) {
    const block = parseCidr(range);
    if (block.ok && cidrContains(block.cidr, host.cidr)) {
      return { problem: `"${address}" is in ${range} (${why})`, suggestion: lookUp };
    }
  }
  if (vpcCidr && cidrContains(vpcCidr, host.cidr)) {
    return {
      problem: `"${address}" is inside the stack's own VPC ${vpcCidr.text}: a host outside AWS cannot have it, and traffic to it would stay inside the VPC; use the host's public IPv4 address (or its address over your VPN)`,
      suggestion: lookUp,
    };
  }
  return undefined;
}

const CLIENT_FIELDS = ["name", "instanceType", "exporters", "rootVolumeGb"] as const;
const EXTERNAL_HOST_FIELDS = ["name", "address", "sshUser", "exporters", "hostKey"] as const;

/** Where the fix line tells the operator to read an outside host's key: on the host itself, not over the network. */
const HOST_KEY_EXAMPLE = "<contents of /etc/ssh/ssh_host_ecdsa_key.pub on the host>";

/**
 * An outside host's configured SSH host key as `<type> <base64>`, or undefined when unset or
 * wrong (then reported). The comment part of a `.pub` line is dropped: it is not part of the key.
 */
function parseHostKey(reader: SettingsReader, path: string, value: unknown): string | undefined | false {
  if (value === undefined || value === null || value === "") return undefined;
  const field = `${path}.hostKey`;
  if (typeof value !== "string") {
    reader.report(
      field,
      `must be an OpenSSH public key line, got ${describe(value)}`,
      pathFix(field, HOST_KEY_EXAMPLE),
    );
    return false;
  }
  const problem = sshPublicKeyProblem(value);
  if (problem !== undefined) {
    reader.report(
      field,
      `${problem}; it must be the host's own public key (its /etc/ssh/ssh_host_*_key.pub), read on the host or from a source you trust`,
      pathFix(field, HOST_KEY_EXAMPLE),
    );
    return false;
  }
  const [type, body] = value.trim().split(/\s+/);
  return `${type} ${body}`;
}

function parseClients(
  reader: SettingsReader,
  defaultInstance: InstanceSettings | undefined,
  defaultRootVolumeGb: number,
  seen: Map<string, string>,
): ClientHost[] | undefined {
  const raw =
    reader.raw("clients") === undefined
      ? [{ name: DEFAULT_CLIENT_NAME }]
      : reader.structured("clients", "array", "web-1");
  if (raw === undefined) return undefined;
  const items = raw as unknown[];
  if (items.length > MAX_CLIENTS) {
    reader.report(
      "clients",
      `lists ${items.length} clients; at most ${MAX_CLIENTS} are supported`,
      `pulumi config rm --path '${ns(`clients[${items.length - 1}]`)}' (repeat until ${MAX_CLIENTS} are left)`,
    );
    return undefined;
  }
  const clients: ClientHost[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const path = `clients[${index}]`;
    if (!isPlainObject(item)) {
      ok = false;
      reader.report(
        path,
        `must be a map like { name: web-1 }, got ${describe(item)}`,
        pathFix(`${path}.name`, `client-${index + 1}`),
      );
      return;
    }
    reader.unknownFields(path, item, CLIENT_FIELDS, "t3.small");
    const name = checkHostName(reader, path, item.name, seen);
    let instance: InstanceSettings | undefined = defaultInstance;
    if (item.instanceType !== undefined) {
      const field = `${path}.instanceType`;
      instance = undefined;
      if (typeof item.instanceType !== "string") {
        reader.report(
          field,
          `must be a string, got ${describe(item.instanceType)}`,
          pathFix(field, "t3.small"),
        );
      } else {
        instance = parseInstance(reader, field, item.instanceType, (e) => pathFix(field, e));
      }
    }
    let rootVolumeGb: number | undefined = defaultRootVolumeGb;
    if (item.rootVolumeGb !== undefined) {
      const parsed = typeof item.rootVolumeGb === "string" ? Number(item.rootVolumeGb) : item.rootVolumeGb;
      if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < 8 || parsed > 16384) {
        reader.report(
          `${path}.rootVolumeGb`,
          `must be a whole number of GiB from 8 to 16384, got ${describe(item.rootVolumeGb)}`,
          pathFix(`${path}.rootVolumeGb`, "16"),
        );
        rootVolumeGb = undefined;
      } else {
        rootVolumeGb = parsed;
      }
    }
    const exporters = parseExporters(reader, `${path}.exporters`, item.exporters);
    if (!name || !instance || rootVolumeGb === undefined || !exporters) {
      ok = false;
      return;
    }
    clients.push({ name, ...instance, rootVolumeGb, exporters });
  });
  return ok ? clients : undefined;
}

function parseExternalHosts(
  reader: SettingsReader,
  seen: Map<string, string>,
  vpcCidr: Ipv4Cidr | undefined,
): ExternalHost[] | undefined {
  const raw =
    reader.raw("externalHosts") === undefined ? [] : reader.structured("externalHosts", "array", "onprem-1");
  if (raw === undefined) return undefined;
  const items = raw as unknown[];
  if (items.length > MAX_EXTERNAL_HOSTS) {
    reader.report(
      "externalHosts",
      `lists ${items.length} hosts; at most ${MAX_EXTERNAL_HOSTS} are supported`,
      `pulumi config rm --path '${ns(`externalHosts[${items.length - 1}]`)}'`,
    );
    return undefined;
  }
  const hosts: ExternalHost[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const path = `externalHosts[${index}]`;
    if (!isPlainObject(item)) {
      ok = false;
      reader.report(
        path,
        `must be a map like { name, address, sshUser }, got ${describe(item)}`,
        pathFix(`${path}.name`, "onprem-1"),
      );
      return;
    }
    reader.unknownFields(path, item, EXTERNAL_HOST_FIELDS, "onprem-1");
    const name = checkHostName(reader, path, item.name, seen);
    const address = typeof item.address === "string" ? item.address.trim() : undefined;
    const addressProblem = externalAddressProblem(address, vpcCidr);
    const addressOk = addressProblem === undefined;
    if (addressProblem !== undefined) {
      reader.report(
        `${path}.address`,
        addressProblem.problem,
        pathFix(`${path}.address`, addressProblem.suggestion),
      );
    }
    const sshUser = typeof item.sshUser === "string" ? item.sshUser : undefined;
    if (sshUser === undefined || !LINUX_USER_PATTERN.test(sshUser)) {
      reader.report(
        `${path}.sshUser`,
        `must be a Linux user name (e.g. deploy), got ${describe(item.sshUser)}`,
        pathFix(`${path}.sshUser`, "deploy"),
      );
    }
    const exporters = parseExporters(reader, `${path}.exporters`, item.exporters);
    const hostKey = parseHostKey(reader, path, item.hostKey);
    if (
      !name ||
      !addressOk ||
      address === undefined ||
      sshUser === undefined ||
      !LINUX_USER_PATTERN.test(sshUser) ||
      !exporters ||
      hostKey === false
    ) {
      ok = false;
      return;
    }
    hosts.push({ name, address, sshUser, exporters, ...(hostKey !== undefined ? { hostKey } : {}) });
  });
  return ok ? hosts : undefined;
}

function parseCidrField(reader: SettingsReader, key: string, fallback: string): Ipv4Cidr | undefined {
  const text = reader.stringOr(key, fallback);
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    reader.report(key, parsed.problem, setFix(key, parsed.suggestion ?? exampleOf(key)));
    return undefined;
  }
  if (parsed.cidr.prefix < 16 || parsed.cidr.prefix > 28) {
    reader.report(
      key,
      `"${text}" must have a prefix from /16 to /28 (the sizes AWS allows)`,
      setFix(key, exampleOf(key)),
    );
    return undefined;
  }
  if (!isPrivateCidr(parsed.cidr)) {
    reader.report(
      key,
      `"${text}" is not a private range (${PRIVATE_RANGES.join(", ")})`,
      setFix(key, exampleOf(key)),
    );
    return undefined;
  }
  return parsed.cidr;
}

function parseNetwork(reader: SettingsReader): NetworkSettings | undefined {
  const vpcCidr = parseCidrField(reader, "vpcCidr", "10.42.0.0/16");
  const subnetCidr = parseCidrField(reader, "subnetCidr", "10.42.1.0/24");
  if (vpcCidr && subnetCidr && !cidrContains(vpcCidr, subnetCidr)) {
    const suggestion = `${vpcCidr.text.split("/")[0]}/${Math.max(vpcCidr.prefix, 24)}`;
    reader.report(
      "subnetCidr",
      `"${subnetCidr.text}" is not inside vpcCidr "${vpcCidr.text}"`,
      setFix("subnetCidr", suggestion),
    );
  }
  const vpcId = reader.string("existingVpcId");
  const subnetId = reader.string("existingSubnetId");
  let idsOk = true;
  if (vpcId !== undefined && !AWS_ID("vpc").test(vpcId)) {
    idsOk = false;
    reader.report(
      "existingVpcId",
      `"${vpcId}" is not a VPC id like vpc-0123456789abcdef0`,
      setFix("existingVpcId", exampleOf("existingVpcId")),
    );
  }
  if (subnetId !== undefined && !AWS_ID("subnet").test(subnetId)) {
    idsOk = false;
    reader.report(
      "existingSubnetId",
      `"${subnetId}" is not a subnet id like subnet-0123456789abcdef0`,
      setFix("existingSubnetId", exampleOf("existingSubnetId")),
    );
  }
  if ((vpcId === undefined) !== (subnetId === undefined)) {
    const missing = vpcId === undefined ? "existingVpcId" : "existingSubnetId";
    const present = vpcId === undefined ? "existingSubnetId" : "existingVpcId";
    reader.report(
      missing,
      `is required when ${present} is set (an existing network needs both)`,
      `${setFix(missing, exampleOf(missing))} (or ${rmFix(present)} to create a VPC)`,
    );
    return undefined;
  }
  if (vpcId !== undefined && subnetId !== undefined) {
    return idsOk ? { mode: "existing", vpcId, subnetId } : undefined;
  }
  if (!vpcCidr || !subnetCidr) return undefined;
  return { mode: "create", vpcCidr: vpcCidr.text, subnetCidr: subnetCidr.text };
}

function parseAllowedCidrs(
  reader: SettingsReader,
  key: "sshAllowedCidrs" | "grafanaAllowedCidrs",
): string[] | undefined {
  const isSsh = key === "sshAllowedCidrs";
  const minPrefix = isSsh ? 16 : 8;
  const list = reader.stringList(key);
  if (list === undefined) {
    if (reader.raw(key) === undefined) {
      reader.report(
        key,
        `is required: the CIDRs allowed to reach ${isSsh ? "SSH" : "Grafana"} (e.g. your office or VPN address)`,
        pathFix(`${key}[0]`, exampleOf(key)),
      );
    }
    return undefined;
  }
  if (list.length === 0) {
    reader.report(
      key,
      `is required but empty: list at least one CIDR allowed to reach ${isSsh ? "SSH" : "Grafana"} (e.g. your office or VPN address)`,
      pathFix(`${key}[0]`, exampleOf(key)),
    );
    return undefined;
  }
  const cidrs: string[] = [];
  let ok = true;
  list.forEach((text, index) => {
    const path = `${key}[${index}]`;
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      ok = false;
      const hint = parsed.suggestion ? ` (did you mean ${parsed.suggestion}?)` : "";
      reader.report(path, `${parsed.problem}${hint}`, pathFix(path, parsed.suggestion ?? exampleOf(key)));
      return;
    }
    const cidr = parsed.cidr;
    if (cidr.prefix === 0) {
      ok = false;
      reader.report(
        path,
        isSsh
          ? `"${text}" opens SSH to the whole internet; allow only your office or VPN address (a /32), or reach the hosts through SSM Session Manager`
          : `"${text}" opens Grafana to the whole internet, and Grafana is served over plain HTTP; allow your office or VPN range, or tunnel over SSH`,
        pathFix(path, exampleOf(key)),
      );
      return;
    }
    if (cidr.prefix < minPrefix) {
      ok = false;
      reader.report(
        path,
        `"${text}" is too broad for ${isSsh ? "SSH" : "Grafana"}: the prefix must be /${minPrefix} or longer`,
        pathFix(path, exampleOf(key)),
      );
      return;
    }
    if (cidrs.includes(cidr.text)) {
      ok = false;
      reader.report(
        path,
        `"${text}" is listed twice (AWS refuses duplicate security group rules)`,
        `pulumi config rm --path '${ns(path)}'`,
      );
      return;
    }
    cidrs.push(cidr.text);
  });
  return ok ? cidrs : undefined;
}

function parseAccess(reader: SettingsReader): AccessSettings | undefined {
  const sshCidrs = parseAllowedCidrs(reader, "sshAllowedCidrs");
  const grafanaCidrs = parseAllowedCidrs(reader, "grafanaAllowedCidrs");
  const sshPublicKey = reader.string("sshPublicKey");
  const sshKeyPairName = reader.string("sshKeyPairName");
  let keyOk = true;
  if (sshPublicKey === undefined && sshKeyPairName === undefined) {
    keyOk = false;
    reader.report(
      "sshPublicKey",
      "neither sshPublicKey nor sshKeyPairName is set: the hosts need exactly one SSH key",
      `${setFix("sshKeyPairName", exampleOf("sshKeyPairName"))} (or pulumi config set observability:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)")`,
    );
  } else if (sshPublicKey !== undefined && sshKeyPairName !== undefined) {
    keyOk = false;
    reader.report(
      "sshPublicKey",
      "both sshPublicKey and sshKeyPairName are set: choose exactly one",
      `${rmFix("sshPublicKey")} (or ${rmFix("sshKeyPairName")})`,
    );
  }
  if (sshPublicKey !== undefined) {
    const problem = sshPublicKeyProblem(sshPublicKey);
    if (problem) {
      keyOk = false;
      reader.report(
        "sshPublicKey",
        problem,
        `pulumi config set observability:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
      );
    }
  }
  if (sshKeyPairName !== undefined && !/^[\x20-\x7e]{1,255}$/.test(sshKeyPairName)) {
    keyOk = false;
    reader.report(
      "sshKeyPairName",
      `"${sshKeyPairName}" is not an EC2 key pair name (1-255 printable ASCII characters)`,
      setFix("sshKeyPairName", exampleOf("sshKeyPairName")),
    );
  }
  const sshUser = reader.stringOr("sshUser", "ubuntu");
  if (!LINUX_USER_PATTERN.test(sshUser)) {
    keyOk = false;
    reader.report("sshUser", `"${sshUser}" is not a Linux user name`, setFix("sshUser", "ubuntu"));
  }
  const sshAuth = reader.stringOr("sshAuth", "key");
  if (!(SSH_AUTH_MODES as readonly string[]).includes(sshAuth)) {
    keyOk = false;
    reader.report(
      "sshAuth",
      `"${sshAuth}" is not one of ${SSH_AUTH_MODES.join(", ")} (key: the sshPrivateKey secret; agent: your SSH agent)`,
      setFix("sshAuth", closestName(sshAuth, SSH_AUTH_MODES) ?? "key"),
    );
  }
  if (!sshCidrs || !grafanaCidrs || !keyOk) return undefined;
  return {
    sshCidrs,
    grafanaCidrs,
    ...(sshPublicKey !== undefined ? { sshPublicKey } : {}),
    ...(sshKeyPairName !== undefined ? { sshKeyPairName } : {}),
    sshUser,
    sshAuth: sshAuth as SshAuth,
  };
}

function parseImages(
  reader: SettingsReader,
  architectures: ReadonlyMap<string, Architecture>,
): ImageSettings | undefined {
  let ok = true;
  const amiId = reader.string("amiId");
  if (amiId !== undefined) {
    if (!AWS_ID("ami").test(amiId)) {
      ok = false;
      reader.report(
        "amiId",
        `"${amiId}" is not an AMI id like ami-0123456789abcdef0`,
        setFix("amiId", exampleOf("amiId")),
      );
    } else if (new Set(architectures.values()).size > 1) {
      ok = false;
      const list = [...architectures].map(([host, arch]) => `${host}: ${arch}`).join(", ");
      reader.report(
        "amiId",
        `one AMI cannot serve hosts of different architectures (${list})`,
        `${rmFix("amiId")} (the pinned Ubuntu image names cover both architectures)`,
      );
    }
  }
  const names: Record<Architecture, string> = { ...DEFAULT_UBUNTU_IMAGE_NAMES };
  for (const [key, arch, label] of [
    ["ubuntuImageNameX86", "x86_64", "amd64"],
    ["ubuntuImageNameArm", "arm64", "arm64"],
  ] as const) {
    const name = reader.stringOr(key, DEFAULT_UBUNTU_IMAGE_NAMES[arch]);
    const match = IMAGE_NAME_PATTERN.exec(name);
    if (!match) {
      ok = false;
      reader.report(
        key,
        `"${name}" is not an exact, dated Canonical image name like ${DEFAULT_UBUNTU_IMAGE_NAMES[arch]} (no wildcards: the image must never change under a running stack)`,
        setFix(key, DEFAULT_UBUNTU_IMAGE_NAMES[arch]),
      );
    } else if (match[3] !== label) {
      ok = false;
      reader.report(
        key,
        `"${name}" is a ${match[3]} image; this setting needs ${label}`,
        setFix(key, DEFAULT_UBUNTU_IMAGE_NAMES[arch]),
      );
    } else {
      names[arch] = name;
    }
  }
  if (!ok) return undefined;
  return {
    ...(amiId !== undefined ? { amiId } : {}),
    ubuntuImageNames: names,
    ubuntuImageOwner: CANONICAL_OWNER_ID,
  };
}

function parseMetrics(reader: SettingsReader, dataVolumeGb: number | undefined): MetricsSettings | undefined {
  const second = 1000;
  const scrapeInterval = reader.duration(
    "scrapeInterval",
    "30s",
    second,
    5 * 60 * second,
    "from 1s to 5m (longer gaps make series go stale)",
  );
  const evaluationInterval = reader.duration(
    "evaluationInterval",
    "30s",
    second,
    5 * 60 * second,
    "from 1s to 5m",
  );
  const retentionTime = reader.duration("metricsRetention", "15d", DAY_MS, 100 * 365 * DAY_MS, "at least 1d");
  const retentionSize = reader.string("metricsRetentionSize");
  let sizeOk = true;
  if (retentionSize !== undefined) {
    const match = SIZE_PATTERN.exec(retentionSize);
    if (!match) {
      sizeOk = false;
      reader.report(
        "metricsRetentionSize",
        `"${retentionSize}" is not a Prometheus size like 40GB (units B, KB, MB, GB, TB, PB, EB)`,
        setFix("metricsRetentionSize", "40GB"),
      );
    } else if (dataVolumeGb !== undefined) {
      const gb = Number.parseInt(retentionSize, 10) * (SIZE_UNIT_GB[match[1] as string] as number);
      // The data volume also holds Loki's WAL and cache, Grafana and Alertmanager: leave room.
      const limitGb = Math.floor(dataVolumeGb * 0.8);
      if (gb > limitGb) {
        sizeOk = false;
        reader.report(
          "metricsRetentionSize",
          `"${retentionSize}" does not fit the ${dataVolumeGb} GiB data volume (at most 80%, ${limitGb}GB)`,
          setFix("metricsRetentionSize", `${limitGb}GB`),
        );
      }
    }
  }
  if (!scrapeInterval || !evaluationInterval || !retentionTime || !sizeOk) return undefined;
  return {
    scrapeInterval,
    evaluationInterval,
    retentionTime,
    ...(retentionSize !== undefined ? { retentionSize } : {}),
  };
}

const PERCENT_THRESHOLDS = ["cpuPercent", "memoryPercent", "diskPercent", "inodePercent"] as const;
const DURATION_THRESHOLDS = ["hostDownFor", "cpuFor", "memoryFor", "diskFor"] as const;

function parseThresholds(reader: SettingsReader): AlertThresholds | undefined {
  const raw =
    reader.raw("alertThresholds") === undefined ? {} : reader.structured("alertThresholds", "object", "90");
  if (raw === undefined) return undefined;
  const item = raw as Record<string, unknown>;
  const known = Object.keys(DEFAULT_ALERT_THRESHOLDS);
  reader.unknownFields("alertThresholds", item, known, "90");
  const result: Record<string, string | number> = { ...DEFAULT_ALERT_THRESHOLDS };
  let ok = Object.keys(item).every((k) => known.includes(k));
  for (const field of PERCENT_THRESHOLDS) {
    const value = item[field];
    if (value === undefined) continue;
    const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed <= 0 || parsed >= 100) {
      ok = false;
      reader.report(
        `alertThresholds.${field}`,
        `must be a percentage above 0 and below 100, got ${describe(value)}`,
        pathFix(`alertThresholds.${field}`, String(DEFAULT_ALERT_THRESHOLDS[field])),
      );
    } else {
      result[field] = parsed;
    }
  }
  for (const field of DURATION_THRESHOLDS) {
    const value = item[field];
    if (value === undefined) continue;
    if (typeof value !== "string" || parsePrometheusDuration(value) === undefined) {
      ok = false;
      reader.report(
        `alertThresholds.${field}`,
        `must be a Prometheus duration like 5m, got ${describe(value)}`,
        pathFix(`alertThresholds.${field}`, DEFAULT_ALERT_THRESHOLDS[field]),
      );
    } else {
      result[field] = value;
    }
  }
  const hours = item.diskFillHours;
  if (hours !== undefined) {
    const parsed = typeof hours === "string" && /^\d+$/.test(hours) ? Number(hours) : hours;
    if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < 1 || parsed > 720) {
      ok = false;
      reader.report(
        "alertThresholds.diskFillHours",
        `must be a whole number of hours from 1 to 720, got ${describe(hours)}`,
        pathFix("alertThresholds.diskFillHours", "24"),
      );
    } else {
      result.diskFillHours = parsed;
    }
  }
  return ok ? (result as unknown as AlertThresholds) : undefined;
}

interface EmailResult {
  readonly ok: boolean;
  /** True when recipients are listed, whether or not the rest of the email settings are valid. */
  readonly requested: boolean;
  readonly email?: EmailSettings;
}

function parseEmail(
  reader: SettingsReader,
  secretsSet: ReadonlySet<SecretSetting>,
  requireSecrets: boolean,
): EmailResult {
  const to = reader.stringList("alertEmailTo");
  if (to === undefined)
    return {
      ok: reader.raw("alertEmailTo") === undefined,
      requested: reader.raw("alertEmailTo") !== undefined,
    };
  let ok = true;
  const seen = new Set<string>();
  to.forEach((address, index) => {
    if (!EMAIL_PATTERN.test(address)) {
      ok = false;
      reader.report(
        `alertEmailTo[${index}]`,
        `"${address}" is not an email address`,
        pathFix(`alertEmailTo[${index}]`, "oncall@example.com"),
      );
    } else if (seen.has(address.toLowerCase())) {
      ok = false;
      reader.report(
        `alertEmailTo[${index}]`,
        `"${address}" is listed twice`,
        `pulumi config rm --path '${ns(`alertEmailTo[${index}]`)}'`,
      );
    }
    seen.add(address.toLowerCase());
  });
  if (to.length === 0) return { ok, requested: false };

  const smarthost = reader.string("smtpSmarthost");
  let port: number | undefined;
  if (smarthost === undefined) {
    ok = false;
    reader.report(
      "smtpSmarthost",
      "is required when alertEmailTo is set (the SMTP relay, host:port)",
      setFix("smtpSmarthost", exampleOf("smtpSmarthost")),
    );
  } else {
    const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(smarthost);
    port = match ? Number(match[2]) : undefined;
    if (
      !match ||
      !DNS_NAME_PATTERN.test(match[1] as string) ||
      port === undefined ||
      port < 1 ||
      port > 65535
    ) {
      ok = false;
      reader.report(
        "smtpSmarthost",
        `"${smarthost}" must be host:port, e.g. ${exampleOf("smtpSmarthost")}`,
        setFix("smtpSmarthost", exampleOf("smtpSmarthost")),
      );
    }
  }
  const from = reader.string("smtpFrom");
  if (from === undefined) {
    ok = false;
    reader.report(
      "smtpFrom",
      "is required when alertEmailTo is set (the sender address)",
      setFix("smtpFrom", exampleOf("smtpFrom")),
    );
  } else if (!EMAIL_PATTERN.test(from)) {
    ok = false;
    reader.report("smtpFrom", `"${from}" is not an email address`, setFix("smtpFrom", exampleOf("smtpFrom")));
  }
  const username = reader.string("smtpUsername");
  if (username === undefined) {
    ok = false;
    reader.report(
      "smtpUsername",
      "is required when alertEmailTo is set (SMTP authentication user)",
      setFix("smtpUsername", exampleOf("smtpUsername")),
    );
  }
  if (requireSecrets && !secretsSet.has("smtpPassword")) {
    ok = false;
    reader.report(
      "smtpPassword",
      "is required when alertEmailTo is set: email alerting needs the SMTP password",
      secretFix("smtpPassword"),
    );
  }
  const requireTls = reader.boolean("smtpRequireTls", true);
  if (!requireTls && port !== undefined && port !== 465) {
    ok = false;
    reader.report(
      "smtpRequireTls",
      `is false while ${smarthost} is not implicit TLS (port 465): the SMTP password would cross the network in clear text`,
      setFix("smtpRequireTls", "true"),
    );
  }
  if (!ok || smarthost === undefined || from === undefined || username === undefined) {
    return { ok: false, requested: true };
  }
  return { ok: true, requested: true, email: { to, from, smarthost, username, requireTls } };
}

function parseAlerting(
  reader: SettingsReader,
  secretsSet: ReadonlySet<SecretSetting>,
  requireSecrets: boolean,
): AlertingSettings | undefined {
  const email = parseEmail(reader, secretsSet, requireSecrets);
  const channel = reader.stringOr("slackChannel", "#alerts");
  let channelOk = true;
  if (!/^#[a-z0-9][a-z0-9._-]{0,79}$/.test(channel)) {
    channelOk = false;
    reader.report(
      "slackChannel",
      `"${channel}" is not a Slack channel like #alerts (lowercase letters, digits, . _ -)`,
      setFix("slackChannel", "'#alerts'"),
    );
  }
  const thresholds = parseThresholds(reader);
  const runbookBaseUrl = parseRunbookBaseUrl(reader);
  const slack = secretsSet.has("slackWebhookUrl");
  const pagerduty = secretsSet.has("pagerdutyRoutingKey");
  // Without the stack's secrets we cannot know whether Slack or PagerDuty is on: check only with them.
  if (requireSecrets && !email.requested && !slack && !pagerduty) {
    reader.report(
      "alertEmailTo",
      "no alert receiver is configured, so alerts would go nowhere: set email recipients, a Slack webhook or a PagerDuty key",
      `${pathFix("alertEmailTo[0]", "oncall@example.com")} (or ${secretFix("slackWebhookUrl")}, or ${secretFix("pagerdutyRoutingKey")})`,
    );
    return undefined;
  }
  if (!email.ok || !channelOk || !thresholds || runbookBaseUrl === undefined) return undefined;
  return {
    ...(email.email ? { email: email.email } : {}),
    ...(slack ? { slack: { channel } } : {}),
    pagerduty,
    heartbeat: secretsSet.has("heartbeatUrl"),
    thresholds,
    runbookBaseUrl,
  };
}

/** Where alerts' runbook links point: an https URL without credentials, query, fragment or trailing slash. */
function parseRunbookBaseUrl(reader: SettingsReader): string | undefined {
  const text = reader.stringOr("runbookBaseUrl", DEFAULT_RUNBOOK_BASE_URL);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" || url.username || url.password || url.search || url.hash) {
    reader.report(
      "runbookBaseUrl",
      `"${text}" is not an https URL without credentials, query or fragment (alerts link to <runbookBaseUrl>/<AlertName>.md)`,
      setFix("runbookBaseUrl", DEFAULT_RUNBOOK_BASE_URL),
    );
    return undefined;
  }
  if (text.endsWith("/")) {
    reader.report(
      "runbookBaseUrl",
      `"${text}" ends with a slash; alerts append /<AlertName>.md themselves`,
      setFix("runbookBaseUrl", text.replace(/\/+$/, "")),
    );
    return undefined;
  }
  return text;
}

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function parseTags(reader: SettingsReader): Record<string, string> | undefined {
  const raw = reader.raw("tags") === undefined ? {} : reader.structured("tags", "object", "sre");
  if (raw === undefined) return undefined;
  const entries = Object.entries(raw as Record<string, unknown>);
  let ok = true;
  const limit = 50 - RESERVED_TAG_KEYS.length;
  if (entries.length > limit) {
    ok = false;
    reader.report(
      "tags",
      `has ${entries.length} tags; AWS allows 50 per resource and the product uses ${RESERVED_TAG_KEYS.length}, so at most ${limit}`,
      `pulumi config rm --path '${ns("tags.<key>")}'`,
    );
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // Pulumi's --path syntax needs the bracket form for keys with dots, colons or spaces.
    const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `tags.${key}` : `tags[${JSON.stringify(key)}]`;
    const reserved = RESERVED_TAG_KEYS.find((r) => r.toLowerCase() === key.toLowerCase());
    if (reserved) {
      ok = false;
      reader.report(
        path,
        `"${key}" is set by the product itself (${RESERVED_TAG_KEYS.join(", ")}) and cannot be overridden`,
        `pulumi config rm --path '${ns(path)}'`,
      );
      continue;
    }
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key) || key.trim() !== key) {
      ok = false;
      reader.report(
        path,
        `tag key "${key}" must be 1-128 letters, digits, spaces or _ . : / = + - @`,
        `pulumi config rm --path '${ns(path)}'`,
      );
      continue;
    }
    if (key.toLowerCase().startsWith("aws:")) {
      ok = false;
      reader.report(
        path,
        `tag key "${key}" uses the reserved aws: prefix`,
        `pulumi config rm --path '${ns(path)}'`,
      );
      continue;
    }
    const text =
      typeof value === "string"
        ? value
        : typeof value === "number" || typeof value === "boolean"
          ? String(value)
          : undefined;
    if (text === undefined || text.length > 256 || !TAG_CHARS.test(text)) {
      ok = false;
      reader.report(
        path,
        `tag value ${describe(value)} must be a string of at most 256 letters, digits, spaces or _ . : / = + - @`,
        pathFix(path, "sre"),
      );
      continue;
    }
    tags[key] = text;
  }
  return ok ? tags : undefined;
}

function parseGrafana(reader: SettingsReader): GrafanaSettings | undefined {
  const rootUrl = reader.string("grafanaRootUrl");
  if (rootUrl === undefined) return {};
  let url: URL | undefined;
  try {
    url = new URL(rootUrl);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  ) {
    reader.report(
      "grafanaRootUrl",
      `"${rootUrl}" is not an http(s) URL without credentials, query or fragment`,
      setFix("grafanaRootUrl", exampleOf("grafanaRootUrl")),
    );
    return undefined;
  }
  return { rootUrl };
}

function parseInstanceProfile(reader: SettingsReader): { ok: boolean; name?: string } {
  const name = reader.string("instanceProfileName");
  if (name === undefined) return { ok: true };
  if (!/^[\w+=,.@-]{1,128}$/.test(name)) {
    reader.report(
      "instanceProfileName",
      `"${name}" is not an IAM instance profile name (1-128 of letters, digits, + = , . @ _ -)`,
      setFix("instanceProfileName", exampleOf("instanceProfileName")),
    );
    return { ok: false };
  }
  return { ok: true, name };
}

interface ExporterUserRule {
  readonly setting: string;
  readonly fallback: string;
  readonly pattern: RegExp;
  readonly rule: string;
}

/**
 * Login names each service accepts, kept to characters that every credential file format
 * (one-line files, my.cnf, env file) carries literally.
 */
const EXPORTER_USER_RULES: Readonly<Record<keyof ExporterUsers, ExporterUserRule>> = {
  postgres: {
    setting: "postgresExporterUser",
    fallback: "postgres_exporter",
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
    rule: "1-63 lowercase letters, digits or _, not starting with a digit (PostgreSQL folds unquoted role names to lowercase)",
  },
  mysql: {
    setting: "mysqlExporterUser",
    fallback: "exporter",
    pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/,
    rule: "1-32 letters, digits, _ . or - (MySQL user names are at most 32 characters)",
  },
  mongodb: {
    setting: "mongodbExporterUser",
    fallback: "exporter",
    pattern: /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/,
    rule: "1-64 letters, digits, _ . @ or -",
  },
};

/** For each credentialed exporter, the settings paths of the hosts that enable it. */
function hostsEnabling(
  hosts: ReadonlyArray<readonly [string, readonly OptionalExporter[]]>,
): Map<CredentialedExporter, string[]> {
  const enabled = new Map<CredentialedExporter, string[]>();
  for (const [host, exporters] of hosts) {
    for (const exporter of exporters) {
      if (!isCredentialedExporter(exporter)) continue;
      enabled.set(exporter, [...(enabled.get(exporter) ?? []), host]);
    }
  }
  return enabled;
}

function enabledHosts(
  clients: readonly ClientHost[],
  externalHosts: readonly ExternalHost[],
): Map<CredentialedExporter, string[]> {
  return hostsEnabling([
    ...clients.map((host) => [host.name, host.exporters] as const),
    ...externalHosts.map((host) => [host.name, host.exporters] as const),
  ]);
}

/**
 * The exporters' login names, and a problem for every password a host needs but the stack lacks.
 * A password no host uses is fine: it stays unused until a host enables that exporter.
 */
function parseExporterCredentials(
  reader: SettingsReader,
  clients: readonly ClientHost[],
  externalHosts: readonly ExternalHost[],
  secretsSet: ReadonlySet<SecretSetting>,
  requireSecrets: boolean,
): ExporterUsers | undefined {
  const users: Partial<Record<keyof ExporterUsers, string>> = {};
  let ok = true;
  for (const [kind, rule] of Object.entries(EXPORTER_USER_RULES) as [
    keyof ExporterUsers,
    ExporterUserRule,
  ][]) {
    const user = reader.stringOr(rule.setting, rule.fallback);
    if (!rule.pattern.test(user)) {
      ok = false;
      reader.report(
        rule.setting,
        `"${user}" is not a usable ${kind} user name: ${rule.rule}`,
        setFix(rule.setting, rule.fallback),
      );
    } else {
      users[kind] = user;
    }
  }
  if (requireSecrets) {
    const enabled = enabledHosts(clients, externalHosts);
    for (const exporter of PASSWORD_REQUIRED_EXPORTERS) {
      const hosts = enabled.get(exporter);
      const setting = EXPORTER_PASSWORD_SETTINGS[exporter];
      if (!hosts || secretsSet.has(setting)) continue;
      const login = exporter === "redis" ? undefined : users[exporter];
      reader.report(
        setting,
        `is required because ${hosts.join(", ")} enable${hosts.length === 1 ? "s" : ""} the ${exporter} exporter, which logs in${login ? ` as ${login}` : ""} with this password`,
        secretFix(setting),
      );
    }
  }
  if (!ok || users.postgres === undefined || users.mysql === undefined || users.mongodb === undefined) {
    return undefined;
  }
  return { postgres: users.postgres, mysql: users.mysql, mongodb: users.mongodb };
}

/**
 * Reports the problems the caller found in secret values; an exporter password no host uses is
 * left alone (it is never written anywhere until a host enables that exporter).
 */
function checkSecretValues(
  reader: SettingsReader,
  problems: RawSettings["secretValueProblems"],
  clients: readonly ClientHost[],
  externalHosts: readonly ExternalHost[],
): void {
  const enabled = enabledHosts(clients, externalHosts);
  const unused = new Set<SecretSetting>(
    CREDENTIALED_EXPORTERS.filter((exporter) => !enabled.has(exporter)).map(
      (exporter) => EXPORTER_PASSWORD_SETTINGS[exporter],
    ),
  );
  for (const key of SECRET_SETTINGS) {
    const problem = problems?.[key];
    if (problem !== undefined && !unused.has(key)) reader.report(key, problem, secretFix(key));
  }
}

function checkPlainTextSecrets(reader: SettingsReader, values: Readonly<Record<string, unknown>>): void {
  for (const key of SECRET_SETTINGS) {
    if (values[key] !== undefined && values[key] !== "") {
      reader.report(
        key,
        "is stored in plain text; it must be a secret (encrypted in the stack file)",
        secretFix(key),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The loader
// ---------------------------------------------------------------------------------------------

/**
 * Turns a stack's raw settings into a deeply frozen StackConfig, or throws one StackConfigError
 * listing every problem with the command that fixes it. Pure: no Pulumi, no I/O.
 */
export function parseStackConfig(
  stack: string,
  settings: RawSettings,
  options: ParseOptions = {},
): StackConfig {
  const requireSecrets = options.requireSecrets ?? true;
  const { values } = settings;
  const reader = new SettingsReader(values);
  // A secret given in plain text is reported once (as plain text), not again as missing.
  const plainTextSecrets = SECRET_SETTINGS.filter((key) => values[key] !== undefined && values[key] !== "");
  const secretsSet: ReadonlySet<SecretSetting> = new Set([...settings.secretsSet, ...plainTextSecrets]);

  checkUnknownKeys(reader, values);
  checkPlainTextSecrets(reader, values);
  const region = parseRegion(reader, values);
  const monitor = parseMonitor(reader);
  const clientInstance = parseInstance(
    reader,
    "clientInstanceType",
    reader.stringOr("clientInstanceType", "t3.small"),
    (e) => setFix("clientInstanceType", e),
  );
  const clientRootVolumeGb = reader.integer("clientRootVolumeGb", 16, 8, 16384);
  const network = parseNetwork(reader);
  const hostNames = new Map<string, string>();
  const clients = parseClients(reader, clientInstance, clientRootVolumeGb ?? 16, hostNames);
  const ownVpc = network?.mode === "create" ? parseCidr(network.vpcCidr) : undefined;
  const externalHosts = parseExternalHosts(reader, hostNames, ownVpc?.ok ? ownVpc.cidr : undefined);
  const access = parseAccess(reader);
  const profile = parseInstanceProfile(reader);
  const architectures = new Map<string, Architecture>();
  if (monitor) architectures.set("monitor", monitor.architecture);
  for (const client of clients ?? []) architectures.set(client.name, client.architecture);
  const images = parseImages(reader, architectures);
  const metrics = parseMetrics(reader, monitor?.dataVolumeGb);
  const logRetentionDays = reader.integer(
    "logRetentionDays",
    30,
    1,
    3650,
    " (Loki keeps logs at least a day)",
  );
  const alerting = parseAlerting(reader, secretsSet, requireSecrets);
  const grafana = parseGrafana(reader);
  const exporterUsers = parseExporterCredentials(
    reader,
    clients ?? [],
    externalHosts ?? [],
    secretsSet,
    requireSecrets,
  );
  checkSecretValues(reader, settings.secretValueProblems, clients ?? [], externalHosts ?? []);
  const tags = parseTags(reader);
  const protectData = reader.boolean("protectData", false);
  if (requireSecrets && !secretsSet.has("grafanaAdminPassword")) {
    reader.report(
      "grafanaAdminPassword",
      "is required: Grafana never starts with a default admin password",
      secretFix("grafanaAdminPassword"),
    );
  }
  const pinImageDigests = reader.boolean("pinImageDigests", true);
  checkSshAuthSecret(reader, access?.sshAuth, secretsSet, requireSecrets);

  if (
    reader.problems.length > 0 ||
    !monitor ||
    !clients ||
    !externalHosts ||
    !network ||
    !access ||
    !images ||
    !metrics ||
    logRetentionDays === undefined ||
    clientRootVolumeGb === undefined ||
    !alerting ||
    !grafana ||
    !exporterUsers ||
    !tags ||
    !profile.ok
  ) {
    throw new StackConfigError(stack, reader.problems);
  }

  const secretsRecord = Object.fromEntries(
    SECRET_SETTINGS.map((key) => [key, secretsSet.has(key)]),
  ) as Record<SecretSetting, boolean>;
  const config: StackConfig = {
    project: PROJECT,
    stack,
    region,
    tags,
    protectData,
    network,
    access,
    ...(profile.name !== undefined ? { existingInstanceProfile: profile.name } : {}),
    images,
    monitor,
    clients,
    externalHosts,
    metrics,
    logs: { retentionDays: logRetentionDays },
    alerting,
    grafana,
    exporterUsers,
    secretsSet: secretsRecord,
    pinImageDigests,
  };
  return deepFreeze(config);
}

/**
 * The SSH key secret must match the login mode: `key` needs it; `agent` must not have it, so a
 * key nobody uses does not sit in the stack file looking like the one in use.
 */
function checkSshAuthSecret(
  reader: SettingsReader,
  sshAuth: SshAuth | undefined,
  secretsSet: ReadonlySet<SecretSetting>,
  requireSecrets: boolean,
): void {
  if (sshAuth === "agent" && secretsSet.has("sshPrivateKey")) {
    reader.report(
      "sshPrivateKey",
      "is set but sshAuth is agent, which logs in with the SSH agent's keys and never uses this secret",
      `${rmFix("sshPrivateKey")} (or ${setFix("sshAuth", "key")} to deploy with this key)`,
    );
  }
  if (sshAuth !== "agent" && requireSecrets && !secretsSet.has("sshPrivateKey")) {
    reader.report(
      "sshPrivateKey",
      "is required: every host gets its files and containers over SSH with this key (the private half of the hosts' key pair)",
      `${secretFix("sshPrivateKey")} (or ${setFix("sshAuth", "agent")} to log in with your SSH agent)`,
    );
  }
}

/** Secret settings the stack needs but does not have (for the render command's warnings). */
export function missingSecrets(config: StackConfig): SecretSetting[] {
  const needed: SecretSetting[] = ["grafanaAdminPassword"];
  if (sshAuthOf(config) === "key") needed.push("sshPrivateKey");
  if (config.alerting.email) needed.push("smtpPassword");
  const enabled = enabledHosts(config.clients, config.externalHosts);
  for (const exporter of PASSWORD_REQUIRED_EXPORTERS) {
    if (enabled.has(exporter)) needed.push(EXPORTER_PASSWORD_SETTINGS[exporter]);
  }
  return needed.filter((key) => !config.secretsSet[key]);
}
