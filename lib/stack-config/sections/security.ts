/** Who may touch the Loki bucket, and how long its versioning can undo a deletion. */
import { pathSetCommand } from "../problems";
import type { SettingsReader } from "../reader";
import type { LogSettings } from "../types";

/**
 * An IAM role or user ARN as `aws:PrincipalArn` carries it (role session ARNs never appear there);
 * `*` and `?` are the wildcards ArnLike understands.
 */
const PRINCIPAL_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)\/[\w+=,.@/*?-]+$/;

export function parseLogs(reader: SettingsReader): LogSettings | undefined {
  const retentionDays = reader.integer("logRetentionDays");
  const noncurrentVersionDays = reader.integer("lokiNoncurrentVersionDays");
  const adminArns = reader.list("lokiBucketAdminArns");
  const deletionEnabled = reader.boolean("logDeletionEnabled");
  let arnsOk = adminArns !== undefined;
  (adminArns ?? []).forEach((arn, index) => {
    if (PRINCIPAL_ARN.test(arn)) return;
    arnsOk = false;
    const path = `lokiBucketAdminArns[${index}]`;
    const hint = arn.startsWith("arn:aws:sts:")
      ? "an assumed-role session ARN: give the role's ARN (arn:aws:iam::<account>:role/<name>)"
      : "not an IAM role or user ARN like arn:aws:iam::123456789012:role/Admin";
    reader.report(path, `"${arn}" is ${hint}`, [
      pathSetCommand(path, reader.spec("lokiBucketAdminArns").example),
    ]);
  });
  if (
    retentionDays === undefined ||
    noncurrentVersionDays === undefined ||
    deletionEnabled === undefined ||
    !arnsOk ||
    !adminArns
  ) {
    return undefined;
  }
  return { retentionDays, deletionEnabled, noncurrentVersionDays, bucketAdminArns: adminArns };
}
