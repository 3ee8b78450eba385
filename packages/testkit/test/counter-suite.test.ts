import { describe, expect, it } from "vitest";
import { MemoryCounterStore } from "@ops/adapter-memory";
import type { CounterStore } from "@ops/core";
import { counterStoreCases, type CounterConformanceOptions } from "../src/index.js";

function suiteWith(breakage: (s: MemoryCounterStore) => Partial<CounterStore>): CounterConformanceOptions {
  return {
    name: "broken",
    create: () => {
      const store = new MemoryCounterStore();
      return Object.assign(store, breakage(store)) as CounterStore;
    },
    raw: (store) => ({ readBucket: async (q) => (store as MemoryCounterStore).rawBucket(q) }),
  };
}

async function runCase(opts: CounterConformanceOptions, prefix: string): Promise<void> {
  const c = counterStoreCases(opts).find((x) => x.name.startsWith(prefix));
  if (!c) throw new Error(`no case ${prefix}`);
  await c.run();
}

describe("CounterStore conformance can fail", () => {
  it("passes against the reference store", async () => {
    for (const c of counterStoreCases(suiteWith(() => ({})))) await c.run();
  });

  it("rejects a read-then-write increment (lost updates, repeated running totals)", async () => {
    const opts = suiteWith((s) => {
      const real = s.increment.bind(s);
      return {
        increment: async (input) => {
          const q = { tenantId: input.tenantId, key: input.key, bucketMs: input.bucketMs };
          const start = Math.floor(input.atMs / input.bucketMs) * input.bucketMs;
          const before = await s.sum({ ...q, fromMs: start, toMs: start + input.bucketMs });
          await new Promise((r) => setImmediate(r));
          // Writes "what I read + by" as a delta computed from a stale read: the race the contract forbids.
          const after = before + (input.by ?? 1);
          const current = s.rawBucket({ ...q, startMs: start }) ?? 0;
          if (after > current) await real({ ...input, by: after - current });
          return after;
        },
      };
    });
    await expect(runCase(opts, "200 concurrent increments")).rejects.toThrow();
  });

  it("rejects a store that ignores the tenant", async () => {
    const opts = suiteWith((s) => {
      const inc = s.increment.bind(s);
      const sum = s.sum.bind(s);
      const read = s.read.bind(s);
      return {
        increment: (input) => inc({ ...input, tenantId: null }),
        sum: (input) => sum({ ...input, tenantId: null }),
        read: (input) => read({ ...input, tenantId: null }),
      };
    });
    await expect(runCase(opts, "tenant isolation")).rejects.toThrow();
  });

  it("rejects a store whose window sum ignores windowBuckets", async () => {
    const opts = suiteWith((s) => {
      const real = s.increment.bind(s);
      return { increment: (input) => real({ ...input, windowBuckets: 1 }) };
    });
    await expect(runCase(opts, "increment returns the sum of the window")).rejects.toThrow();
  });

  it("rejects a store that accepts fractional increments", async () => {
    const opts = suiteWith((s) => {
      const real = s.increment.bind(s);
      return { increment: (input) => real({ ...input, by: input.by === undefined ? 1 : Math.max(1, Math.round(input.by)) }) };
    });
    await expect(runCase(opts, "bad input")).rejects.toThrow();
  });
});
