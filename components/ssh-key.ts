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
    // Checked before anything is registered, so a bad call fails cleanly.
    if ((args.publicKey === undefined) === (args.existingKeyPairName === undefined)) {
      throw new Error("SshKey needs exactly one of publicKey or existingKeyPairName");
    }
    super("observability:access:SshKey", name, {}, opts);
    if (args.existingKeyPairName !== undefined) {
      this.keyName = pulumi.output(args.existingKeyPairName);
    } else {
      const keyPair = new aws.ec2.KeyPair(
        name,
        { publicKey: args.publicKey as string, tags: { Name: `${args.environment}-observability` } },
        { parent: this },
      );
      this.keyName = keyPair.keyName;
    }
    this.registerOutputs({ keyName: this.keyName });
  }
}
