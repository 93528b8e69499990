/**
 * The typed, validated stack configuration: the only thing components and renderers see. Built
 * by `readStackConfig` (./parse.ts), deeply frozen. Secrets never enter it: it records only
 * which ones are set; their values travel separately as Pulumi secrets.
 */
import type { Architecture } from "./values";

export type { Architecture } from "./values";

/**
 * How Pulumi authenticates over SSH to deploy the hosts: `key` with the sshPrivateKey secret from
 * stack config, `agent` with whatever key the SSH agent of the machine running `pulumi up` holds.
 */
const SSH_AUTH_MODES = ["key", "agent"] as const;
export type SshAuth = (typeof SSH_AUTH_MODES)[number];

/**
 * Name of a secret setting (`grafanaAdminPassword`, an exporter's password, ...); the settings
 * table says which names are secrets.
 */
export type SecretSetting = string;

export interface InstanceSettings {
  readonly instanceType: string;
  /** Derived from the instance family (t4g, m7g, ... are arm64). */
  readonly architecture: Architecture;
}

export interface MonitorSettings extends InstanceSettings {
  readonly rootVolumeGb: number;
  /** Separate encrypted EBS volume for Prometheus, Loki, Grafana and Alertmanager data. */
  readonly dataVolumeGb: number;
  /** Daily snapshots of the data volume to keep (0: no snapshot policy). */
  readonly snapshotRetainCount: number;
  /** The EBS snapshot the data volume is created from (a restore). */
  readonly restoreSnapshotId?: string;
}

/** What every scraped host carries: its name and its optional exporters. */
export interface ScrapedHost {
  readonly name: string;
  /** Names of the optional exporters the host runs, as listed (each at most once). */
  readonly exporters: readonly string[];
  /**
   * Per-host settings of its exporters (`nginxStatusUrl`, ...) by field name: every field of every
   * enabled exporter, with the exporter's default where the host sets none.
   */
  readonly exporterSettings: Readonly<Record<string, string>>;
}

export interface ClientHost extends InstanceSettings, ScrapedHost {
  readonly rootVolumeGb: number;
}

/** A host outside AWS: scraped through file SD, agents deployed over SSH. */
export interface ExternalHost extends ScrapedHost {
  /**
   * IPv4 address Prometheus scrapes and SSH reaches; the monitor admits the host's log pushes to
   * Loki from `<address>/32`, so it is never a DNS name.
   */
  readonly address: string;
  readonly sshUser: string;
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
  /** How the deploy authenticates over SSH. */
  readonly sshAuth: SshAuth;
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
  /** Amazon Managed Service for Prometheus, written to besides local storage; unset: off. */
  readonly managedStore?: ManagedPrometheusStore;
}

/** The workspace every sample is also remote-written to: created by the stack, or an existing one. */
export type ManagedPrometheusStore =
  | { readonly mode: "create" }
  | { readonly mode: "existing"; readonly workspaceId: string };

export interface LogSettings {
  /** Loki compactor retention; the bucket's lifecycle safety net is derived from it. */
  readonly retentionDays: number;
  /** Loki's delete API on (`filter-and-delete`); off (`disabled`) by default. */
  readonly deletionEnabled: boolean;
  /** Days the versioned bucket keeps noncurrent object versions before they expire. */
  readonly noncurrentVersionDays: number;
  /** IAM principal ARN patterns that keep object access besides the monitor role and the root user. */
  readonly bucketAdminArns: readonly string[];
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
  /** A production stack deploys without a heartbeat receiver only with this explicit opt-out. */
  readonly heartbeatOptOut: boolean;
  readonly thresholds: AlertThresholds;
  /**
   * https URL without trailing slash: every alert's runbook_url is `<runbookBaseUrl>/<Alert>.md`.
   * Unset: the alert's panel on the Runbooks dashboard of the stack's own Grafana.
   */
  readonly runbookBaseUrl?: string;
}

export interface GrafanaSettings {
  /** Public root URL; unset means derived from how Grafana is reached (see exposure). */
  readonly rootUrl?: string;
  /** How Grafana is reached from outside the monitor. */
  readonly exposure: GrafanaExposure;
}

