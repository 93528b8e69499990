/**
 * The typed, validated stack configuration: the only thing components and renderers see.
 *
 * `parseStackConfig` is pure: it takes the raw settings (as Pulumi or a stack file holds them)
 * and either returns a frozen StackConfig or throws a StackConfigError listing every problem,
 * each with the `pulumi config set ...` line that fixes it. Secrets never enter StackConfig:
 * it only records which ones are set; their values travel separately as Pulumi secrets.
 */
import type { OptionalExporter } from "./catalog";

/** Project name in Pulumi.yaml: the namespace of every setting (`observability:region`). */
export const PROJECT = "observability";

export type Architecture = "x86_64" | "arm64";

/** Names of the settings that hold secrets; their values never enter StackConfig. */
export const SECRET_SETTINGS = [
  "smtpPassword",
  "slackWebhookUrl",
  "pagerdutyRoutingKey",
  "heartbeatUrl",
  "grafanaAdminPassword",
  "sshPrivateKey",
] as const;
export type SecretSetting = (typeof SECRET_SETTINGS)[number];

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
  /** IP address or DNS name Prometheus scrapes and SSH reaches. */
  readonly address: string;
  readonly sshUser: string;
  readonly exporters: readonly OptionalExporter[];
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
  /** Which secret settings are set (values are never here). */
  readonly secretsSet: Readonly<Record<SecretSetting, boolean>>;
}
