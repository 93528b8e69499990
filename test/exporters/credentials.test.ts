/**
 * The optional exporters' credential files (configs/exporters/credentials.ts and each record's
 * credentials facet): exactly the files the record names, in formats the exporters read back
 * unchanged, and a clear refusal for what a format cannot carry.
 *
 * No exporter binary runs here, so each file is read back by a small model of the reader the
 * exporter uses (go-ini plus os.ExpandEnv for mysqld_exporter, compose's env-file parser for the
 * mongodb exporter, strings.TrimSpace for postgres_exporter, a JSON decoder for redis_exporter).
 * Each model is checked on its own first, so a naive file would fail the round trip.
 */
import { describe, expect, it } from "vitest";
import {
  type ContainerExporter,
  exporterService,
  runsContainer,
} from "../../configs/agents/optional-exporters";
import {
  type CredentialValues,
  EXPORTERS,
  ExporterCredentialsError,
  exporterCredentialFiles,
  exporterRecord,
  renderExporterCredentialFiles,
} from "../../configs/exporters";

/** Where mysqld_exporter is pointed: MySQL on the host's loopback. */
const MYSQL_HOST = "127.0.0.1";
const MYSQL_PORT = 3306;

// ---------------------------------------------------------------------------------------------
// Reader models
// ---------------------------------------------------------------------------------------------

const GO_SPECIAL_PARAMETERS = "*#$@!?-0123456789";

/** Go's os.Expand name scan: [name, characters consumed after the `$`]. */
function goShellName(text: string): [string, number] {
  if (text[0] === "{") {
    if (text.length > 2 && GO_SPECIAL_PARAMETERS.includes(text[1] as string) && text[2] === "}") {
      return [text[1] as string, 3];
    }
    for (let i = 1; i < text.length; i++) {
      if (text[i] === "}") return i === 1 ? ["", 2] : [text.slice(1, i), i + 1];
    }
    return ["", 1];
  }
  if (text.length > 0 && GO_SPECIAL_PARAMETERS.includes(text[0] as string)) return [text[0] as string, 1];
  let end = 0;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end] as string)) end++;
  return [text.slice(0, end), end];
}

/** Go's os.ExpandEnv, the value mapper mysqld_exporter installs on its my.cnf. */
function goExpandEnv(text: string, env: Readonly<Record<string, string>>): string {
  let out = "";
  for (let j = 0; j < text.length; j++) {
    if (text[j] === "$" && j + 1 < text.length) {
      const [name, width] = goShellName(text.slice(j + 1));
      if (name === "" && width === 0) out += "$";
      else if (name !== "") out += env[name] ?? "";
      j += width;
    } else {
      out += text[j];
    }
  }
  return out;
}

/** go-ini's readValue with the options mysqld_exporter uses (inline comments on, no unescaping). */
function goIniValue(input: string): string {
  let line = input.trimStart();
  if (line === "") return "";
  const quote = line.length > 3 && line.startsWith('"""') ? '"""' : line[0] === "`" ? "`" : "";
  if (quote !== "") {
    const rest = line.slice(quote.length);
    const end = rest.lastIndexOf(quote);
    if (end === -1) throw new Error("multi-line value (unterminated quote)");
    return rest.slice(0, end);
  }
  line = line.trim();
  if (line.endsWith("\\")) throw new Error("continuation line");
  const comment = line.search(/[#;]/);
  if (comment > -1) line = line.slice(0, comment).trim();
  for (const surround of ['"', "'"]) {
    if (line.length >= 2 && line.startsWith(surround) && line.indexOf(surround, 1) === line.length - 1) {
      return line.slice(1, -1);
    }
  }
  return line;
}

/** mysqld_exporter's view of a my.cnf: sections of keys, each value through ExpandEnv and %(key)s. */
function readMyCnf(
  text: string,
  env: Readonly<Record<string, string>>,
): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = { DEFAULT: {} };
  let section = "DEFAULT";
  for (const raw of text.split("\n")) {
    const line = raw.trimStart();
    if (line === "" || line[0] === "#" || line[0] === ";") continue;
    if (line[0] === "[") {
      const close = line.lastIndexOf("]");
      if (close === -1) throw new Error(`unclosed section: ${line}`);
      section = line.slice(1, close);
      sections[section] ??= {};
      continue;
    }
    const delimiter = line.search(/[=:]/);
    if (delimiter === -1) throw new Error(`no key-value delimiter: ${line}`);
    (sections[section] as Record<string, string>)[line.slice(0, delimiter).trim()] = goIniValue(
      line.slice(delimiter + 1),
    );
  }
  const mapped: Record<string, Record<string, string>> = {};
  for (const [name, keys] of Object.entries(sections)) {
    mapped[name] = {};
    for (const [key, value] of Object.entries(keys)) {
      const expanded = goExpandEnv(value, env).replace(
        /%\(([^)]+)\)s/g,
        (_, other: string) => keys[other] ?? sections.DEFAULT?.[other] ?? "",
      );
      (mapped[name] as Record<string, string>)[key] = expanded;
    }
  }
  return mapped;
}

