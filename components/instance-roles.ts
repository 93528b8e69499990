/**
 * IAM identities of the hosts: instance profiles only, so no static keys or session tokens exist
 * anywhere; EC2 rotates the instance-profile credentials by itself.
 *
 * - Monitor: EC2 discovery for Prometheus and read/write/list/delete on the Loki bucket, and with
 *   a managed Prometheus store, remote write and queries on that one workspace; nothing else.
 * - Clients: a role with no permissions of its own. Nothing on a client of this stack calls AWS
 *   (exporters are scraped, Alloy pushes to Loki over the VPC), so credentials from its metadata
 *   service grant nothing; the empty role gives clients a named identity in CloudTrail and a place
 *   to attach account-wide policies (e.g. SSM) without touching this program. With fleet
 *   enrolment on, components/fleet-enrolment.ts adds the one policy enrolled hosts need: read the
 *   environment's bundle prefix and its push-password parameter, nothing else.
 * - Restricted accounts (no iam:CreateRole) name an existing instance profile instead: then nothing
 *   is created, the monitor uses that profile and clients get none, since such ready-made profiles
 *   are usually broad and clients need no AWS access.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface InstanceRolesArgs {
  /** Stack name, used in Name tags. */
  readonly environment: string;
  /** The Loki bucket the monitor reads and writes. */
  readonly lokiBucketArn: pulumi.Input<string>;
  /** Use this instance profile for the monitor and create no IAM resources. */
  readonly existingInstanceProfile?: string;
  /** The managed Prometheus workspace the monitor writes to and Grafana queries, if any. */
  readonly managedPrometheusWorkspaceArn?: pulumi.Input<string>;
}

/** Remote write from Prometheus and queries from Grafana, on the one workspace. */
function managedPrometheusPolicyDocument(workspaceArn: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PrometheusRemoteWrite",
        Effect: "Allow",
        Action: "aps:RemoteWrite",
        Resource: workspaceArn,
      },
      {
        Sid: "GrafanaQuery",
        Effect: "Allow",
        Action: ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"],
        Resource: workspaceArn,
      },
    ],
  });
}

const EC2_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Service: "ec2.amazonaws.com" },
      Action: "sts:AssumeRole",
    },
  ],
});

/** The monitor's permissions: EC2 service discovery and the Loki bucket. */
function monitorPolicyDocument(lokiBucketArn: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        // Prometheus ec2_sd_configs: DescribeInstances lists the targets; DescribeAvailabilityZones is
        // called on every refresh to fill __meta_ec2_availability_zone_id (without it each refresh
        // logs 403 warnings and the label is empty), and Prometheus' docs list both. Neither action
        // supports resource-level permissions, so "*" is the only valid resource.
        Sid: "PrometheusEc2Discovery",
        Effect: "Allow",
        Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"],
        Resource: "*",
      },
      {
        Sid: "LokiListBucket",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: lokiBucketArn,
      },
      {
        Sid: "LokiReadWriteObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: pulumi.interpolate`${lokiBucketArn}/*`,
      },
    ],
  });
}

export class InstanceRoles extends pulumi.ComponentResource {
  /** Instance profile for the monitor: created here, or the existing one. */
  public readonly monitorInstanceProfileName: pulumi.Output<string>;
  /** Instance profile for clients; undefined when an existing profile is used (clients get none). */
  public readonly clientInstanceProfileName: pulumi.Output<string> | undefined;
  /** Undefined when an existing instance profile is used. */
  public readonly monitorRoleArn: pulumi.Output<string> | undefined;
  /** The role behind the monitor's profile, created here or the existing profile's: the Loki bucket admits it. */
  public readonly monitorPrincipalArn: pulumi.Output<string>;
  public readonly clientRoleArn: pulumi.Output<string> | undefined;
  /** The client role's name and its instance profile's ARN; undefined with an existing instance profile. */
  public readonly clientRoleName: pulumi.Output<string> | undefined;
  public readonly clientInstanceProfileArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: InstanceRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:iam:InstanceRoles", name, {}, opts);
    const child = { parent: this };

    if (args.existingInstanceProfile !== undefined) {
      this.monitorInstanceProfileName = pulumi.output(args.existingInstanceProfile);
      this.monitorPrincipalArn = aws.iam
        .getInstanceProfileOutput({ name: args.existingInstanceProfile }, child)
        .apply((profile) => profile.roleArn);
      this.clientInstanceProfileName = undefined;
      this.monitorRoleArn = undefined;
      this.clientRoleArn = undefined;
      this.clientRoleName = undefined;
      this.clientInstanceProfileArn = undefined;
    } else {
      const monitorRole = new aws.iam.Role(
        `${name}-monitor`,
        {
          description: `Observability monitor (${args.environment}): EC2 discovery and the Loki bucket`,
          assumeRolePolicy: EC2_ASSUME_ROLE_POLICY,
          tags: { Name: `${args.environment}-monitor` },
        },
        child,
      );
      new aws.iam.RolePolicy(
        `${name}-monitor`,
        { role: monitorRole.name, policy: monitorPolicyDocument(args.lokiBucketArn) },
        child,
      );
      if (args.managedPrometheusWorkspaceArn !== undefined) {
        new aws.iam.RolePolicy(
          `${name}-monitor-managed-prometheus`,
          {
            role: monitorRole.name,
            policy: managedPrometheusPolicyDocument(args.managedPrometheusWorkspaceArn),
          },
          child,
        );
      }
      const monitorProfile = new aws.iam.InstanceProfile(
        `${name}-monitor`,
        { role: monitorRole.name, tags: { Name: `${args.environment}-monitor` } },
        child,
      );

      const clientRole = new aws.iam.Role(
        `${name}-client`,
        {
          description: `Observability client (${args.environment}): no permissions`,
          assumeRolePolicy: EC2_ASSUME_ROLE_POLICY,
          tags: { Name: `${args.environment}-client` },
        },
        child,
      );
      const clientProfile = new aws.iam.InstanceProfile(
        `${name}-client`,
        { role: clientRole.name, tags: { Name: `${args.environment}-client` } },
        child,
      );

      this.monitorInstanceProfileName = monitorProfile.name;
      this.clientInstanceProfileName = clientProfile.name;
      this.monitorRoleArn = monitorRole.arn;
      this.monitorPrincipalArn = monitorRole.arn;
      this.clientRoleArn = clientRole.arn;
      this.clientRoleName = clientRole.name;
      this.clientInstanceProfileArn = clientProfile.arn;
    }

    this.registerOutputs({
      monitorInstanceProfileName: this.monitorInstanceProfileName,
      clientInstanceProfileName: this.clientInstanceProfileName,
      monitorRoleArn: this.monitorRoleArn,
      monitorPrincipalArn: this.monitorPrincipalArn,
      clientRoleArn: this.clientRoleArn,
    });
  }
}
