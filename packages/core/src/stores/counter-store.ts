import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

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
}
