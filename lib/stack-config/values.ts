/**
 * Pure checks of single values. They know no setting names: each returns the parsed value or a
 * problem in words, and the section that called it names the setting and the fix.
 */

export type Architecture = "x86_64" | "arm64";

// ---------------------------------------------------------------------------------------------
// Durations and sizes
// ---------------------------------------------------------------------------------------------

const DURATION_UNITS_MS: ReadonlyArray<readonly [string, number]> = [
  ["y", 365 * 24 * 3600 * 1000],
  ["w", 7 * 24 * 3600 * 1000],
  ["d", 24 * 3600 * 1000],
  ["h", 3600 * 1000],
  ["m", 60 * 1000],
  ["s", 1000],
  ["ms", 1],
];

/**
 * Milliseconds of a Prometheus duration (`30s`, `1h30m`, `15d`): units y w d h m s ms, each at
 * most once, largest first. Undefined when malformed.
 */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === "0") return 0;
  if (text === "") return undefined;
  const pattern = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
  const match = pattern.exec(text);
  if (!match) return undefined;
  let total = 0;
  DURATION_UNITS_MS.forEach(([, unitMs], index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * unitMs;
  });
  return total;
}

/** The shortest Prometheus duration text for a whole number of milliseconds (`75000` -> `1m15s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const [unit, unitMs] of DURATION_UNITS_MS) {
    const amount = Math.floor(rest / unitMs);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * unitMs;
    }
  }
  return text;
}

const SIZE_PATTERN = /^([1-9]\d*)(B|KB|MB|GB|TB|PB|EB)$/;
const SIZE_UNIT_GB: Readonly<Record<string, number>> = {
  B: 1 / 1024 ** 3,
  KB: 1 / 1024 ** 2,
  MB: 1 / 1024,
  GB: 1,
  TB: 1024,
  PB: 1024 ** 2,
  EB: 1024 ** 3,
};

/** GiB of a Prometheus size (`40GB`, base 1024 as Prometheus reads it); undefined when malformed. */
export function parsePrometheusSizeGb(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (SIZE_UNIT_GB[match[2] as string] as number);
}

// ---------------------------------------------------------------------------------------------
// Instance types
// ---------------------------------------------------------------------------------------------

/** Instance families the stack is tested against, with their CPU architecture. */
export const INSTANCE_FAMILIES: Readonly<Record<string, Architecture>> = {
  t3: "x86_64",
  t3a: "x86_64",
  m5: "x86_64",
  m6i: "x86_64",
  m6a: "x86_64",
  m7i: "x86_64",
  c6i: "x86_64",
  c7i: "x86_64",
  r6i: "x86_64",
  r7i: "x86_64",
  t4g: "arm64",
  m6g: "arm64",
  m7g: "arm64",
  c7g: "arm64",
  r7g: "arm64",
};

const BURSTABLE_FAMILIES = new Set(["t3", "t3a", "t4g"]);
const SIZE_ORDER = ["nano", "micro", "small", "medium", "large", "xlarge"];

/** Rank of a size: nano 0 ... large 4, xlarge 5, 2xlarge 6, ...; metal ranks highest. */
export function sizeRank(size: string): number {
  const index = SIZE_ORDER.indexOf(size);
  if (index !== -1) return index;
  if (size === "metal") return 1000;
  const multiple = /^(\d+)xlarge$/.exec(size);
  return multiple ? 5 + Number(multiple[1]) : -1;
}

export interface InstanceTypeInfo {
  readonly family: string;
  readonly size: string;
  readonly architecture: Architecture;
}

/** Parses `family.size` against the allow-list; a string result is the problem. */
export function parseInstanceType(instanceType: string): InstanceTypeInfo | string {
  const match = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(instanceType);
  if (!match) return `"${instanceType}" is not an EC2 instance type like t3.medium`;
  const family = match[1] as string;
  const size = match[2] as string;
  const architecture = INSTANCE_FAMILIES[family];
  if (!architecture) {
    return `instance family "${family}" is not supported (allowed: ${Object.keys(INSTANCE_FAMILIES).join(", ")})`;
  }
  const rank = sizeRank(size);
  const smallest = BURSTABLE_FAMILIES.has(family) ? "nano" : architecture === "arm64" ? "medium" : "large";
  const largest = BURSTABLE_FAMILIES.has(family) ? "2xlarge" : "metal";
  if (rank < sizeRank(smallest) || rank > sizeRank(largest)) {
    return `"${instanceType}" does not exist: ${family} sizes run from ${smallest} to ${largest}`;
  }
  return { family, size, architecture };
}

/** Architecture of a supported instance type; throws on an unsupported one. */
export function instanceArchitecture(instanceType: string): Architecture {
  const parsed = parseInstanceType(instanceType);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed.architecture;
}

// ---------------------------------------------------------------------------------------------
// Names, addresses and keys
// ---------------------------------------------------------------------------------------------

