/** MongoDB, through Percona's mongodb_exporter, which reads its credentials from the environment only. */
import { oneLineValueProblem } from "./credential-values";
import type { ExporterRecord } from "./types";

export const mongodb: ExporterRecord = {
  name: "mongodb",
  settings: {
    name: "mongodb",
    credentials: {
      user: {
        key: "mongodbExporterUser",
        default: "exporter",
        description:
          "MongoDB user the mongodb exporter logs in as (one per stack; password: mongodbExporterPassword).",
        pattern: /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/,
        rule: "1-64 letters, digits, _ . @ or -",
      },
      password: {
        key: "mongodbExporterPassword",
        required: true,
        description: "Password of mongodbExporterUser; required when a host enables the mongodb exporter.",
      },
      passwordProblem: (value) =>
        oneLineValueProblem(value) ??
        // Compose reads single-quoted env-file values literally except for `\'`, and older
        // releases differ on backslashes: with neither character the value reads back unchanged.
        (value.includes("'") || value.includes("\\")
          ? "contains ' or \\; the env file docker compose reads for the mongodb exporter cannot carry them literally"
          : undefined),
    },
  },
};