/** Compose's env-file interpolation of unquoted values: $NAME, ${NAME}, and $$ for a literal $. */
function composeInterpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_match, all: string, braced, bare) =>
    all === "$" ? "$" : (env[(braced ?? bare) as string] ?? ""),
  );
}

/** docker compose's env_file reader: comments, KEY=VALUE, single-quoted literals, unquoted with interpolation. */
function readEnvFile(text: string, env: Readonly<Record<string, string>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trimStart();
    if (line === "" || line.startsWith("#")) continue;
    const equals = line.indexOf("=");
    if (equals === -1) throw new Error(`no = in ${line}`);
    const key = line.slice(0, equals).trim();
    const rest = line.slice(equals + 1).trimStart();
    if (rest.startsWith("'")) {
      let value = "";
      let i = 1;
      for (; i < rest.length; i++) {
        if (rest[i] === "\\" && rest[i + 1] === "'") {
          value += "'";
          i++;
        } else if (rest[i] === "'") {
          break;
        } else {
          value += rest[i];
        }
      }
      if (i >= rest.length) throw new Error(`unterminated quoted value for ${key}`);
      values[key] = value;
    } else if (rest.startsWith('"')) {
      throw new Error("double-quoted values are not modelled");
    } else {
      const uncommented = rest.split(" #")[0] as string;
      values[key] = composeInterpolate(uncommented.trimEnd(), env);
    }
  }
  return values;
}

const ENV = { HOME: "/root", PATH: "/usr/bin", MYSQLD_EXPORTER_PASSWORD: "from-environment" } as const;

describe("the reader models change what a naive file would hold", () => {
  it("go-ini cuts inline comments and strips quotes unless the value is backquoted", () => {
    expect(goIniValue(" p#ss")).toBe("p");
    expect(goIniValue(" 'quoted'")).toBe("quoted");
    expect(goIniValue(" `p#ss 'x'`")).toBe("p#ss 'x'");
    expect(readMyCnf("[client]\npassword = a$HOME\n", ENV).client?.password).toBe("a/root");
    expect(readMyCnf("[client]\nuser = u\npassword = x%(user)sy\n", ENV).client?.password).toBe("xuy");
  });

  it("compose interpolates and cuts comments in unquoted env-file values, not in single quotes", () => {
    expect(readEnvFile("A=x$HOME #c\n", ENV).A).toBe("x/root");
    expect(readEnvFile("A='x$HOME #c'\n", ENV).A).toBe("x$HOME #c");
    expect(readEnvFile("A='it\\'s'\n", ENV).A).toBe("it's");
  });
});

// ---------------------------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------------------------

const VALID: Readonly<Record<string, CredentialValues>> = {
  nginx: {},
  jenkins: {},
  postgres: { user: "postgres_exporter", password: "pg-Secret-1" },
  mysql: { user: "exporter", password: "my-Secret-1" },
  mongodb: { user: "exporter", password: "mongo-Secret-1" },
  redis: { password: "redis-Secret-1" },
};

function renderFor(exporter: string, credentials: CredentialValues): Record<string, string> {
  return renderExporterCredentialFiles(exporterRecord(exporter), credentials);
}

function serviceOf(exporter: string) {
  return exporterService(exporterRecord(exporter) as ContainerExporter, { hostSettings: {} });
}

/** The content of the one file whose compose secret name is `name`. */
function fileNamed(exporter: string, name: string, credentials: CredentialValues): string {
  const file = exporterCredentialFiles(exporterRecord(exporter)).find((candidate) => candidate.name === name);
  if (!file) throw new Error(`the ${exporter} record names no file ${name}`);
  const content = renderFor(exporter, credentials)[file.path];
  if (content === undefined) throw new Error(`no content rendered for ${file.path}`);
  return content;
}

