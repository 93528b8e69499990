/**
 * Who may touch the Loki bucket and how long its versioning can undo a deletion; how Grafana is
 * reached from outside the monitor.
 */
import { cidrContains, parseCidr } from "../../cidr";
import { pathSetCommand, rmCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import type { GrafanaExposure, LogSettings, NetworkSettings } from "../types";
import { isAwsId } from "../values";

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

/** A DNS name of two or more labels (lowercase letters, digits, hyphens), as ACM and Route 53 take it. */
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{4,32}$/;

function parseSecondSubnet(
  reader: SettingsReader,
  network: NetworkSettings,
): { cidr: string } | { subnetId: string } | undefined {
  if (network.mode === "existing") {
    const subnetId = reader.string("existingSecondSubnetId");
    if (subnetId === undefined) {
      reader.report(
        "existingSecondSubnetId",
        "is required with existingVpcId and grafanaDomain: the load balancer needs a second subnet in another availability zone",
        [setCommand("existingSecondSubnetId")],
      );
      return undefined;
    }
    if (!isAwsId("subnet", subnetId) || subnetId === network.subnetId) {
      reader.report(
        "existingSecondSubnetId",
        `"${subnetId}" must be a subnet id like subnet-0123456789abcdef0, other than existingSubnetId`,
        [setCommand("existingSecondSubnetId")],
      );
      return undefined;
    }
    return { subnetId };
  }
  const text = reader.string("secondSubnetCidr");
  if (text === undefined) return undefined;
  const parsed = parseCidr(text);
  const vpc = parseCidr(network.vpcCidr);
  const first = parseCidr(network.subnetCidr);
  if (!parsed.ok || !vpc.ok || !first.ok) {
    reader.report("secondSubnetCidr", `"${text}" is not an IPv4 CIDR`, [
      setCommand("secondSubnetCidr", reader.spec("secondSubnetCidr").example),
    ]);
    return undefined;
  }
  const overlaps = cidrContains(parsed.cidr, first.cidr) || cidrContains(first.cidr, parsed.cidr);
  if (!cidrContains(vpc.cidr, parsed.cidr) || overlaps || parsed.cidr.prefix > 28) {
    reader.report(
      "secondSubnetCidr",
      `"${text}" must lie inside vpcCidr "${network.vpcCidr}", not overlap subnetCidr "${network.subnetCidr}", and be /28 or wider`,
      [setCommand("secondSubnetCidr")],
    );
    return undefined;
  }
  return { cidr: parsed.cidr.text };
}

/** How Grafana is reached: SSH tunnel (default), HTTPS at a domain, or the explicit insecure opt-in. */
export function parseGrafanaExposure(
  reader: SettingsReader,
  network: NetworkSettings | undefined,
): GrafanaExposure | undefined {
  const domain = reader.string("grafanaDomain");
  const hostedZoneId = reader.string("grafanaHostedZoneId");
  const insecure = reader.boolean("grafanaInsecurePlainHttp");
  let ok = insecure !== undefined;
  if (domain !== undefined && !DOMAIN.test(domain)) {
    ok = false;
    reader.report("grafanaDomain", `"${domain}" is not a lowercase DNS name like grafana.example.com`, [
      setCommand("grafanaDomain", reader.spec("grafanaDomain").example),
    ]);
  }
  if (hostedZoneId !== undefined && !HOSTED_ZONE_ID.test(hostedZoneId)) {
    ok = false;
    reader.report(
      "grafanaHostedZoneId",
      `"${hostedZoneId}" is not a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ`,
      [setCommand("grafanaHostedZoneId")],
    );
  }
  if ((domain === undefined) !== (hostedZoneId === undefined)) {
    ok = false;
    const missing = domain === undefined ? "grafanaDomain" : "grafanaHostedZoneId";
    const present = domain === undefined ? "grafanaHostedZoneId" : "grafanaDomain";
    reader.report(
      missing,
      `is required with ${present}: the certificate is validated and the alias created in that zone`,
      [setCommand(missing)],
    );
  }
  if (domain !== undefined && insecure === true) {
    ok = false;
    reader.report(
      "grafanaInsecurePlainHttp",
      "cannot be true with grafanaDomain: Grafana is then served over HTTPS by its load balancer only",
      [rmCommand("grafanaInsecurePlainHttp")],
    );
  }
  if (!ok || !network) return undefined;
  if (domain !== undefined && hostedZoneId !== undefined) {
    const secondSubnet = parseSecondSubnet(reader, network);
    return secondSubnet ? { mode: "https", domain, hostedZoneId, secondSubnet } : undefined;
  }
  return insecure ? { mode: "insecure-http" } : { mode: "tunnel" };
}
