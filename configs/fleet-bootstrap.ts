/**
 * The bootstrap user data of enrolled fleet hosts (docs/fleet.md), built like the deploy's step
 * scripts (configs/deploy-scripts.ts): the plain library configs/host-scripts/fleet-sync.sh,
 * unchanged, then a tail of data and calls only, every argument through `shellQuote`. The systemd
 * units are built as data and travel in quoted here-documents.
 *
 * It holds no secret: the bucket, the pointer's key, the region and the SSM parameter's *name*.
 * The instance reads the bundle and the push password with its instance role.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shellQuote } from "../lib/shell";
import { AGENTS_DIR, PUSH_PASSWORD_FILE } from "./agents/client-compose";
import { HOST_SCRIPTS_DIR } from "./deploy-scripts";
import { FLEET_HOST_VARIABLE } from "./fleet-bundle";

/** The plain shell file the user data is built from. */
export const FLEET_SYNC_LIBRARY_FILE = join(HOST_SCRIPTS_DIR, "fleet-sync.sh");

/** Systemd units the bootstrap installs: the sync service, and the timer that runs it again. */
const FLEET_SYNC_SERVICE = "observability-fleet-sync.service";
const FLEET_SYNC_TIMER = "observability-fleet-sync.timer";

/** How often a host re-checks the pointer (after the last run), and the spread across a fleet. */
const FLEET_SYNC_INTERVAL = "5min";
const FLEET_SYNC_SPREAD = "60s";

/** EC2's limit on user data (before base64). */
export const USER_DATA_LIMIT_BYTES = 16_384;

/** Where things live on a fleet host. */
export interface FleetPaths {
  /** The agents' compose project (the same directory as on the stack's own clients). */
  readonly agentsDir: string;
  /** The installed sync script, the running bundle's digest, the lock (root only). */
  readonly stateDir: string;
  /** Where the units are written. */
  readonly unitDir: string;
}

export const FLEET_PATHS: FleetPaths = {
  agentsDir: AGENTS_DIR,
  stateDir: "/var/lib/observability-fleet",
  unitDir: "/etc/systemd/system",
};

export interface FleetBootstrapInput {
  readonly bucket: string;
  /** Object key of the environment's pointer (configs/fleet-bundle.ts). */
  readonly pointerKey: string;
  readonly region: string;
  /** Name of the SSM SecureString holding the fleet's push password. */
  readonly parameterName: string;
  readonly paths: FleetPaths;
  /** Endpoint overrides (VPC interface endpoints, S3-compatible stores); AWS's defaults when unset. */
  readonly endpoints?: { readonly s3?: string; readonly ssm?: string };
}

type UnitSections = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** A systemd unit file from data: `[Section]`, then `Key=value` lines. */
function renderUnit(sections: UnitSections): string {
  const lines: string[] = [];
  for (const [section, entries] of Object.entries(sections)) {
    if (lines.length > 0) lines.push("");
    lines.push(`[${section}]`);
    for (const [key, value] of Object.entries(entries)) {
      if (/[\n\r]/.test(value)) throw new Error(`unit ${section}.${key}: a value cannot span lines`);
      lines.push(`${key}=${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The sync service and its timer, by unit name. */
function fleetUnits(paths: FleetPaths): Record<string, string> {
  return {
    [FLEET_SYNC_SERVICE]: renderUnit({
      Unit: {
        Description: "Observability agents: start the newest verified bundle",
        Wants: "network-online.target",
        After: "network-online.target docker.service",
      },
      Service: { Type: "oneshot", ExecStart: `${paths.stateDir}/fleet-sync.sh` },
    }),
    [FLEET_SYNC_TIMER]: renderUnit({
      Unit: { Description: "Observability agents: re-check for a newer bundle" },
      Timer: {
        OnBootSec: FLEET_SYNC_INTERVAL,
        OnUnitActiveSec: FLEET_SYNC_INTERVAL,
        RandomizedDelaySec: FLEET_SYNC_SPREAD,
      },
      Install: { WantedBy: "timers.target" },
    }),
  };
}

/** A tail line: a function of the library called with every argument quoted. */
function call(name: string, ...args: readonly string[]): string {
  return [name, ...args.map(shellQuote)].join(" ");
}

function heredoc(lead: string, content: string): string[] {
  const delimiter = "OBSERVABILITY_FLEET_UNIT";
  if (content.split("\n").includes(delimiter))
    throw new Error("a unit file holds the here-document delimiter");
  return [`${lead} <<'${delimiter}'`, content.trimEnd(), delimiter];
}

/** The user data: a bash script cloud-init runs once, as root, at first boot. */
export function renderFleetUserData(input: FleetBootstrapInput): string {
  const settings: Record<string, string | undefined> = {
    bucket: input.bucket,
    pointer: input.pointerKey,
    region: input.region,
    parameter: input.parameterName,
    agents_dir: input.paths.agentsDir,
    password_file: PUSH_PASSWORD_FILE,
    host_variable: FLEET_HOST_VARIABLE,
    state_dir: input.paths.stateDir,
    unit_dir: input.paths.unitDir,
    s3_endpoint: input.endpoints?.s3,
    ssm_endpoint: input.endpoints?.ssm,
  };
  const tail = [
    ...Object.entries(settings)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => call("fleet_setting", name, value)),
    ...Object.entries(fleetUnits(input.paths)).flatMap(([name, content]) =>
      heredoc(call("fleet_unit", name), content),
    ),
    "exec </dev/null",
    "fleet_bootstrap",
  ];
  const script = [
    "#!/bin/bash",
    "# Observability fleet enrolment (docs/fleet.md), rendered by configs/fleet-bootstrap.ts:",
    "# configs/host-scripts/fleet-sync.sh, then the settings of this environment.",
    "{",
    readFileSync(FLEET_SYNC_LIBRARY_FILE, "utf8").trimEnd(),
    "",
    "# ---- this environment ----",
    ...tail,
    "}",
    "",
  ].join("\n");
  if (Buffer.byteLength(script, "utf8") > USER_DATA_LIMIT_BYTES) {
    throw new Error(`the fleet user data is over EC2's ${USER_DATA_LIMIT_BYTES}-byte limit`);
  }
  return script;
}
