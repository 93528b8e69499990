/**
 * The S3 bucket Loki stores its chunks and TSDB index in.
 *
 * Private and owner-enforced, encrypted at rest, TLS-only, versioned, and with a lifecycle that is
 * only a safety net behind Loki's compactor (lib/retention.ts explains why it never touches `index/`).
 *
 * Who may touch the objects: the bucket policy denies every object action (and listing) to every
 * principal whose `aws:PrincipalArn` is not the monitor's role, the account's root user or one of
 * the stack's `lokiBucketAdminArns`, whatever their IAM policies allow. Bucket-level actions
 * (the policy itself, versioning, lifecycle, deletion of the empty bucket) are not denied, so IAM
 * administrators of the account can always change or remove the policy: the owner is never locked
 * out. Credentials taken from the monitor cannot delete object versions or turn versioning or the
 * lifecycle off, so what they delete stays recoverable for `lokiNoncurrentVersionDays`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lokiLifecyclePlan, type TraceLifecyclePlan, traceLifecyclePlan } from "../lib/retention";
import { lockDownBucket } from "./bucket-lockdown";

export interface LokiBucketArgs {
  /** Stack name, used in the Name tag. */
  readonly environment: string;
  /** Loki's compactor retention; the lifecycle rule is derived from it. */
  readonly retentionDays: number;
  /** Prod: the bucket survives `pulumi destroy` and refuses deletion. Dev: destroyable with its objects. */
  readonly protectData: boolean;
  /** Days an overwritten or deleted object's previous version is kept (versioning's undo window). */
  readonly noncurrentVersionDays: number;
  /** The monitor's IAM role (Loki's only client): the one principal besides the admins with object access. */
  readonly monitorPrincipalArn: pulumi.Input<string>;
  /** IAM role or user ARN patterns that keep object access too (the account's root user always does). */
  readonly adminArns: readonly string[];
  /** With traces on: Tempo's block retention (ms); its blocks get their own expiry rule. */
  readonly traceRetentionMs?: number;
}

/** Safety net behind Tempo's compactor: its prefix only, a day after Tempo deletes a block itself. */
function traceExpiryRule(plan: TraceLifecyclePlan) {
  return {
    id: "expire-tempo-blocks",
    status: "Enabled",
    filter: { prefix: plan.prefix },
    expiration: { days: plan.expireAfterDays },
  };
}

/** Every action on an object, and the listings of objects, versions and uploads. */
const LIST_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"];
/** What the monitor's credentials may never do, even if its role's own policy were widened. */
const MONITOR_DENIED_ACTIONS = [
  "s3:DeleteObjectVersion",
  "s3:PutBucketVersioning",
  "s3:PutLifecycleConfiguration",
];

/** `arn:aws:iam::123456789012:role/x` -> `arn:aws:iam::123456789012:root` (same partition and account). */
function accountRootArn(principalArn: string): string {
  const [arn, partition, service, , account] = principalArn.split(":");
  if (arn !== "arn" || service !== "iam" || !/^\d{12}$/.test(account ?? "")) {
    throw new Error(`the monitor's principal "${principalArn}" is not an IAM ARN`);
  }
  return `arn:${partition}:iam::${account}:root`;
}

export class LokiBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: LokiBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    // Computed first: an invalid retention fails before anything is registered.
    const plan = lokiLifecyclePlan(args.retentionDays);
    super("observability:storage:LokiBucket", name, {}, opts);
    const child = { parent: this };

    // The bucket's physical name is derived from this logical name plus a random suffix; S3 allows
    // only lowercase letters, digits and dashes, while stack names may hold capitals and underscores.
    const bucketName = name.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    const bucket = new aws.s3.Bucket(
      bucketName,
      {
        // Dev can be torn down with its logs; prod refuses to delete a bucket that holds objects.
        forceDestroy: !args.protectData,
        tags: { Name: `${args.environment}-loki` },
      },
      { ...child, protect: args.protectData, retainOnDelete: args.protectData },
    );

    const objects = pulumi.interpolate`${bucket.arn}/*`;
    const allowed = pulumi
      .output(args.monitorPrincipalArn)
      .apply((monitor) => [monitor, accountRootArn(monitor), ...args.adminArns]);
    const { versioning } = lockDownBucket(name, bucket, this, [
      {
        // Every object action of every principal but these; bucket-level actions stay with IAM.
        Sid: "DenyObjectAccessExceptMonitorAndAdmins",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: objects,
        Condition: { ArnNotLike: { "aws:PrincipalArn": allowed } },
      },
      {
        Sid: "DenyListingExceptMonitorAndAdmins",
        Effect: "Deny",
        Principal: "*",
        Action: LIST_ACTIONS,
        Resource: bucket.arn,
        Condition: { ArnNotLike: { "aws:PrincipalArn": allowed } },
      },
      {
        Sid: "DenyMonitorPermanentDeletion",
        Effect: "Deny",
        Principal: "*",
        Action: MONITOR_DENIED_ACTIONS,
        Resource: [bucket.arn, objects],
        Condition: { ArnEquals: { "aws:PrincipalArn": args.monitorPrincipalArn } },
      },
    ]);

    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            // Safety net behind the compactor: chunks only, and later than the compactor deletes them.
            id: "expire-loki-chunks",
            status: "Enabled",
            filter: { prefix: plan.chunkPrefix },
            expiration: { days: plan.expireChunksAfterDays },
          },
          ...(args.traceRetentionMs !== undefined
            ? [traceExpiryRule(traceLifecyclePlan(args.traceRetentionMs))]
            : []),
          {
            // Failed multipart uploads are invisible but billed; no part of them is ever needed.
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: plan.abortIncompleteMultipartAfterDays },
          },
          {
            // Previous versions (index files included: the current index is never expired) go after
            // the undo window; delete markers with nothing left behind them go too.
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
      // S3 rejects a noncurrent-version rule racing the versioning change on a new bucket.
      { ...child, dependsOn: [versioning] },
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
