/**
 * What every host shares: the pinned Ubuntu image and the baseline hardening of the instance.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Architecture, ImageSettings, InstanceSettings } from "../lib/stack-config";

/**
 * The AMI for one architecture. An explicit `amiId` wins; otherwise Canonical's image with the
 * exact, dated name from stack config. An exact name matches one image per region for ever, so a
 * newer Ubuntu release can never replace a host: only editing the pinned name in stack config
 * does, and the preview then shows the replacement. (That is also why the instances do not
 * `ignoreChanges` the AMI: an edited pin must take effect, not be silently ignored.)
 * `includeDeprecated` keeps the lookup working after Canonical deprecates the image (after two
 * years), which would otherwise break every `pulumi up` of an older stack.
 */
function pinnedImageId(
  images: ImageSettings,
  architecture: Architecture,
  opts: pulumi.InvokeOutputOptions,
): pulumi.Input<string> {
  if (images.amiId !== undefined) return images.amiId;
  return aws.ec2
    .getAmiOutput(
      {
        owners: [images.ubuntuImageOwner],
        filters: [
          { name: "name", values: [images.ubuntuImageNames[architecture]] },
          { name: "architecture", values: [architecture] },
        ],
        mostRecent: true,
        includeDeprecated: true,
      },
      opts,
    )
    .apply((image) => image.id);
}

/**
 * IMDSv2 only (no unauthenticated metadata requests), with a hop limit of 2 so that containers on
 * Docker's bridge network (Prometheus EC2 discovery, Loki's S3 client) still reach the instance
 * profile credentials. Tags stay out of the metadata service: nothing on the host needs them.
 */
const METADATA_OPTIONS = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 2,
  instanceMetadataTags: "disabled",
} as const;

/** An encrypted gp3 root volume (the account's default EBS key) that goes with the instance. */
function encryptedRootVolume(sizeGb: number) {
  return { volumeType: "gp3", volumeSize: sizeGb, encrypted: true, deleteOnTermination: true } as const;
}

export interface HardenedInstanceArgs {
  readonly images: ImageSettings;
  /** The host's instance type, architecture and root volume size from stack config. */
  readonly host: InstanceSettings & { readonly rootVolumeGb: number };
  readonly subnetId: pulumi.Input<string>;
  readonly securityGroupId: pulumi.Input<string>;
  /** Undefined: no instance profile at all. */
  readonly instanceProfileName?: pulumi.Input<string>;
  readonly keyName: pulumi.Input<string>;
  readonly userData: pulumi.Input<string>;
  readonly tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The instance every host runs on: pinned image, IMDSv2, encrypted root volume, a public address
 * from the start (hosts pull packages and images directly and are deployed to over SSH; on the
 * monitor, cloud-init needs it before the Elastic IP takes its place), and user data that only
 * bootstraps, so a change stops and starts the instance rather than replacing it.
 */
export function hardenedInstanceArgs(
  args: HardenedInstanceArgs,
  opts: pulumi.InvokeOutputOptions,
): aws.ec2.InstanceArgs {
  return {
    ami: pinnedImageId(args.images, args.host.architecture, opts),
    instanceType: args.host.instanceType,
    subnetId: args.subnetId,
    vpcSecurityGroupIds: [args.securityGroupId],
    associatePublicIpAddress: true,
    keyName: args.keyName,
    iamInstanceProfile: args.instanceProfileName,
    metadataOptions: METADATA_OPTIONS,
    rootBlockDevice: encryptedRootVolume(args.host.rootVolumeGb),
    userData: args.userData,
    userDataReplaceOnChange: false,
    tags: args.tags,
  };
}
