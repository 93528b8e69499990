/**
 * The subset of the Compose file format the agent services use, typed so renderers build compose
 * files as data (emitted with the `yaml` package, never templated).
 */

export interface ComposeLogging {
  readonly driver: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface ComposeService {
  readonly image: string;
  readonly container_name?: string;
  readonly restart?: "no" | "always" | "on-failure" | "unless-stopped";
  readonly user?: string;
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  readonly network_mode?: string;
  readonly pid?: string;
  readonly privileged?: boolean;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly devices?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  /** Files the Docker engine reads on the host (0600, written by the deploy) into the environment. */
  readonly env_file?: readonly string[];
  /** Names of top-level `secrets:` mounted read-only at /run/secrets/<name>. */
  readonly secrets?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly logging?: ComposeLogging;
  readonly security_opt?: readonly string[];
  /** Capabilities dropped (`ALL` for services that need none). */
  readonly cap_drop?: readonly string[];
  /** The container's root filesystem read-only; `tmpfs` gives it writable scratch space. */
  readonly read_only?: boolean;
  readonly tmpfs?: readonly string[];
}

export interface ComposeFile {
  readonly name: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, Readonly<Record<string, never>>>>;
  readonly secrets?: Readonly<Record<string, { readonly file: string }>>;
}

/** Docker's json-file driver keeps growing without rotation: cap every container's log. */
export const ROTATED_JSON_LOGS: ComposeLogging = {
  driver: "json-file",
  options: { "max-size": "10m", "max-file": "3" },
};

/**
 * Container label carrying the image reference. discovery.docker exposes container labels but not
 * the image, so Alloy reads the `image` log label from here (or from OCI image labels).
 */
export const IMAGE_LABEL = "observability.image";

/** Where an agent listens: `0.0.0.0` on EC2 (the security group admits only the monitor). */
export interface AgentListenOptions {
  readonly bindAddress?: string;
}

export const DEFAULT_BIND_ADDRESS = "0.0.0.0";

/** `host:port:port` for a published port on the given address. */
export function publishedPort(port: number, bindAddress: string = DEFAULT_BIND_ADDRESS): string {
  return `${bindAddress}:${port}:${port}`;
}

/** Where compose mounts a top-level secret inside the container (read-only). */
export function composeSecretPath(name: string): string {
  return `/run/secrets/${name}`;
}
