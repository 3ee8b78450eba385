import { checkCounterIncrement, type CounterStore, type TenantKey } from "@ops/core";
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
  /** scope -> bucket start -> bucket. */
  private readonly series = new Map<string, Map<number, Bucket>>();
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
  }): Promise<number> {
    this.assertOpen();
    const { by, windowBuckets, start } = checkCounterIncrement("adapter-memory", input);
    const ttl = Math.max(input.ttlMs ?? windowBuckets * input.bucketMs, windowBuckets * input.bucketMs);
    const s = this.scope(input.tenantId, input.key, input.bucketMs, true)!;
    const b = s.get(start);
    if (b) {
      b.count += by;
      b.expiresAt = Math.max(b.expiresAt, start + input.bucketMs + ttl);
    } else s.set(start, { count: by, expiresAt: start + input.bucketMs + ttl });
    let total = 0;
    for (let i = 0; i < windowBuckets; i++) total += s.get(start - i * input.bucketMs)?.count ?? 0;
    if (++this.sweeps % 1024 === 0) this.sweep();
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
      if (startMs >= input.fromMs && startMs < input.toMs && b.expiresAt > now && b.count > 0)
        out.push({ startMs, count: b.count });
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  async sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number> {
    let total = 0;
    for (const b of await this.read(input)) total += b.count;
    return total;
  }

  private scope(tenantId: TenantKey, key: string, bucketMs: number, create: boolean): Map<number, Bucket> | undefined {
    const id = `${tenantId === null ? "\u0000" : `t:${tenantId}`}\u0001${key}\u0001${bucketMs}`;
    let s = this.series.get(id);
    if (!s && create) this.series.set(id, (s = new Map()));
    return s;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.series) {
      for (const [start, b] of s) if (b.expiresAt <= now) s.delete(start);
      if (s.size === 0) this.series.delete(id);
    }
  }
}
