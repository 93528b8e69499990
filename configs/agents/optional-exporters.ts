/**
 * Optional exporters, switched on per host (stack config `exporters`, announced by the host's
 * `Exporters` tag). Each runs on the host network so it reaches its service on 127.0.0.1, listens
 * on its catalogue port, and takes credentials from files the deploy writes, never from the
 * compose file.
 *
 * Jenkins has no exporter container: its Prometheus plugin serves /prometheus on Jenkins' own
 * port, so only the discovery job (monitor side) and an alert exist for it.
 */
import { OPTIONAL_EXPORTER_PORTS, type OptionalExporter } from "../../lib/catalog";
import { OPTIONAL_EXPORTER_IMAGES } from "../images";
import {
  type AgentListenOptions,
  type ComposeService,
  DEFAULT_BIND_ADDRESS,
  IMAGE_LABEL,
  ROTATED_JSON_LOGS,
} from "./compose-types";

/** Exporters that run as a container on the host. */
export type ContainerExporter = Exclude<OptionalExporter, "jenkins">;

export function runsContainer(exporter: OptionalExporter): exporter is ContainerExporter {
  return exporter !== "jenkins";
}

/**
 * The gauge each exporter sets to 1 when it can reach its service (0 when it cannot, while the
 * exporter itself is still scraped fine). Jenkins has none: its target's `up` is the signal.
 */
export const EXPORTER_UP_METRICS: Readonly<Record<OptionalExporter, string>> = {
  nginx: "nginx_up",
  jenkins: "up",
  mongodb: "mongodb_up",
  postgres: "pg_up",
  mysql: "mysql_up",
  redis: "redis_up",
};

/** Where Prometheus finds each exporter's metrics on the host. */
export const EXPORTER_METRICS_PATHS: Readonly<Record<OptionalExporter, string>> = {
  nginx: "/metrics",
  jenkins: "/prometheus",
  mongodb: "/metrics",
  postgres: "/metrics",
  mysql: "/metrics",
  redis: "/metrics",
};

/** How a credential file reaches the exporter. */
export type SecretDelivery =
  /** Compose `secrets:` bind-mounts the file read-only at /run/secrets/<name>; the exporter reads it. */
  | "compose-secret"
  /**
   * Compose `env_file:` loads KEY=value lines into the container's environment. Used only where
   * the exporter reads nothing but environment variables (MongoDB). Values are then visible to
   * `docker inspect`, i.e. to root and the docker group.
   */
  | "env-file";

export interface ExporterSecretFile {
  /** Compose secret name (also the file name under /run/secrets). */
  readonly name: string;
  /** Path on the host, relative to the agents' compose directory. */
  readonly path: string;
  readonly delivery: SecretDelivery;
  /** File owner: the UID the exporter image runs as (compose secrets keep host ownership). */
  readonly ownerUid: number;
  readonly mode: "0400" | "0600";
  /** What the deploy writes into it. */
  readonly format: string;
}

/** Directory (relative to the compose file) for credential files; never rendered, only written by the deploy. */
export const SECRETS_DIR = "secrets";

/** UIDs the pinned exporter images run as (`nobody` in the Prometheus-community images). */
const NOBODY = 65534;
const REDIS_EXPORTER_UID = 59000;

const SECRET_FILES: Readonly<Record<OptionalExporter, readonly ExporterSecretFile[]>> = {
  nginx: [],
  jenkins: [],
  postgres: [
    {
      name: "postgres_exporter_user",
      path: `${SECRETS_DIR}/postgres-exporter-user`,
      delivery: "compose-secret",
      ownerUid: NOBODY,
      mode: "0400",
      format: "the monitoring role's name (pg_monitor), one line",
    },
    {
      name: "postgres_exporter_password",
      path: `${SECRETS_DIR}/postgres-exporter-password`,
      delivery: "compose-secret",
      ownerUid: NOBODY,
      mode: "0400",
      format: "that role's password, one line",
    },
  ],
  mysql: [
    {
      name: "mysqld_exporter_my_cnf",
      path: `${SECRETS_DIR}/mysqld-exporter.my.cnf`,
      delivery: "compose-secret",
      ownerUid: NOBODY,
      mode: "0400",
      format: "[client] section with user=, password=, host=127.0.0.1, port=3306",
    },
  ],
  redis: [
    {
      name: "redis_exporter_passwords",
      path: `${SECRETS_DIR}/redis-exporter-passwords.json`,
      delivery: "compose-secret",
      ownerUid: REDIS_EXPORTER_UID,
      mode: "0400",
      format: 'JSON object mapping the Redis URI to its password: {"redis://127.0.0.1:6379": "..."}',
    },
  ],
  mongodb: [
    {
      name: "mongodb_exporter_env",
      path: `${SECRETS_DIR}/mongodb-exporter.env`,
      delivery: "env-file",
      ownerUid: 0,
      mode: "0600",
      format: "MONGODB_USER=... and MONGODB_PASSWORD=... lines (the exporter reads no credential file)",
    },
  ],
};

