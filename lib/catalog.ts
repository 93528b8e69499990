/**
 * The catalogue of the stack's own services and agents: their ports and the discovery tags.
 * Security groups, Prometheus scrape jobs and compose files all read from here, so a port
 * changes in one place. Each optional exporter's port is in its record (configs/exporters/).
 */

/** Ports on the monitor host. Only Grafana and SSH are ever reachable from outside the VPC. */
export const MONITOR_PORTS = {
  grafana: 3000,
  prometheus: 9090,
  alertmanager: 9093,
  /** Loki's HTTP API: on the monitor's compose network only (Grafana, the monitor's own Alloy). */
  loki: 3100,
  /**
   * The push gateway (configs/gateway.ts): Loki's push path, with per-host credentials, for the
   * clients' security group and each host outside AWS. The only port pushing hosts reach.
   */
  gateway: 3101,
} as const;

/** Agents on every host (clients and the monitor itself), scraped by Prometheus. */
export const AGENT_PORTS = {
  nodeExporter: 9100,
  processExporter: 9256,
  /** cAdvisor defaults to 8080, which Jenkins also uses: moved. */
  cadvisor: 8089,
  alloy: 12345,
} as const;

export const SSH_PORT = 22;

/** EC2 tags Prometheus discovery keys on. */
export const DISCOVERY_TAGS = {
  scrape: "Scrape",
  name: "Name",
  environment: "Environment",
  /** Comma-separated optional exporters, e.g. `nginx,redis`; empty when none. */
  exporters: "Exporters",
} as const;

/**
 * Push-gateway user of every enrolled fleet host (docs/fleet.md): they share one credential, read
 * from SSM by the client role, since the program never sees the instances an Auto Scaling group
 * starts. Never a configured host's name.
 */
export const FLEET_PUSH_USER = "fleet";

/**
 * EC2 tag of enrolled fleet hosts (value `true`): with it, discovery takes the instance id as the
 * `instance` label instead of the `Name` tag, which an Auto Scaling group gives every instance.
 */
export const FLEET_DISCOVERY_TAG = "ObservabilityFleet";

/**
 * Tag on the monitor's data volume that the stack's snapshot policy (AWS Data Lifecycle Manager)
 * targets: value `<stack>-monitor-data`. Snapshots carry it too (DLM copies the volume's tags).
 */
export const DATA_SNAPSHOT_TAG = "ObservabilitySnapshots";

/** Daily snapshots a production stack keeps when dataSnapshotRetainCount is unset. */
export const PRODUCTION_SNAPSHOT_RETAIN_COUNT = 14;

/**
 * The window alert rules take rates over (`rate(x[5m])`): the scrape interval must leave several
 * samples in it, so the settings reader bounds scrapeInterval by it.
 */
export const RULE_RATE_WINDOW = "5m";
export const RULE_RATE_WINDOW_MS = 5 * 60 * 1000;

/** Host names the product uses itself, with why: a host named so would collide with its resources. */
export const RESERVED_HOST_NAMES: Readonly<Record<string, string>> = {
  monitor: "it is the monitor host's own name",
  clients:
    "it names the rule that admits every EC2 client to the push gateway (<stack>-network-monitor-gateway-from-clients)",
};

/**
 * Series one host adds to Prometheus with the agents every host runs (node exporter, process
 * exporter, cAdvisor, Alloy): about 1,490 measured over a fleet of 1,000 hosts
 * (bench/RESULTS.md), rounded up for sizing.
 */
export const SERIES_PER_HOST_ESTIMATE = 1500;