function refusal(exporter: string, credentials: CredentialValues): ExporterCredentialsError {
  try {
    renderFor(exporter, credentials);
  } catch (error) {
    if (error instanceof ExporterCredentialsError) return error;
    throw error;
  }
  throw new Error(`expected ${exporter} to refuse ${JSON.stringify(Object.keys(credentials))}`);
}

const NAMES = EXPORTERS.map((record) => record.name);

describe("file set", () => {
  it("has valid credentials for every exporter in this test", () => {
    expect(Object.keys(VALID).sort()).toEqual([...NAMES].sort());
  });

  it.each(NAMES)("%s: exactly the files exporterCredentialFiles names, keyed by path", (exporter) => {
    const rendered = renderFor(exporter, VALID[exporter] ?? {});
    expect(Object.keys(rendered).sort()).toEqual(
      exporterCredentialFiles(exporterRecord(exporter))
        .map((file) => file.path)
        .sort(),
    );
    for (const content of Object.values(rendered)) expect(content.endsWith("\n")).toBe(true);
  });

  it.each(EXPORTERS.filter(runsContainer).map((record) => record.name))(
    "%s: every rendered file is one its compose service reads",
    (exporter) => {
      const service = serviceOf(exporter);
      for (const file of exporterCredentialFiles(exporterRecord(exporter))) {
        if (file.delivery === "compose-secret") expect(service.secrets).toContain(file.name);
        else expect(service.env_file).toContain(`./${file.path}`);
      }
    },
  );

  it("has credentials exactly where the settings name a monitoring account", () => {
    for (const record of EXPORTERS) {
      expect(record.credentials !== undefined, record.name).toBe(record.settings.credentials !== undefined);
    }
  });

  it("is deterministic and leaves its input alone", () => {
    for (const exporter of NAMES) {
      const input = Object.freeze({ ...VALID[exporter] });
      expect(renderFor(exporter, input)).toEqual(renderFor(exporter, input));
      expect(input).toEqual(VALID[exporter]);
    }
  });

  it("writes nothing for exporters without credentials, whatever is passed", () => {
    expect(renderFor("nginx", { user: "x", password: "y\n" })).toEqual({});
    expect(renderFor("jenkins", { password: "y" })).toEqual({});
  });
});

const AWKWARD_PASSWORDS = [
  "p#ss;word with spaces inside",
  `"double" and 'single' quotes`,
  "`back`ticks`",
  "ends with a backslash\\",
  "=:[client]",
  '"""triple',
  "100% %(user) not a reference",
  "pässwörd-✓",
];

describe("postgres: one line each, read back with strings.TrimSpace", () => {
  // No spaces: postgres_exporter cannot connect with one (test/exporter-services.test.ts runs it).
  const withoutSpaces = AWKWARD_PASSWORDS.map((password) => password.replace(/ /g, "_"));
  it.each([...withoutSpaces, "$HOME_and_'it''s'_\\_too"])("round-trips %j", (password) => {
    const credentials = { user: "postgres_exporter", password };
    expect(fileNamed("postgres", "postgres_exporter_password", credentials).trim()).toBe(password);
    expect(fileNamed("postgres", "postgres_exporter_user", credentials).trim()).toBe("postgres_exporter");
    expect(fileNamed("postgres", "postgres_exporter_password", credentials).split("\n")).toHaveLength(2);
  });

  it.each([" leading", "trailing ", "in side", "two\nlines", "carriage\rreturn"])(
    "refuses %j",
    (password) => {
      const error = refusal("postgres", { user: "postgres_exporter", password });
      expect(error.message).toMatch(
        /observability:postgresExporterPassword (contains a space|contains a line break)/,
      );
      expect(error.message).not.toContain(password.trim());
    },
  );
});

