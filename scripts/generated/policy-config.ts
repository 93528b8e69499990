/**
 * The policy pack's config for each stack (`policy/config/<stack>.json`, passed as
 * `--policy-pack-config` by the CLI and as `policyPackConfigs` by the workflows), derived from
 * the stack file so the two cannot drift: an Amazon SES SMTP user name is an AWS access key id,
 * and Alertmanager's config carries it in plain text, so the access-key policy must accept
 * exactly that id for that stack (and no other).
 */

import type { StackConfig } from "../../lib/stack-config";
import { POLICY_NAMES } from "../../policy/rules";

/** Where each stack's pack config lives, relative to the repository root. */
export function policyConfigPath(stack: string): string {
  return `policy/config/${stack}.json`;
}

const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{16}$/;

/** The pack config file for one stack. */
export function renderPolicyConfig(config: StackConfig): string {
  const username = config.alerting.email?.username;
  const allowedAccessKeyIds = username !== undefined && ACCESS_KEY_ID.test(username) ? [username] : [];
  return `${JSON.stringify({ [POLICY_NAMES.noAccessKeys]: { allowedAccessKeyIds } }, null, 2)}\n`;
}
