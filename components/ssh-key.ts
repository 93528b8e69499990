/**
 * The EC2 key pair every host accepts: imported from the configured public key, or an existing
 * key pair named in stack config. Only the public half ever reaches AWS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface SshKeyArgs {
  /** Stack name, used in the Name tag. */
  readonly environment: string;
  /** Exactly one of these is set. */
  readonly publicKey?: string;
  readonly existingKeyPairName?: string;
}

export class SshKey extends pulumi.ComponentResource {
  public readonly keyName: pulumi.Output<string>;

  constructor(name: string, args: SshKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:access:SshKey", name, {}, opts);
    if (args.existingKeyPairName !== undefined) {
      this.keyName = pulumi.output(args.existingKeyPairName);
    } else if (args.publicKey !== undefined) {
      const keyPair = new aws.ec2.KeyPair(
        name,
        { publicKey: args.publicKey, tags: { Name: `${args.environment}-observability` } },
        { parent: this },
      );
      this.keyName = keyPair.keyName;
    } else {
      throw new Error("SshKey needs either publicKey or existingKeyPairName");
    }
    this.registerOutputs({ keyName: this.keyName });
  }
}
