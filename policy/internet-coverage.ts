/**
 * Whether a set of IPv4 CIDRs admits the whole internet together, though none of them is
 * `0.0.0.0/0` (`0.0.0.0/1` plus `128.0.0.0/1`, or any other split), and the stack policy that
 * applies it across the separate ingress rule resources of one security group.
 *
 * Pure functions over plain data, like ./rules.ts.
 */

const IPV4_SPACE = 2 ** 32;

/** `a.b.c.d/n` -> [first, end) as numbers; undefined for anything else (IPv6 included). */
function ipv4Range(cidr: string): [number, number] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined;
  const address = octets.reduce((value, octet) => value * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  const first = address - (address % size);
  return [first, first + size];
}

/** True when the CIDRs together contain every IPv4 address. */
export function coversWholeIpv4(cidrs: readonly string[]): boolean {
  const ranges = cidrs
    .map(ipv4Range)
    .filter((range): range is [number, number] => range !== undefined)
    .sort((a, b) => a[0] - b[0]);
  let next = 0;
  for (const [first, end] of ranges) {
    if (first > next) return false;
    next = Math.max(next, end);
    if (next >= IPV4_SPACE) return true;
  }
  return false;
}

/** One ingress permission of a security group, as the stack policy reads it. */
export interface GroupIngress {
  /** The security group's id, or the URN it comes from while the id is unknown (preview). */
  readonly group: string;
  /** The resource reported for it. */
  readonly urn: string;
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrs: readonly string[];
}

export interface CoverageViolation {
  readonly urn: string;
  readonly message: string;
}

const ALL_PROTOCOLS = new Set(["-1", "all"]);

function covers(permission: GroupIngress, protocol: string, port: number): boolean {
  const own = permission.protocol.toLowerCase();
  if (ALL_PROTOCOLS.has(own)) return true;
  if (own !== protocol) return false;
  return (
    permission.fromPort === undefined ||
    permission.toPort === undefined ||
    (permission.fromPort <= port && port <= permission.toPort)
  );
}

/**
 * For every security group: each port some rule opens, where the CIDRs of all the group's rules
 * admitting it cover the whole internet and the port is not allowed from the internet. Checking
 * each rule's first port is enough: the set of rules admitting a port only grows at a first port.
 */
export function internetCoverageViolations(
  permissions: readonly GroupIngress[],
  allowedPorts: readonly number[],
): CoverageViolation[] {
  const allowed = new Set(allowedPorts);
  const violations: CoverageViolation[] = [];
  const groups = new Map<string, GroupIngress[]>();
  for (const permission of permissions) {
    groups.set(permission.group, [...(groups.get(permission.group) ?? []), permission]);
  }
  for (const members of groups.values()) {
    const reported = new Set<string>();
    for (const start of members) {
      const protocol = start.protocol.toLowerCase();
      const port = start.fromPort ?? 0;
      const key = `${protocol} ${port}`;
      if (reported.has(key)) continue;
      const admitting = members.filter((member) => covers(member, protocol, port));
      const cidrs = admitting.flatMap((member) => member.cidrs);
      if (!coversWholeIpv4(cidrs)) continue;
      if (!ALL_PROTOCOLS.has(protocol) && allowed.has(port)) continue;
      reported.add(key);
      const where = ALL_PROTOCOLS.has(protocol) ? "every protocol and port" : `${protocol} port ${port}`;
      for (const member of admitting.filter((candidate) => candidate.cidrs.length > 0)) {
        violations.push({
          urn: member.urn,
          message: `together with the group's other rules, ${member.cidrs.join(" and ")} admit the whole internet (${[...new Set(cidrs)].join(", ")}) on ${where}; ports allowed from the internet: ${allowed.size > 0 ? [...allowed].sort((a, b) => a - b).join(", ") : "none"}`,
        });
      }
    }
  }
  return violations;
}
