/**
 * Deploys one host's containers and files over SSH: the monitor, each EC2 client and each host
 * outside AWS get one HostDeployment, made of @pulumi/command remote Commands:
 *
 *   ready                      readiness (SSH, sudo, cloud-init, data volume, Docker + compose);
 *                              every other step depends on it
 *   host-key                   prints the host's public key (ECDSA, else ed25519); every later step
 *                              verifies the host against it (trust on first use; none for an
 *                              outside host whose key is in config: every step verifies it then)
 *   secrets                    secret files from Pulumi secrets (stdin, stderr-only logging)
 *   <service>                  one per compose service that mounts files: stage, check with the
 *                              service's own tool, swap, then reload (Prometheus, Alertmanager)
 *                              or restart (the others)
 *   file-sd                    the monitor's file SD targets: Prometheus re-reads them, no reload
 *   loki-runtime               the monitor's Loki runtime overrides: Loki re-reads them, no restart
 *   compose                    compose.yaml, checked, then `docker compose up -d --remove-orphans --wait`
 *   recreate-<service>         services reading secret files, recreated when those secrets change
 *   grafana-admin-password     `grafana cli admin reset-admin-password` when the password changes
 *   teardown                   hosts outside AWS only: `docker compose down` when the host leaves
 *
 * Every step's `triggers` hold the host's identity (instance id, or the outside host's address)
 * and a sha256 over exactly the files the step installs, so an unchanged `pulumi up` runs nothing
 * and a changed file re-runs only its own step. Secret values never enter a hash: steps that
 * depend on secrets carry the secret Outputs themselves, which Pulumi keeps encrypted in state.
 * docs/deploy.md tells the whole story; docs/ssh.md the SSH login and host key trust.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { COMPOSE_FILE, PUSH_PASSWORD_FILE } from "../configs/agents/client-compose";
import {
  contentHash,
  DEPLOY_STATE_DIR,
  type DeployUnit,
  deployedFiles,
  inDirectoryAsRoot,
  planDeploy,
  type ReadinessInput,
  RUN_STDIN_AS_ROOT,
  renderFileUnitScript,
  renderReadinessScript,
  renderRecreateCommand,
  renderSecretFilesScript,
  renderTeardownCommand,
  type SecretFile,
  unitFiles,
} from "../configs/deploy-scripts";
import {
  exporterCredentialFiles,
  exporterUser,
  hostExporters,
  renderExporterCredentialFiles,
} from "../configs/exporters";
import { grafanaAdminPasswordResetCommand } from "../configs/grafana";
import type { DeployInfo, HostFiles } from "../configs/host-files";
import { monitorSecretFiles } from "../configs/monitor-compose";
import type { StackSecrets } from "../lib/pulumi-config";
import type { ClientHost, ExternalHost, SecretSetting, StackConfig } from "../lib/stack-config";
import { HOST_KEY_READ_COMMAND, hostKeyFromOutput } from "./ssh-key";

// ---------------------------------------------------------------------------------------------
// The remote Command resource
// ---------------------------------------------------------------------------------------------

/** The `remote.ConnectionArgs` fields used here (hosts, key, host key, retries, jump host). */
export interface RemoteConnection {
  readonly host: pulumi.Input<string>;
  readonly user: pulumi.Input<string>;
  /** Absent: the provider logs in with the SSH agent's keys (sshAuth agent). */
  readonly privateKey?: pulumi.Input<string>;
  /** The host key the server must present (`<type> <base64>`); absent: not verified. */
  readonly hostKey?: pulumi.Input<string>;
  readonly port?: number;
  /** Failed dials before giving up; hosts refuse SSH while they boot. */
  readonly dialErrorLimit?: number;
  readonly perDialTimeout?: number;
  /** Jump host the connection goes through. */
  readonly proxy?: Omit<RemoteConnection, "proxy">;
}

/**
 * How the deploy logs in: the private key from the sshPrivateKey secret, or nothing, and the
 * provider uses the SSH agent. `agentSocketPath` is deliberately never set: the provider then reads
 * SSH_AUTH_SOCK on whatever machine runs `pulumi up`, whereas a path written into the inputs would
 * differ per machine and re-run every deploy step whenever someone else (or CI) runs the update.
 */
export interface SshCredentials {
  readonly privateKey?: pulumi.Input<string>;
}

