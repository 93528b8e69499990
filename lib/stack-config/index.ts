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
  ALERT_THRESHOLD_FIELDS,
  CLIENT_FIELDS,
  DEFAULT_ALERT_THRESHOLDS,
  EXTERNAL_HOST_FIELDS,
  type FieldSpec,
} from "./fields";
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
  DEFAULT_SLO_WINDOW,
  PROBE_FIELDS,
  SLI_WINDOW_PLACEHOLDER,
  SLO_FIELDS,
} from "./reliability-fields";
export { qualifiedKey, type SettingSection, type SettingSpec, secretKeys } from "./setting-spec";
export {
  CANONICAL_OWNER_ID,
  CORE_SETTINGS,
  DEFAULT_CLIENT_NAME,
  DEFAULT_UBUNTU_IMAGE_NAMES,
  MAX_CLIENTS,
  MAX_EXTERNAL_HOSTS,
  settingsTable,
} from "./settings";
export * from "./types";
export {
  INSTANCE_FAMILIES,
  instanceArchitecture,
  parsePrometheusDuration,
  parsePrometheusSizeGb,
  sshPublicKeyProblem,
} from "./values";
