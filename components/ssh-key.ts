/**
 * SSH keys on both sides of the deploy's connections:
 * - the EC2 key pair every host accepts: imported from the configured public key, or an existing
 *   key pair named in stack config (only the public half ever reaches AWS);
 * - the hosts' own host keys, which every deploy step after the first verifies (trust on first use
 *   for EC2 hosts, a configured key for hosts outside AWS; docs/ssh.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { sshPublicKeyProblem } from "../lib/stack-config";

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

// ---------------------------------------------------------------------------------------------
// Host keys: what the deploy checks the hosts' identity against (docs/ssh.md)
// ---------------------------------------------------------------------------------------------

/**
 * Prints the host's ed25519 public key as `<type> <base64>`, nothing else on stdout. The file is
 * world-readable, so no sudo. Ubuntu (and every current OpenSSH) has an ed25519 host key.
 */
export const HOST_KEY_READ_COMMAND = "cut -d ' ' -f 1,2 /etc/ssh/ssh_host_ed25519_key.pub";

/**
 * The host key a read step printed, as the connection's `hostKey` wants it; throws (failing the
 * deploy of that host) when the output is not one ed25519 public key line.
 */
export function hostKeyFromOutput(hostName: string, stdout: string): string {
  const line = stdout.trim();
  const [type, body, ...rest] = line.split(/\s+/);
  if (type !== "ssh-ed25519" || body === undefined || rest.length > 0 || sshPublicKeyProblem(line)) {
    throw new Error(
      `${hostName}: reading /etc/ssh/ssh_host_ed25519_key.pub did not give one ed25519 public key line; the host's SSH host key cannot be pinned`,
    );
  }
  return `${type} ${body}`;
}
