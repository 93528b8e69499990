/**
 * Per-host credentials for the monitor's push gateway (configs/gateway.ts): for every EC2 client
 * and host outside AWS, a random password and a hash salt, both kept in state as secrets. The
 * monitor receives only the hashes (`htpasswd`: every host's, for logs; the metrics writers', the
 * hosts outside AWS), each host only its own password.
 *
 * Rotation: replace a host's password resource (`pulumi up --replace <its URN>`, docs/security.md);
 * the next deploy writes the new hash on the monitor and the new password on the host, and
 * recreates that host's Alloy. A host removed from the stack loses its line at once.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PUSH_PASSWORD_LENGTH, PUSH_SALT_LENGTH, renderHtpasswd } from "../configs/gateway";

export interface PushCredentialsArgs {
  /** Names of the hosts that push through the gateway. */
  readonly hosts: readonly string[];
  /** Those of them that push metrics too (the hosts outside AWS). */
  readonly metricsWriters: readonly string[];
}

export class PushCredentials extends pulumi.ComponentResource {
  /** The gateway's hash file for log pushes, every host's (a secret). */
  public readonly htpasswd: pulumi.Output<string>;
  /** The gateway's hash file for remote writes: the metrics writers' lines only (a secret). */
  public readonly metricsHtpasswd: pulumi.Output<string>;
  private readonly passwords: ReadonlyMap<string, pulumi.Output<string>>;

  constructor(name: string, args: PushCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:deploy:PushCredentials", name, {}, opts);
    const child = { parent: this };
    const entries = args.hosts.map((host) => {
      const password = new random.RandomPassword(
        `${name}-${host}`,
        { length: PUSH_PASSWORD_LENGTH, special: false },
        child,
      );
      // Alphanumerics only: every one is in sha512-crypt's salt alphabet.
      const salt = new random.RandomString(
        `${name}-${host}-salt`,
        { length: PUSH_SALT_LENGTH, special: false },
        child,
      );
      return { host, password: pulumi.secret(password.result), salt: pulumi.secret(salt.result) };
    });
    this.passwords = new Map(entries.map((entry) => [entry.host, entry.password]));
    const unknown = args.metricsWriters.filter((host) => !args.hosts.includes(host));
    if (unknown.length > 0)
      throw new Error(`metrics writers without push credentials: ${unknown.join(", ")}`);
    const hashFile = (chosen: typeof entries) =>
      pulumi.secret(
        pulumi.all(chosen.map((entry) => pulumi.all([entry.password, entry.salt]))).apply((values) =>
          renderHtpasswd(
            values.map(([password, salt], index) => ({
              user: (chosen[index] as { host: string }).host,
              password,
              salt,
            })),
          ),
        ),
      );
    this.htpasswd = hashFile(entries);
    this.metricsHtpasswd = hashFile(entries.filter((entry) => args.metricsWriters.includes(entry.host)));
    this.registerOutputs({});
  }

  /** One host's password (a secret); throws for a host that has none. */
  public password(host: string): pulumi.Output<string> {
    const password = this.passwords.get(host);
    if (password === undefined) throw new Error(`no push credentials were generated for host ${host}`);
    return password;
  }
}
