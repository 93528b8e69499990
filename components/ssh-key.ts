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
 * Host key types the read step may pin. The ECDSA key is read first on purpose: the SSH client
 * inside @pulumi/command (Go's x/crypto/ssh) asks servers for ECDSA before ssh-ed25519 unless told
 * otherwise, and Ubuntu's sshd has both keys; pinning the key the server will actually show keeps
 * verification working whether or not the provider narrows the negotiation to the pinned key's
 * type (docs/ssh.md, "Which host key is pinned").
 */
const PINNED_HOST_KEY_TYPES = [
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-ed25519",
] as const;

/**
 * Shell command printing the host's public key as `<type> <base64>` (comment dropped), nothing
 * else on stdout: the ECDSA key if the host has one, else the ed25519 key. The files are
 * world-readable, so no sudo.
 */
function hostKeyReadCommand(directory: string): string {
  return [
    "for type in ecdsa ed25519; do",
    `  file=${directory}/ssh_host_\${type}_key.pub`,
    '  if [ -r "$file" ]; then exec cut -d " " -f 1,2 "$file"; fi',
    "done",
    `echo 'no ECDSA or ed25519 host key in ${directory}' >&2`,
    "exit 1",
  ].join("\n");
}

export const HOST_KEY_READ_COMMAND = hostKeyReadCommand("/etc/ssh");

/**
 * The host key a read step printed, as the connection's `hostKey` wants it; throws (failing the
 * deploy of that host) when the output is not one public key line of a pinned type.
 */
export function hostKeyFromOutput(hostName: string, stdout: string): string {
  const line = stdout.trim();
  const [type, body, ...rest] = line.split(/\s+/);
  const pinnable = (PINNED_HOST_KEY_TYPES as readonly string[]).includes(type ?? "");
  if (!pinnable || body === undefined || rest.length > 0 || sshPublicKeyProblem(line)) {
    throw new Error(
      `${hostName}: reading the host's SSH host key did not give one ECDSA or ed25519 public key line; the host key cannot be pinned`,
    );
  }
  return `${type} ${body}`;
}
