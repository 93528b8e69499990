/**
 * The lockdown every bucket of the stack gets, as children of the component that owns the bucket:
 * all public access blocked, owner-enforced objects (no ACLs), SSE-KMS with the AWS-managed `aws/s3`
 * key and a bucket key, versioning on, and a policy that refuses any request not made over TLS
 * (plus whatever statements the owner adds). Resource names are `<name>-public-access`,
 * `<name>-ownership`, `<name>-encryption`, `<name>-versioning` and `<name>-tls-only`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface BucketLockdown {
  /** The versioning resource: a lifecycle with noncurrent-version rules must wait for it. */
  readonly versioning: aws.s3.BucketVersioning;
}

/** Locks `bucket` down; `statements` follow the TLS-only statement in its bucket policy. */
export function lockDownBucket(
  name: string,
  bucket: aws.s3.Bucket,
  parent: pulumi.Resource,
  statements: readonly Record<string, unknown>[] = [],
): BucketLockdown {
  const child = { parent };
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
  // the account use it through S3, so no role needs a kms:* statement. The bucket key cuts KMS
  // requests (cost, throttling) for many small writes to almost none.
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    },
    child,
  );

  // Versioning: an object deleted or overwritten stays as a noncurrent version until the owner's
  // lifecycle expires it.
  const versioning = new aws.s3.BucketVersioning(
    `${name}-versioning`,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
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
          ...statements,
        ],
      }),
    },
    // S3 rejects concurrent changes to a bucket's public access block and its policy.
    { ...child, dependsOn: [publicAccess] },
  );

  return { versioning };
}
