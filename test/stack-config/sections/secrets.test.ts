/**
 * The secrets section: secrets the stack needs, secrets stored in plain text, and the exporters'
 * monitoring accounts with the passwords their credential files must be able to carry.
 */
import { describe, expect, it } from "vitest";
import { EXPORTER_SETTINGS } from "../../../configs/exporters";
import {
  type ConfigProblem,
  PROJECT,
  type ScrapedHost,
  type SshAuth,
  settingsTable,
} from "../../../lib/stack-config";
import { SettingsReader } from "../../../lib/stack-config/reader";
import {
  checkCoreSecrets,
  checkPlainTextSecrets,
  neededSecrets,
  parseExporterCredentials,
  plainTextSecrets,
} from "../../../lib/stack-config/sections/secrets";
import { pulumiInvocations } from "../../support/pulumi-config-cli";
import { SECRET_SETTINGS } from "../../support/stack-files";

const TABLE = settingsTable(EXPORTER_SETTINGS);
const P = (key: string) => `${PROJECT}:${key}`;

function problemAt(problems: readonly ConfigProblem[], setting: string): ConfigProblem {
  const matching = problems.filter((p) => p.setting === setting);
  expect(matching, JSON.stringify(problems)).toHaveLength(1);
  return matching[0] as ConfigProblem;
}

const argv = (fix: string) => pulumiInvocations(fix);
const host = (name: string, ...exporters: string[]): ScrapedHost => ({
  name,
  exporters,
  exporterSettings: {},
});

describe("secrets stored in plain text", () => {
  it("are found among the values, an empty one not counting", () => {
    const reader = new SettingsReader({}, TABLE);
    const values = { smtpPassword: "hunter2", grafanaAdminPassword: "", sshUser: "ubuntu" };
    expect(plainTextSecrets(reader, values)).toEqual(["smtpPassword"]);
    expect(plainTextSecrets(reader, { postgresExporterPassword: "pw" })).toEqual([
      "postgresExporterPassword",
    ]);
  });

  it("are removed and set again as secrets by prompt, never repeating the value", () => {
    const reader = new SettingsReader({ smtpPassword: "hunter2" }, TABLE);
    checkPlainTextSecrets(reader, ["smtpPassword"]);
    const found = problemAt(reader.problems, P("smtpPassword"));
    expect(found.problem).toBe("is stored in plain text; it must be a secret (encrypted in the stack file)");
    expect(argv(found.fix)).toEqual([
      ["config", "rm", P("smtpPassword")],
      ["config", "set", "--secret", P("smtpPassword")],
    ]);
    expect(JSON.stringify(reader.problems)).not.toContain("hunter2");
  });
});

describe("the core secrets", () => {
  function core(sshAuth: SshAuth | undefined, secrets: readonly string[], requireSecrets = true) {
    const reader = new SettingsReader({}, TABLE);
    checkCoreSecrets(reader, sshAuth, new Set(secrets), requireSecrets);
    return reader.problems;
  }

  it("need the Grafana admin password, set by prompt", () => {
    const found = problemAt(core("key", ["sshPrivateKey"]), P("grafanaAdminPassword"));
    expect(found.problem).toMatch(/^is required: Grafana never starts with a default admin password/);
    expect(argv(found.fix)).toEqual([["config", "set", "--secret", P("grafanaAdminPassword")]]);
  });

  it("need the SSH key for key login, naming the agent as the way without one", () => {
    const found = problemAt(core("key", ["grafanaAdminPassword"]), P("sshPrivateKey"));
    expect(found.problem).toMatch(/^is required: every host gets its files and containers over SSH/);
    expect(found.problem).toContain("set sshAuth to agent");
    expect(argv(found.fix)).toEqual([["config", "set", "--secret", P("sshPrivateKey")]]);
    expect(core("agent", ["grafanaAdminPassword"])).toEqual([]);
  });

  it("refuse the SSH key with agent login, even without the stack's secrets: it would sit unused", () => {
    for (const requireSecrets of [true, false]) {
      const found = problemAt(core("agent", SECRET_SETTINGS, requireSecrets), P("sshPrivateKey"));
      expect(found.problem).toMatch(
        /is set but sshAuth is agent.*\(or set sshAuth to key to deploy with it\)/,
      );
      expect(argv(found.fix)).toEqual([["config", "rm", P("sshPrivateKey")]]);
    }
  });

  it("are not required without the stack's secrets", () => {
    expect(core("key", [], false)).toEqual([]);
  });
});

