/** The network the hosts live in, and who may reach them (SSH, Grafana) and how the deploy logs in. */
import { cidrContains, type Ipv4Cidr, isPrivateCidr, PRIVATE_RANGES, parseCidr } from "../../cidr";
import { pathRmCommand, pathSetCommand, rmCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import type { AccessSettings, NetworkSettings, SshAuth } from "../types";
import { documentationPlaceholder, isAwsId, LINUX_USER_PATTERN, sshPublicKeyProblem } from "../values";

function parseCidrSetting(reader: SettingsReader, key: string): Ipv4Cidr | undefined {
  const text = reader.string(key);
  if (text === undefined) return undefined;
  const example = reader.spec(key).example;
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    reader.report(key, parsed.problem, [setCommand(key, parsed.suggestion ?? example)]);
    return undefined;
  }
  if (parsed.cidr.prefix < 16 || parsed.cidr.prefix > 28) {
    reader.report(key, `"${text}" must have a prefix from /16 to /28 (the sizes AWS allows)`, [
      setCommand(key, example),
    ]);
    return undefined;
  }
  if (!isPrivateCidr(parsed.cidr)) {
    reader.report(key, `"${text}" is not a private range (${PRIVATE_RANGES.join(", ")})`, [
      setCommand(key, example),
    ]);
    return undefined;
  }
  return parsed.cidr;
}

export function parseNetwork(reader: SettingsReader): NetworkSettings | undefined {
  const vpcCidr = parseCidrSetting(reader, "vpcCidr");
  const subnetCidr = parseCidrSetting(reader, "subnetCidr");
  if (vpcCidr && subnetCidr && !cidrContains(vpcCidr, subnetCidr)) {
    const suggestion = `${vpcCidr.text.split("/")[0]}/${Math.max(vpcCidr.prefix, 24)}`;
    reader.report("subnetCidr", `"${subnetCidr.text}" is not inside vpcCidr "${vpcCidr.text}"`, [
      setCommand("subnetCidr", suggestion),
    ]);
  }
  const vpcId = reader.string("existingVpcId");
  const subnetId = reader.string("existingSubnetId");
  let idsOk = true;
  if (vpcId !== undefined && !isAwsId("vpc", vpcId)) {
    idsOk = false;
    reader.report("existingVpcId", `"${vpcId}" is not a VPC id like vpc-0123456789abcdef0`, [
      setCommand("existingVpcId"),
    ]);
  }
  if (subnetId !== undefined && !isAwsId("subnet", subnetId)) {
    idsOk = false;
    reader.report("existingSubnetId", `"${subnetId}" is not a subnet id like subnet-0123456789abcdef0`, [
      setCommand("existingSubnetId"),
    ]);
  }
  if ((vpcId === undefined) !== (subnetId === undefined)) {
    const missing = vpcId === undefined ? "existingVpcId" : "existingSubnetId";
    const present = vpcId === undefined ? "existingSubnetId" : "existingVpcId";
    reader.report(
      missing,
      `is required when ${present} is set: an existing network needs both (or remove ${present} to create a VPC)`,
      [setCommand(missing)],
    );
    return undefined;
  }
  if (vpcId !== undefined && subnetId !== undefined) {
    return idsOk ? { mode: "existing", vpcId, subnetId } : undefined;
  }
  if (!vpcCidr || !subnetCidr || !cidrContains(vpcCidr, subnetCidr)) return undefined;
  return { mode: "create", vpcCidr: vpcCidr.text, subnetCidr: subnetCidr.text };
}

/** Narrowest prefix each allow-list accepts, and what it opens. */
const ALLOW_LISTS = {
  sshAllowedCidrs: { service: "SSH", minPrefix: 16 },
  grafanaAllowedCidrs: { service: "Grafana", minPrefix: 8 },
} as const;

