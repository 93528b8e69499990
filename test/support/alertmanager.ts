/**
 * Alertmanager facts the tests own: the alert and receiver names alertmanager.yml must use
 * (literals here, so a rename in the renderer fails a test instead of following it), and views
 * of the rendered files.
 */
import {
  ALERTMANAGER_SECRET_FILES,
  enabledSecrets,
  renderAlertmanagerFiles,
} from "../../configs/alertmanager";
import type { StackConfig } from "../../lib/stack-config";

/** The always-firing alert routed to the heartbeat. */
export const WATCHDOG_ALERT = "Watchdog";

/** Receiver names in alertmanager.yml. */
export const RECEIVERS = {
  critical: "critical",
  warning: "warning",
  info: "info",
  heartbeat: "heartbeat",
  blackhole: "blackhole",
} as const;

/** alertmanager.yml exactly as the monitor receives it. */
export function renderAlertmanagerYaml(
  config: StackConfig,
  options: Parameters<typeof renderAlertmanagerFiles>[1] = {},
): string {
  return renderAlertmanagerFiles(config, options)["alertmanager.yml"] as string;
}

/** Names of the secret files the deploy writes for a stack (the ones the monitor's compose file mounts). */
export function alertmanagerSecretFiles(config: StackConfig): string[] {
  return enabledSecrets(config).map((secret) => ALERTMANAGER_SECRET_FILES[secret]);
}
