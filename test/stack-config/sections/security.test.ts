/** The Loki bucket's access section: admin ARNs and the versioning undo window. */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import { type NetworkSettings, PROJECT, settingsTable } from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import { parseGrafanaExposure, parseLogs } from "../../../lib/stack-config/sections/security";
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
      result: { retentionDays: 30, deletionEnabled: false, noncurrentVersionDays: 7, bucketAdminArns: [] },
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
      result: { retentionDays: 30, deletionEnabled: false, noncurrentVersionDays: 30, bucketAdminArns: arns },
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

describe("Grafana exposure", () => {
  const CREATE = { mode: "create", vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24" } as const;
  const EXISTING = {
    mode: "existing",
    vpcId: "vpc-0123456789abcdef0",
    subnetId: "subnet-0123456789abcdef0",
  } as const;
  const DOMAIN = { grafanaDomain: "grafana.example.com", grafanaHostedZoneId: "Z0123456789ABCDEFGHIJ" };
  const exposure = (values: Record<string, unknown>, network: NetworkSettings = CREATE) => {
    const reader = new SettingsReader(values, TABLE);
    return { result: parseGrafanaExposure(reader, network), problems: reader.problems };
  };

  it("is the SSH tunnel by default, plain HTTP only when asked for by name", () => {
    expect(exposure({})).toEqual({ result: { mode: "tunnel" }, problems: [] });
    expect(exposure({ grafanaInsecurePlainHttp: true }).result).toEqual({ mode: "insecure-http" });
  });

  it("is HTTPS with a domain and zone, with a second subnet CIDR or an existing second subnet", () => {
    expect(exposure(DOMAIN).result).toEqual({
      mode: "https",
      domain: "grafana.example.com",
      hostedZoneId: "Z0123456789ABCDEFGHIJ",
      secondSubnet: { cidr: "10.42.2.0/24" },
    });
    expect(
      exposure({ ...DOMAIN, existingSecondSubnetId: "subnet-0fedcba9876543210" }, EXISTING).result,
    ).toMatchObject({
      secondSubnet: { subnetId: "subnet-0fedcba9876543210" },
    });
  });

  it("refuses half a setup, a bad name or zone, HTTPS with the insecure switch, and a bad second subnet", () => {
    const settings = (values: Record<string, unknown>, network?: NetworkSettings) =>
      exposure(values, network).problems.map((p) => p.setting);
    expect(settings({ grafanaDomain: "grafana.example.com" })).toEqual([P("grafanaHostedZoneId")]);
    expect(settings({ grafanaHostedZoneId: "Z0123456789ABCDEFGHIJ" })).toEqual([P("grafanaDomain")]);
    expect(settings({ ...DOMAIN, grafanaDomain: "Grafana_Example" })).toEqual([P("grafanaDomain")]);
    expect(settings({ ...DOMAIN, grafanaHostedZoneId: "zone-1" })).toEqual([P("grafanaHostedZoneId")]);
    expect(settings({ ...DOMAIN, grafanaInsecurePlainHttp: true })).toEqual([P("grafanaInsecurePlainHttp")]);
    expect(settings({ ...DOMAIN, secondSubnetCidr: "10.42.1.0/25" })).toEqual([P("secondSubnetCidr")]);
    expect(settings({ ...DOMAIN, secondSubnetCidr: "10.43.2.0/24" })).toEqual([P("secondSubnetCidr")]);
    expect(settings(DOMAIN, EXISTING)).toEqual([P("existingSecondSubnetId")]);
    expect(settings({ ...DOMAIN, existingSecondSubnetId: EXISTING.subnetId }, EXISTING)).toEqual([
      P("existingSecondSubnetId"),
    ]);
  });
});
