/**
 * What the settings reader needs to know of an optional exporter. Each exporter's record
 * (configs/exporters/<name>.ts) supplies one; the program hands the list to the reader, so this
 * layer knows no exporter by name.
 */
import type { SettingSpec } from "./setting-spec";

/** The monitoring account an exporter logs in to its service with: one per exporter per stack. */
export interface ExporterCredentialSpec {
  /**
   * The setting holding the login name (e.g. `postgresExporterUser`); absent when the service
   * authenticates by password only (Redis).
   */
  readonly user?: {
    readonly key: string;
    readonly default: string;
    readonly description: string;
    /** Names every credential file format of this exporter carries literally. */
    readonly pattern: RegExp;
    /** The pattern in words, for the problem message. */
    readonly rule: string;
  };
  /** The secret setting holding the password (e.g. `postgresExporterPassword`). */
  readonly password: {
    readonly key: string;
    /** True when the service always needs one (false for Redis, which may run without `requirepass`). */
    readonly required: boolean;
    readonly description: string;
  };
  /**
   * Why this exporter's credential file cannot carry the password (a line break, a character
   * its format would misread), or undefined. Describes the value, never repeats it.
   */
  readonly passwordProblem: (password: string) => string | undefined;
}

/** A per-host setting of an exporter, a field of a host entry (e.g. `clients[0].nginxStatusUrl`). */
export interface ExporterHostFieldSpec {
  /** Field name in the host entry; prefixed with the exporter's name (`nginxStatusUrl`). */
  readonly key: string;
  readonly default: string;
  readonly example: string;
  readonly description: string;
  /** Why a value is unusable, or undefined. */
  readonly problem: (value: string) => string | undefined;
}

export interface ExporterSettingsSpec {
  /** As listed in a host's `exporters`, e.g. `nginx`. */
  readonly name: string;
  readonly credentials?: ExporterCredentialSpec;
  readonly hostFields?: readonly ExporterHostFieldSpec[];
}

/** The settings each exporter adds: its monitoring account's login name and password. */
export function exporterSettings(exporters: readonly ExporterSettingsSpec[]): SettingSpec[] {
  const settings: SettingSpec[] = [];
  for (const exporter of exporters) {
    const credentials = exporter.credentials;
    if (!credentials) continue;
    if (credentials.user) {
      settings.push({
        key: credentials.user.key,
        section: "exporters",
        type: "string",
        default: credentials.user.default,
        example: credentials.user.default,
        description: credentials.user.description,
      });
    }
    settings.push({
      key: credentials.password.key,
      section: "exporters",
      type: "secret",
      example: "exporter-password",
      description: credentials.password.description,
    });
  }
  return settings;
}
