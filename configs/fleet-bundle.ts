/**
 * The agent bundle of enrolled fleet hosts (instances other stacks or Auto Scaling groups start;
 * docs/fleet.md): the same compose file and configs an EC2 client of this stack receives, rendered
 * by the same renderers for a host named FLEET_PUSH_USER with no optional exporters, packed into
 * a reproducible tar, and published under the environment's own prefix of the bundle bucket:
 *
 *   <environment>/bundles/<sha256>.tar   one object per bundle version, named by its digest
 *   <environment>/current                the pointer: which bundle is current, and its digest
 *
 * The pointer is two `key=value` lines (`bundle=` the object key, `sha256=` its hex digest), read
 * by the bootstrap with shell builtins alone. A host runs a bundle only when the bytes it fetched
 * hash to the pointer's digest (configs/host-scripts/fleet-sync.sh).
 *
 * Not in the bundle: the push password, which fleet hosts read from SSM (never from S3 or user
 * data), and exporter credentials (fleet hosts run no optional exporter that needs them).
 */
import { createHash } from "node:crypto";
import { DISCOVERY_TAGS, FLEET_DISCOVERY_TAG, FLEET_PUSH_USER } from "../lib/catalog";
import type { ScrapedHost, StackConfig } from "../lib/stack-config";
import { tarArchive } from "../lib/tar";
import { renderClientFiles } from "./agents/client-compose";
import type { HostFiles } from "./host-files";
import type { ImageDigests } from "./images";

/** What every enrolled host runs: the agents of an EC2 client, and no optional exporter. */
const FLEET_HOST: ScrapedHost = { name: FLEET_PUSH_USER, exporters: [], exporterSettings: {} };

export interface FleetBundleOptions {
  /** The monitor's private IP (the push gateway and, with traces, Tempo); a placeholder when unknown. */
  readonly monitorAddress?: string;
  /** Registry digest of every image; unset: tags only (pinImageDigests false). */
  readonly imageDigests?: ImageDigests;
}

/**
 * The variable of the agents' `.env` that holds the host's instance id: Alloy's `host` label, the
 * same value discovery gives fleet hosts as `instance`. Written by the sync on each host.
 */
export const FLEET_HOST_VARIABLE = "OBSERVABILITY_HOST";

/** Every file of the bundle, by path relative to the agents directory, sorted. */
export function fleetBundleFiles(config: StackConfig, options: FleetBundleOptions = {}): HostFiles {
  const files = renderClientFiles(config, FLEET_HOST, {
    ...options,
    hostFromEnvironment: FLEET_HOST_VARIABLE,
  });
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface FleetBundle {
  /** The tar archive, byte for byte what the bucket holds. */
  readonly archive: Buffer;
  /** Hex SHA-256 of the archive. */
  readonly sha256: string;
  /** Object key of this version. */
  readonly key: string;
}

/** The environment's prefix in the bundle bucket: the client role reads under it and nowhere else. */
export function fleetPrefix(environment: string): string {
  return `${environment}/`;
}

/** Object key of the pointer to the environment's current bundle. */
export function fleetPointerKey(environment: string): string {
  return `${fleetPrefix(environment)}current`;
}

/** The archive of `files`, its digest, and the key it is published under. */
export function fleetBundle(environment: string, files: HostFiles): FleetBundle {
  const archive = tarArchive(files);
  const sha256 = createHash("sha256").update(archive).digest("hex");
  return { archive, sha256, key: `${fleetPrefix(environment)}bundles/${sha256}.tar` };
}

/** The pointer object's content: the current bundle's key and digest. */
export function renderFleetPointer(bundle: Pick<FleetBundle, "key" | "sha256">): string {
  const fields: Record<string, string> = { bundle: bundle.key, sha256: bundle.sha256 };
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${value}\n`)
    .join("");
}

/**
 * The tags an enrolled instance carries (a launch template's tag specifications) so that the
 * monitor's EC2 discovery scrapes it: the same `Scrape` and `Environment` tags as a client of
 * this stack, no optional exporters, and the fleet tag, which makes the instance id its
 * `instance` label (an Auto Scaling group gives every instance the same `Name`).
 */
export function fleetDiscoveryTags(environment: string): Record<string, string> {
  return {
    [DISCOVERY_TAGS.scrape]: "true",
    [DISCOVERY_TAGS.environment]: environment,
    [DISCOVERY_TAGS.exporters]: "",
    [FLEET_DISCOVERY_TAG]: "true",
  };
}
