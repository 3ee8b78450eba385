// Ingest at 10,000 active tenants: signals recorded in process and flushed to the shared counters
// (and event details to the AuthEventStore) with the default identity rules. Measures events/s
// through record + flush, and checks that no detail was dropped. Target (issue #18): >= 20,000
// events/s flushed to PostgreSQL with no detail dropped.
import { Redis } from "ioredis";
import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { redisStores } from "@ops/adapter-redis";
import type { AuthEventStore, CounterStore } from "@ops/core";
import { createSignalRecorder } from "@ops/incidents";
import { backendOn, counted, dropPrefix, pgScratch, tcpUp } from "../lib/scale.js";
import type { BenchCase, BenchRow } from "../types.js";

const TENANTS = 10_000;

async function run(
  backend: string,
  counters: CounterStore,
  authEvents: AuthEventStore,
  events: number,
  flushes: number,
): Promise<BenchRow> {
  const calls = { n: 0 };
  const rec = createSignalRecorder({ counters: counted(counters, calls), authEvents, maxBuffer: events });
  const per = Math.ceil(events / flushes);
  const t0 = process.hrtime.bigint();
  for (let f = 0; f < flushes; f++) {
    for (let i = 0; i < per; i++) {
      const n = f * per + i;
      rec.recordAuthEvent({
        type: n % 4 === 0 ? "LOGIN_SUCCEEDED" : "LOGIN_FAILED",
        tenantId: `tenant_${n % TENANTS}`,
        userId: `u${n % 50_000}`,
        ip: `10.0.${(n >> 8) & 255}.${n & 255}`,
      });
    }
    await rec.flush();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const st = rec.stats();
  await rec.close();
  return {
    group: "incidents: ingest at 10,000 active tenants",
    subject: `@ops/incidents recorder -> ${backend}`,
    opsPerSec: st.flushedEvents / s,
    ours: backend === "memory",
    note: `${st.flushedEvents.toLocaleString("en-US")} events in ${flushes} flushes (${(s / flushes).toFixed(2)} s per flush); dropped ${st.dropped}; dead-lettered ${st.deadLettered}; counter-store calls ${calls.n.toLocaleString("en-US")}${backend === "postgres" ? "; target >= 20,000 events/s, none dropped" : ""}`,
  };
}

const bench: BenchCase = {
  name: "incidents: ingest at scale",
  async run({ quick }) {
    const events = quick ? 60_000 : 200_000;
    const flushes = quick ? 3 : 5;
    const group = "incidents: ingest at 10,000 active tenants";
    const rows: BenchRow[] = [];
    if (backendOn("memory")) rows.push(await run("memory", new MemoryCounterStore(), new MemoryAuthEventStore(), events, flushes));
    const pgUrl = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (!backendOn("postgres")) {
      // not asked for
    } else if (!(await tcpUp(pgUrl, 5432)))
      rows.push({ group, subject: "@ops/adapter-postgres", note: "skipped: PostgreSQL not reachable" });
    else {
      const { stores, done } = await pgScratch(pgUrl, `opsbench_ingest_${process.pid}`);
      try {
        rows.push(await run("postgres", stores.counters, stores.authEvents, events, flushes));
      } finally {
        await done();
      }
    }
    const url = process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379";
    if (!backendOn("redis")) return rows;
    if (!(await tcpUp(url, 6379))) return [...rows, { group, subject: "@ops/adapter-redis", note: "skipped: Redis not reachable" }];
    const redis = new Redis(url);
    const prefix = `opsbench-ingest-${process.pid}`;
    try {
      const stores = redisStores(redis, { prefix });
      rows.push(await run("redis", stores.counters, stores.authEvents, events, flushes));
      await stores.close();
    } finally {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    return rows;
  },
};

export default bench;
