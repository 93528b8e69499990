/**
 * Resolves each pinned image tag to its registry digest with @pulumi/docker's getRegistryImage,
 * so compose files deploy `repo:tag@sha256:...` and a re-pushed tag shows in `pulumi preview` as a
 * changed compose file. The lookup is an invoke against each registry's HTTP API from the machine
 * running Pulumi: no Docker engine and no host is contacted (docs/ssh.md, "Images pinned by digest").
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ImageDigests as DigestMap, isImageDigest } from "../configs/images";

export interface ImageDigestsArgs {
  /** Image references as the compose files name them (configs/host-files.ts stackImages). */
  readonly images: readonly string[];
}

export class ImageDigests extends pulumi.ComponentResource {
  /** Image reference -> `sha256:<digest>`, for DeployInfo.imageDigests. */
  public readonly digests: pulumi.Output<DigestMap>;

  constructor(name: string, args: ImageDigestsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:images:ImageDigests", name, {}, opts);
    // Its own provider only to switch off the daemon ping: registry lookups need no Docker
    // engine, and the machine running `pulumi preview` in CI has none.
    const registry = new docker.Provider(
      `${name}-registry`,
      { disableDockerDaemonCheck: true },
      { parent: this },
    );
    const resolved = [...new Set(args.images)].sort().map((image) =>
      docker.getRegistryImageOutput({ name: image }, { provider: registry, parent: this }).apply((result) => {
        if (!isImageDigest(result.sha256Digest)) {
          throw new Error(`the registry gave no sha256 digest for ${image} (got "${result.sha256Digest}")`);
        }
        return [image, result.sha256Digest] as const;
      }),
    );
    this.digests = pulumi.all(resolved).apply((pairs) => Object.fromEntries(pairs));
    this.registerOutputs({ digests: this.digests });
  }
}
