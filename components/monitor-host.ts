/**
 * The monitor: one hardened EC2 instance with an Elastic IP, and a separate encrypted data volume
 * for Prometheus, Loki, Grafana and Alertmanager state that outlives any replacement of the
 * instance. The host is deliberately not tagged `Scrape=true`: it scrapes its own agents locally,
 * and its security group has no ingress on agent ports.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderMonitorUserData } from "../configs/cloud-init";
import type { ImageSettings, MonitorSettings } from "../lib/stack-config";
import { hardenedInstanceArgs } from "./host-image";

/** Device name the data volume is attached as; Nitro instances show it as NVMe, found by volume id. */
const DATA_VOLUME_DEVICE = "/dev/sdf";

export interface MonitorHostArgs {
  /** Stack name: Name tag `<stack>-monitor`. */
  readonly environment: string;
  readonly settings: MonitorSettings;
  readonly images: ImageSettings;
  readonly subnetId: pulumi.Input<string>;
  /** The subnet's zone: the data volume must live where the instance runs. */
  readonly availabilityZone: pulumi.Input<string>;
  readonly securityGroupId: pulumi.Input<string>;
  readonly instanceProfileName: pulumi.Input<string>;
  readonly keyName: pulumi.Input<string>;
  /** Prod: the data volume refuses deletion and survives `pulumi destroy`. */
  readonly protectData: boolean;
  /** Extra tags of the data volume (the snapshot policy's target tag). */
  readonly dataVolumeTags?: Readonly<Record<string, string>>;
}

export class MonitorHost extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  /** The Elastic IP, available once it is associated with the instance. */
  public readonly publicIp: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  public readonly dataVolumeId: pulumi.Output<string>;

  constructor(name: string, args: MonitorHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:hosts:MonitorHost", name, {}, opts);
    const child = { parent: this };
    const hostName = `${args.environment}-monitor`;

    const dataVolume = new aws.ebs.Volume(
      `${name}-data`,
      {
        availabilityZone: args.availabilityZone,
        size: args.settings.dataVolumeGb,
        type: "gp3",
        encrypted: true,
        // A restore: the volume starts as a copy of that snapshot (changing it replaces the volume).
        ...(args.settings.restoreSnapshotId !== undefined
          ? { snapshotId: args.settings.restoreSnapshotId }
          : {}),
        tags: { ...args.dataVolumeTags, Name: `${hostName}-data` },
      },
      { ...child, protect: args.protectData, retainOnDelete: args.protectData },
    );

    const instance = new aws.ec2.Instance(
      name,
      hardenedInstanceArgs(
        {
          images: args.images,
          host: args.settings,
          subnetId: args.subnetId,
          securityGroupId: args.securityGroupId,
          instanceProfileName: args.instanceProfileName,
          keyName: args.keyName,
          // Bootstraps Docker and the data volume; a change stops and starts the instance (no
          // replacement) and leaves the data volume untouched.
          userData: dataVolume.id.apply((dataVolumeId) => renderMonitorUserData({ dataVolumeId })),
          tags: { Name: hostName },
        },
        child,
      ),
      child,
    );

    new aws.ec2.VolumeAttachment(
      `${name}-data`,
      {
        instanceId: instance.id,
        volumeId: dataVolume.id,
        deviceName: DATA_VOLUME_DEVICE,
        // Stop the instance before detaching, so the filesystem is unmounted cleanly.
        stopInstanceBeforeDetaching: true,
      },
      // A volume attaches to one instance at a time: detach from the old host before attaching to its replacement.
      { ...child, deleteBeforeReplace: true },
    );

    const elasticIp = new aws.ec2.Eip(name, { domain: "vpc", tags: { Name: hostName } }, child);
    const association = new aws.ec2.EipAssociation(
      name,
      { allocationId: elasticIp.allocationId, instanceId: instance.id },
      // An Elastic IP in a VPC refuses a second association: release it before moving it to a replacement.
      { ...child, deleteBeforeReplace: true },
    );

    this.instanceId = instance.id;
    this.publicIp = pulumi.all([elasticIp.publicIp, association.id]).apply(([publicIp]) => publicIp);
    this.privateIp = instance.privateIp;
    this.dataVolumeId = dataVolume.id;
    this.registerOutputs({
      instanceId: this.instanceId,
      publicIp: this.publicIp,
      privateIp: this.privateIp,
      dataVolumeId: this.dataVolumeId,
    });
  }
}