/** SSH retries while a host boots: up to 30 failed dials of 20 s each. */
const DIAL = { port: 22, dialErrorLimit: 30, perDialTimeout: 20 } as const;

/** A direct connection; its host key is not verified until `withHostKey` pins one. */
export function sshConnection(
  host: pulumi.Input<string>,
  user: pulumi.Input<string>,
  credentials: SshCredentials,
): RemoteConnection {
  return {
    host,
    user,
    ...(credentials.privateKey !== undefined ? { privateKey: credentials.privateKey } : {}),
    ...DIAL,
  };
}

/**
 * A connection to `host` that goes through `jumpHost` (SSH ProxyJump), with the jump host's own
 * credentials and pinned host key; the target's host key is not verified until `withHostKey`.
 */
export function throughJumpHost(
  host: pulumi.Input<string>,
  user: pulumi.Input<string>,
  jumpHost: RemoteConnection,
): RemoteConnection {
  const { proxy: _ignored, ...jump } = jumpHost;
  return {
    host,
    user,
    ...(jumpHost.privateKey !== undefined ? { privateKey: jumpHost.privateKey } : {}),
    ...DIAL,
    proxy: jump,
  };
}

/** The same connection, refusing any server that does not present `hostKey`. */
function withHostKey(connection: RemoteConnection, hostKey: pulumi.Input<string>): RemoteConnection {
  return { ...connection, hostKey };
}

// ---------------------------------------------------------------------------------------------
// Secret files
// ---------------------------------------------------------------------------------------------

/** A secret file and where its value comes from; `generated` makes a RandomPassword for it. */
export interface SecretFileSpec extends SecretFile {
  readonly content: pulumi.Input<string> | "generated";
}

/** The secret's Output; throws with the `pulumi config set` fix line when it is not set. */
export function requireSecret(secrets: StackSecrets, setting: SecretSetting): pulumi.Output<string> {
  const value = secrets[setting];
  if (value === undefined) {
    throw new Error(
      `the deploy needs the secret observability:${setting}; set it with: pulumi config set --secret observability:${setting}`,
    );
  }
  return value;
}

/**
 * The monitor's secret files (Grafana, Alertmanager receivers, the gateway's password hashes),
 * from configs/monitor-compose.ts.
 */
export function monitorSecretFileSpecs(
  config: StackConfig,
  secrets: StackSecrets,
  pushHtpasswd: { readonly everyHost: pulumi.Input<string>; readonly metricsWriters: pulumi.Input<string> },
): SecretFileSpec[] {
  return monitorSecretFiles(config).map((file) => ({
    path: file.hostPath,
    owner: file.owner,
    mode: "0400",
    content:
      file.source === "generated"
        ? "generated"
        : file.source === "push-htpasswd"
          ? pushHtpasswd.everyHost
          : file.source === "push-htpasswd-metrics"
            ? pushHtpasswd.metricsWriters
            : requireSecret(secrets, file.source),
  }));
}

/** A pushing host's own gateway password, for its Alloy (root inside the container). */
export function pushPasswordFileSpec(directory: string, password: pulumi.Input<string>): SecretFileSpec {
  return { path: `${directory}/${PUSH_PASSWORD_FILE}`, owner: "0:0", mode: "0400", content: password };
}

