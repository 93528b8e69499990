/** Redis, through redis_exporter; Redis authenticates by password only, and may have none. */
import { oneLineValueProblem } from "./credential-values";
import type { ExporterRecord } from "./types";

export const redis: ExporterRecord = {
  name: "redis",
  settings: {
    name: "redis",
    credentials: {
      password: {
        key: "redisExporterPassword",
        required: false,
        description: "Redis `requirepass` password; optional (unset: Redis without a password).",
      },
      // The password file is JSON, which escapes anything else.
      passwordProblem: oneLineValueProblem,
    },
  },
};
