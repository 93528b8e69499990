/** The Loki bucket's access section: admin ARNs and the versioning undo window. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { PROJECT, settingsTable } from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseLogs } from "../../../lib/stack-config/sections/security";
import { pulumiInvocations } from "../../support/pulumi-config-cli";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

function logs(values: Record<string, unknown>) {
  const reader = new SettingsReader(values, TABLE);
  return { result: parseLogs(reader), problems: reader.problems };
}

describe("Loki bucket access", () => {
  it("defaults to a 7-day undo window and no admins besides the account root", () => {
    expect(logs({})).toEqual({
      result: { retentionDays: 30, noncurrentVersionDays: 7, bucketAdminArns: [] },
      problems: [],
    });
  });

  it("accepts role and user ARNs, with wildcards, in any partition", () => {
    const arns = [
      "arn:aws:iam::123456789012:role/Admin",
      "arn:aws:iam::123456789012:user/alice",
      "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
      "arn:aws-us-gov:iam::123456789012:role/ops-?",
    ];
    expect(logs({ lokiBucketAdminArns: arns, lokiNoncurrentVersionDays: 30 })).toEqual({
      result: { retentionDays: 30, noncurrentVersionDays: 30, bucketAdminArns: arns },
      problems: [],
    });
  });

  it("refuses session ARNs, other services' ARNs and a bare account, naming each entry", () => {
    const { result, problems } = logs({
      lokiBucketAdminArns: [
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        "arn:aws:s3:::bucket",
        "123456789012",
      ],
    });
    expect(result).toBeUndefined();
    expect(problems.map((p) => p.setting)).toEqual([
      P("lokiBucketAdminArns[1]"),
      P("lokiBucketAdminArns[2]"),
      P("lokiBucketAdminArns[3]"),
    ]);
    expect(problems[0]?.problem).toMatch(/assumed-role session ARN: give the role's ARN/);
    expect(problems[1]?.problem).toMatch(/not an IAM role or user ARN/);
    expect(pulumiInvocations(problems[0]?.fix ?? "")).toEqual([
      ["config", "set", "--path", P("lokiBucketAdminArns[1]"), "arn:aws:iam::123456789012:role/Admin"],
    ]);
  });

  it("bounds the undo window from 1 to 90 days", () => {
    expect(logs({ lokiNoncurrentVersionDays: 0 }).problems.map((p) => p.setting)).toEqual([
      P("lokiNoncurrentVersionDays"),
    ]);
    expect(logs({ lokiNoncurrentVersionDays: 91 }).result).toBeUndefined();
  });
});
