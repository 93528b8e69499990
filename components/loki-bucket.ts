/**
 * The S3 bucket Loki stores its chunks and TSDB index in.
 *
 * Private and owner-enforced, encrypted at rest, TLS-only, and with a lifecycle that is only a
 * safety net behind Loki's compactor (lib/retention.ts explains why it never touches `index/`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lokiLifecyclePlan } from "../lib/retention";

export interface LokiBucketArgs {
  /** Stack name, used in the Name tag. */
  readonly environment: string;
  /** Loki's compactor retention; the lifecycle rule is derived from it. */
  readonly retentionDays: number;
  /** Prod: the bucket survives `pulumi destroy` and refuses deletion. Dev: destroyable with its objects. */
  readonly protectData: boolean;
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

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );

    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      child,
    );

    // SSE-KMS with the AWS-managed `aws/s3` key: key use is recorded in CloudTrail and the key is
    // separate from S3, yet nothing extra to manage. Its key policy already lets any principal of
    // the account use it through S3, so the monitor role needs no kms:* statement. The bucket key
    // cuts KMS requests (cost, throttling) for Loki's many small chunk writes to almost none.
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
      },
      child,
    );

    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
      // S3 rejects concurrent changes to a bucket's public access block and its policy.
      { ...child, dependsOn: [publicAccess] },
    );

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
          {
            // Failed multipart uploads are invisible but billed; no part of them is ever needed.
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: plan.abortIncompleteMultipartAfterDays },
          },
        ],
      },
      child,
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