describe("mysql: my.cnf [client] read back as mysqld_exporter does", () => {
  it.each([...AWKWARD_PASSWORDS, " spaces around "])("round-trips %j", (password) => {
    const text = fileNamed("mysql", "mysqld_exporter_my_cnf", { user: "exporter", password });
    const client = readMyCnf(text, ENV).client;
    expect(client).toEqual({
      user: "exporter",
      password,
      host: MYSQL_HOST,
      port: String(MYSQL_PORT),
    });
  });

  it.each([
    ["a$HOME", /contains \$.*environment variable/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${NAME} is what is tested
    ["${PATH}x", /contains \$/],
    ["%(user)s", /%\(\.\.\.\)s/],
    ["line\nbreak", /line break/],
  ])("refuses %j with the reason", (password, reason) => {
    const error = refusal("mysql", { user: "exporter", password });
    expect(error.message).toContain("observability:mysqlExporterPassword");
    expect(error.message).toMatch(reason);
    expect(error.message).not.toContain(password);
  });

  it("checks the user too", () => {
    const error = refusal("mysql", { user: "ex$porter", password: "fine" });
    expect(error.message).toMatch(/observability:mysqlExporterUser contains \$/);
  });
});

describe("redis: a JSON map from the exporter's Redis URI to the password", () => {
  const REDIS_URI = serviceOf("redis").environment?.REDIS_ADDR ?? "";

  it("keys the map by the URI the exporter scrapes", () => {
    expect(REDIS_URI).toBe("redis://127.0.0.1:6379");
  });

  it.each([...AWKWARD_PASSWORDS, '\\"}, "injected": "x'])("round-trips %j", (password) => {
    const map = JSON.parse(fileNamed("redis", "redis_exporter_passwords", { password })) as unknown;
    expect(map).toEqual({ [REDIS_URI]: password });
  });

  it("writes an empty map when Redis has no password", () => {
    expect(JSON.parse(fileNamed("redis", "redis_exporter_passwords", {}))).toEqual({});
    expect(JSON.parse(fileNamed("redis", "redis_exporter_passwords", { password: "" }))).toEqual({});
  });

  it("refuses a line break", () => {
    expect(refusal("redis", { password: "a\nb" }).message).toMatch(
      /observability:redisExporterPassword contains a line break/,
    );
  });
});

describe("mongodb: an env file docker compose reads back literally", () => {
  it.each([
    "$HOME",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${NAME} is what is tested
    "${PATH}",
    "$$double",
    "a #not a comment",
    `"double" quotes`,
    " spaces around ",
    "=eq=",
    "`back`ticks",
    "pässwörd-✓",
  ])("round-trips %j", (password) => {
    const text = fileNamed("mongodb", "mongodb_exporter_env", { user: "exporter", password });
    expect(readEnvFile(text, ENV)).toEqual({ MONGODB_USER: "exporter", MONGODB_PASSWORD: password });
  });

  it.each(["it's", "back\\slash", "two\nlines"])("refuses %j with the reason", (password) => {
    const error = refusal("mongodb", { user: "exporter", password });
    expect(error.message).toMatch(
      /observability:mongodbExporterPassword (contains ' or \\|contains a line break)/,
    );
    expect(error.message).not.toContain(password);
  });
});

describe("missing values", () => {
  it.each([
    ["postgres", { password: "x" }, "observability:postgresExporterUser"],
    ["postgres", { user: "postgres_exporter" }, "observability:postgresExporterPassword"],
    ["mysql", { user: "exporter", password: "" }, "observability:mysqlExporterPassword"],
    ["mongodb", { user: "exporter" }, "observability:mongodbExporterPassword"],
  ] as const)("%s with %j names %s", (exporter, credentials: CredentialValues, setting) => {
    expect(refusal(exporter, credentials).message).toContain(`${setting} is not set`);
  });

  it("lists every problem at once", () => {
    const error = refusal("mysql", { user: "a$b", password: "c\nd" });
    expect(error.problems).toHaveLength(2);
  });
});

describe("the settings' value check (what the config loader runs before any resource exists)", () => {
  const problem = (exporter: string, value: string) =>
    exporterRecord(exporter).settings.credentials?.passwordProblem(value);

  it("agrees with the renderer", () => {
    expect(problem("mysql", "fine")).toBeUndefined();
    expect(problem("mysql", "a$b")).toMatch(/\$/);
    expect(problem("postgres", "a$b")).toBeUndefined();
    expect(problem("mongodb", "a$b")).toBeUndefined();
    expect(problem("redis", "a'b\\c$d")).toBeUndefined();
    expect(problem("redis", "a\tb")).toMatch(/control character/);
    for (const [exporter, password] of [
      ["mysql", "a$b"],
      ["postgres", " x"],
      ["mongodb", "it's"],
    ] as const) {
      expect(refusal(exporter, { user: "exporter", password }).problems).toEqual([
        `observability:${exporterRecord(exporter).settings.credentials?.password.key} ${problem(exporter, password)}`,
      ]);
    }
  });
});
