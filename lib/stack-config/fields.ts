/**
 * The fields of the structured settings: a client, a host outside AWS, the alert thresholds.
 * Part of the settings table (./settings.ts): the reader takes bounds from here and the docs'
 * tables are generated from here.
 */
import type { AlertThresholds } from "./types";

/** A field of a map entry (a client, an outside host, an alert threshold). */
export interface FieldSpec {
  readonly key: string;
  readonly type: "string" | "integer" | "number" | "duration" | "list" | "key";
  readonly required: boolean;
  /** Shown in the docs; undefined: unset, or the stack-wide setting named in the description. */
  readonly default?: string | number;
  readonly min?: number;
  readonly max?: number;
  /** A valid value, for the docs and tests; absent where the valid values come from elsewhere (exporters). */
  readonly example?: string;
  readonly description: string;
}

export const CLIENT_FIELDS: readonly FieldSpec[] = [
  {
    key: "name",
    type: "string",
    required: true,
    example: "web-1",
    description:
      "Host name: 1-32 lowercase letters, digits or hyphens; unique across clients and externalHosts.",
  },
  {
    key: "instanceType",
    type: "string",
    required: false,
    example: "t3.small",
    description: "EC2 type; clientInstanceType when unset.",
  },
  {
    key: "rootVolumeGb",
    type: "integer",
    required: false,
    min: 8,
    max: 16384,
    example: "16",
    description: "Root volume (GiB); clientRootVolumeGb when unset.",
  },
  {
    key: "exporters",
    type: "list",
    required: false,
    description: "Optional exporters the host runs (each at most once).",
  },
];

export const EXTERNAL_HOST_FIELDS: readonly FieldSpec[] = [
  CLIENT_FIELDS[0] as FieldSpec,
  {
    key: "address",
    type: "string",
    required: true,
    example: "198.51.100.7",
    description:
      "The host's IPv4 address, which Prometheus scrapes and SSH reaches; the monitor admits its log pushes from <address>/32.",
  },
  {
    key: "sshUser",
    type: "string",
    required: true,
    example: "deploy",
    description: "Linux user the deploy logs in as (passwordless sudo).",
  },
  CLIENT_FIELDS[3] as FieldSpec,
  {
    key: "hostKey",
    type: "key",
    required: false,
    example: "ecdsa-sha2-nistp256 AAAA...",
    description:
      "The host's own SSH public key (/etc/ssh/ssh_host_ecdsa_key.pub); unset: trusted on first use (docs/ssh.md).",
  },
];

/** Alert thresholds: bounds here, defaults in DEFAULT_ALERT_THRESHOLDS. */
export const ALERT_THRESHOLD_FIELDS: readonly (FieldSpec & { readonly key: keyof AlertThresholds })[] = [
  {
    key: "hostDownFor",
    type: "duration",
    required: false,
    example: "2m",
    description:
      "How long a host's agents must be unreachable before HostUnreachable fires; at least 1m and 2 scrapes.",
  },
  {
    key: "cpuPercent",
    type: "number",
    required: false,
    min: 1,
    max: 100,
    example: "80",
    description: "CPU busy percentage for HostHighCpu.",
  },
  {
    key: "cpuFor",
    type: "duration",
    required: false,
    example: "5m",
    description: "How long the CPU must stay busy.",
  },
  {
    key: "memoryPercent",
    type: "number",
    required: false,
    min: 1,
    max: 100,
    example: "85",
    description: "Memory used percentage for HostHighMemory.",
  },
  {
    key: "memoryFor",
    type: "duration",
    required: false,
    example: "5m",
    description: "How long memory must stay high.",
  },
  {
    key: "diskPercent",
    type: "number",
    required: false,
    min: 1,
    max: 100,
    example: "85",
    description: "Filesystem used percentage for HostDiskFull.",
  },
  {
    key: "diskFor",
    type: "duration",
    required: false,
    example: "5m",
    description: "How long the disk must stay full.",
  },
  {
    key: "diskFillHours",
    type: "integer",
    required: false,
    min: 1,
    max: 720,
    example: "24",
    description: "Hours ahead HostDiskWillFillSoon looks (predict_linear).",
  },
  {
    key: "inodePercent",
    type: "number",
    required: false,
    min: 1,
    max: 100,
    example: "90",
    description: "Inodes used percentage for HostInodesExhausted.",
  },
];

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

/** The shortest `for` of a threshold duration: below it a single missed scrape pages. */
export const MIN_THRESHOLD_FOR = "1m";
export const MAX_THRESHOLD_FOR = "1d";
