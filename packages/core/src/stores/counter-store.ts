import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/**
 * Windowed counters in fixed buckets of `bucketMs`. A sliding window is the sum of the last N
 * buckets: exact at bucket granularity, never approximate.
 */
export interface CounterStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Atomically adds `by` (default 1) to the bucket holding `atMs` and returns the window total: the
   * sum of the `windowBuckets` buckets ending at that one (default 1). Under concurrent increments
   * every caller sees a distinct running total, so exactly one caller sees a threshold crossed.
   * Buckets expire `ttlMs` after they end (default: the window length).
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
  /** Sum of the buckets starting in [fromMs, toMs). */
  sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number>;
}
