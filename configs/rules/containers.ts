/**
 * Container alerts from cAdvisor.
 *
 * ContainerStopped: cAdvisor stops exporting a container's series the moment it stops, so the
 * rule looks back with `max_over_time(container_last_seen[1h])` and fires when a container seen
 * in the last hour has not been seen for a while. Design choices:
 * - grouped by host and container name (plus compose project/service), not by container id: a
 *   deploy that recreates a container under the same name is not a stop;
 * - a container removed on purpose (service dropped from the compose file) falls out of the
 *   1h window, so the alert resolves by itself instead of paging forever;
 * - one-off containers (`docker compose run`, named `<project>-<service>-run-<hex>`) exit by
 *   design and are ignored (by name: cAdvisor keeps only the compose project/service labels);
 * - when cAdvisor itself is down every container would look stopped: ExporterDown covers that.
 */
import { JOB_NAMES } from "../prometheus";
import { durationSeconds, formatDuration } from "./duration";
import { type AlertRule, type InputSeries, type RuleGroup, seriesSelector } from "./types";

/** Names compose v2 gives `docker compose run` containers. */
const ONE_OFF_NAME_PATTERN = ".+-run-[0-9a-f]+";

/** How long a vanished container is reported before it counts as removed on purpose. */
const CONTAINER_GONE_WINDOW = "1h";
const CONTAINER_STOPPED_FOR = "1m";
const GROUPING = [
  "instance",
  "name",
  "container_label_com_docker_compose_project",
  "container_label_com_docker_compose_service",
] as const;

/**
 * Seconds without a sighting before a container counts as stopped: two scrapes (cAdvisor's value
 * is only as fresh as the last scrape) plus a minute of slack.
 */
function containerStaleAfterSeconds(scrapeInterval: string): number {
  return 2 * durationSeconds(scrapeInterval) + 60;
}

function containerLabels(instance: string, service: string, id: string): Record<string, string> {
  return {
    job: JOB_NAMES.cadvisor,
    instance,
    id: `/system.slice/docker-${id}.scope`,
    name: `shop-${service}-1`,
    container_label_com_docker_compose_project: "shop",
    container_label_com_docker_compose_service: service,
  };
}

function lastSeen(labels: Record<string, string>, values: string): InputSeries {
  return { series: seriesSelector("container_last_seen", labels), values };
}

/** `container_last_seen` is a Unix time; with one sample a minute from t=0 it equals 60 x index. */
function seenFor(minutes: number): string {
  return `0+60x${minutes}`;
}

function containerStopped(scrapeInterval: string): AlertRule {
  const staleAfter = containerStaleAfterSeconds(scrapeInterval);
  const selector = `container_last_seen{job="${JOB_NAMES.cadvisor}", name!="", name!~"${ONE_OFF_NAME_PATTERN}"}`;
  const stopMinute = 10;
  // Last seen at stopMinute; stale after staleAfter; then pending for `for`; plus a step.
  const firingAtSeconds =
    stopMinute * 60 + Math.ceil(staleAfter / 60) * 60 + durationSeconds(CONTAINER_STOPPED_FOR) + 60;
  const web = containerLabels("web-1", "api", "aaa111");
  const description = (name: string, service: string, instance: string, gone: string) =>
    `Container ${name} (compose service ${service}) on ${instance} was running and has not been seen for ` +
    `${gone}. It stays reported for ${CONTAINER_GONE_WINDOW} unless it comes back.`;
  const { id: _id, job: _job, ...alertLabels } = web;
  return {
    name: "ContainerStopped",
    expr:
      `(time() - max by (${GROUPING.join(", ")}) (max_over_time(${selector}[${CONTAINER_GONE_WINDOW}])) > ${staleAfter}) ` +
      `unless on (instance) (up{job="${JOB_NAMES.cadvisor}"} == 0)`,
    for: CONTAINER_STOPPED_FOR,
    severity: "warning",
    condition: `a container seen in the last ${CONTAINER_GONE_WINDOW} not seen for ${staleAfter}s (same name not recreated)`,
    summary: "A container that was running has stopped.",
    description: description(
      "{{ $labels.name }}",
      "{{ $labels.container_label_com_docker_compose_service }}",
      "{{ $labels.instance }}",
      "{{ $value | humanizeDuration }}",
    ),
    cases: [
      {
        name: "fires when a running container disappears",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          lastSeen(containerLabels("web-1", "worker", "bbb222"), seenFor(40)),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [
          {
            labels: alertLabels,
            description: description(
              "shop-api-1",
              "api",
              "web-1",
              humanizeMinutes(firingAtSeconds / 60 - stopMinute),
            ),
          },
        ],
      },
      {
        name: "is still reported half an hour after the stop",
        inputSeries: [lastSeen(web, `${seenFor(stopMinute)} _x40`)],
        evalTime: formatDuration((stopMinute + 30) * 60),
        expectedAlerts: [
          {
            labels: alertLabels,
            description: description("shop-api-1", "api", "web-1", humanizeMinutes(30)),
          },
        ],
      },
      {
        name: "stays quiet when a deploy recreates the container under the same name",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          lastSeen(containerLabels("web-1", "api", "ccc333"), `_x${stopMinute} ${stopMinute * 60}+60x30`),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
      {
        name: "resolves by itself once a removed container is older than the window",
        inputSeries: [lastSeen(web, `${seenFor(stopMinute)} _x90`)],
        evalTime: formatDuration(stopMinute * 60 + durationSeconds(CONTAINER_GONE_WINDOW) + 120),
        expectedAlerts: [],
      },
      {
        name: "ignores one-off containers from docker compose run",
        inputSeries: [
          lastSeen(
            { ...containerLabels("web-1", "migrate", "ddd444"), name: "shop-migrate-run-0f3a9c2b7d1e" },
            `${seenFor(stopMinute)} _x30`,
          ),
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
      {
        name: "stays quiet while cAdvisor itself is down (ExporterDown reports that)",
        inputSeries: [
          lastSeen(web, `${seenFor(stopMinute)} _x30`),
          {
            series: seriesSelector("up", { job: JOB_NAMES.cadvisor, instance: "web-1" }),
            values: "1x10 0x30",
          },
        ],
        evalTime: formatDuration(firingAtSeconds),
        expectedAlerts: [],
      },
    ],
  };
}

/** Go's humanizeDuration for whole minutes below an hour: "7m 0s". */
function humanizeMinutes(minutes: number): string {
  return `${minutes}m 0s`;
}

export function containerRuleGroup(scrapeInterval: string): RuleGroup {
  return { name: "containers", rules: [containerStopped(scrapeInterval)] };
}
