/**
 * Amazon Managed Service for Prometheus: the workspace every sample is also remote-written to when
 * one monitor is not enough to keep or query a fleet's history. Created here, or an existing one
 * looked up by id; either way the monitor's role gets write and query rights on it alone
 * (components/instance-roles.ts), and Prometheus and Grafana sign with that role (SigV4).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ManagedPrometheusStore } from "../lib/stack-config";

export interface ManagedPrometheusArgs {
  /** Stack name, for the workspace alias and Name tag. */
  readonly environment: string;
  readonly store: ManagedPrometheusStore;
}

/** The workspace endpoint with exactly one trailing slash (the API reports it with one). */
function withSlash(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/`;
}

export class ManagedPrometheus extends pulumi.ComponentResource {
  public readonly workspaceId: pulumi.Output<string>;
  public readonly workspaceArn: pulumi.Output<string>;
  /** Where Grafana queries (`.../workspaces/<id>/`; it appends `api/v1/...`). */
  public readonly queryUrl: pulumi.Output<string>;
  /** Where Prometheus remote-writes. */
  public readonly remoteWriteUrl: pulumi.Output<string>;

  constructor(name: string, args: ManagedPrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:metrics:ManagedPrometheus", name, {}, opts);
    const child = { parent: this };

    if (args.store.mode === "create") {
      const workspace = new aws.amp.Workspace(
        name,
        { alias: `observability-${args.environment}`, tags: { Name: `${args.environment}-metrics` } },
        child,
      );
      this.workspaceId = workspace.id;
      this.workspaceArn = workspace.arn;
      this.queryUrl = workspace.prometheusEndpoint.apply(withSlash);
    } else {
      const workspace = aws.amp.getWorkspaceOutput({ workspaceId: args.store.workspaceId }, child);
      this.workspaceId = workspace.workspaceId;
      this.workspaceArn = workspace.arn;
      this.queryUrl = workspace.prometheusEndpoint.apply(withSlash);
    }
    this.remoteWriteUrl = this.queryUrl.apply((url) => `${url}api/v1/remote_write`);

    this.registerOutputs({
      workspaceId: this.workspaceId,
      workspaceArn: this.workspaceArn,
      queryUrl: this.queryUrl,
      remoteWriteUrl: this.remoteWriteUrl,
    });
  }
}
