import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/** One series (tenant or global scope, key) with the buckets that had activity in a range. */
export interface ActiveSeries {
  tenantId: TenantKey;
  key: string;
  /** Non-empty buckets starting in the range, ascending. */
  buckets: Array<{ startMs: number; count: number }>;
}

/** Most keys one `readActive` call may ask for. */
export const MAX_ACTIVE_KEYS = 256;

/**
 * Windowed counters in fixed buckets of `bucketMs`. A bucket starts at
 * `Math.floor(atMs / bucketMs) * bucketMs` (epoch-aligned, so every process agrees). A sliding
 * window is the sum of consecutive buckets: exact at bucket granularity, never approximate.
 * Counters are scoped by `(tenantId, key, bucketMs)`; one tenant never reads another's counts
 * (`null` is the global scope).
 *
 * Keys: 1-256 characters. `bucketMs`: a positive integer. `by`: a positive integer.
 */
export interface CounterStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Atomically adds `by` (default 1) to the bucket holding `atMs` and returns the window total
   * after the add: the sum of the `windowBuckets` buckets ending with that one (default 1). The
   * add and the sum are one atomic step (Redis: one Lua script; SQL: one statement), so under
   * concurrent increments of one bucket every caller sees a distinct running total and exactly one
   * caller sees a threshold crossed. Buckets may expire `ttlMs` after they end (default: the
   * window length, `windowBuckets * bucketMs`; never sooner).
   * `untracked: true` keeps the series out of `readActive` (high-cardinality series such as
   * per-identity counters, which are read by key, never listed by activity).
   * @throws ValidationError on a bad key, bucketMs, by or windowBuckets.
   */
  increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
    untracked?: boolean;
  }): Promise<number>;
  /** Per-bucket counts for buckets starting in [fromMs, toMs), ascending; empty buckets omitted. */
  read(input: {
    tenantId: TenantKey;
    key: string;
    bucketMs: number;
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ startMs: number; count: number }>>;
  /** Sum of the buckets starting in [fromMs, toMs) (0 when none). */
  sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number>;
  /**
   * Set-based read for detection: every series of the given `keys` and `bucketMs`, of every tenant
   * and of the global scope (`tenantId: null`), that has at least one non-empty bucket starting in
   * [fromMs, toMs) added without `untracked`, with those buckets ascending (as `read` returns them). Series without activity
   * in the range are absent; order of the series is unspecified; no series appears twice.
   *
   * Cost follows activity, never the number of tenants: a store answers from an index of the
   * series touched per bucket (memory, Redis) or one aggregate over the bucketed rows (SQL), so a
   * tick over 100,000 registered tenants of which 1,000 are active reads 1,000 tenants' series.
   *
   * Optional: a store without it is read per tenant with `read` (bounded concurrency), and detection
   * then only sees the tenants it is told about.
   * @throws ValidationError when `keys` is empty or has more than `MAX_ACTIVE_KEYS` entries, a key
   *   is not 1-256 characters, `bucketMs` is not a positive integer, or the range is not finite.
   */
  readActive?(input: { keys: readonly string[]; bucketMs: number; fromMs: number; toMs: number }): Promise<ActiveSeries[]>;
}
