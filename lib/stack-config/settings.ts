/**
 * The one table of settings: every key once, with its type, default, bounds, example and
 * description (the kinds of setting: setting-spec.ts). The reader takes defaults and bounds from here; Pulumi.yaml's `config:` block and
 * the tables in docs/configuration.md are generated from it (`npm run generate`), and a test fails
 * when either drifts.
 */
import { PRODUCTION_SNAPSHOT_RETAIN_COUNT, RULE_RATE_WINDOW_MS } from "../catalog";
import { type ExporterSettingsSpec, exporterSettings } from "./exporter-settings";
import { MAX_PROBES, MAX_SLOS } from "./reliability-fields";
import type { SettingSpec } from "./setting-spec";
import type { Architecture } from "./types";
import { formatDuration } from "./values";

/** DLM keeps at most 1000 snapshots per schedule. */
export const MAX_SNAPSHOT_RETAIN_COUNT = 1000;

/** Canonical's AWS account: owner of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";

/** Pinned, dated Ubuntu 24.04 LTS images: the same image every run, never "most recent". */
export const DEFAULT_UBUNTU_IMAGE_NAMES: Readonly<Record<Architecture, string>> = {
  x86_64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610",
  arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610",
};

/**
 * EC2 clients one stack creates and deploys over SSH. Measured under mocks (bench/RESULTS.md):
 * 100 clients preview in about 12 s with 0.5 GiB of memory, well within a CI runner; 500 take
 * about 52 s and 1.8 GiB. Fleets larger than this belong in an Auto Scaling group that EC2
 * discovery finds by its tags, not in per-host SSH deploys.
 */
export const MAX_CLIENTS = 100;
export const MAX_EXTERNAL_HOSTS = 50;
export const DEFAULT_CLIENT_NAME = "client-1";

/** A rate over the rules' window needs at least this many scrapes in it to be stable. */
const SCRAPES_PER_RATE_WINDOW = 4;