describe("the exporters' monitoring accounts", () => {
  function credentials(
    values: Record<string, unknown>,
    hosts: readonly ScrapedHost[],
    secrets: readonly string[] = [],
    options: { requireSecrets?: boolean; passwords?: Record<string, string> } = {},
  ) {
    const reader = new SettingsReader(values, TABLE);
    const users = parseExporterCredentials(
      reader,
      EXPORTER_SETTINGS,
      hosts,
      new Set(secrets),
      options.requireSecrets ?? true,
      options.passwords ?? {},
    );
    return { users, problems: reader.problems };
  }

  it("log in with one user per exporter per stack, defaults overridable", () => {
    expect(credentials({}, []).users).toEqual({
      postgres: "postgres_exporter",
      mysql: "exporter",
      mongodb: "exporter",
    });
    expect(
      credentials(
        {
          postgresExporterUser: "pg_monitor_user",
          mysqlExporterUser: "mysqld.exporter",
          mongodbExporterUser: "monitor@ops",
        },
        [],
      ).users,
    ).toEqual({ postgres: "pg_monitor_user", mysql: "mysqld.exporter", mongodb: "monitor@ops" });
  });

  it.each([
    ["postgresExporterUser", "PgExporter", /lowercase/, "postgres_exporter"],
    ["postgresExporterUser", "1exporter", /not starting with a digit/, "postgres_exporter"],
    ["mysqlExporterUser", "e".repeat(33), /at most 32/, "exporter"],
    ["mysqlExporterUser", "exp$orter", /letters, digits/, "exporter"],
    ["mongodbExporterUser", "ex porter", /letters, digits/, "exporter"],
  ])("refuse %s %j, fixing with the default", (setting, value, problem, fallback) => {
    const { users, problems } = credentials({ [setting]: value }, []);
    expect(users).toBeUndefined();
    const found = problemAt(problems, P(setting));
    expect(found.problem).toMatch(
      new RegExp(`^"${value.replace(/\$/g, "\\$")}" is not a usable \\w+ user name: `),
    );
    expect(found.problem).toMatch(problem);
    expect(argv(found.fix)).toEqual([["config", "set", P(setting), fallback]]);
  });

  it.each([
    ["postgres", "postgresExporterPassword", "postgres_exporter"],
    ["mysql", "mysqlExporterPassword", "exporter"],
    ["mongodb", "mongodbExporterPassword", "exporter"],
  ])("need %s's password once a host enables it, naming every such host", (exporter, setting, user) => {
    const hosts = [host("db-1", exporter), host("web-1"), host("onprem-db", exporter)];
    const { problems } = credentials({}, hosts);
    expect(problems).toHaveLength(1);
    const found = problemAt(problems, P(setting));
    expect(found.problem).toBe(
      `is required because db-1, onprem-db enable the ${exporter} exporter, which logs in as ${user} with this password`,
    );
    expect(argv(found.fix)).toEqual([["config", "set", "--secret", P(setting)]]);
    expect(problemAt(credentials({}, [host("db-1", exporter)]).problems, P(setting)).problem).toMatch(
      /because db-1 enables the/,
    );
    expect(credentials({}, hosts, [setting]).problems).toEqual([]);
    expect(credentials({}, hosts, [], { requireSecrets: false }).problems).toEqual([]);
  });

  it("let Redis run without a password, and leave a password no host uses alone", () => {
    expect(credentials({}, [host("cache-1", "redis")]).problems).toEqual([]);
    const unused = credentials({}, [host("web-1", "nginx")], [], {
      passwords: { mysqlExporterPassword: "has$dollar" },
    });
    expect(unused.problems).toEqual([]);
  });

  it("refuse a password its credential file cannot carry, without repeating it", () => {
    const { problems } = credentials(
      {},
      [host("db-1", "mysql"), host("cache-1", "redis")],
      ["mysqlExporterPassword"],
      {
        passwords: { mysqlExporterPassword: "a$CANARYb", redisExporterPassword: "one\nCANARY" },
      },
    );
    const mysql = problemAt(problems, P("mysqlExporterPassword"));
    expect(mysql.problem).toMatch(/^contains \$; mysqld_exporter expands/);
    expect(argv(mysql.fix)).toEqual([["config", "set", "--secret", P("mysqlExporterPassword")]]);
    const redis = problemAt(problems, P("redisExporterPassword"));
    expect(redis.problem).toMatch(/line break/);
    expect(JSON.stringify(problems)).not.toContain("CANARY");
  });
});

describe("the secrets a stack needs", () => {
  it("are the Grafana password, the SSH key unless the agent logs in, SMTP with email, and enabled exporters' passwords", () => {
    expect(neededSecrets(EXPORTER_SETTINGS, [], "key", false)).toEqual([
      "grafanaAdminPassword",
      "sshPrivateKey",
    ]);
    expect(neededSecrets(EXPORTER_SETTINGS, [], "agent", true)).toEqual([
      "grafanaAdminPassword",
      "smtpPassword",
    ]);
    const hosts = [host("db-1", "postgres", "redis"), host("db-2", "mongodb"), host("db-3", "postgres")];
    const needed = neededSecrets(EXPORTER_SETTINGS, hosts, "key", true);
    expect([...needed].sort()).toEqual(
      [
        "grafanaAdminPassword",
        "mongodbExporterPassword",
        "postgresExporterPassword",
        "smtpPassword",
        "sshPrivateKey",
      ].sort(),
    );
    expect(new Set(needed).size).toBe(needed.length);
  });
});