/** Credential files of a host's optional exporters, under its agents directory. */
export function exporterSecretFileSpecs(
  config: StackConfig,
  host: ClientHost | ExternalHost,
  secrets: StackSecrets,
  directory: string,
): SecretFileSpec[] {
  const specs: SecretFileSpec[] = [];
  const secretsByName: Readonly<Record<string, pulumi.Output<string> | undefined>> = { ...secrets };
  for (const record of hostExporters(host)) {
    const credentials = record.settings.credentials;
    if (!credentials) continue;
    const user = exporterUser(config, record);
    // An optional password left unset (Redis without requirepass) is written as none.
    const password = secretsByName[credentials.password.key] ?? pulumi.output("");
    for (const file of exporterCredentialFiles(record)) {
      specs.push({
        path: `${directory}/${file.path}`,
        owner: `${file.ownerUid}:${file.ownerUid}`,
        mode: file.mode,
        content: pulumi.secret(
          password.apply((value) => {
            const content = renderExporterCredentialFiles(record, { user, password: value })[file.path];
            if (content === undefined) throw new Error(`no content rendered for ${file.path}`);
            return content;
          }),
        ),
      });
    }
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------------------------

export interface HostDeploymentArgs {
  /** For step descriptions: `monitor`, the client's or outside host's name. */
  readonly hostName: string;
  /** How to reach the host, without its host key (a jump host in `proxy` carries its own). */
  readonly connection: RemoteConnection;
  /**
   * The host's key from stack config (hosts outside AWS): verified from the very first step.
   * Absent: the `host-key` step reads it right after readiness and later steps verify it.
   */
  readonly hostKey?: pulumi.Input<string>;
  /**
   * Changes exactly when the machine behind the connection is a different one (EC2 instance id;
   * the address of a host outside AWS): every step then runs again on the new machine.
   */
  readonly identity: pulumi.Input<string>;
  /** Absolute directory holding the compose file and the config files. */
  readonly directory: string;
  /** The host's files (configs/host-files.ts); called once without deploy info to plan the steps. */
  readonly renderFiles: (deployInfo: DeployInfo) => HostFiles;
  readonly deployInfo: pulumi.Input<DeployInfo>;
  readonly secretFiles: readonly SecretFileSpec[];
  readonly readiness: ReadinessInput;
  /** Hosts outside AWS: `docker compose down` and the files removed when the host leaves the stack. */
  readonly teardownOnDelete: boolean;
  /** The monitor: reset Grafana's admin password whenever this secret changes. */
  readonly grafanaAdminPassword?: pulumi.Input<string>;
  /** Resources the readiness step waits for (a client waits for its jump host, the monitor). */
  readonly after?: readonly pulumi.Resource[];
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join("\n") === [...b].sort().join("\n");
}

export class HostDeployment extends pulumi.ComponentResource {
  /** Readiness of this host: anything that needs the host up (e.g. as a jump host) depends on it. */
  public readonly ready: command.remote.Command;
  /** The compose step: the host's containers are up once it is done. */
  public readonly composeUp: command.remote.Command;
  /** The host key every step after the first two verifies (`<type> <base64>`). */
  public readonly hostKey: pulumi.Output<string>;
  /** The connection with that host key pinned: use it as the jump host of other hosts. */
  public readonly verifiedConnection: RemoteConnection;

  constructor(name: string, args: HostDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:deploy:HostDeployment", name, {}, opts);
    const child = { parent: this };
    const { directory, identity } = args;
    // A configured key is checked from the first connection on; otherwise the first two steps
    // (readiness, host-key) run unverified and everything after them is pinned.
    const firstConnection =
      args.hostKey !== undefined ? withHostKey(args.connection, args.hostKey) : args.connection;

    // The steps are planned from paths only, which do not depend on deploy-time values.
    const plan = planDeploy(args.renderFiles({}), directory);
    const plannedPaths = plan.units.flatMap((unit) => unit.paths);
    const files = pulumi.output(args.deployInfo).apply((info) => {
      const rendered = deployedFiles(args.renderFiles(info));
      if (!samePaths(Object.keys(rendered), plannedPaths)) {
        throw new Error(`${args.hostName}: the files rendered with deploy info differ from the planned ones`);
      }
      return rendered;
    });

    this.ready = new command.remote.Command(
      `${name}-ready`,
      {
        connection: firstConnection,
        create: renderReadinessScript(args.readiness),
        triggers: [identity],
        logging: "stdoutAndStderr",
      },
      { ...child, dependsOn: [...(args.after ?? [])] },
    );

    if (args.hostKey !== undefined) {
      this.hostKey = pulumi.output(args.hostKey);
    } else {
      // Trust on first use, pinned in state: re-read only when the machine changes (identity), so
      // a second `pulumi up` sees the same stored key and the same connections, and runs nothing.
      // Its stdout is the public key, also logged so it can be compared with the instance's
      // console output (`aws ec2 get-console-output`) out of band.
      const readHostKey = new command.remote.Command(
        `${name}-host-key`,
        {
          connection: firstConnection,
          create: HOST_KEY_READ_COMMAND,
          triggers: [identity],
          logging: "stdoutAndStderr",
        },
        { ...child, dependsOn: [this.ready] },
      );
      this.hostKey = readHostKey.stdout.apply((stdout) => hostKeyFromOutput(args.hostName, stdout));
    }
    this.verifiedConnection = withHostKey(args.connection, this.hostKey);
    const connection = this.verifiedConnection;

    // Hosts outside AWS: torn down when they leave the stack. Every other step waits for it, so
    // when the host is replaced (new address) the old one is torn down before anything is started
    // on the new one, never after, which could stop what was just started.
    const teardown = args.teardownOnDelete
      ? new command.remote.Command(
          `${name}-teardown`,
          {
            connection,
            create: "true",
            delete: renderTeardownCommand(
              directory,
              args.secretFiles.map((spec) => spec.path).filter((path) => !path.startsWith(`${directory}/`)),
            ),
            triggers: [identity],
            logging: "stdoutAndStderr",
          },
          { ...child, dependsOn: [this.ready], deleteBeforeReplace: true },
        )
      : undefined;
    const base: pulumi.Resource = teardown ?? this.ready;

    // Secret files: always a step, so secrets a host no longer needs are deleted from it.
    const secretContents = args.secretFiles.map((spec) =>
      spec.content === "generated"
        ? new random.RandomPassword(
            `${name}-${spec.path.slice(spec.path.lastIndexOf("/") + 1).replaceAll("_", "-")}`,
            { length: 48, special: false },
            child,
          ).result
        : pulumi.secret(spec.content),
    );
    const secretByPath = new Map(args.secretFiles.map((spec, index) => [spec.path, secretContents[index]]));
    const secretLayout = args.secretFiles.map(({ path, owner, mode }) => ({ path, owner, mode }));
    const secrets = new command.remote.Command(
      `${name}-secrets`,
      {
        connection,
        create: RUN_STDIN_AS_ROOT,
        stdin: pulumi.secret(
          pulumi.all(secretContents).apply((values) =>
            renderSecretFilesScript(
              args.hostName,
              `${directory}/${DEPLOY_STATE_DIR}/secrets.manifest`,
              secretLayout.map((file, index) => ({ ...file, content: values[index] as string })),
            ),
          ),
        ),
        triggers: [identity, contentHash({ layout: JSON.stringify(secretLayout) }), ...secretContents],
        logging: "stderr",
      },
      { ...child, dependsOn: [base] },
    );

    const unitStep = (unit: DeployUnit, dependsOn: pulumi.Resource[]) =>
      new command.remote.Command(
        `${name}-${unit.name}`,
        {
          connection,
          create: RUN_STDIN_AS_ROOT,
          stdin: files.apply((all) =>
            renderFileUnitScript({
              hostName: args.hostName,
              directory,
              project: plan.project,
              unit,
              files: unitFiles(unit, all),
            }),
          ),
          triggers: [identity, files.apply((all) => contentHash(unitFiles(unit, all)))],
          logging: "stdoutAndStderr",
        },
        { ...child, dependsOn },
      );

    const serviceSteps = plan.units
      .filter((unit) => unit.name !== "compose")
      .map((unit) => unitStep(unit, [base]));
    const composeUnit = plan.units.find((unit) => unit.name === "compose");
    if (!composeUnit) throw new Error(`${args.hostName}: no compose step planned`);
    // Every file and secret is in place before the first `compose up`.
    this.composeUp = unitStep(composeUnit, [base, secrets, ...serviceSteps]);

    const recreated = new Map<string, command.remote.Command>();
    for (const [service, paths] of Object.entries(plan.secretReaders)) {
      const values = paths.map((path) => {
        const value = secretByPath.get(path);
        if (value === undefined) {
          throw new Error(
            `${args.hostName}: compose service ${service} reads ${path}, which the deploy does not write`,
          );
        }
        return value;
      });
      recreated.set(
        service,
        new command.remote.Command(
          `${name}-recreate-${service}`,
          {
            connection,
            create: renderRecreateCommand(directory, [service]),
            triggers: [identity, ...values],
            logging: "stdoutAndStderr",
          },
          { ...child, dependsOn: [this.composeUp, secrets] },
        ),
      );
    }

    if (args.grafanaAdminPassword !== undefined) {
      const grafanaRecreated = recreated.get("grafana");
      new command.remote.Command(
        `${name}-grafana-admin-password`,
        {
          connection,
          // The CLI reads the password from the mounted secret file on stdin, inside the container.
          create: inDirectoryAsRoot(directory, grafanaAdminPasswordResetCommand(COMPOSE_FILE)),
          triggers: [identity, pulumi.secret(args.grafanaAdminPassword)],
          logging: "stderr",
        },
        { ...child, dependsOn: [this.composeUp, secrets, ...(grafanaRecreated ? [grafanaRecreated] : [])] },
      );
    }

    this.registerOutputs({ hostKey: this.hostKey });
  }
}