export const HOST_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
export const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
export const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
export const LINUX_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
export const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** An AWS resource id with its prefix and 8 or 17 hex digits (`vpc-0123456789abcdef0`). */
export function isAwsId(prefix: string, value: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(value);
}

/** A host name made acceptable: lowercase, hyphens for anything else, at most 32 characters. */
export function suggestedHostName(name: string): string | undefined {
  const fixed = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 32)
    .replace(/-+$/, "");
  return HOST_NAME_PATTERN.test(fixed) ? fixed : undefined;
}

const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
];

/** Problem with an OpenSSH public key line, or undefined when it looks right. */
export function sshPublicKeyProblem(line: string): string | undefined {
  if (/PRIVATE KEY/.test(line)) {
    return "holds a PRIVATE key; never put a private key here (the public key is the .pub file)";
  }
  const parts = line.trim().split(/\s+/);
  const [type, body] = parts;
  if (!type || !SSH_KEY_TYPES.includes(type) || !body) {
    return `is not an OpenSSH public key line ("<type> <base64> [comment]" with type ${SSH_KEY_TYPES.join(", ")})`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return "has a key body that is not base64";
  const decoded = Buffer.from(body, "base64");
  const nameLength = decoded.length >= 4 ? decoded.readUInt32BE(0) : -1;
  const embedded = nameLength > 0 ? decoded.subarray(4, 4 + nameLength).toString("latin1") : "";
  if (embedded !== type) return `has a key body that does not encode a ${type} key (truncated or mixed up?)`;
  return undefined;
}

/**
 * Why a URL that lands inside rendered files (Grafana's root URL, runbook links) is unusable, or
 * undefined. Quotes, spaces, angle brackets and backslashes are refused: they would break out of
 * the YAML, HTML and Markdown the URL is written into, and no real URL needs them unescaped.
 */
export function webUrlProblem(text: string, protocols: readonly ("http:" | "https:")[]): string | undefined {
  const wanted = protocols.map((protocol) => protocol.replace(":", "")).join(" or ");
  if (/["'`<>\\\s{}|^]/.test(text)) {
    return "contains a quote, space, angle bracket, backslash or other character a URL must percent-encode";
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `is not a URL (${wanted}://host/...)`;
  }
  if (!(protocols as readonly string[]).includes(url.protocol)) return `is not an ${wanted} URL`;
  if (url.username || url.password) return "carries credentials; a URL in rendered files must not";
  if (url.search || url.hash) return "has a query or fragment";
  return undefined;
}

/** Domains reserved for documentation and tests (RFC 2606, RFC 6761): nobody receives mail there. */
const DOCUMENTATION_DOMAIN = /(^|[.@/])(example\.(com|net|org)|[^./@]+\.(example|test|invalid))(?=$|[:/])/i;
/** The organisation the repository's own examples point at. */
const EXAMPLE_ORGANISATION = /\/example-org\//i;
/** AWS's documentation access key id (and its kin: AWS example ids end in EXAMPLE). */
const DOCUMENTATION_ACCESS_KEY = /^(akia|asia)[a-z0-9]{9}example$/i;
/** IPv4 ranges reserved for documentation (RFC 5737). */
const DOCUMENTATION_NETWORKS = /^(192\.0\.2|198\.51\.100|203\.0\.113)\./;

/**
 * Why a value looks like a documentation placeholder left in a stack file (an example.com
 * address, an RFC 5737 network), or undefined.
 */
export function documentationPlaceholder(text: string): string | undefined {
  const lowered = text.trim().toLowerCase();
  if (DOCUMENTATION_DOMAIN.test(lowered)) return "is a documentation placeholder (a reserved example domain)";
  if (EXAMPLE_ORGANISATION.test(lowered))
    return "is a documentation placeholder (the example-org repository)";
  if (DOCUMENTATION_ACCESS_KEY.test(lowered))
    return "is a documentation placeholder (AWS's example access key id)";
  if (DOCUMENTATION_NETWORKS.test(lowered))
    return "is a documentation placeholder (an RFC 5737 example network)";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Generic helpers
// ---------------------------------------------------------------------------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as the problem message quotes it: strings quoted, long values cut. */
export function describe(value: unknown): string {
  const text = typeof value === "string" ? `"${value}"` : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const substitution = diagonal + (a[i - 1] === b[j - 1] ? 0 : 1);
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, substitution);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** The known name closest to `name`, if close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (!best) return undefined;
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  // A key missing or adding a few letters at the end (`tag`, `clientss`) is still a likely typo.
  const containsOther =
    name.length >= 3 &&
    (name.toLowerCase().includes(best.candidate.toLowerCase()) ||
      best.candidate.toLowerCase().includes(name.toLowerCase()));
  return best.distance <= tolerance || containsOther ? best.candidate : undefined;
}
