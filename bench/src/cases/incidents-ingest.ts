// Auth-signal ingest, in process: @ops/incidents' SignalRecorder.recordAuthEvent (synchronous: counts
// into in-process buckets, buffers the event for a batched flush) against rate-limiter-flexible's
// in-memory limiter consuming one point per key. Same 10,000 keys (user+IP pairs) for both.
import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { createSignalRecorder } from "@ops/incidents";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { measureOps, type BenchCase, type BenchRow } from "../types.js";

const KEYS = 10_000;
const users = Array.from({ length: KEYS }, (_, i) => `user_${i}`);
const ips = Array.from({ length: KEYS }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const tenants = Array.from({ length: 20 }, (_, i) => `tenant_${i}`);
const signals = Array.from({ length: KEYS }, (_, i) => ({
  type: i % 4 === 0 ? "LOGIN_SUCCEEDED" : "LOGIN_FAILED",
  tenantId: tenants[i % tenants.length]!,
  userId: users[i]!,
  ip: ips[i]!,
}));

const ingest: BenchCase = {
  name: "incidents: auth-signal ingest",
  async run({ quick }) {
    const n = quick ? 200_000 : 1_000_000;
    const runs = quick ? 3 : 5;
    const rows: BenchRow[] = [];

    const withEvents = await measureOps(n, runs, (count) => {
      // A fresh recorder per run: the buffer holds every event of the run (flushed outside the timing).
      const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: new MemoryAuthEventStore(), maxBuffer: count });
      for (let i = 0; i < count; i++) rec.recordAuthEvent(signals[i % KEYS]!);
    });
    rows.push({
      group: "incidents: auth-signal ingest, in process",
      subject: "@ops/incidents recordAuthEvent (counts + event buffered)",
      opsPerSec: withEvents,
      ours: true,
      note: `${KEYS} user+IP keys, 20 tenants, identity rule on; flush to stores is batched outside this path`,
    });

    const countsOnly = await measureOps(n, runs, (count) => {
      const rec = createSignalRecorder({ counters: new MemoryCounterStore() });
      for (let i = 0; i < count; i++) rec.recordAuthEvent(signals[i % KEYS]!);
    });
    rows.push({
      group: "incidents: auth-signal ingest, in process",
      subject: "@ops/incidents recordAuthEvent (counts only, no event store)",
      opsPerSec: countsOnly,
    });

    const limiter = new RateLimiterMemory({ points: 1e9, duration: 60 });
    const rlf = await measureOps(n, runs, async (count) => {
      const batch: Array<Promise<unknown>> = [];
      for (let i = 0; i < count; i++) {
        const s = signals[i % KEYS]!;
        batch.push(limiter.consume(`${s.userId}:${s.ip}`));
        if (batch.length === 10_000) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
    });
    rows.push({
      group: "incidents: auth-signal ingest, in process",
      subject: "rate-limiter-flexible 11.4.0 RateLimiterMemory.consume",
      opsPerSec: rlf,
      note: `${KEYS} keys, 1 point each`,
    });

    // End to end: record then flush to the in-memory stores (structured-clone copies, like a database).
    const e2e = await measureOps(quick ? 50_000 : 200_000, runs, async (count) => {
      const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: new MemoryAuthEventStore(), maxBuffer: count });
      for (let i = 0; i < count; i++) rec.recordAuthEvent(signals[i % KEYS]!);
      await rec.flush();
    });
    rows.push({
      group: "incidents: ingest + flush to memory stores",
      subject: "@ops/incidents record + flush (memory adapter)",
      opsPerSec: e2e,
      ours: true,
      note: "events appended in batches of 500, counters added once per (bucket, tenant, type)",
    });
    return rows;
  },
};

export default ingest;
