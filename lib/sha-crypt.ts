/**
 * SHA-512-crypt (`$6$`, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512", the scheme
 * glibc and libxcrypt implement): what nginx's `auth_basic_user_file` verifies through the
 * system's crypt(3). Deterministic for a given salt, so a password hashed again on the next
 * `pulumi up` gives the same line and nothing is redeployed.
 *
 * Checked against Python's crypt(3) binding and `openssl passwd -6` in test/sha-crypt.test.ts,
 * and against real nginx in test/gateway-loopback.test.ts.
 */
import { createHash } from "node:crypto";

/** crypt(3)'s base-64 alphabet (not RFC 4648's). */
const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const SHA_CRYPT_MIN_ROUNDS = 1000;
const SHA_CRYPT_MAX_ROUNDS = 999_999_999;
const MAX_SALT_LENGTH = 16;
const SALT = /^[./0-9A-Za-z]{1,16}$/;

/** The digest's bytes in the order the scheme encodes them, three at a time. */
const SHA512_ORDER: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];

function sha512(...parts: Buffer[]): Buffer {
  const hash = createHash("sha512");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** `length` bytes of `block` repeated (the scheme's P and S sequences). */
function repeated(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += block.length) block.copy(out, offset, 0, length - offset);
  return out;
}

function encode24(b2: number, b1: number, b0: number, chars: number): string {
  let word = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[word & 0x3f];
    word >>= 6;
  }
  return out;
}

/**
 * `$6$rounds=<rounds>$<salt>$<hash>` for the password. The salt is 1 to 16 characters of the
 * crypt alphabet; rounds between 1000 and 999,999,999 (the scheme's own bounds, never clamped
 * silently here).
 */
export function sha512Crypt(password: string, salt: string, rounds: number): string {
  if (!SALT.test(salt) || salt.length > MAX_SALT_LENGTH) {
    throw new Error("a sha512-crypt salt is 1 to 16 characters of [./0-9A-Za-z]");
  }
  if (!Number.isInteger(rounds) || rounds < SHA_CRYPT_MIN_ROUNDS || rounds > SHA_CRYPT_MAX_ROUNDS) {
    throw new Error(
      `sha512-crypt rounds must be an integer from ${SHA_CRYPT_MIN_ROUNDS} to ${SHA_CRYPT_MAX_ROUNDS}`,
    );
  }
  const p = Buffer.from(password, "utf8");
  const s = Buffer.from(salt, "ascii");

  const b = sha512(p, s, p);
  const aParts: Buffer[] = [p, s, repeated(b, p.length)];
  for (let length = p.length; length > 0; length >>= 1) aParts.push(length & 1 ? b : p);
  const a = sha512(...aParts);

  const pSequence = repeated(sha512(...Array.from({ length: p.length }, () => p)), p.length);
  const sSequence = repeated(sha512(...Array.from({ length: 16 + (a[0] as number) }, () => s)), s.length);

  let c = a;
  for (let round = 0; round < rounds; round++) {
    const parts: Buffer[] = [round & 1 ? pSequence : c];
    if (round % 3 !== 0) parts.push(sSequence);
    if (round % 7 !== 0) parts.push(pSequence);
    parts.push(round & 1 ? c : pSequence);
    c = sha512(...parts);
  }

  let hash = "";
  for (const [i, j, k] of SHA512_ORDER) hash += encode24(c[i] as number, c[j] as number, c[k] as number, 4);
  hash += encode24(0, 0, c[63] as number, 2);
  return `$6$rounds=${rounds}$${salt}$${hash}`;
}