/** The settings that do not depend on which exporters exist, in the order docs list them. */
export const CORE_SETTINGS: readonly SettingSpec[] = [
  {
    key: "aws:region",
    section: "aws",
    type: "string",
    required: true,
    example: "eu-west-1",
    description: "AWS region to deploy into (a provider key: set it per stack).",
  },
  {
    key: "aws:profile",
    section: "aws",
    type: "string",
    example: "observability-prod",
    description:
      "Named profile of your AWS config files for this stack; unset: the default credential chain (environment, SSO, instance role).",
  },
  {
    key: "aws:allowedAccountIds",
    section: "aws",
    type: "list",
    required: false,
    example: "123456789012",
    description:
      "AWS account ids this stack may be deployed into; credentials for any other account make the provider refuse to run.",
  },
  {
    key: "monitorInstanceType",
    section: "hosts",
    type: "string",
    default: "t3.medium",
    example: "m6i.large",
    description: "EC2 type of the monitor host (Prometheus, Loki, Grafana, Alertmanager); medium or larger.",
  },
  {
    key: "clientInstanceType",
    section: "hosts",
    type: "string",
    default: "t3.small",
    example: "t3.small",
    description: "Default EC2 type of client hosts (a client may override it).",
  },
  {
    key: "clients",
    section: "hosts",
    type: "hosts",
    defaultText: `one client, \`${DEFAULT_CLIENT_NAME}\``,
    example: "web-1",
    description: `EC2 client hosts this stack creates (up to ${MAX_CLIENTS}); fields below. An explicit empty list means none.`,
  },
  {
    key: "fleetEnrolment",
    section: "hosts",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "Publish the agent bundle to S3 and export what a launch template needs to enrol instances this stack does not create (user data, client instance profile and security group, discovery tags); the log-push password reaches them through SSM (docs/fleet.md).",
  },
  {
    key: "externalHosts",
    section: "hosts",
    type: "hosts",
    defaultText: "none",
    example: "onprem-1",
    description: `Hosts outside AWS, scraped through file discovery and deployed over SSH (up to ${MAX_EXTERNAL_HOSTS}); fields below.`,
  },
  {
    key: "monitorRootVolumeGb",
    section: "hosts",
    type: "integer",
    default: 20,
    min: 8,
    max: 1024,
    example: "20",
    description: "Monitor root volume (GiB, encrypted gp3).",
  },
  {
    key: "monitorDataVolumeGb",
    section: "hosts",
    type: "integer",
    default: 50,
    min: 10,
    max: 16384,
    example: "100",
    description:
      "Monitor data volume for Prometheus, Loki, Grafana and Alertmanager data (GiB, encrypted gp3).",
  },
  {
    key: "dataSnapshotRetainCount",
    section: "hosts",
    // A whole number, declared as a string so that "unset" exists: it then depends on `production`.
    type: "string",
    example: "14",
    description: `Daily snapshots of the monitor data volume (AWS Data Lifecycle Manager, 03:00 UTC) to keep, a whole number from 0 (no snapshots) to ${MAX_SNAPSHOT_RETAIN_COUNT}. Unset: ${PRODUCTION_SNAPSHOT_RETAIN_COUNT} on a production stack, else 0.`,
  },
  {
    key: "dataVolumeSnapshotId",
    section: "hosts",
    type: "string",
    example: "snap-0123456789abcdef0",
    description:
      "Create the monitor data volume from this EBS snapshot (restore: docs/operations.md); setting or changing it replaces the data volume.",
  },
  {
    key: "clientRootVolumeGb",
    section: "hosts",
    type: "integer",
    default: 16,
    min: 8,
    max: 16384,
    example: "16",
    description: "Default client root volume (GiB, encrypted gp3).",
  },
  {
    key: "amiId",
    section: "hosts",
    type: "string",
    example: "ami-0123456789abcdef0",
    description:
      "Explicit AMI for every host; wins over the Ubuntu image names. Must match every host's architecture.",
  },
  {
    key: "ubuntuImageNameX86",
    section: "hosts",
    type: "string",
    default: DEFAULT_UBUNTU_IMAGE_NAMES.x86_64,
    example: DEFAULT_UBUNTU_IMAGE_NAMES.x86_64,
    description: "Exact dated Canonical image name for x86_64 hosts.",
  },
  {
    key: "ubuntuImageNameArm",
    section: "hosts",
    type: "string",
    default: DEFAULT_UBUNTU_IMAGE_NAMES.arm64,
    example: DEFAULT_UBUNTU_IMAGE_NAMES.arm64,
    description: "Exact dated Canonical image name for arm64 hosts.",
  },
  {
    key: "instanceProfileName",
    section: "hosts",
    type: "string",
    example: "LabInstanceProfile",
    description: "Existing instance profile to attach instead of creating IAM roles (restricted accounts).",
  },
  {
    key: "vpcCidr",
    section: "network",
    type: "string",
    default: "10.42.0.0/16",
    example: "10.42.0.0/16",
    description: "CIDR of the dedicated VPC, a private range from /16 to /28 (ignored with existingVpcId).",
  },
  {
    key: "subnetCidr",
    section: "network",
    type: "string",
    default: "10.42.1.0/24",
    example: "10.42.1.0/24",
    description: "CIDR of the public subnet, inside vpcCidr (ignored with existingSubnetId).",
  },
  {
    key: "existingVpcId",
    section: "network",
    type: "string",
    example: "vpc-0123456789abcdef0",
    description: "Use this VPC instead of creating one (set together with existingSubnetId).",
  },
  {
    key: "existingSubnetId",
    section: "network",
    type: "string",
    example: "subnet-0123456789abcdef0",
    description: "Subnet in existingVpcId for every host (set together with existingVpcId).",
  },
  {
    key: "secondSubnetCidr",
    section: "network",
    type: "string",
    default: "10.42.2.0/24",
    example: "10.42.2.0/24",
    description:
      "With grafanaDomain: CIDR of a second public subnet, in another zone, for the load balancer only; inside vpcCidr.",
  },
  {
    key: "existingSecondSubnetId",
    section: "network",
    type: "string",
    example: "subnet-0fedcba9876543210",
    description:
      "With existingVpcId and grafanaDomain: a second public subnet of that VPC, in another zone, for the load balancer.",
  },
  {
    key: "sshAllowedCidrs",
    section: "access",
    type: "list",
    required: true,
    example: "203.0.113.10/32",
    description: "IPv4 CIDRs allowed to reach SSH (22); /16 or narrower, never 0.0.0.0/0.",
  },
  {
    key: "grafanaAllowedCidrs",
    section: "access",
    type: "list",
    required: true,
    example: "203.0.113.0/24",
    description:
      "IPv4 CIDRs allowed to reach Grafana: its HTTPS load balancer with grafanaDomain (else unused, or port 3000 with grafanaInsecurePlainHttp); /8 or narrower.",
  },
  {
    key: "grafanaDomain",
    section: "access",
    type: "string",
    example: "grafana.example.com",
    description:
      "Serve Grafana at https://<this>/ (ACM certificate, load balancer on 443, Route 53 alias); unset: only through an SSH tunnel.",
  },
  {
    key: "grafanaHostedZoneId",
    section: "access",
    type: "string",
    example: "Z0123456789ABCDEFGHIJ",
    description:
      "Route 53 public hosted zone of grafanaDomain (required with it): certificate validation and alias.",
  },
  {
    key: "grafanaInsecurePlainHttp",
    section: "access",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "INSECURE: without grafanaDomain, publish Grafana on port 3000 over plain HTTP to grafanaAllowedCidrs. The policy pack fails it in prod.",
  },
  {
    key: "sshPublicKey",
    section: "access",
    type: "string",
    example: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExampl you@example.com",
    description: "OpenSSH public key to install on every host (exactly one of this and sshKeyPairName).",
  },
  {
    key: "sshKeyPairName",
    section: "access",
    type: "string",
    example: "ops-keypair",
    description: "Existing EC2 key pair name (exactly one of this and sshPublicKey).",
  },
  {
    key: "sshUser",
    section: "access",
    type: "string",
    default: "ubuntu",
    example: "ubuntu",
    description: "Login user of the AMI.",
  },
  {
    key: "sshAuth",
    section: "access",
    type: "choice",
    choices: ["key", "agent"],
    default: "key",
    example: "agent",
    description:
      "How the deploy logs in over SSH: key (the sshPrivateKey secret) or agent (the SSH agent at SSH_AUTH_SOCK of the machine running pulumi).",
  },
  {
    key: "scrapeInterval",
    section: "metrics",
    type: "duration",
    default: "30s",
    min: "1s",
    max: formatDuration(RULE_RATE_WINDOW_MS / SCRAPES_PER_RATE_WINDOW),
    boundsReason: `the alert rules take rates over ${formatDuration(RULE_RATE_WINDOW_MS)}, which needs at least ${SCRAPES_PER_RATE_WINDOW} scrapes`,
    example: "30s",
    description: "Prometheus scrape interval.",
  },
  {
    key: "evaluationInterval",
    section: "metrics",
    type: "duration",
    default: "30s",
    min: "1s",
    max: "5m",
    example: "30s",
    description: "Prometheus rule evaluation interval.",
  },
  {
    key: "metricsRetention",
    section: "metrics",
    type: "duration",
    default: "15d",
    min: "1d",
    max: "100y",
    example: "15d",
    description: "Prometheus retention time.",
  },
  {
    key: "metricsRetentionSize",
    section: "metrics",
    type: "string",
    example: "40GB",
    description: "Optional Prometheus size limit (e.g. 40GB); at most 80% of the data volume.",
  },
  {
    key: "managedPrometheus",
    section: "metrics",
    type: "choice",
    choices: ["off", "create", "existing"],
    default: "off",
    example: "create",
    description:
      "Also remote-write every sample to Amazon Managed Service for Prometheus, signed (SigV4) with the monitor's instance role: `create` a workspace, use an `existing` one (managedPrometheusWorkspaceId), or `off`. Local Prometheus, its rules and Alertmanager keep working when the workspace is unreachable.",
  },
  {
    key: "managedPrometheusWorkspaceId",
    section: "metrics",
    type: "string",
    example: "ws-b226cc2a-a446-46a9-933a-ac50479a5568",
    description: "The workspace to write to when managedPrometheus is `existing` (in the stack's region).",
  },
  {
    key: "logRetentionDays",
    section: "logs",
    type: "integer",
    default: 30,
    min: 1,
    max: 3650,
    example: "30",
    description: "Loki retention in days; the bucket's lifecycle safety net follows it.",
  },
  {
    key: "logDeletionEnabled",
    section: "logs",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "Turn on Loki's log deletion API (deletion_mode filter-and-delete); off, nobody can delete logs before retention does.",
  },
  {
    key: "lokiNoncurrentVersionDays",
    section: "logs",
    type: "integer",
    default: 7,
    min: 1,
    max: 90,
    example: "7",
    description:
      "Days the versioned Loki bucket keeps an overwritten or deleted object's previous version: the window to undo a wipe.",
  },
  {
    key: "lokiBucketAdminArns",
    section: "logs",
    type: "list",
    required: false,
    example: "arn:aws:iam::123456789012:role/Admin",
    description:
      "IAM role or user ARNs (wildcards allowed) that keep object access to the Loki bucket besides the monitor role and the account root; all others are denied it.",
  },
  {
    key: "alertEmailTo",
    section: "alerting",
    type: "list",
    required: false,
    example: "oncall@example.com",
    description: "Alert email recipients; empty turns email alerting off.",
  },
  {
    key: "smtpSmarthost",
    section: "alerting",
    type: "string",
    example: "email-smtp.eu-west-1.amazonaws.com:587",
    description: "SMTP relay as host:port (required with email).",
  },
  {
    key: "smtpFrom",
    section: "alerting",
    type: "string",
    example: "alertmanager@example.com",
    description: "Sender address of alert emails (required with email).",
  },
  {
    key: "smtpUsername",
    section: "alerting",
    type: "string",
    example: "smtp-user",
    description: "SMTP auth user name (required with email; the password is the smtpPassword secret).",
  },
  {
    key: "smtpRequireTls",
    section: "alerting",
    type: "boolean",
    default: true,
    example: "true",
    description: "Require STARTTLS to the relay; may be false only for implicit TLS on port 465.",
  },
  {
    key: "slackChannel",
    section: "alerting",
    type: "string",
    default: "#alerts",
    example: "#alerts",
    description: "Slack channel for alerts (used when the slackWebhookUrl secret is set).",
  },
  {
    key: "alertThresholds",
    section: "alerting",
    type: "map",
    defaultText: "none",
    example: "90",
    description: "Overrides of alert thresholds; fields below.",
  },
  {
    key: "runbookBaseUrl",
    section: "alerting",
    type: "string",
    example: "https://git.example.com/sre/observability/blob/main/runbooks",
    description:
      "https URL (no trailing slash) where runbooks/<AlertName>.md is browsable; alerts link to it. Unset: to the alert's panel on Grafana's Runbooks dashboard.",
  },
  {
    key: "heartbeatOptOut",
    section: "alerting",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "Deploy a production stack without the heartbeatUrl secret (then nothing outside notices a dead monitor).",
  },
  {
    key: "grafanaRootUrl",
    section: "grafana",
    type: "string",
    example: "https://grafana.example.com/",
    description: "Public Grafana URL; unset means http://<monitor Elastic IP>:3000/.",
  },
  {
    key: "slos",
    section: "reliability",
    type: "records",
    defaultText: "none",
    example: "api-availability",
    description: `Service level objectives (up to ${MAX_SLOS}): recording rules, burn-rate alerts and the SLOs dashboard; fields below.`,
  },
  {
    key: "probes",
    section: "reliability",
    type: "records",
    defaultText: "none",
    example: "homepage",
    description: `Uptime probes (up to ${MAX_PROBES}) the blackbox exporter on the monitor runs: HTTP(S) URLs and TCP ports; fields below. None: no blackbox exporter.`,
  },
  {
    key: "probeCertExpiryDays",
    section: "reliability",
    type: "integer",
    default: 14,
    min: 1,
    max: 90,
    example: "21",
    description:
      "ProbeCertificateExpiring fires when an https probe's certificate expires within this many days.",
  },
  {
    key: "traces",
    section: "reliability",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "Run Grafana Tempo on the monitor and an OTLP receiver (4317 gRPC, 4318 HTTP, host only) in every host's Alloy.",
  },
  {
    key: "traceRetention",
    section: "reliability",
    type: "duration",
    default: "14d",
    min: "1d",
    max: "365d",
    example: "7d",
    description:
      "How long Tempo keeps traces (with traces on); the bucket's lifecycle rule for the traces prefix expires a day later.",
  },
  {
    key: "tags",
    section: "deploy",
    type: "map",
    defaultText: "none",
    example: "sre",
    description: "Extra tags on every resource (map of key to value).",
  },
  {
    key: "protectData",
    section: "deploy",
    type: "boolean",
    default: false,
    example: "true",
    description: "Protect the Loki bucket and the monitor data volume from deletion (prod).",
  },
  {
    key: "production",
    section: "deploy",
    type: "boolean",
    default: false,
    example: "true",
    description:
      "A production stack: pulumi up (not preview) refuses documentation placeholders (example.com receivers and senders, RFC 5737 CIDRs, an example runbook URL), the heartbeatUrl secret is required unless heartbeatOptOut, and data volume snapshots are on unless dataSnapshotRetainCount says otherwise.",
  },
  {
    key: "pinImageDigests",
    section: "deploy",
    type: "boolean",
    default: true,
    example: "false",
    description:
      "Deploy every container image as tag@sha256 digest read from its registry (false: tags only, for registries this machine cannot reach).",
  },
  {
    key: "grafanaAdminPassword",
    section: "grafana",
    type: "secret",
    example: "correct-horse-battery-staple",
    description: "Required. Grafana admin password.",
  },
  {
    key: "smtpPassword",
    section: "alerting",
    type: "secret",
    example: "smtp-password",
    description: "SMTP password; required when alertEmailTo is set.",
  },
  {
    key: "slackWebhookUrl",
    section: "alerting",
    type: "secret",
    example: "https://hooks.slack.com/services/T000/B000/XXXX",
    description: "Slack incoming webhook; turns Slack alerts on.",
  },
  {
    key: "pagerdutyRoutingKey",
    section: "alerting",
    type: "secret",
    example: "0123456789abcdef0123456789abcdef",
    description: "PagerDuty Events v2 routing key; turns paging on.",
  },
  {
    key: "heartbeatUrl",
    section: "alerting",
    type: "secret",
    example: "https://heartbeat.example.com/ping/0123",
    description: "Dead man's switch URL the Watchdog alert is sent to.",
  },
  {
    key: "sshPrivateKey",
    section: "access",
    type: "secret",
    example: "-----BEGIN OPENSSH PRIVATE KEY-----",
    description:
      "Private key (matching the hosts' key pair) Pulumi deploys files and containers with over SSH; required unless sshAuth is agent.",
  },
];

/** Every setting of a stack whose hosts may run these exporters. */
export function settingsTable(exporters: readonly ExporterSettingsSpec[]): SettingSpec[] {
  return [...CORE_SETTINGS, ...exporterSettings(exporters)];
}