function parseAllowedCidrs(reader: SettingsReader, key: keyof typeof ALLOW_LISTS): string[] | undefined {
  const { service, minPrefix } = ALLOW_LISTS[key];
  const list = reader.list(key);
  if (list === undefined) return undefined;
  if (list.length === 0) {
    reader.report(
      key,
      `is required: list at least one CIDR allowed to reach ${service} (e.g. your office or VPN address)`,
      [pathSetCommand(`${key}[0]`)],
    );
    return undefined;
  }
  const cidrs: string[] = [];
  let ok = true;
  reader.eachLastFirst(list, (text, index) => {
    const path = `${key}[${index}]`;
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      ok = false;
      const hint = parsed.suggestion ? ` (did you mean ${parsed.suggestion}?)` : "";
      reader.report(path, `${parsed.problem}${hint}`, [pathSetCommand(path, parsed.suggestion)]);
      return;
    }
    const cidr = parsed.cidr;
    // Together, a few short prefixes cover the internet as surely as 0.0.0.0/0 (0.0.0.0/1 + 128.0.0.0/1).
    if (cidr.prefix < minPrefix) {
      ok = false;
      reader.report(
        path,
        cidr.prefix === 0
          ? `"${text}" opens ${service} to the whole internet; allow only your office or VPN range${service === "SSH" ? " (a /32), or reach the hosts through SSM Session Manager" : ", or tunnel over SSH"}`
          : `"${text}" is too broad for ${service}: the prefix must be /${minPrefix} or longer`,
        [pathSetCommand(path)],
      );
      return;
    }
    if (cidrs.includes(cidr.text)) {
      ok = false;
      reader.report(path, `"${text}" is listed twice (AWS refuses duplicate security group rules)`, [
        pathRmCommand(path),
      ]);
      return;
    }
    const placeholder = documentationPlaceholder(cidr.text);
    if (placeholder !== undefined) {
      reader.placeholder(path, `"${text}" ${placeholder}: ${service} will refuse you from anywhere else`, [
        pathSetCommand(path),
      ]);
    }
    cidrs.push(cidr.text);
  });
  return ok ? cidrs : undefined;
}

export function parseAccess(reader: SettingsReader): AccessSettings | undefined {
  const sshCidrs = parseAllowedCidrs(reader, "sshAllowedCidrs");
  const grafanaCidrs = parseAllowedCidrs(reader, "grafanaAllowedCidrs");
  const sshPublicKey = reader.string("sshPublicKey");
  const sshKeyPairName = reader.string("sshKeyPairName");
  let keyOk = true;
  if (sshPublicKey === undefined && sshKeyPairName === undefined) {
    keyOk = false;
    reader.report(
      "sshKeyPairName",
      'neither sshKeyPairName nor sshPublicKey is set: the hosts need exactly one SSH key (an EC2 key pair\'s name, or your public key: pulumi config set observability:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)")',
      [setCommand("sshKeyPairName")],
    );
  } else if (sshPublicKey !== undefined && sshKeyPairName !== undefined) {
    keyOk = false;
    reader.report(
      "sshPublicKey",
      "is set together with sshKeyPairName: choose exactly one (this fix keeps the key pair)",
      [rmCommand("sshPublicKey")],
    );
  }
  if (sshPublicKey !== undefined) {
    const problem = sshPublicKeyProblem(sshPublicKey);
    if (problem) {
      keyOk = false;
      reader.report("sshPublicKey", `${problem}; paste the .pub file's line`, [setCommand("sshPublicKey")]);
    }
  }
  if (sshKeyPairName !== undefined && !/^[\x20-\x7e]{1,255}$/.test(sshKeyPairName)) {
    keyOk = false;
    reader.report(
      "sshKeyPairName",
      `"${sshKeyPairName}" is not an EC2 key pair name (1-255 printable ASCII characters)`,
      [setCommand("sshKeyPairName")],
    );
  }
  const sshUser = reader.string("sshUser");
  if (sshUser === undefined) {
    keyOk = false;
  } else if (!LINUX_USER_PATTERN.test(sshUser)) {
    keyOk = false;
    reader.report("sshUser", `"${sshUser}" is not a Linux user name`, [setCommand("sshUser", "ubuntu")]);
  }
  const sshAuth = reader.choice("sshAuth") as SshAuth | undefined;
  if (!sshCidrs || !grafanaCidrs || !keyOk || sshUser === undefined || sshAuth === undefined)
    return undefined;
  return {
    sshCidrs,
    grafanaCidrs,
    ...(sshPublicKey !== undefined ? { sshPublicKey } : {}),
    ...(sshKeyPairName !== undefined ? { sshKeyPairName } : {}),
    sshUser,
    sshAuth,
  };
}
