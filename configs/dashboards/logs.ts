/**
 * Logs: what Alloy ships to Loki, by the stream labels it sets (ALLOY_STREAM_LABELS): volume by
 * level, source and host, the lines themselves, and SSH logins from auth.log.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackConfig } from "../../lib/stack-config";
import { LOG_SOURCES } from "../agents/alloy";
import {
  buildDashboard,
  customVariable,
  LOKI,
  logs,
  lokiLabelVariable,
  panel,
  row,
  table,
  textVariable,
  timeseries,
} from "./common";

export const LOGS_DASHBOARD_UID = "obs-logs";

/** The selected streams; `$search` narrows the lines (case-insensitive regex, empty = all). */
const STREAMS = '{environment=~"$environment", host=~"$host", source=~"$source"}';
const SEARCH = '|~ "(?i)$search"';
/** sshd's lines in the auth log (sshd-session on newer OpenSSH matches too). */
const SSH = '{environment=~"$environment", host=~"$host", source="file", filename=~".*/auth.log"} |= "sshd"';
/** One line per failed attempt: "Failed password for ...", "Failed publickey for invalid user ...". */
const SSH_FAILED = `${SSH} |~ "Failed [a-z-]+ for "`;
const SSH_ACCEPTED = `${SSH} |~ "Accepted [a-z-]+ for "`;
const ERROR_LEVELS = "error|critical|fatal";

export function logsDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: LOGS_DASHBOARD_UID,
    title: "Logs",
    description:
      "Container, file and journal logs from every host (Loki), log volume by level, and SSH logins.",
    variables: [
      lokiLabelVariable("environment", "environment", "Environment", '{environment=~".+"}'),
      lokiLabelVariable("host", "host", "Host", '{environment=~"$environment"}'),
      customVariable("source", "Source", LOG_SOURCES),
      textVariable("search", "Search (regex)"),
    ],
    sections: [
      row("Volume"),
      panel(
        timeseries(
          "Log lines by level",
          LOKI,
          [{ expr: `sum by (level) (count_over_time(${STREAMS} ${SEARCH} [$__auto]))`, legend: "{{level}}" }],
          {
            bars: true,
            stacked: true,
            min: 0,
            description: "Lines whose level Alloy could not parse have no level (empty legend).",
          },
        ),
      ),
      panel(
        timeseries(
          "Log lines by source",
          LOKI,
          [
            {
              expr: `sum by (source) (count_over_time(${STREAMS} ${SEARCH} [$__auto]))`,
              legend: "{{source}}",
            },
          ],
          { bars: true, stacked: true, min: 0 },
        ),
      ),
      panel(
        timeseries(
          "Errors by host",
          LOKI,
          [
            {
              expr: `sum by (host) (count_over_time({environment=~"$environment", host=~"$host", source=~"$source", level=~"${ERROR_LEVELS}"} ${SEARCH} [$__auto]))`,
              legend: "{{host}}",
            },
          ],
          { bars: true, stacked: true, min: 0 },
        ),
      ),
      panel(
        table(
          "Noisiest streams in the time range",
          LOKI,
          [
            {
              expr: `topk(15, sum by (host, source, container, unit, filename) (count_over_time(${STREAMS} ${SEARCH} [$__range])))`,
              legend: "Lines",
              instant: true,
            },
          ],
          {},
        ),
      ),
      row("Lines"),
      panel(logs("Logs", [{ expr: `${STREAMS} ${SEARCH}` }], { height: 14 })),
      row("SSH logins (auth.log)"),
      panel(
        timeseries(
          "SSH logins",
          LOKI,
          [
            { expr: `sum by (host) (count_over_time(${SSH_FAILED} [$__auto]))`, legend: "{{host}} failed" },
            {
              expr: `sum by (host) (count_over_time(${SSH_ACCEPTED} [$__auto]))`,
              legend: "{{host}} accepted",
            },
          ],
          { bars: true, min: 0 },
        ),
      ),
      panel(
        table(
          "Failed SSH logins by source address",
          LOKI,
          [
            {
              expr: `topk(20, sum by (host, address) (count_over_time(${SSH_FAILED} | regexp "from (?P<address>\\\\S+) port" [$__range])))`,
              legend: "Failed logins",
              instant: true,
            },
          ],
          {},
        ),
      ),
      panel(logs("SSH log", [{ expr: `${SSH} ${SEARCH}` }], { height: 10 })),
    ],
  });
}
