/**
 * The container images of the monitor's services and of the agents on every host, pinned to an
 * exact release (each optional exporter's image is in its record, configs/exporters/<name>.ts).
 *
 * One place to bump versions: compose files (monitor and clients) read from here, and the Loki
 * config is written for LOKI_VERSION. Fully qualified references (registry included) so a
 * mirror or a changed default registry never swaps what runs. Tags were checked against the
 * projects' release notes / registry update PRs (Aug 2026); see docs/render.md.
 */
import { IMAGE_LABEL } from "./agents/compose-types";

/** The Loki release configs/loki.ts is written for (storage client choice depends on it). */
export const LOKI_VERSION = "3.7.6";

/** The Tempo release configs/tempo.ts is written for. */
export const TEMPO_VERSION = "2.10.8";

/** Services on the monitor and agents on every host. */
export const IMAGES = {
  prometheus: "docker.io/prom/prometheus:v3.14.0",
  alertmanager: "docker.io/prom/alertmanager:v0.34.0",
  grafana: "docker.io/grafana/grafana:12.4.5",
  loki: `docker.io/grafana/loki:${LOKI_VERSION}`,
  nodeExporter: "docker.io/prom/node-exporter:v1.12.0",
  processExporter: "docker.io/ncabatoff/process-exporter:0.8.7",
  /** cAdvisor publishes to ghcr.io since v0.54; gcr.io/cadvisor stopped receiving releases. */
  cadvisor: "ghcr.io/google/cadvisor:v0.60.5",
  alloy: "docker.io/grafana/alloy:v1.18.1",
  /** Only with uptime probes (configs/blackbox.ts); the tests run Debian sid's 0.28.0. */
  blackboxExporter: "docker.io/prom/blackbox-exporter:v0.28.0",
  /** Only with traces on; configs/tempo.ts is written for this release (TEMPO_VERSION). */
  tempo: `docker.io/grafana/tempo:${TEMPO_VERSION}`,
  /** Alloy's filtered view of the Docker socket (configs/agents/docker-socket-proxy.ts). */
  dockerSocketProxy: "docker.io/wollomatic/socket-proxy:1.12.2",
  /** The push gateway (configs/gateway.ts): nginx's stable line, the Debian-based image. */
  gateway: "docker.io/library/nginx:1.30.6",
} as const;

/**
 * Images only the local stack runs (`npm run local`): a mail catcher that receives Alertmanager's
 * mail on the operator's machine and shows it at http://127.0.0.1:8025.
 */
export const LOCAL_STACK_IMAGES = {
  mailCatcher: "docker.io/axllent/mailpit:v1.31.3",
} as const;

/**
 * The UID:GID each monitor image runs as. Compose sets `user:` to these so the bind-mounted data
 * directories under /srv/observability can be created with the right owner before start.
 */
export const MONITOR_CONTAINER_USERS = {
  /** `nobody` in the busybox-based Prometheus images. */
  prometheus: "65534:65534",
  alertmanager: "65534:65534",
  /** The Grafana image's `grafana` user; its group is root (0) by design of the image. */
  grafana: "472:0",
  loki: "10001:10001",
} as const;

/**
 * Registry digests of the pinned images: image reference (as in IMAGES) -> `sha256:<64 hex>`.
 * The deploy reads them from the registries (components/image-digests.ts); renderers only take them.
 */
export type ImageDigests = Readonly<Record<string, string>>;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** True for a registry content digest: `sha256:` and 64 lowercase hex digits. */
export function isImageDigest(value: string): boolean {
  return DIGEST.test(value);
}

/**
 * The reference compose should run: `repo:tag@sha256:...` when digests are given, the tag alone
 * when not (the render command, or pinImageDigests false). Keeping the tag next to the digest
 * leaves the version readable; the engine pulls by the digest. A missing or malformed digest
 * throws: a half-pinned stack would look pinned while one image still floats on its tag.
 */
function pinnedImage(reference: string, digests: ImageDigests | undefined): string {
  if (digests === undefined) return reference;
  if (reference.includes("@")) throw new Error(`${reference} is already pinned by digest`);
  const digest = digests[reference];
  if (digest === undefined) throw new Error(`no registry digest was resolved for ${reference}`);
  if (!isImageDigest(digest)) throw new Error(`"${digest}" (for ${reference}) is not a sha256 digest`);
  return `${reference}@${digest}`;
}

/**
 * Images to run instead of the pinned ones: pinned reference (as in IMAGES) -> the image to run.
 * For a stack on images built elsewhere (the tests' locally built images): the replacement keeps
 * its own name, so nothing that is not the upstream image runs under the upstream tag.
 */
export type ImageMap = Readonly<Record<string, string>>;

/** The same services with every mapped `image` (and its image label) replaced; the rest unchanged. */
export function withMappedImages<
  Service extends { readonly image: string; readonly labels?: Readonly<Record<string, string>> },
>(services: Readonly<Record<string, Service>>, images: ImageMap | undefined): Record<string, Service> {
  if (images === undefined) return { ...services };
  return Object.fromEntries(
    Object.entries(services).map(([name, service]) => {
      const image = images[service.image];
      if (image === undefined) return [name, service];
      const labels = service.labels ? { ...service.labels, [IMAGE_LABEL]: image } : undefined;
      return [name, { ...service, image, ...(labels ? { labels } : {}) }];
    }),
  );
}

/** The same services with every `image` pinned by `pinnedImage`; nothing else changes. */
export function withPinnedImages<Service extends { readonly image: string }>(
  services: Readonly<Record<string, Service>>,
  digests: ImageDigests | undefined,
): Record<string, Service> {
  return Object.fromEntries(
    Object.entries(services).map(([name, service]) => [
      name,
      { ...service, image: pinnedImage(service.image, digests) },
    ]),
  );
}
