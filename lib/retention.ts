/**
 * How Loki's retention and the S3 lifecycle rule on its bucket fit together.
 *
 * Loki's compactor enforces retention and keeps the index consistent. The bucket's lifecycle
 * rule is only a safety net for chunks the compactor missed: it is scoped to the tenant's chunk
 * prefix (never `index/`, which cannot be rebuilt) and expires a day after the compactor would,
 * since the compactor deletes marked chunks only after its delete delay.
 */

/** Tenant id Loki uses when `auth_enabled: false`; chunks live under `<tenant>/` in the bucket. */
export const LOKI_TENANT = "fake";

/** Prefix of the TSDB index in the bucket; no lifecycle rule may touch it. */
export const LOKI_INDEX_PREFIX = "index/";

export interface LokiLifecyclePlan {
  /** Object prefix the expiry rule is scoped to. */
  readonly chunkPrefix: string;
  readonly expireChunksAfterDays: number;
  readonly abortIncompleteMultipartAfterDays: number;
}

export function lokiLifecyclePlan(retentionDays: number): LokiLifecyclePlan {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new RangeError(`Loki retention must be a whole number of days >= 1, got ${retentionDays}`);
  }
  return {
    chunkPrefix: `${LOKI_TENANT}/`,
    expireChunksAfterDays: retentionDays + 1,
    abortIncompleteMultipartAfterDays: 1,
  };
}

/** Loki's `retention_period` for the compactor, in hours as Loki writes durations. */
export function lokiRetentionPeriod(retentionDays: number): string {
  return `${retentionDays * 24}h`;
}

/** Where Tempo keeps its blocks in the Loki bucket (its `storage.trace.s3.prefix`, plus the slash). */
export const TEMPO_PREFIX = "traces/";

export interface TraceLifecyclePlan {
  readonly prefix: string;
  readonly expireAfterDays: number;
}

/**
 * The bucket's safety net for Tempo's blocks: scoped to TEMPO_PREFIX, and a day later than Tempo's
 * own compactor deletes them (`block_retention`), so it never removes a block Tempo still serves.
 */
export function traceLifecyclePlan(retentionMs: number): TraceLifecyclePlan {
  const day = 24 * 3600 * 1000;
  if (!(retentionMs >= day))
    throw new RangeError(`trace retention must be at least a day, got ${retentionMs} ms`);
  return { prefix: TEMPO_PREFIX, expireAfterDays: Math.ceil(retentionMs / day) + 1 };
}
