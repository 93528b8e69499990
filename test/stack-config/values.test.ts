/**
 * The pure value checks: each parses one value or says in words what is wrong with it, knowing
 * no setting names.
 */
import { describe, expect, it } from "vitest";
import {
  closestName,
  formatDuration,
  INSTANCE_FAMILIES,
  instanceArchitecture,
  isAwsId,
  parseInstanceType,
  parsePrometheusDuration,
  parsePrometheusSizeGb,
  sshPublicKeyProblem,
  suggestedHostName,
  webUrlProblem,
} from "../../lib/stack-config/values";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJ";
const ECDSA =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;

describe("Prometheus durations", () => {
  it.each([
    ["30s", 30 * SECOND_MS],
    ["1h30m", 90 * MINUTE_MS],
    ["15d", 15 * DAY_MS],
    ["1500ms", 1500],
    ["2w", 14 * DAY_MS],
    ["1y", 365 * DAY_MS],
    ["1d2h3m4s5ms", DAY_MS + 2 * 60 * MINUTE_MS + 3 * MINUTE_MS + 4 * SECOND_MS + 5],
    ["0", 0],
  ])("reads %s", (text, ms) => {
    expect(parsePrometheusDuration(text)).toBe(ms);
  });

  it.each(["30m1h", "15 days", "15days", "", "1.5h", "5M", "-5m", "1h 30m", "s", "1m1m"])(
    "refuses %j (units y w d h m s ms, each once, largest first)",
    (text) => {
      expect(parsePrometheusDuration(text)).toBeUndefined();
    },
  );

  it.each([
    [75_000, "1m15s"],
    [0, "0s"],
    [90 * MINUTE_MS, "1h30m"],
    [1500, "1s500ms"],
    [DAY_MS, "1d"],
    [15 * DAY_MS, "2w1d"],
    [365 * DAY_MS + 1, "1y1ms"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("formats every duration so that Prometheus reads back the same length", () => {
    for (const ms of [1, 999, 61_000, 3_600_000, 86_399_999, 8 * DAY_MS + 7, 400 * DAY_MS]) {
      expect(parsePrometheusDuration(formatDuration(ms)), String(ms)).toBe(ms);
    }
  });
});

describe("Prometheus sizes", () => {
  it.each([
    ["40GB", 40],
    ["1TB", 1024],
    ["512MB", 0.5],
    ["1PB", 1024 ** 2],
    ["1048576KB", 1],
  ])("reads %s as %d GiB (base 1024, as Prometheus)", (text, gb) => {
    expect(parsePrometheusSizeGb(text)).toBe(gb);
  });

  it.each(["40 gigs", "40gb", "40G", "0GB", "040GB", "1.5GB", "GB", ""])("refuses %j", (text) => {
    expect(parsePrometheusSizeGb(text)).toBeUndefined();
  });
});

describe("instance types", () => {
  it("derives the architecture from the family", () => {
    expect(instanceArchitecture("t4g.small")).toBe("arm64");
    expect(instanceArchitecture("m7g.large")).toBe("arm64");
    expect(instanceArchitecture("m6i.large")).toBe("x86_64");
    expect(instanceArchitecture("t3a.medium")).toBe("x86_64");
    expect(parseInstanceType("c7g.xlarge")).toEqual({ family: "c7g", size: "xlarge", architecture: "arm64" });
  });

  it("refuses an unknown family, naming every allowed one", () => {
    const problem = parseInstanceType("x2idn.large");
    expect(problem).toMatch(/^instance family "x2idn" is not supported/);
    for (const family of Object.keys(INSTANCE_FAMILIES)) expect(problem).toContain(family);
    expect(() => instanceArchitecture("x2idn.large")).toThrow(/x2idn/);
  });

  it.each([
    ["m6i.nano", /m6i sizes run from large to metal/],
    ["m6i.medium", /m6i sizes run from large to metal/],
    ["m7g.small", /m7g sizes run from medium to metal/],
    ["t3.4xlarge", /t3 sizes run from nano to 2xlarge/],
    ["t3.metal", /t3 sizes run from nano to 2xlarge/],
    ["t3.huge", /does not exist/],
  ])("refuses %s, a size the family does not have", (type, problem) => {
    expect(parseInstanceType(type)).toMatch(problem);
  });

  it.each(["t3.nano", "t3.2xlarge", "m6i.large", "m6i.24xlarge", "m6i.metal", "m7g.medium", "t4g.nano"])(
    "accepts %s",
    (type) => {
      expect(typeof parseInstanceType(type)).toBe("object");
    },
  );

  it.each(["large", "T3.medium", "t3-medium", "t3.", ""])("refuses %j as not an instance type", (type) => {
    expect(parseInstanceType(type)).toMatch(/is not an EC2 instance type like t3\.medium/);
  });
});

describe("SSH public keys", () => {
  it.each([ED25519, `${ED25519} ops@example.com`, `  ${ECDSA}  `, RSA, `${RSA} a comment with spaces`])(
    "accepts %s",
    (line) => {
      expect(sshPublicKeyProblem(line)).toBeUndefined();
    },
  );

  it.each([
    [
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----",
      /PRIVATE key/,
    ],
    ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB ops", /does not encode a ssh-ed25519 key/],
    [`ssh-rsa ${ED25519.split(" ")[1]}`, /does not encode a ssh-rsa key/],
    ["ssh-ed25519 not*base64", /not base64/],
    ["ssh-ed25519", /is not an OpenSSH public key line/],
    ["ssh-dss AAAAB3NzaC1kc3MAAACBAP", /is not an OpenSSH public key line.*ssh-ed25519, ssh-rsa/],
    ["onprem-1.example.com", /is not an OpenSSH public key line/],
    ["", /is not an OpenSSH public key line/],
  ])("refuses %j", (line, problem) => {
    expect(sshPublicKeyProblem(line)).toMatch(problem);
  });
});

describe("URLs written into rendered files", () => {
  const both = ["http:", "https:"] as const;

  it.each([
    ["https://grafana.example.com/", both],
    ["http://203.0.113.7:3000/", both],
    ["https://git.example.com/sre/observability/-/blob/main/runbooks", ["https:"] as const],
    ["https://git.example.com/a%20b", ["https:"] as const],
  ])("accepts %s", (url, protocols) => {
    expect(webUrlProblem(url, protocols)).toBeUndefined();
  });

  it.each([
    ["http://git.example.com/runbooks", ["https:"] as const, /^is not an https URL$/],
    ["ftp://grafana.example.com", both, /^is not an http or https URL$/],
    ["runbooks", ["https:"] as const, /^is not a URL \(https:\/\/host\/\.\.\.\)$/],
    ["https://user:token@git.example.com/runbooks", ["https:"] as const, /carries credentials/],
    ["https://git.example.com/runbooks?ref=main", ["https:"] as const, /query or fragment/],
    ["https://git.example.com/runbooks#top", ["https:"] as const, /query or fragment/],
    ["https://grafana.example.com/'x", both, /quote/],
    ['https://grafana.example.com/"x', both, /quote/],
    ["https://grafana.example.com/a b", both, /space/],
    ["https://grafana.example.com/<script>", both, /angle bracket/],
    ["https://grafana.example.com/a\\b", both, /backslash/],
    ["https://grafana.example.com/\n", both, /space/],
  ])("refuses %j", (url, protocols, problem) => {
    expect(webUrlProblem(url, protocols)).toMatch(problem);
  });
});

describe("AWS resource ids", () => {
  it("take the prefix and 8 or 17 lowercase hex digits", () => {
    expect(isAwsId("vpc", "vpc-0123456789abcdef0")).toBe(true);
    expect(isAwsId("vpc", "vpc-01234567")).toBe(true);
    expect(isAwsId("subnet", "subnet-0123456789abcdef0")).toBe(true);
    expect(isAwsId("vpc", "vpc-xyz")).toBe(false);
    expect(isAwsId("vpc", "vpc-0123456789ABCDEF0")).toBe(false);
    expect(isAwsId("vpc", "vpc-0123456789abcdef")).toBe(false);
    expect(isAwsId("subnet", "vpc-0123456789abcdef0")).toBe(false);
    expect(isAwsId("ami", " ami-0123456789abcdef0")).toBe(false);
  });
});

describe("closest names, for 'did you mean'", () => {
  const settings = ["monitorInstanceType", "clientInstanceType", "logRetentionDays", "tags", "clients"];

  it.each([
    ["ngnix", ["nginx", "jenkins", "redis"], "nginx"],
    ["monitorInstanceTyp", settings, "monitorInstanceType"],
    ["logretentiondays", settings, "logRetentionDays"],
    ["LOGRETENTIONDAYS", settings, "logRetentionDays"],
    ["tag", settings, "tags"],
    ["clientss", settings, "clients"],
    ["agnet", ["key", "agent"], "agent"],
    ["eu-wset-1", ["eu-west-1", "eu-west-2", "us-east-1"], "eu-west-1"],
  ])("suggests %s -> %s", (name, known, suggestion) => {
    expect(closestName(name, known)).toBe(suggestion);
  });

  it.each([
    ["zzzzzz", settings],
    ["password", ["key", "agent"]],
    ["ab", ["xyz"]],
    ["anything", []],
  ])("suggests nothing for %j, too far from every known name", (name, known) => {
    expect(closestName(name, known)).toBeUndefined();
  });
});

describe("suggested host names", () => {
  it.each([
    ["Web_1", "web-1"],
    ["  DB Server 1 ", "db-server-1"],
    ["web-1", "web-1"],
    ["-edge-", "edge"],
    ["123", "123"],
    [`${"a".repeat(31)}-b`, "a".repeat(31)],
    ["x".repeat(40), "x".repeat(32)],
  ])("turns %j into %j", (name, suggestion) => {
    expect(suggestedHostName(name)).toBe(suggestion);
  });

  it.each(["---", "_", "", "日本"])("has none for %j", (name) => {
    expect(suggestedHostName(name)).toBeUndefined();
  });
});
