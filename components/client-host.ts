/**
 * One client host: hardened like the monitor, and tagged so that the monitor's EC2 discovery finds
 * it (`Scrape=true`, this stack's `Environment`) and knows which optional exporters to scrape.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderClientUserData } from "../configs/cloud-init";
import { DISCOVERY_TAGS } from "../lib/catalog";
import type { ClientHost as ClientHostSettings, ImageSettings } from "../lib/stack-config";
import { hardenedInstanceArgs } from "./host-image";

export interface ClientHostArgs {
  /** Stack name: the `Environment` tag discovery filters on. */
  readonly environment: string;
  readonly client: ClientHostSettings;
  readonly images: ImageSettings;
  readonly subnetId: pulumi.Input<string>;
  readonly securityGroupId: pulumi.Input<string>;
  /** Undefined: no instance profile at all (clients never call AWS). */
  readonly instanceProfileName?: pulumi.Input<string>;
  readonly keyName: pulumi.Input<string>;
}

/** The EC2 tags Prometheus discovery keys on; the `Name` tag becomes the `instance` label. */
function discoveryTags(environment: string, client: ClientHostSettings): Record<string, string> {
  return {
    [DISCOVERY_TAGS.name]: client.name,
    [DISCOVERY_TAGS.scrape]: "true",
    [DISCOVERY_TAGS.environment]: environment,
    [DISCOVERY_TAGS.exporters]: client.exporters.join(","),
  };
}

export class ClientHost extends pulumi.ComponentResource {
  public readonly name: string;
  public readonly instanceId: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: ClientHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:hosts:ClientHost", name, {}, opts);
    const child = { parent: this };

    const instance = new aws.ec2.Instance(
      name,
      hardenedInstanceArgs(
        {
          images: args.images,
          host: args.client,
          subnetId: args.subnetId,
          securityGroupId: args.securityGroupId,
          instanceProfileName: args.instanceProfileName,
          keyName: args.keyName,
          userData: renderClientUserData(),
          tags: discoveryTags(args.environment, args.client),
        },
        child,
      ),
      child,
    );

    this.name = args.client.name;
    this.instanceId = instance.id;
    this.privateIp = instance.privateIp;
    this.publicIp = instance.publicIp;
    this.registerOutputs({ instanceId: this.instanceId, privateIp: this.privateIp, publicIp: this.publicIp });
  }
}
