import { expect } from "vitest";
import { ValidationError, type CounterAdd, type CounterStore, type TenantKey } from "@ops/core";
import {
  concurrently,
  randomKey,
  randomTenant,
  registerCases,
  withStore,
  type ConformanceCase,
  type ConformanceOptions,
} from "./conformance.js";
import { guardCases } from "./guard.js";

/** Reads what an adapter really stored for one bucket, bypassing its own read methods. */
export interface CounterRawBackdoor {
  /** The stored count of the bucket starting at `startMs`, or null when absent. */
  readBucket(input: { tenantId: TenantKey; key: string; bucketMs: number; startMs: number }): Promise<number | null>;
}

export type CounterConformanceOptions = ConformanceOptions<CounterStore, CounterRawBackdoor>;

const BUCKET = 60_000;
/** The start of the current bucket: cases stay near "now" so TTL-based backends keep them. */
const base = () => Math.floor(Date.now() / BUCKET) * BUCKET;
const HOUR = 3_600_000;

/** The CounterStore contract (see the JSDoc of `CounterStore` in @ops/core). */
export function counterStoreCases(opts: CounterConformanceOptions): ConformanceCase[] {
  return [
    {
      name: "200 concurrent increments: every running total 1..200 is seen exactly once",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const key = randomKey();
          const b0 = base();
          const { fulfilled, rejected } = await concurrently(200, () =>
            store.increment({ tenantId: t, key, atMs: b0 + 5, bucketMs: BUCKET, ttlMs: HOUR }),
          );
          expect(rejected).toEqual([]);
          expect([...fulfilled].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET })).toBe(200);
          if (raw) expect(await raw.readBucket({ tenantId: t, key, bucketMs: BUCKET, startMs: b0 })).toBe(200);
        }),
    },
    {
      name: "increment returns the sum of the window of windowBuckets buckets ending at atMs",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const key = randomKey();
          const b0 = base() - 5 * BUCKET;
          const inc = (bucket: number, by: number, windowBuckets = 1) =>
            store.increment({ tenantId: t, key, atMs: b0 + bucket * BUCKET + 17, bucketMs: BUCKET, by, windowBuckets, ttlMs: HOUR });
          expect(await inc(0, 3)).toBe(3);
          expect(await inc(1, 4)).toBe(4);
          expect(await inc(2, 5, 2)).toBe(9);
          expect(await inc(2, 1, 3)).toBe(13);
          expect(await inc(4, 2, 3)).toBe(8);
          expect(await store.read({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + 5 * BUCKET })).toEqual([
            { startMs: b0, count: 3 },
            { startMs: b0 + BUCKET, count: 4 },
            { startMs: b0 + 2 * BUCKET, count: 6 },
            { startMs: b0 + 4 * BUCKET, count: 2 },
          ]);
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0 + BUCKET, toMs: b0 + 3 * BUCKET })).toBe(10);
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0 + 5 * BUCKET, toMs: b0 + 9 * BUCKET })).toBe(0);
        }),
    },
    {
      // A replay or backfill (yesterday's signals through detection) runs on the caller's clock:
      // a window's buckets cannot have expired at the atMs that is inside the window.
      name: "increment's window total depends on atMs alone: a window far behind the backend's clock still sums",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const key = randomKey();
          const old = base() - 24 * HOUR;
          const inc = (bucket: number) =>
            store.increment({ tenantId: t, key, atMs: old + bucket * BUCKET + 1, bucketMs: BUCKET, windowBuckets: 3 });
          expect(await inc(0)).toBe(1);
          expect(await inc(1)).toBe(2);
          expect(await inc(2)).toBe(3);
          expect(await inc(3)).toBe(3);
        }),
    },
    {
      name: "tenant isolation: counters of one key are separate per tenant and for the global scope",
      run: () =>
        withStore(opts, async (store) => {
          const a = randomTenant("a");
          const b = randomTenant("b");
          const key = randomKey();
          const b0 = base();
          await store.increment({ tenantId: a, key, atMs: b0, bucketMs: BUCKET, by: 7, ttlMs: HOUR });
          const q = { key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET };
          expect(await store.sum({ ...q, tenantId: b })).toBe(0);
          expect(await store.sum({ ...q, tenantId: null })).toBe(0);
          expect(await store.read({ ...q, tenantId: b })).toEqual([]);
          expect(await store.increment({ tenantId: null, key, atMs: b0, bucketMs: BUCKET, ttlMs: HOUR })).toBe(1);
          expect(await store.increment({ tenantId: b, key, atMs: b0, bucketMs: BUCKET, ttlMs: HOUR })).toBe(1);
          expect(await store.sum({ ...q, tenantId: a })).toBe(7);
        }),
    },
    {
      name: "keys and bucket sizes are separate series",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const k1 = randomKey();
          const k2 = randomKey();
          const b0 = base();
          await store.increment({ tenantId: t, key: k1, atMs: b0, bucketMs: BUCKET, by: 2, ttlMs: HOUR });
          expect(await store.increment({ tenantId: t, key: k2, atMs: b0, bucketMs: BUCKET, ttlMs: HOUR })).toBe(1);
          expect(await store.increment({ tenantId: t, key: k1, atMs: b0, bucketMs: 10_000, ttlMs: HOUR })).toBe(1);
          expect(await store.sum({ tenantId: t, key: k1, bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET })).toBe(2);
        }),
    },
    {
      name: "readActive returns exactly the series with activity in the range, of every tenant and the global scope",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.readActive) return ctx?.skip("store has no readActive (optional)");
          const a = randomTenant("a");
          const b = randomTenant("b");
          const idle = randomTenant("idle");
          const k1 = randomKey();
          const k2 = randomKey();
          const other = randomKey();
          const b0 = base() - 10 * BUCKET;
          const inc = (tenantId: TenantKey, key: string, bucket: number, by = 1, bucketMs = BUCKET) =>
            store.increment({ tenantId, key, atMs: b0 + bucket * BUCKET + 3, bucketMs, by, ttlMs: 2 * HOUR });
          await inc(a, k1, 1, 2);
          await inc(a, k1, 3, 5);
          await inc(a, k2, 2, 1);
          await inc(b, k1, 9, 4);
          await inc(null, k1, 1, 6);
          await inc(idle, k1, -5, 1); // before the range
          await inc(idle, k1, 12, 1); // after it
          await inc(b, other, 2, 9); // a key not asked for
          await inc(idle, k2, 4, 1, 10_000); // another bucket size
          const got = await store.readActive({ keys: [k1, k2], bucketMs: BUCKET, fromMs: b0, toMs: b0 + 10 * BUCKET });
          const norm = got
            .filter((s) => (s.tenantId === null ? s.key === k1 || s.key === k2 : [a, b, idle].includes(s.tenantId)))
            .map((s) => ({ ...s, buckets: s.buckets.map((x) => ({ ...x })) }))
            .sort((x, y) => `${x.tenantId}|${x.key}`.localeCompare(`${y.tenantId}|${y.key}`));
          expect(norm).toEqual(
            [
              {
                tenantId: a,
                key: k1,
                buckets: [
                  { startMs: b0 + BUCKET, count: 2 },
                  { startMs: b0 + 3 * BUCKET, count: 5 },
                ],
              },
              { tenantId: a, key: k2, buckets: [{ startMs: b0 + 2 * BUCKET, count: 1 }] },
              { tenantId: b, key: k1, buckets: [{ startMs: b0 + 9 * BUCKET, count: 4 }] },
              { tenantId: null, key: k1, buckets: [{ startMs: b0 + BUCKET, count: 6 }] },
            ].sort((x, y) => `${x.tenantId}|${x.key}`.localeCompare(`${y.tenantId}|${y.key}`)),
          );
          // No series twice, even when it has several buckets in range.
          const ids = got.map((s) => `${s.tenantId}|${s.key}`);
          expect(new Set(ids).size).toBe(ids.length);
          // A range with no activity of these keys is empty.
          expect(await store.readActive({ keys: [k2], bucketMs: BUCKET, fromMs: b0 + 3 * BUCKET, toMs: b0 + 9 * BUCKET })).toEqual([]);
        }),
    },
    {
      name: "readActive with having returns only tenants meeting a condition (all their series), and the global scope",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.readActive) return ctx?.skip("store has no readActive (optional)");
          const hot = randomTenant("hot");
          const warm = randomTenant("warm");
          const cold = randomTenant("cold");
          const k1 = randomKey();
          const k2 = randomKey();
          const b0 = base() - 10 * BUCKET;
          const inc = (tenantId: TenantKey, key: string, bucket: number, by: number) =>
            store.increment({ tenantId, key, atMs: b0 + bucket * BUCKET + 3, bucketMs: BUCKET, by, ttlMs: 2 * HOUR });
          await inc(hot, k1, 8, 5);
          await inc(hot, k1, 9, 6);
          await inc(hot, k2, 2, 1);
          await inc(warm, k2, 9, 1);
          await inc(cold, k1, 9, 3);
          await inc(cold, k1, 1, 50); // outside the condition's range
          await inc(null, k1, 9, 7);
          const having = [
            { keys: [k1], fromMs: b0 + 8 * BUCKET, toMs: b0 + 10 * BUCKET, min: 10 },
            { keys: [k2], fromMs: b0 + 9 * BUCKET, toMs: b0 + 10 * BUCKET, min: 1 },
          ];
          const got = await store.readActive({ keys: [k1, k2], bucketMs: BUCKET, fromMs: b0, toMs: b0 + 10 * BUCKET, having });
          const ids = got
            .filter((s) => (s.tenantId === null ? s.key === k1 : [hot, warm, cold].includes(s.tenantId)))
            .map((s) => `${s.tenantId}|${s.key}|${s.buckets.map((b) => b.count).join(",")}`)
            .sort();
          expect(ids).toEqual([`${hot}|${k1}|5,6`, `${hot}|${k2}|1`, `${warm}|${k2}|1`, `null|${k1}|7`].sort());
          const err = await store
            .readActive({ keys: [k1], bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET, having: [{ ...having[0]!, min: 0 }] })
            .catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as Error).message).toContain("having[0].min");
        }),
    },
    {
      name: "incrementMany applies every add with running window totals in input order; a bad add writes nothing",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.incrementMany) return ctx?.skip("store has no incrementMany (optional)");
          const t = randomTenant();
          const u = randomTenant();
          const key = randomKey();
          const b0 = base() - 5 * BUCKET;
          const at = (bucket: number) => b0 + bucket * BUCKET + 11;
          expect(await store.incrementMany([])).toEqual([]);
          await store.increment({ tenantId: t, key, atMs: at(0), bucketMs: BUCKET, by: 2, ttlMs: HOUR });
          const totals = await store.incrementMany([
            { tenantId: t, key, atMs: at(1), bucketMs: BUCKET, by: 3, windowBuckets: 2, ttlMs: HOUR },
            { tenantId: t, key, atMs: at(1), bucketMs: BUCKET, by: 4, windowBuckets: 2, ttlMs: HOUR },
            { tenantId: u, key, atMs: at(1), bucketMs: BUCKET, ttlMs: HOUR },
            { tenantId: null, key, atMs: at(1), bucketMs: BUCKET, by: 5, ttlMs: HOUR },
          ]);
          expect(totals).toEqual([5, 9, 1, 5]);
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + 2 * BUCKET })).toBe(9);
          const err = await store
            .incrementMany([
              { tenantId: u, key, atMs: at(1), bucketMs: BUCKET, ttlMs: HOUR },
              { tenantId: u, key: "", atMs: at(1), bucketMs: BUCKET },
            ])
            .catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as Error).message).toContain("adds[1].key");
          expect(await store.sum({ tenantId: u, key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + 2 * BUCKET })).toBe(1);
          if (store.readActive) {
            const got = await store.readActive({ keys: [key], bucketMs: BUCKET, fromMs: b0, toMs: b0 + 2 * BUCKET });
            expect(got.filter((s) => s.tenantId === t)).toEqual([
              {
                tenantId: t,
                key,
                buckets: [
                  { startMs: b0, count: 2 },
                  { startMs: b0 + BUCKET, count: 7 },
                ],
              },
            ]);
          }
        }),
    },
    {
      name: "incrementMany with 1,000 adds over 300 tenants (many scripts or statements per call): every total as if added one by one",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.incrementMany) return ctx?.skip("store has no incrementMany (optional)");
          const key = randomKey("many");
          const b0 = base() - 5 * BUCKET;
          const tenants = Array.from({ length: 300 }, () => randomTenant());
          const adds: CounterAdd[] = [];
          const expected: number[] = [];
          const sums = new Map<string, number[]>();
          for (let i = 0; i < 1_000; i++) {
            // Adds of one series are spread over the whole call (first bucket, then the next).
            const tenantId = i % 7 === 0 ? null : tenants[(i * 13) % tenants.length]!;
            const bucket = i < 500 ? 0 : 1;
            const by = 1 + (i % 3);
            adds.push({
              tenantId,
              key,
              atMs: b0 + bucket * BUCKET + 5,
              bucketMs: BUCKET,
              by,
              windowBuckets: 2,
              ttlMs: HOUR,
              untracked: i % 2 === 0,
            });
            const c = sums.get(String(tenantId)) ?? [0, 0];
            c[bucket] = c[bucket]! + by;
            sums.set(String(tenantId), c);
            expected.push(bucket === 0 ? c[0]! : c[0]! + c[1]!);
          }
          expect(await store.incrementMany(adds)).toEqual(expected);
          const t = tenants[13]!;
          const c = sums.get(t)!;
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0, toMs: b0 + 2 * BUCKET })).toBe(c[0]! + c[1]!);
        }),
    },
    {
      name: "untracked: true still counts and reads, and leaves the tracked series of readActive as they are",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.readActive) return ctx?.skip("store has no readActive (optional)");
          const t = randomTenant();
          const tracked = randomKey("tr");
          const hidden = randomKey("un");
          const b0 = base();
          await store.increment({ tenantId: t, key: tracked, atMs: b0, bucketMs: BUCKET, ttlMs: HOUR });
          expect(await store.increment({ tenantId: t, key: hidden, atMs: b0, bucketMs: BUCKET, by: 3, ttlMs: HOUR, untracked: true })).toBe(
            3,
          );
          const got = await store.readActive({ keys: [tracked, hidden], bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET });
          // An index-based store leaves the untracked series out; a store reading rows by key may list it.
          expect(got.filter((s) => s.tenantId === t && s.key === tracked)).toEqual([
            { tenantId: t, key: tracked, buckets: [{ startMs: b0, count: 1 }] },
          ]);
          for (const s of got.filter((x) => x.tenantId === t && x.key === hidden)) expect(s.buckets).toEqual([{ startMs: b0, count: 3 }]);
          expect(await store.sum({ tenantId: t, key: hidden, bucketMs: BUCKET, fromMs: b0, toMs: b0 + BUCKET })).toBe(3);
        }),
    },
    {
      name: "readActive refuses bad input with a ValidationError naming the field",
      run: (ctx) =>
        withStore(opts, async (store) => {
          if (!store.readActive) return ctx?.skip("store has no readActive (optional)");
          const q = { keys: [randomKey()], bucketMs: BUCKET, fromMs: base() - HOUR, toMs: base() };
          for (const [over, field] of [
            [{ keys: [] }, "keys"],
            [{ keys: [""] }, "keys[0]"],
            [{ bucketMs: 0 }, "bucketMs"],
            [{ fromMs: Number.NaN }, "fromMs"],
          ] as const) {
            const err = await store.readActive({ ...q, ...over }).catch((e: unknown) => e);
            expect(err).toBeInstanceOf(ValidationError);
            expect((err as Error).message).toContain(field);
          }
        }),
    },
    {
      name: "bad input is a ValidationError and changes nothing",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const key = randomKey();
          const b0 = base();
          const bad = [{ by: 0 }, { by: 1.5 }, { by: -1 }, { bucketMs: 0 }, { bucketMs: 2.5 }, { windowBuckets: 0 }, { key: "" }];
          for (const over of bad)
            await expect(store.increment({ tenantId: t, key, atMs: b0, bucketMs: BUCKET, ttlMs: HOUR, ...over })).rejects.toBeInstanceOf(
              ValidationError,
            );
          expect(await store.sum({ tenantId: t, key, bucketMs: BUCKET, fromMs: b0 - HOUR, toMs: b0 + HOUR })).toBe(0);
        }),
    },
  ];
}

/** Registers the CounterStore conformance suite with vitest. */
export function describeCounterStoreConformance(opts: CounterConformanceOptions): void {
  registerCases(
    `${opts.name}: CounterStore conformance`,
    [...counterStoreCases(opts), ...guardCases("counters", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
