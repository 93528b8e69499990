/** MySQL or MariaDB, through mysqld_exporter reading a my.cnf. */
import { oneLineValueProblem } from "./credential-values";
import type { ExporterRecord } from "./types";

/** go-ini replaces `%(name)s` in a value with the value of key `name` (its "recursive values"). */
const INI_VALUE_REFERENCE = /%\([^)]+\)s/;

export const mysql: ExporterRecord = {
  name: "mysql",
  settings: {
    name: "mysql",
    credentials: {
      user: {
        key: "mysqlExporterUser",
        default: "exporter",
        description:
          "MySQL user the mysqld exporter logs in as (one per stack; password: mysqlExporterPassword).",
        pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/,
        rule: "1-32 letters, digits, _ . or - (MySQL user names are at most 32 characters)",
      },
      password: {
        key: "mysqlExporterPassword",
        required: true,
        description: "Password of mysqlExporterUser; required when a host enables the mysql exporter.",
      },
      passwordProblem: (value) => {
        const line = oneLineValueProblem(value);
        if (line !== undefined) return line;
        // mysqld_exporter maps every my.cnf value through os.ExpandEnv, which has no escape for `$`.
        if (value.includes("$")) {
          return "contains $; mysqld_exporter expands $NAME in every my.cnf value as an environment variable, with no way to escape it";
        }
        if (INI_VALUE_REFERENCE.test(value)) {
          return "contains %(...)s; mysqld_exporter's INI reader replaces it with another key's value";
        }
        return undefined;
      },
    },
  },
};