/** The credential files the deploy must write on a host running this exporter. */
export function exporterSecretFiles(exporter: OptionalExporter): readonly ExporterSecretFile[] {
  return SECRET_FILES[exporter];
}

export interface OptionalExporterOptions extends AgentListenOptions {
  /** nginx `stub_status` URL on the host. */
  readonly nginxStatusUrl?: string;
  readonly postgresAddress?: string;
  readonly redisAddress?: string;
  readonly mongodbAddress?: string;
}

export const DEFAULT_NGINX_STATUS_URL = "http://127.0.0.1:8080/stub_status";

function secretPath(name: string): string {
  return `/run/secrets/${name}`;
}

function secretNamed(exporter: OptionalExporter, name: string): ExporterSecretFile {
  const file = SECRET_FILES[exporter].find((candidate) => candidate.name === name);
  if (!file) throw new Error(`no secret file ${name} for ${exporter}`);
  return file;
}

function baseService(
  exporter: ContainerExporter,
): Pick<ComposeService, "image" | "container_name" | "restart" | "network_mode" | "labels" | "logging"> {
  const image = OPTIONAL_EXPORTER_IMAGES[exporter];
  return {
    image,
    container_name: `${exporter}-exporter`,
    restart: "unless-stopped",
    // Host network: the service it watches listens on the host's loopback.
    network_mode: "host",
    labels: { [IMAGE_LABEL]: image },
    logging: ROTATED_JSON_LOGS,
  };
}

/** The compose service for one optional exporter. */
export function optionalExporterService(
  exporter: ContainerExporter,
  options: OptionalExporterOptions = {},
): ComposeService {
  const listen = `${options.bindAddress ?? DEFAULT_BIND_ADDRESS}:${OPTIONAL_EXPORTER_PORTS[exporter]}`;
  const secretNames = SECRET_FILES[exporter]
    .filter((file) => file.delivery === "compose-secret")
    .map((file) => file.name);
  const envFiles = SECRET_FILES[exporter]
    .filter((file) => file.delivery === "env-file")
    .map((file) => `./${file.path}`);
  const withSecrets = {
    ...(secretNames.length > 0 ? { secrets: secretNames } : {}),
    ...(envFiles.length > 0 ? { env_file: envFiles } : {}),
  };
  switch (exporter) {
    case "nginx":
      return {
        ...baseService(exporter),
        command: [
          `--nginx.scrape-uri=${options.nginxStatusUrl ?? DEFAULT_NGINX_STATUS_URL}`,
          `--web.listen-address=${listen}`,
        ],
      };
    case "postgres":
      return {
        ...baseService(exporter),
        command: [`--web.listen-address=${listen}`],
        environment: {
          DATA_SOURCE_URI: `${options.postgresAddress ?? "127.0.0.1:5432"}/postgres?sslmode=disable`,
          DATA_SOURCE_USER_FILE: secretPath(secretNamed("postgres", "postgres_exporter_user").name),
          DATA_SOURCE_PASS_FILE: secretPath(secretNamed("postgres", "postgres_exporter_password").name),
        },
        ...withSecrets,
      };
    case "mysql":
      return {
        ...baseService(exporter),
        command: [
          `--config.my-cnf=${secretPath(secretNamed("mysql", "mysqld_exporter_my_cnf").name)}`,
          `--web.listen-address=${listen}`,
        ],
        ...withSecrets,
      };
    case "redis":
      return {
        ...baseService(exporter),
        command: [`--web.listen-address=${listen}`],
        environment: {
          REDIS_ADDR: options.redisAddress ?? "redis://127.0.0.1:6379",
          REDIS_PASSWORD_FILE: secretPath(secretNamed("redis", "redis_exporter_passwords").name),
        },
        ...withSecrets,
      };
    case "mongodb":
      return {
        ...baseService(exporter),
        command: [`--web.listen-address=${listen}`, "--compatible-mode"],
        environment: { MONGODB_URI: `mongodb://${options.mongodbAddress ?? "127.0.0.1:27017"}/admin` },
        ...withSecrets,
      };
  }
}
