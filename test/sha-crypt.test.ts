import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sha512Crypt } from "../lib/sha-crypt";

/** crypt(3) of this machine's C library (libxcrypt), through Python's binding. */
function systemCrypt(password: string, setting: string): string {
  const result = spawnSync(
    "python3",
    ["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.stdin.read(), sys.argv[1]))", setting],
    { input: password, encoding: "utf8" },
  );
  if (result.error || result.status !== 0) {
    throw new Error(`python3 with its crypt module is needed (apt-get install python3): ${result.stderr}`);
  }
  return result.stdout.trim();
}

describe("sha512Crypt", () => {
  it("matches the C library's crypt(3) for passwords of every length class and several rounds", () => {
    const cases: [string, string, number][] = [
      ["", "salt", 1000],
      ["a", "abc", 1000],
      ["Hello world!", "saltstring", 5000],
      ["x".repeat(63), "0123456789abcdef", 1000],
      ["x".repeat(64), "0123456789abcdef", 1001],
      ["y".repeat(200), "./A9zZ", 1000],
      ["pässwörd ünïcode", "UTF8salt", 1234],
    ];
    for (const [password, salt, rounds] of cases) {
      expect(sha512Crypt(password, salt, rounds), `${password.length} chars, ${rounds} rounds`).toBe(
        systemCrypt(password, `$6$rounds=${rounds}$${salt}`),
      );
    }
  });

  it("matches openssl passwd -6 at the default 5000 rounds", () => {
    const result = spawnSync("openssl", ["passwd", "-6", "-salt", "saltsalt", "-stdin"], {
      input: "a push password\n",
      encoding: "utf8",
    });
    expect(result.status, result.stderr).toBe(0);
    const [, , salt, hash] = result.stdout.trim().split("$");
    expect(sha512Crypt("a push password", salt as string, 5000)).toBe(`$6$rounds=5000$${salt}$${hash}`);
  });

  it("refuses salts and rounds outside the scheme", () => {
    expect(() => sha512Crypt("p", "", 1000)).toThrow();
    expect(() => sha512Crypt("p", "has$dollar", 1000)).toThrow();
    expect(() => sha512Crypt("p", "x".repeat(17), 1000)).toThrow();
    expect(() => sha512Crypt("p", "salt", 999)).toThrow();
    expect(() => sha512Crypt("p", "salt", 1.5)).toThrow();
  });
});
