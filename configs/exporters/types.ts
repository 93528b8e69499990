/**
 * An optional exporter as one record: everything the stack knows of it lives in its own file
 * (configs/exporters/<name>.ts) and code elsewhere iterates over the registry (./index.ts).
 * The renderers (compose, Prometheus, rules, dashboards, process exporter, security groups,
 * docs) read the facets below and never name an exporter.
 */

import type { ExporterSettingsSpec } from "../../lib/stack-config/exporter-settings";
import type { ProcessNameRule } from "../agents/process-exporter";
import type { KeySeriesPanel } from "../dashboards/exporter-panels";
import type { ReferenceSet } from "../rules/coverage";
import type { AlertRule } from "../rules/types";

/** What a container's command and environment are built from on one host. */
export interface ExporterContainerContext {
  /** `address:port` the exporter listens on: the host's bind address and the record's port. */
  readonly listenAddress: string;
  /** The host's values of the record's per-host fields (`settings.hostFields`), defaults filled in. */
  readonly hostSettings: Readonly<Record<string, string>>;
}

/**
 * The exporter's container on the host. It runs on the host network, so it reaches its service
 * on 127.0.0.1 and listens on the record's port itself.
 */
export interface ExporterContainer {
  /** Fully qualified and pinned to an exact release. */
  readonly image: string;
  /** Where the pinned release was checked (docs/render.md). */
  readonly imageCheckedAgainst: string;
  readonly command: (context: ExporterContainerContext) => readonly string[];
  readonly environment?: (context: ExporterContainerContext) => Readonly<Record<string, string>>;
}

/** How a credential file reaches the exporter. */
export type CredentialDelivery =
  /** Compose `secrets:` bind-mounts the file read-only at /run/secrets/<name>; the exporter reads it. */
  | "compose-secret"
  /**
   * Compose `env_file:` loads KEY=value lines into the container's environment. Only for an
   * exporter that reads nothing but environment variables: the values are then visible to
   * `docker inspect`, i.e. to root and the docker group. The Docker engine reads the file as root.
   */
  | "env-file";

export interface ExporterCredentialFile {
  /** Compose secret name (also the file name under /run/secrets). */
  readonly name: string;
  /** Path on the host, relative to the agents' compose directory (under SECRETS_DIR). */
  readonly path: string;
  readonly delivery: CredentialDelivery;
  /**
   * File owner. Compose secrets outside Swarm are bind mounts that keep the host file's owner:
   * the UID the exporter's image runs as. The Docker engine reads an env file as root.
   */
  readonly ownerUid: number;
  readonly mode: "0400" | "0600";
  /** What the file holds, in words (docs/clients.md). */
  readonly format: string;
}

/** The files an exporter reads its monitoring account from, and how they are written. */
export interface ExporterCredentials {
  readonly files: readonly ExporterCredentialFile[];
  /**
   * Content of each file, by file name, from values the settings' `passwordProblem` accepted
   * (user and password alike). The user is empty for a service without login names (Redis),
   * the password empty when an optional one is not set.
   */
  readonly render: (user: string, password: string) => Readonly<Record<string, string>>;
}

/** An alert rule of the exporter and the runbook behind its `runbook_url` (runbooks/<name>.md). */
export interface ExporterAlert {
  readonly rule: AlertRule;
  /** The runbook as Markdown. */
  readonly runbook: string;
}

/** The exporter's Grafana dashboard (`exporter-<name>.json`), below its status panel. */
export interface ExporterDashboard {
  readonly description: string;
  /** What the dashboard answers (docs/dashboards.md). */
  readonly answers: string;
  /** What the status panel on the up gauge answers (docs/dashboards.md). */
  readonly statusQuestion: string;
  /** Key series, given the PromQL label selector of the chosen environment and hosts. */
  readonly panels: (selector: string) => readonly KeySeriesPanel[];
}

/** A process-exporter group for the exporter's service. */
export interface ExporterProcessGroup extends ProcessNameRule {
  /**
   * The group narrows one of the host's general groups (Jenkins is a `java` process), so it is
   * matched before them: process-exporter gives a process to the first rule that matches.
   */
  readonly beforeGeneralGroups?: boolean;
}

/** A series a record's dashboard and alerts read: its own labels, and where it is documented. */
interface DocumentedMetric {
  /** The metric's own labels (target labels such as job and instance come from the scrape). */
  readonly labels: readonly string[];
  /** Where the name and labels are documented for the pinned version (URL or source file). */
  readonly source: string;
}

/** Rows of the docs tables (docs/clients.md, docs/dashboards.md). */
export interface ExporterDocs {
  /** What serves the metrics, e.g. `nginx-prometheus-exporter` or `Jenkins Prometheus plugin`. */
  readonly source: string;
  /** What the service on the host needs so the exporter can read it. */
  readonly serviceNeeds: string;
  /** Said after the port when the port is not the exporter's own, e.g. "Jenkins' own". */
  readonly portNote?: string;
}

export interface ExporterRecord {
  /** As listed in a host's `exporters`, the scrape job's name and the `Exporters` tag's item. */
  readonly name: string;
  /** The service's name in titles and sentences, e.g. `PostgreSQL`. */
  readonly title: string;
  /** Its settings: the monitoring account and the per-host fields, read and checked by lib/. */
  readonly settings: ExporterSettingsSpec;
  /** Metrics port on the host: scraped by Prometheus, opened to the monitor's security group only. */
  readonly port: number;
  /** Where Prometheus finds the metrics on that port. */
  readonly metricsPath: string;
  /**
   * The gauge that is 1 while the exporter reaches its service (0 while the exporter itself is
   * still scraped fine); `up` for a service that serves its own metrics.
   */
  readonly upMetric: string;
  /** Absent for a service that serves its own metrics (Jenkins): nothing extra runs on the host. */
  readonly container?: ExporterContainer;
  /** Present exactly when `settings.credentials` is. */
  readonly credentials?: ExporterCredentials;
  /** Loaded only when some host enables the exporter, as rule group `exporter-<name>`. */
  readonly alerts: readonly ExporterAlert[];
  /** The reference alert set the record's alerts were compared with (docs/alerts.md's coverage table). */
  readonly alertCoverage?: ReferenceSet;
  readonly dashboard: ExporterDashboard;
  /** Rendered on every host, whether or not it enables the exporter. */
  readonly processGroups: readonly ExporterProcessGroup[];
  /** Every series its dashboard and alerts read, by name (the dashboard tests hold them to it). */
  readonly metrics: Readonly<Record<string, DocumentedMetric>>;
  readonly docs: ExporterDocs;
}
