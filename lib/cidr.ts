/**
 * Small, pure IPv4 CIDR helpers for config validation: parse strictly, test containment,
 * normalise. Security group rules and VPC settings go through here, so a typo such as
 * `10.0.0.1/16` (host bits set) is caught with a useful message instead of being widened silently.
 */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly network: number;
  readonly prefix: number;
  /** Canonical text form, e.g. `10.42.0.0/16`. */
  readonly text: string;
}

export type CidrParseResult =
  | { readonly ok: true; readonly cidr: Ipv4Cidr }
  | { readonly ok: false; readonly problem: string; readonly suggestion?: string };

/** Parses a dotted-quad IPv4 address; undefined when malformed (no leading zeros, each octet 0-255). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Number of addresses in a prefix, as a plain number (2^32 fits exactly in a double). */
function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * Parses `a.b.c.d/n` strictly: the prefix is required and host bits must be zero. The failure
 * result carries a suggestion (the normalised network, or the `/32` for a bare address).
 */
export function parseCidr(text: string): CidrParseResult {
  const trimmed = text.trim();
  if (trimmed.includes(":")) {
    return {
      ok: false,
      problem: `"${text}" is an IPv6 ${trimmed.includes("/") ? "CIDR" : "address"}; these rules take IPv4 CIDRs only`,
    };
  }
  const slash = trimmed.indexOf("/");
  if (slash === -1) {
    const address = parseIpv4(trimmed);
    if (address !== undefined) {
      return {
        ok: false,
        problem: `"${text}" has no prefix length`,
        suggestion: `${formatIpv4(address)}/32`,
      };
    }
    return { ok: false, problem: `"${text}" is not an IPv4 CIDR like 203.0.113.0/24` };
  }
  const address = parseIpv4(trimmed.slice(0, slash));
  const prefixText = trimmed.slice(slash + 1);
  if (address === undefined) {
    return { ok: false, problem: `"${text}" has a malformed IPv4 address (four octets 0-255 expected)` };
  }
  if (!/^(0|[1-9]\d?)$/.test(prefixText) || Number(prefixText) > 32) {
    return { ok: false, problem: `"${text}" has a malformed prefix length (0-32 expected)` };
  }
  const prefix = Number(prefixText);
  const size = blockSize(prefix);
  const network = address - (address % size);
  if (network !== address) {
    return {
      ok: false,
      problem: `"${text}" has host bits set`,
      suggestion: `${formatIpv4(network)}/${prefix}`,
    };
  }
  return { ok: true, cidr: { network, prefix, text: `${formatIpv4(network)}/${prefix}` } };
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  if (inner.prefix < outer.prefix) return false;
  return inner.network - (inner.network % blockSize(outer.prefix)) === outer.network;
}

/** Private ranges AWS accepts for a VPC: RFC 1918 plus the shared address space 100.64.0.0/10. */
export const PRIVATE_RANGES: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
];

export function isPrivateCidr(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some((range) => {
    const parsed = parseCidr(range);
    return parsed.ok && cidrContains(parsed.cidr, cidr);
  });
}
