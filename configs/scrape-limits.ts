/**
 * Scrape limits: what one target may bring before Prometheus refuses the scrape, so that a noisy
 * host, an exporter gone wild (a table per tenant, a label per request) or a mis-tagged fleet
 * cannot exhaust the monitor. Sized from the measured series per host (bench/RESULTS.md: node
 * exporter about 520, process exporter 440 to 780 on a busy host) with ten-fold room or more; a
 * target nearing its limit warns long before it is refused (configs/rules/scrape-limits.ts).
 */

/** Samples one scrape of a target may return (after relabelling); more fails the scrape (`up` 0). */
const SAMPLE_LIMITS: Readonly<Record<string, number>> = {
  node: 10_000,
  process: 10_000,
  // About 60 to 100 series a container: room for 250 or more containers.
  cadvisor: 25_000,
  alloy: 10_000,
};
/** Optional exporters (per-table and per-database series grow with the service). */
const EXPORTER_SAMPLE_LIMIT = 25_000;
/** The monitor's own services (Loki and Prometheus expose the most). */
const SERVICE_SAMPLE_LIMIT = 50_000;

/**
 * Targets one host job may discover: far beyond any fleet one monitor holds (5,000 hosts at about
 * 1,500 series each is 7.5 million head series, some 21 GiB), so only a discovery gone wrong (tags
 * on the wrong instances) reaches it; then the job is refused rather than the monitor exhausted.
 */
const TARGET_LIMIT = 5_000;

/** Per series: label count and lengths no exporter here comes near (node_uname_info is the longest). */
const LABEL_LIMITS = {
  label_limit: 64,
  label_name_length_limit: 128,
  label_value_length_limit: 2048,
} as const;

/** The kinds of scrape job, each with its own sample limit. */
export type ScrapeJobKind = "agent" | "exporter" | "service";

/** The sample limit of one job. */
export function sampleLimit(job: string, kind: ScrapeJobKind): number {
  if (kind === "service") return SERVICE_SAMPLE_LIMIT;
  if (kind === "exporter") return EXPORTER_SAMPLE_LIMIT;
  const limit = SAMPLE_LIMITS[job];
  if (limit === undefined) throw new Error(`no sample limit for the agent job ${job}`);
  return limit;
}

/** The limit fields of one job's scrape config (target_limit only where targets are discovered). */
export function scrapeLimitFields(job: string, kind: ScrapeJobKind): Record<string, number> {
  return {
    sample_limit: sampleLimit(job, kind),
    ...LABEL_LIMITS,
    ...(kind === "service" ? {} : { target_limit: TARGET_LIMIT }),
  };
}
