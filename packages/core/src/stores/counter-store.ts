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

/** Most `having` conditions one `readActive` call may carry. */
export const MAX_ACTIVE_HAVING = 64;

/**
 * A `readActive` condition on a tenant: the sum of its buckets of `keys` (a subset of the call's
 * keys) starting in [fromMs, toMs) reaches `min`. Detection passes one per rule and window (the
 * least a rule needs to fire), so a SQL store can answer with `GROUP BY tenant ... HAVING`.
 */
export interface ActiveCondition {
  keys: readonly string[];
  fromMs: number;
  toMs: number;
  /** A positive integer. */
  min: number;
}

/** One counter add of `CounterStore.incrementMany` (the fields of `increment`). */
export interface CounterAdd {
  tenantId: TenantKey;
  key: string;
  atMs: number;
  bucketMs: number;
  by?: number;
  windowBuckets?: number;
  ttlMs?: number;
  untracked?: boolean;
}

/** The series of `series` whose tenant meets one of `having` (all of them without conditions; the global scope always). */
export function keepActive(series: ActiveSeries[], having: readonly ActiveCondition[] | undefined): ActiveSeries[] {
  if (!having || having.length === 0) return series;
  const sums = new Map<string, number[]>();
  for (const s of series) {
    if (s.tenantId === null) continue;
    let acc = sums.get(s.tenantId);
    if (!acc) sums.set(s.tenantId, (acc = new Array<number>(having.length).fill(0)));
    for (let i = 0; i < having.length; i++) {
      const c = having[i]!;
      if (!c.keys.includes(s.key)) continue;
      for (const b of s.buckets) if (b.startMs >= c.fromMs && b.startMs < c.toMs) acc[i]! += b.count;
    }
  }
  return series.filter((s) => {
    if (s.tenantId === null) return true;
    const acc = sums.get(s.tenantId)!;
    return having.some((c, i) => acc[i]! >= c.min);
  });
}

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
   * `untracked: true` is a hint for high-cardinality series (per-identity counters, read by key,
   * never listed by activity): a store that indexes activity (memory, Redis) leaves them out of
   * that index, so they add nothing to `readActive`'s cost; a store reading rows by key may still
   * list them when their key is asked for.
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
   * [fromMs, toMs), with those buckets ascending (as `read` returns them). Series without activity
   * in the range are absent; order of the series is unspecified; no series appears twice.
   *
   * Cost follows activity, never the number of tenants: a store answers from an index of the
   * series touched per bucket (memory, Redis) or one aggregate over the bucketed rows (SQL), so a
   * tick over 100,000 registered tenants of which 1,000 are active reads 1,000 tenants' series.
   *
   * Optional: a store without it is read per tenant with `read` (bounded concurrency), and detection
   * then only sees the tenants it is told about.
   * `having` (optional): only tenants meeting at least one condition are returned (all their
   * series of `keys`); the global scope is returned whenever it has activity. `keepActive` is the
   * reference semantics. SQL stores evaluate it in the database (`GROUP BY tenant ... HAVING`),
   * so tenants with activity that cannot fire a rule are never transferred.
   * @throws ValidationError when `keys` is empty or has more than `MAX_ACTIVE_KEYS` entries, a key
   *   is not 1-256 characters, `bucketMs` is not a positive integer, the range is not finite, or a
   *   `having` condition is malformed (keys outside `keys`, a non-positive `min`).
   */
  readActive?(input: {
    keys: readonly string[];
    bucketMs: number;
    fromMs: number;
    toMs: number;
    having?: readonly ActiveCondition[];
  }): Promise<ActiveSeries[]>;
  /**
   * Many `increment`s in as few round trips as the store allows (SQL: one multi-row upsert; Redis:
   * one pipeline per hash slot). Returns each add's window total, in input order, with the
   * guarantees of `increment` per add (adds of the same bucket in one call are applied in order).
   * Not atomic as a whole: when it rejects, some adds may have been applied.
   * Optional: callers fall back to `increment` per add.
   * @throws ValidationError naming the bad add (`adds[3].key`) before anything is written.
   */
  incrementMany?(adds: readonly CounterAdd[]): Promise<number[]>;
}
