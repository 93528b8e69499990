/**
 * Scheduled snapshots of the monitor's data volume (Prometheus TSDB, Alertmanager silences and
 * notification log, Grafana's database, Loki's local index cache): an AWS Data Lifecycle Manager
 * policy that snapshots every volume tagged `ObservabilitySnapshots=<stack>-monitor-data` once a
 * day and keeps the newest `retainCount`, with the role DLM acts as. Snapshots of the encrypted
 * volume are encrypted with the same key. Restore: docs/operations.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * What DLM may do as this role: snapshot volumes, tag and delete snapshots, and list what it
 * manages. The part of AWS's managed AWSDataLifecycleManagerServiceRole policy an EBS snapshot
 * schedule uses, inline: the stack attaches no managed policy anywhere.
 */
const DLM_ROLE_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "SnapshotVolumes",
      Effect: "Allow",
      Action: [
        "ec2:CreateSnapshot",
        "ec2:CreateSnapshots",
        "ec2:DeleteSnapshot",
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "ec2:DescribeSnapshots",
      ],
      Resource: "*",
    },
    { Sid: "TagSnapshots", Effect: "Allow", Action: "ec2:CreateTags", Resource: "arn:aws:ec2:*::snapshot/*" },
  ],
} as const;

/** When the daily snapshot starts (UTC; DLM starts it within the following hour). */
const SNAPSHOT_TIME_UTC = "03:00";

export interface DataVolumeSnapshotsArgs {
  readonly environment: string;
  /** Snapshots to keep (at least 1). */
  readonly retainCount: number;
  /** The tags the data volume carries and the policy targets. */
  readonly targetTags: Readonly<Record<string, string>>;
}

export class DataVolumeSnapshots extends pulumi.ComponentResource {
  public readonly policyArn: pulumi.Output<string>;

  constructor(name: string, args: DataVolumeSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:hosts:DataVolumeSnapshots", name, {}, opts);
    if (!Number.isInteger(args.retainCount) || args.retainCount < 1) {
      throw new Error(`${name}: retainCount must be a whole number of at least 1`);
    }
    const child = { parent: this };

    const role = new aws.iam.Role(
      `${name}-dlm`,
      {
        description: `Data Lifecycle Manager: snapshots of the ${args.environment} monitor's data volume`,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
      },
      child,
    );
    const permissions = new aws.iam.RolePolicy(
      `${name}-dlm`,
      { role: role.id, policy: JSON.stringify(DLM_ROLE_POLICY) },
      child,
    );

    const policy = new aws.dlm.LifecyclePolicy(
      name,
      {
        description: `${args.environment} monitor data volume, daily, keep ${args.retainCount}`,
        executionRoleArn: role.arn,
        state: "ENABLED",
        policyDetails: {
          resourceTypes: ["VOLUME"],
          targetTags: { ...args.targetTags },
          schedules: [
            {
              name: "daily",
              createRule: { interval: 24, intervalUnit: "HOURS", times: SNAPSHOT_TIME_UTC },
              retainRule: { count: args.retainCount },
              // The volume's tags (Name, Environment, the target tag) go onto each snapshot.
              copyTags: true,
              tagsToAdd: { SnapshotCreator: "dlm" },
            },
          ],
        },
      },
      { ...child, dependsOn: [permissions] },
    );

    this.policyArn = policy.arn;
    this.registerOutputs({ policyArn: this.policyArn });
  }
}
