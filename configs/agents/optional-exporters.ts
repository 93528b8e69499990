/**
 * The compose service of an optional exporter that runs a container (its record's `container`).
 * Each runs on the host network so it reaches its service on 127.0.0.1, listens on its record's
 * port, and takes credentials from files the deploy writes, never from the compose file.
 */
import type { ExporterContainer, ExporterRecord } from "../exporters/types";
import {
  type AgentListenOptions,
  type ComposeService,
  DEFAULT_BIND_ADDRESS,
  IMAGE_LABEL,
  ROTATED_JSON_LOGS,
} from "./compose-types";

/** An exporter record that runs a container. */
export type ContainerExporter = ExporterRecord & { readonly container: ExporterContainer };

export function runsContainer(record: ExporterRecord): record is ContainerExporter {
  return record.container !== undefined;
}

/** Compose service name (and container name) of an exporter. */
export function exporterServiceName(record: ExporterRecord): string {
  return `${record.name}-exporter`;
}

export interface ExporterServiceOptions extends AgentListenOptions {
  /** The host's values of the record's per-host fields, defaults filled in (exporterHostSettings). */
  readonly hostSettings: Readonly<Record<string, string>>;
}

/** The compose service for one optional exporter on one host. */
export function exporterService(record: ContainerExporter, options: ExporterServiceOptions): ComposeService {
  const { container } = record;
  const context = {
    listenAddress: `${options.bindAddress ?? DEFAULT_BIND_ADDRESS}:${record.port}`,
    hostSettings: options.hostSettings,
  };
  const files = record.credentials?.files ?? [];
  const secrets = files.filter((file) => file.delivery === "compose-secret").map((file) => file.name);
  const envFiles = files.filter((file) => file.delivery === "env-file").map((file) => `./${file.path}`);
  const environment = container.environment?.(context);
  return {
    image: container.image,
    container_name: exporterServiceName(record),
    restart: "unless-stopped",
    // Host network: the service it watches listens on the host's loopback.
    network_mode: "host",
    labels: { [IMAGE_LABEL]: container.image },
    logging: ROTATED_JSON_LOGS,
    command: [...container.command(context)],
    ...(environment ? { environment } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(envFiles.length > 0 ? { env_file: envFiles } : {}),
  };
}
