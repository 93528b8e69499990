/**
 * Secrets: which ones the stack needs and lacks, values stored in plain text, the exporters'
 * monitoring accounts and the passwords their credential files cannot carry.
 */
import type { ExporterSettingsSpec } from "../exporter-settings";
import { rmCommand, secretSetCommand, setCommand } from "../problems";
import type { SettingsReader } from "../reader";
import { secretKeys } from "../setting-spec";
import type { ScrapedHost, SshAuth } from "../types";

/** Secret settings holding a value in plain text: reported, and never read into the config. */
export function checkPlainTextSecrets(reader: SettingsReader, plainText: readonly string[]): void {
  for (const key of plainText) {
    reader.report(key, "is stored in plain text; it must be a secret (encrypted in the stack file)", [
      rmCommand(key),
      secretSetCommand(key),
    ]);
  }
}

/** The names of the secret settings that hold a value in plain text among `values`. */
export function plainTextSecrets(
  reader: SettingsReader,
  values: Readonly<Record<string, unknown>>,
): string[] {
  return secretKeys(reader.table).filter(
    (key) => values[key] !== undefined && values[key] !== null && values[key] !== "",
  );
}

/** For each exporter, the hosts that enable it. */
function hostsEnabling(hosts: readonly ScrapedHost[]): Map<string, string[]> {
  const enabled = new Map<string, string[]>();
  for (const host of hosts) {
    for (const exporter of host.exporters)
      enabled.set(exporter, [...(enabled.get(exporter) ?? []), host.name]);
  }
  return enabled;
}

/**
 * The exporters' login names by exporter, and a problem for every password a host needs but the
 * stack lacks or its credential file cannot carry. A password no host uses is left alone: it is
 * never written anywhere until a host enables that exporter.
 */
export function parseExporterCredentials(
  reader: SettingsReader,
  exporters: readonly ExporterSettingsSpec[],
  hosts: readonly ScrapedHost[],
  secretsSet: ReadonlySet<string>,
  requireSecrets: boolean,
  passwordValues: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const users: Record<string, string> = {};
  const enabled = hostsEnabling(hosts);
  let ok = true;
  for (const exporter of exporters) {
    const credentials = exporter.credentials;
    if (!credentials) continue;
    if (credentials.user) {
      const { key, pattern, rule } = credentials.user;
      const user = reader.string(key);
      if (user === undefined) {
        ok = false;
      } else if (pattern.test(user)) {
        users[exporter.name] = user;
      } else {
        ok = false;
        reader.report(key, `"${user}" is not a usable ${exporter.name} user name: ${rule}`, [
          setCommand(key, credentials.user.default),
        ]);
      }
    }
    const users_of = enabled.get(exporter.name);
    if (users_of === undefined) continue;
    const passwordKey = credentials.password.key;
    const value = passwordValues[passwordKey];
    const valueProblem = value === undefined ? undefined : credentials.passwordProblem(value);
    if (valueProblem !== undefined) {
      reader.report(passwordKey, valueProblem, [secretSetCommand(passwordKey)]);
    } else if (requireSecrets && credentials.password.required && !secretsSet.has(passwordKey)) {
      const login = users[exporter.name];
      reader.report(
        passwordKey,
        `is required because ${users_of.join(", ")} enable${users_of.length === 1 ? "s" : ""} the ${exporter.name} exporter, which logs in${login ? ` as ${login}` : ""} with this password`,
        [secretSetCommand(passwordKey)],
      );
    }
  }
  return ok ? users : undefined;
}

/** Secrets the stack needs with these settings and exporters (for checks and for the render command's warnings). */
export function neededSecrets(
  exporters: readonly ExporterSettingsSpec[],
  hosts: readonly ScrapedHost[],
  sshAuth: SshAuth | undefined,
  emailOn: boolean,
): string[] {
  const needed = ["grafanaAdminPassword"];
  if (sshAuth !== "agent") needed.push("sshPrivateKey");
  if (emailOn) needed.push("smtpPassword");
  const enabled = hostsEnabling(hosts);
  for (const exporter of exporters) {
    if (exporter.credentials?.password.required && enabled.has(exporter.name)) {
      needed.push(exporter.credentials.password.key);
    }
  }
  return needed;
}

export function checkCoreSecrets(
  reader: SettingsReader,
  sshAuth: SshAuth | undefined,
  secretsSet: ReadonlySet<string>,
  requireSecrets: boolean,
): void {
  if (requireSecrets && !secretsSet.has("grafanaAdminPassword")) {
    reader.report("grafanaAdminPassword", "is required: Grafana never starts with a default admin password", [
      secretSetCommand("grafanaAdminPassword"),
    ]);
  }
  // The SSH key secret must match the login mode: `agent` must not have it, so a key nobody uses
  // does not sit in the stack file looking like the one in use.
  if (sshAuth === "agent" && secretsSet.has("sshPrivateKey")) {
    reader.report(
      "sshPrivateKey",
      "is set but sshAuth is agent, which logs in with the SSH agent's keys and never uses this secret (or set sshAuth to key to deploy with it)",
      [rmCommand("sshPrivateKey")],
    );
  }
  if (sshAuth === "key" && requireSecrets && !secretsSet.has("sshPrivateKey")) {
    reader.report(
      "sshPrivateKey",
      "is required: every host gets its files and containers over SSH with this key, the private half of the hosts' key pair (paste it with: pulumi config set --secret observability:sshPrivateKey < ~/.ssh/id_ed25519; or set sshAuth to agent to log in with your SSH agent)",
      [secretSetCommand("sshPrivateKey")],
    );
  }
}
