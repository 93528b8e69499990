/**
 * Fleet enrolment (docs/fleet.md): what an instance this stack does not create needs to run the
 * environment's agents, without SSH and without a secret in its user data.
 *
 * - A bucket of its own for agent bundles: private, owner-enforced, encrypted (SSE-KMS, the
 *   AWS-managed key), TLS-only, versioned. Not the Loki bucket: that one's policy denies object
 *   access to everyone but the monitor's role and the admins, and fleet hosts must never be able
 *   to read logs; a separate bucket keeps both policies simple and each role's reach obvious.
 * - Under the environment's prefix: the bundle (configs/fleet-bundle.ts, content-addressed by
 *   sha256) and the pointer naming it and its digest, written after the bundle.
 * - The fleet's push password as an SSM SecureString (AWS-managed `aws/ssm` key, whose key policy
 *   lets account principals decrypt through SSM): the client role reads it at every sync.
 * - A policy on the client role: s3:GetObject under the environment's prefix and
 *   ssm:GetParameter on that one parameter; nothing else (no listing, no other prefix).
 * - The bootstrap user data (configs/fleet-bootstrap.ts) and the discovery tags, as outputs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FLEET_PATHS, renderFleetUserData } from "../configs/fleet-bootstrap";
import {
  fleetBundle,
  fleetDiscoveryTags,
  fleetPointerKey,
  fleetPrefix,
  renderFleetPointer,
} from "../configs/fleet-bundle";
import type { HostFiles } from "../configs/host-files";
import { lockDownBucket } from "./bucket-lockdown";

export interface FleetEnrolmentArgs {
  /** Stack name: the bundle prefix, the parameter's path and the discovery tags. */
  readonly environment: string;
  readonly region: string;
  /** The bundle's files (configs/fleet-bundle.ts: fleetBundleFiles). */
  readonly files: pulumi.Input<HostFiles>;
  /** The fleet's push-gateway password (a secret). */
  readonly pushPassword: pulumi.Input<string>;
  /** The client role enrolled hosts run as, and its instance profile. */
  readonly clientRoleName: pulumi.Input<string>;
  readonly clientInstanceProfileName: pulumi.Input<string>;
  readonly clientInstanceProfileArn: pulumi.Input<string>;
  /** The clients' security group (the monitor scrapes it; the gateway admits its pushes). */
  readonly clientSecurityGroupId: pulumi.Input<string>;
  /** Prod: the bucket survives `pulumi destroy`. */
  readonly protectData: boolean;
}

/** Days a replaced bundle or pointer stays as a noncurrent version (the rollback window). */
const NONCURRENT_VERSION_DAYS = 30;

/** The client role's whole extra policy: its environment's prefix, and the parameter. */
function fleetClientPolicy(
  bucketArn: pulumi.Input<string>,
  environment: string,
  parameterArn: pulumi.Input<string>,
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "FleetBundleRead",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: pulumi.interpolate`${bucketArn}/${fleetPrefix(environment)}*`,
      },
      {
        Sid: "FleetPushPasswordRead",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: parameterArn,
      },
    ],
  });
}

/** The SSM parameter holding the environment's fleet push password. */
function fleetParameterName(environment: string): string {
  return `/observability/${environment}/fleet/push-password`;
}

export class FleetEnrolment extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  public readonly pointerKey: string;
  /** Key and hex sha256 of the current bundle. */
  public readonly bundleKey: pulumi.Output<string>;
  public readonly bundleSha256: pulumi.Output<string>;
  public readonly parameterName: pulumi.Output<string>;
  public readonly parameterArn: pulumi.Output<string>;
  /** The bootstrap user data (plain text; a launch template wants it base64-encoded). */
  public readonly userData: pulumi.Output<string>;
  public readonly discoveryTags: Record<string, string>;
  public readonly instanceProfileName: pulumi.Output<string>;
  public readonly instanceProfileArn: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: FleetEnrolmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:fleet:FleetEnrolment", name, {}, opts);
    const child = { parent: this };
    const env = args.environment;

    const bucket = new aws.s3.Bucket(
      name.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
      { forceDestroy: !args.protectData, tags: { Name: `${env}-fleet-bundles` } },
      { ...child, protect: args.protectData, retainOnDelete: args.protectData },
    );
    const { versioning } = lockDownBucket(name, bucket, this);
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
      { ...child, dependsOn: [versioning] },
    );

    const bundle = pulumi.output(args.files).apply((files) => fleetBundle(env, files));
    const bundleObject = new aws.s3.BucketObjectv2(
      `${name}-bundle`,
      {
        bucket: bucket.id,
        key: bundle.key,
        contentBase64: bundle.archive.apply((archive) => archive.toString("base64")),
        contentType: "application/x-tar",
      },
      { ...child, dependsOn: [versioning] },
    );
    this.pointerKey = fleetPointerKey(env);
    // Written after the bundle it names, so a host never follows a pointer to a missing object.
    new aws.s3.BucketObjectv2(
      `${name}-pointer`,
      {
        bucket: bucket.id,
        key: this.pointerKey,
        content: bundle.apply((current) => renderFleetPointer(current)),
        contentType: "text/plain",
      },
      { ...child, dependsOn: [bundleObject] },
    );

    const parameter = new aws.ssm.Parameter(
      `${name}-push-password`,
      {
        name: fleetParameterName(env),
        description: `Push-gateway password of the ${env} fleet's agents (read by the client role)`,
        type: "SecureString",
        value: pulumi.secret(args.pushPassword),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-client-read`,
      { role: args.clientRoleName, policy: fleetClientPolicy(bucket.arn, env, parameter.arn) },
      child,
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.bundleKey = bundle.key;
    this.bundleSha256 = bundle.sha256;
    this.parameterName = parameter.name;
    this.parameterArn = parameter.arn;
    this.userData = pulumi.all([bucket.bucket, parameter.name]).apply(([bucketName, parameterName]) =>
      renderFleetUserData({
        bucket: bucketName,
        pointerKey: fleetPointerKey(env),
        region: args.region,
        parameterName,
        paths: FLEET_PATHS,
      }),
    );
    this.discoveryTags = fleetDiscoveryTags(env);
    this.instanceProfileName = pulumi.output(args.clientInstanceProfileName);
    this.instanceProfileArn = pulumi.output(args.clientInstanceProfileArn);
    this.securityGroupId = pulumi.output(args.clientSecurityGroupId);
    this.registerOutputs({
      bucketName: this.bucketName,
      bundleKey: this.bundleKey,
      bundleSha256: this.bundleSha256,
      parameterName: this.parameterName,
      userData: this.userData,
    });
  }
}
