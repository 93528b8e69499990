/**
 * The stack configuration: its types, the one table of settings, and the reader that turns a
 * stack's raw settings into a validated StackConfig (or one error listing every problem).
 */
export type {
  ExporterCredentialSpec,
  ExporterHostFieldSpec,
  ExporterSettingsSpec,
} from "./exporter-settings";
export {
  missingSecrets,
  parseStackConfig,
  type RawSettings,
  type ReadOptions,
  readStackConfig,
  type StackConfigReading,
} from "./parse";
export {
  type ConfigCommand,
  type ConfigProblem,
  type ConfigWarning,
  fixLine,
  PROJECT,
  StackConfigError,
} from "./problems";
export {
  ALERT_THRESHOLD_FIELDS,
  CANONICAL_OWNER_ID,
  CLIENT_FIELDS,
  CORE_SETTINGS,
  DEFAULT_ALERT_THRESHOLDS,
  DEFAULT_CLIENT_NAME,
  DEFAULT_UBUNTU_IMAGE_NAMES,
  EXTERNAL_HOST_FIELDS,
  type FieldSpec,
  MAX_CLIENTS,
  MAX_EXTERNAL_HOSTS,
  qualifiedKey,
  type SettingSection,
  type SettingSpec,
  secretKeys,
  settingsTable,
} from "./settings";
export * from "./types";
export {
  INSTANCE_FAMILIES,
  instanceArchitecture,
  parsePrometheusDuration,
  sshPublicKeyProblem,
} from "./values";
