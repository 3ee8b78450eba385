import {
  checkCounterAdds,
  checkCounterIncrement,
  checkCounterReadActive,
  keepActive,
  type ActiveCondition,
  type ActiveSeries,
  type CounterAdd,
  type CounterStore,
  type TenantKey,
} from "@ops/core";
import { MemoryStoreBase } from "./base.js";

interface Bucket {
  count: number;
  expiresAt: number;
}

/**
 * In-process `CounterStore`. `increment` is synchronous inside one event-loop turn, so add and
 * window sum are atomic with respect to every other caller in the process.
 */
export class MemoryCounterStore extends MemoryStoreBase implements CounterStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "counters" as const;
  /** scope -> bucket start -> bucket. */
  private readonly series = new Map<string, Map<number, Bucket>>();
  /**
   * bucketMs -> bucket start -> ids of the series touched in that bucket: `readActive` walks the
   * buckets of its range, so its cost follows activity, not the number of series ever seen.
   */
  private readonly touched = new Map<number, Map<number, Set<string>>>();
  /** series id -> its scope and key (for `readActive` results). */
  private readonly meta = new Map<string, { tenantId: TenantKey; key: string }>();
  private sweeps = 0;

  /** Conformance backdoor (`CounterRawBackdoor`): a bucket's stored count, or null. */
  rawBucket(input: { tenantId: TenantKey; key: string; bucketMs: number; startMs: number }): number | null {
    return this.scope(input.tenantId, input.key, input.bucketMs, false)?.get(input.startMs)?.count ?? null;
  }

  async increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
    untracked?: boolean;
  }): Promise<number> {
    this.assertOpen();
    const { by, windowBuckets, start } = checkCounterIncrement("adapter-memory", input);
    const ttl = Math.max(input.ttlMs ?? windowBuckets * input.bucketMs, windowBuckets * input.bucketMs);
    const s = this.scope(input.tenantId, input.key, input.bucketMs, true)!;
    const b = s.get(start);
    if (!b && input.untracked !== true) this.touch(input.tenantId, input.key, input.bucketMs, start);
    if (b) {
      b.count += by;
      b.expiresAt = Math.max(b.expiresAt, start + input.bucketMs + ttl);
    } else s.set(start, { count: by, expiresAt: start + input.bucketMs + ttl });
    let total = 0;
    for (let i = 0; i < windowBuckets; i++) total += s.get(start - i * input.bucketMs)?.count ?? 0;
    // A sweep walks every series: run it once per that many increments (amortised O(1) per add).
    if (++this.sweeps >= Math.max(1024, this.series.size)) {
      this.sweeps = 0;
      this.sweep();
    }
    return total;
  }

  async read(input: {
    tenantId: TenantKey;
    key: string;
    bucketMs: number;
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ startMs: number; count: number }>> {
    this.assertOpen();
    const s = this.scope(input.tenantId, input.key, input.bucketMs, false);
    if (!s) return [];
    const now = this.clock.now();
    const out: Array<{ startMs: number; count: number }> = [];
    for (const [startMs, b] of s)
      if (startMs >= input.fromMs && startMs < input.toMs && b.expiresAt > now && b.count > 0) out.push({ startMs, count: b.count });
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  async sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number> {
    let total = 0;
    for (const b of await this.read(input)) total += b.count;
    return total;
  }

  /** Every add in order, in one event-loop turn (see `CounterStore.incrementMany`). */
  async incrementMany(adds: readonly CounterAdd[]): Promise<number[]> {
    this.assertOpen();
    checkCounterAdds("adapter-memory", adds);
    const out: number[] = [];
    for (const a of adds) out.push(await this.increment(a));
    return out;
  }

  async readActive(input: {
    keys: readonly string[];
    bucketMs: number;
    fromMs: number;
    toMs: number;
    having?: readonly ActiveCondition[];
  }): Promise<ActiveSeries[]> {
    this.assertOpen();
    const keys = new Set(checkCounterReadActive("adapter-memory", input));
    const byStart = this.touched.get(input.bucketMs);
    if (!byStart || input.toMs <= input.fromMs) return [];
    const ids = new Set<string>();
    const first = Math.ceil(input.fromMs / input.bucketMs) * input.bucketMs;
    const steps = Math.ceil((input.toMs - first) / input.bucketMs);
    const collect = (set: Set<string> | undefined) => {
      if (set) for (const id of set) ids.add(id);
    };
    // Step through the range's buckets, or through the index when the range is the longer of the two.
    if (steps <= byStart.size) for (let st = first; st < input.toMs; st += input.bucketMs) collect(byStart.get(st));
    else for (const [st, set] of byStart) if (st >= input.fromMs && st < input.toMs) collect(set);
    const now = this.clock.now();
    const out: ActiveSeries[] = [];
    for (const id of ids) {
      const m = this.meta.get(id)!;
      if (!keys.has(m.key)) continue;
      const s = this.series.get(id);
      if (!s) continue;
      const buckets: Array<{ startMs: number; count: number }> = [];
      for (const [startMs, b] of s)
        if (startMs >= input.fromMs && startMs < input.toMs && b.expiresAt > now && b.count > 0) buckets.push({ startMs, count: b.count });
      if (buckets.length === 0) continue;
      buckets.sort((a, b) => a.startMs - b.startMs);
      out.push({ tenantId: m.tenantId, key: m.key, buckets });
    }
    return keepActive(out, input.having);
  }

  private touch(tenantId: TenantKey, key: string, bucketMs: number, start: number): void {
    const id = seriesId(tenantId, key, bucketMs);
    let byStart = this.touched.get(bucketMs);
    if (!byStart) this.touched.set(bucketMs, (byStart = new Map()));
    let set = byStart.get(start);
    if (!set) byStart.set(start, (set = new Set()));
    set.add(id);
    if (!this.meta.has(id)) this.meta.set(id, { tenantId, key });
  }

  private scope(tenantId: TenantKey, key: string, bucketMs: number, create: boolean): Map<number, Bucket> | undefined {
    const id = seriesId(tenantId, key, bucketMs);
    let s = this.series.get(id);
    if (!s && create) this.series.set(id, (s = new Map()));
    return s;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.series) {
      for (const [start, b] of s) if (b.expiresAt <= now) s.delete(start);
      if (s.size === 0) {
        this.series.delete(id);
        this.meta.delete(id);
      }
    }
    // A touched-index entry is dropped once none of its series still holds that bucket.
    for (const [bucketMs, byStart] of this.touched) {
      for (const [start, set] of byStart) {
        for (const id of set) if (!this.series.get(id)?.has(start)) set.delete(id);
        if (set.size === 0) byStart.delete(start);
      }
      if (byStart.size === 0) this.touched.delete(bucketMs);
    }
  }
}

function seriesId(tenantId: TenantKey, key: string, bucketMs: number): string {
  return `${tenantId === null ? "\u0000" : `t:${tenantId}`}\u0001${key}\u0001${bucketMs}`;
}
