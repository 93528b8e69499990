/**
 * SSH / auth log audit: who logged in to which host, from where and how; failed attempts, the
 * users tried and the addresses trying; sudo use. Read from the auth log Alloy ships from every
 * host (`source="file"`, `filename` ending in auth.log: Ubuntu's rsyslog writes sshd and sudo
 * there), parsed at query time with LogQL's `pattern` and `regexp` parsers.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import {
  buildDashboard,
  LOKI,
  logs,
  lokiLabelVariable,
  panel,
  row,
  stat,
  table,
  textVariable,
  timeseries,
} from "./common";

const SSH_DASHBOARD_UID = "obs-ssh";

/** The auth log of the selected hosts. */
const AUTH_LOG = '{environment=~"$environment", host=~"$host", source="file", filename=~".*/auth.log"}';
/** sshd's lines (OpenSSH 9.8+ logs as sshd-session, which `sshd` matches too). */
const SSH = `${AUTH_LOG} |= "sshd"`;

/** "Accepted publickey for ubuntu from 203.0.113.5 port 52144 ssh2: ED25519 SHA256:..." */
const ACCEPTED = `${SSH} |= "Accepted " | pattern "<_> Accepted <method> for <user> from <address> port <_>"`;
/**
 * "Failed password for root from 203.0.113.9 port 40022 ssh2" and "Failed password for invalid
 * user admin from ...": one line per failed attempt; `user` is the name tried either way.
 */
const FAILED = `${SSH} |= "Failed " | regexp "Failed (?P<method>\\\\S+) for (?:invalid user )?(?P<user>\\\\S*) from (?P<address>\\\\S+) port"`;
/** "Invalid user admin from 203.0.113.9 port 40022": a user name that does not exist here. */
const INVALID_USER = `${SSH} |= "Invalid user " | regexp "Invalid user (?P<user>\\\\S*) from (?P<address>\\\\S+)"`;
/** "sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/usr/bin/apt update" */
const SUDO = `${AUTH_LOG} |= "sudo" |= "COMMAND="`;

/** `$address` narrows the per-address panels (regex on the extracted source address, empty = all). */
const ADDRESS = '| address=~"$address.*"';
/** Counts over the dashboard's time range, from Loki. */
const IN_RANGE = { datasource: LOKI, span: 6 } as const;

export function sshDashboard(): Dashboard {
  return buildDashboard({
    uid: SSH_DASHBOARD_UID,
    title: "SSH / auth log audit",
    description:
      "SSH logins, failed attempts, users tried and source addresses, and sudo use, from each host's auth log (Loki).",
    variables: [
      lokiLabelVariable("environment", "environment", "Environment", '{environment=~".+"}'),
      lokiLabelVariable("host", "host", "Host", '{environment=~"$environment", source="file"}'),
      textVariable("address", "Source address (prefix)"),
    ],
    sections: [
      row("In the time range"),
      panel(
        stat(
          "Successful logins",
          [{ expr: `sum(count_over_time(${ACCEPTED} ${ADDRESS} [$__range]))`, instant: true }],
          IN_RANGE,
        ),
      ),
      panel(
        stat(
          "Failed attempts",
          [{ expr: `sum(count_over_time(${FAILED} ${ADDRESS} [$__range]))`, instant: true }],
          IN_RANGE,
        ),
      ),
      panel(
        stat(
          "Unknown users tried",
          [{ expr: `sum(count_over_time(${INVALID_USER} ${ADDRESS} [$__range]))`, instant: true }],
          IN_RANGE,
        ),
      ),
      panel(
        stat(
          "Addresses with failures",
          [
            {
              expr: `count(sum by (address) (count_over_time(${FAILED} ${ADDRESS} [$__range])))`,
              instant: true,
            },
          ],
          IN_RANGE,
        ),
      ),
      row("Over time"),
      panel(
        timeseries(
          "SSH logins and failures by host",
          LOKI,
          [
            {
              expr: `sum by (host) (count_over_time(${ACCEPTED} ${ADDRESS} [$__auto]))`,
              legend: "{{host}} accepted",
            },
            {
              expr: `sum by (host) (count_over_time(${FAILED} ${ADDRESS} [$__auto]))`,
              legend: "{{host}} failed",
            },
          ],
          { bars: true, min: 0, description: "A wall of failures is a password-guessing run." },
        ),
      ),
      panel(
        timeseries(
          "Failed attempts over time by source address",
          LOKI,
          [
            {
              expr: `topk(10, sum by (address) (count_over_time(${FAILED} ${ADDRESS} [$__auto])))`,
              legend: "{{address}}",
            },
          ],
          { bars: true, stacked: true, min: 0, description: "The ten busiest addresses in each interval." },
        ),
      ),
      row("Who and from where"),
      panel(
        table(
          "Successful logins by user, source and method",
          LOKI,
          [
            {
              expr: `sum by (host, user, address, method) (count_over_time(${ACCEPTED} ${ADDRESS} [$__range]))`,
              legend: "Logins",
              instant: true,
            },
          ],
          {
            description:
              "Every account that logged in, from which address, with which method (publickey, password, ...). An unexpected user or address here is worth a look.",
          },
        ),
      ),
      panel(
        table(
          "Top failing source addresses",
          LOKI,
          [
            {
              expr: `topk(20, sum by (host, address) (count_over_time(${FAILED} ${ADDRESS} [$__range])))`,
              legend: "Failed attempts",
              instant: true,
            },
          ],
          { description: "The addresses failing most: candidates for a firewall block." },
        ),
      ),
      panel(
        table(
          "Failed attempts by user",
          LOKI,
          [
            {
              expr: `topk(20, sum by (user) (count_over_time(${FAILED} ${ADDRESS} [$__range])))`,
              legend: "Failed attempts",
              instant: true,
            },
          ],
          { description: "Names tried: real accounts under attack, or dictionary names (root, admin, ...)." },
        ),
      ),
      panel(
        table(
          "Unknown user names tried",
          LOKI,
          [
            {
              expr: `topk(20, sum by (user, address) (count_over_time(${INVALID_USER} ${ADDRESS} [$__range])))`,
              legend: "Attempts",
              instant: true,
            },
          ],
          { description: "User names that do not exist on the host, and who tried them." },
        ),
      ),
      row("Lines"),
      panel(logs("sudo commands", [{ expr: SUDO }], { height: 8 })),
      panel(logs("SSH log", [{ expr: `${SSH} |~ "$address"` }], { height: 12 })),
    ],
  });
}
