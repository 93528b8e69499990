/**
 * Logs explorer: what Alloy ships to Loki, narrowed by the stream labels it sets
 * (ALLOY_STREAM_LABELS): host, source, container and level, plus a free-text regex. Log rate by
 * level, source, host and container, the noisiest streams, and the lines themselves.
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

const LOGS_DASHBOARD_UID = "obs-logs";

/** The values Alloy normalises `level` to (configs/agents/alloy.ts, NORMALISE_LEVEL). */
const LOG_LEVELS = ["trace", "debug", "info", "notice", "warn", "error", "critical", "fatal"] as const;

/**
 * "All" for labels only some streams carry (container: docker only; level: where parsed): an
 * empty-matching regex also keeps the streams without the label.
 */
const ANY_OR_NONE = ".*";

/** The selected streams; `$search` narrows the lines (case-insensitive regex, empty = all). */
const STREAMS =
  '{environment=~"$environment", host=~"$host", source=~"$source", container=~"$container", level=~"$level"}';
const SEARCH = '|~ "(?i)$search"';
const ERROR_LEVELS = "error|critical|fatal";

const lineRate = (by: string) => `sum by (${by}) (rate(${STREAMS} ${SEARCH} [$__auto]))`;

export function logsDashboard(_config: StackConfig): Dashboard {
  return buildDashboard({
    uid: LOGS_DASHBOARD_UID,
    title: "Logs explorer",
    description:
      "Container, file and journal logs from every host (Loki) by host, source, container and level, with log rates.",
    variables: [
      lokiLabelVariable("environment", "environment", "Environment", '{environment=~".+"}'),
      lokiLabelVariable("host", "host", "Host", '{environment=~"$environment"}'),
      customVariable("source", "Source", LOG_SOURCES),
      lokiLabelVariable(
        "container",
        "container",
        "Container",
        '{environment=~"$environment", host=~"$host", source="docker"}',
      ).allValue(ANY_OR_NONE),
      customVariable("level", "Level", LOG_LEVELS, ANY_OR_NONE),
      textVariable("search", "Search (regex)"),
    ],
    sections: [
      row("Log rate"),
      panel(
        timeseries("Log rate by level", LOKI, [{ expr: lineRate("level"), legend: "{{level}}" }], {
          unit: "short",
          stacked: true,
          min: 0,
          description:
            "Lines per second. Lines whose level Alloy could not parse have no level (empty legend).",
        }),
      ),
      panel(
        timeseries("Log rate by source", LOKI, [{ expr: lineRate("source"), legend: "{{source}}" }], {
          unit: "short",
          stacked: true,
          min: 0,
        }),
      ),
      panel(
        timeseries("Log rate by host", LOKI, [{ expr: lineRate("host"), legend: "{{host}}" }], {
          unit: "short",
          stacked: true,
          min: 0,
          description: "A host whose line vanishes stopped shipping logs (or went quiet).",
        }),
      ),
      panel(
        timeseries(
          "Log rate by container",
          LOKI,
          [{ expr: lineRate("host, container"), legend: "{{host}} {{container}}" }],
          { unit: "short", stacked: true, min: 0, description: "Docker streams only have a container." },
        ),
      ),
      panel(
        timeseries(
          "Errors by host",
          LOKI,
          [
            {
              expr: `sum by (host) (count_over_time({environment=~"$environment", host=~"$host", source=~"$source", container=~"$container", level=~"${ERROR_LEVELS}"} ${SEARCH} [$__auto]))`,
              legend: "{{host}}",
            },
          ],
          { bars: true, stacked: true, min: 0, description: "Lines at level error, critical or fatal." },
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
      panel(logs("Logs", [{ expr: `${STREAMS} ${SEARCH}` }], { height: 16 })),
    ],
  });
}