/**
 * - tunnel: nowhere but the monitor's loopback; operators use an SSH tunnel (the default).
 * - https: an ACM certificate and a load balancer on 443 at `domain`; the monitor admits only it.
 * - insecure-http: port 3000 over plain HTTP to the Grafana CIDRs (explicit opt-in).
 */
export type GrafanaExposure =
  | { readonly mode: "tunnel" }
  | {
      readonly mode: "https";
      readonly domain: string;
      readonly hostedZoneId: string;
      /** The load balancer's second subnet: a CIDR to create, or an existing subnet's id. */
      readonly secondSubnet: { readonly cidr: string } | { readonly subnetId: string };
    }
  | { readonly mode: "insecure-http" };

/** Where an SLO's good and total events come from. */
export type SliSettings =
  /** PromQL per second, each with `[$window]` where the range goes. */
  | { readonly kind: "ratio"; readonly good: string; readonly total: string }
  /** The successful checks of an uptime probe (by its name). */
  | { readonly kind: "probe"; readonly probe: string };

/** A service level objective: recording rules, burn-rate alerts and a dashboard row. */
export interface SloSettings {
  readonly name: string;
  /** Percentage of good events, above 0 and below 100 (e.g. 99.9). */
  readonly objective: number;
  /** Prometheus duration the error budget covers (e.g. 30d). */
  readonly window: string;
  readonly sli: SliSettings;
}

export type ProbeTarget =
  | {
      readonly name: string;
      readonly kind: "http";
      readonly url: string;
      /** Status codes that count as up. */
      readonly expectStatus: readonly number[];
      /** RE2 the body must match. */
      readonly bodyMatch?: string;
    }
  | { readonly name: string; readonly kind: "tcp"; readonly address: string };

/** Uptime probes by the blackbox exporter on the monitor; none: no exporter, no job. */
export interface ProbeSettings {
  readonly targets: readonly ProbeTarget[];
  /** Days before a certificate's expiry that ProbeCertificateExpiring fires. */
  readonly certExpiryDays: number;
}

/** Tracing with Tempo on the monitor: present only when the stack turns it on. */
export interface TraceSettings {
  /** How long Tempo keeps blocks (a Prometheus duration); the bucket's lifecycle follows it. */
  readonly retention: string;
}

/** Settings of the AWS provider itself, beyond the region. */
export interface AwsProviderSettings {
  /** Named profile of the shared AWS config files; unset means the default credential chain. */
  readonly profile?: string;
  /** Accounts the stack may be deployed into: any other makes the provider refuse to run. */
  readonly allowedAccountIds?: string[];
}

export interface StackConfig {
  readonly project: string;
  /** The Pulumi stack name; also the `Environment` tag and Prometheus `environment` label. */
  readonly stack: string;
  readonly region: string;
  readonly aws: AwsProviderSettings;
  /** Extra tags on every resource (merged under the product's own tags). */
  readonly tags: Readonly<Record<string, string>>;
  /** Prod: protect the Loki bucket and data volume from deletion. Dev: destroyable. */
  readonly protectData: boolean;
  /** A production stack: pulumi up refuses placeholders, a heartbeat receiver is required. */
  readonly production: boolean;
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
  /** Service level objectives; empty: no SLO rules or dashboard. */
  readonly slos: readonly SloSettings[];
  readonly probes: ProbeSettings;
  /** Undefined: tracing is off (no Tempo, no OTLP receivers). */
  readonly traces?: TraceSettings;
  /**
   * Login names of the exporters' monitoring accounts by exporter name (`postgres` ->
   * `postgres_exporter`): one per exporter per stack, shared by every host that enables it.
   * Exporters that log in by password only (Redis) have none.
   */
  readonly exporterUsers: Readonly<Record<string, string>>;
  /** Which secret settings are set, by name (values are never here). */
  readonly secretsSet: Readonly<Record<SecretSetting, boolean>>;
  /**
   * Deployed compose files name every image as `repo:tag@sha256:<digest>`, the digest read from
   * the registry at preview/up time. False: tags only (registry unreachable).
   */
  readonly pinImageDigests: boolean;
  /** Publish the agent bundle and the enrolment outputs for instances other stacks create (docs/fleet.md). */
  readonly fleetEnrolment: boolean;
}
