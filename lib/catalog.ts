/**
 * The catalogue of the stack's own services and agents: their ports and the discovery tags.
 * Security groups, Prometheus scrape jobs and compose files all read from here, so a port
 * changes in one place. Each optional exporter's port is in its record (configs/exporters/).
 */

/** Optional exporters a host can switch on in stack config; announced by its `Exporters` tag. */
export const OPTIONAL_EXPORTERS = ["nginx", "jenkins", "mongodb", "postgres", "mysql", "redis"] as const;
export type OptionalExporter = (typeof OPTIONAL_EXPORTERS)[number];

export function isOptionalExporter(value: string): value is OptionalExporter {
  return (OPTIONAL_EXPORTERS as readonly string[]).includes(value);
}

/** Ports on the monitor host. Only Grafana and SSH are ever reachable from outside the VPC. */
export const MONITOR_PORTS = {
  grafana: 3000,
  prometheus: 9090,
  alertmanager: 9093,
  /** Loki's HTTP API, where Alloy pushes; reachable from the clients' security group only. */
  loki: 3100,
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
