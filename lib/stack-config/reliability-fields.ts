/**
 * The fields of an SLO (`slos[]`) and of an uptime probe (`probes[]`). Part of the settings table
 * (./settings.ts): the reader takes bounds from here and docs/configuration.md's tables are
 * generated from here.
 */
import { LONGEST_BURN_WINDOW } from "../burn-rates";
import type { FieldSpec } from "./fields";

/** The placeholder a ratio SLI's queries hold where the range goes (`[$window]`). */
export const SLI_WINDOW_PLACEHOLDER = "$window";
export const DEFAULT_SLO_WINDOW = "30d";
export const MAX_SLO_WINDOW = "90d";
export const MAX_SLOS = 20;
export const MAX_PROBES = 50;
export const DEFAULT_PROBE_STATUS = 200;

export const SLO_FIELDS: readonly FieldSpec[] = [
  {
    key: "name",
    type: "string",
    required: true,
    example: "api-availability",
    description:
      "1-40 lowercase letters, digits or hyphens, unique; the `slo` label of its recording rules and alerts.",
  },
  {
    key: "objective",
    type: "number",
    required: true,
    example: "99.9",
    description:
      "Percentage of good events the SLO promises, above 0 and below 100 (100 leaves no error budget).",
  },
  {
    key: "window",
    type: "duration",
    required: false,
    default: DEFAULT_SLO_WINDOW,
    example: "28d",
    description: `Period the error budget covers, from ${LONGEST_BURN_WINDOW} (the slow ticket alert's window) to ${MAX_SLO_WINDOW}.`,
  },
  {
    key: "good",
    type: "string",
    required: false,
    example: 'sum(rate(http_requests_total{job="api",code!~"5.."}[$window]))',
    description: `PromQL for good events per second, with \`[${SLI_WINDOW_PLACEHOLDER}]\` where the range goes; set with \`total\`, or set \`probe\` instead.`,
  },
  {
    key: "total",
    type: "string",
    required: false,
    example: 'sum(rate(http_requests_total{job="api"}[$window]))',
    description: `PromQL for all events per second, with \`[${SLI_WINDOW_PLACEHOLDER}]\` where the range goes.`,
  },
  {
    key: "probe",
    type: "string",
    required: false,
    example: "homepage",
    description: "Name of an uptime probe (`probes[]`) whose successful checks are the good events.",
  },
];

export const PROBE_FIELDS: readonly FieldSpec[] = [
  {
    key: "name",
    type: "string",
    required: true,
    example: "homepage",
    description: "1-40 lowercase letters, digits or hyphens, unique; the `probe` label of its series.",
  },
  {
    key: "url",
    type: "string",
    required: false,
    example: "https://www.example.com/health",
    description:
      "http or https URL to GET (exactly one of url and tcp); https also checks the certificate's expiry.",
  },
  {
    key: "tcp",
    type: "string",
    required: false,
    example: "db.example.com:5432",
    description: "host:port that must accept a TCP connection (exactly one of url and tcp).",
  },
  {
    key: "expectStatus",
    type: "list",
    required: false,
    default: String(DEFAULT_PROBE_STATUS),
    example: "200",
    description: "HTTP status codes that count as up (url only).",
  },
  {
    key: "bodyMatch",
    type: "string",
    required: false,
    example: "ok",
    description: "Regular expression (RE2) the response body must match (url only).",
  },
];
