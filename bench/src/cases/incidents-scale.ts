// Detection at SaaS scale: one runtime tick with 100 .. 100,000 registered tenants of which 1% or
// 10% are active, on memory, PostgreSQL and Redis. Reports tick p50/p99, counter-store calls per tick and the
// heap after the ticks. Target (issue #18): 100,000 tenants / 1,000 active: p99 < 1 s, heap
// < 256 MB, store calls independent of the number of idle tenants.
import { Redis } from "ioredis";
import { memoryStores } from "@ops/adapter-memory";
import { redisStores } from "@ops/adapter-redis";
import { ManualClock, type CounterStore, type IncidentStore } from "@ops/core";
import { createOpsRuntime } from "@ops/incidents";
import { backendOn, counted, dropPrefix, mb, pgScratch, tcpUp } from "../lib/scale.js";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const MIN = 60_000;

interface World {
  counters: CounterStore;
  incidents: IncidentStore;
  done: () => Promise<void>;
}

async function measure(backend: string, world: World, registered: number, activePct: number, ticks: number): Promise<BenchRow> {
  const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN + 1_000);
  const counterCalls = { n: 0 };
  const incidentCalls = { n: 0 };
  const tenants = Array.from({ length: registered }, (_, i) => `t${i}`);
  const runtime = createOpsRuntime({
    stores: { counters: counted(world.counters, counterCalls), incidents: counted(world.incidents, incidentCalls) },
    clock,
    tenants: () => tenants,
    mitigation: { mode: "suggest" },
  });
  const active = Math.max(1, Math.round((registered * activePct) / 100));
  const times: number[] = [];
  const calls: number[] = [];
  let raised = 0;
  for (let r = 0; r < ticks + 2; r++) {
    // Active tenants log in (mostly successfully); one in a hundred is under attack.
    for (let t = 0; t < active; t++) {
      const tenantId = tenants[(t * 7919) % registered]!;
      runtime.recordAuthEvent({ type: "LOGIN_SUCCEEDED", tenantId, userId: "u1", ip: "10.0.0.1" });
      // A different user mistypes each minute: benign traffic never crosses the 10-in-10-minutes
      // identity rule (with one user failing every minute, every active tenant would raise an
      // incident at the tenth tick, and that tick would measure 1,000s of raises, not detection).
      runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId, userId: `u2r${r}`, ip: "10.0.0.2" });
      if (t % 100 === 0)
        for (let i = 0; i < 40; i++) runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId, userId: `a${i}`, ip: "203.0.113.9" });
    }
    await runtime.recorder.flush();
    clock.advance(MIN);
    counterCalls.n = 0;
    incidentCalls.n = 0;
    const t0 = process.hrtime.bigint();
    const report = await runtime.tick();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (report.errors.length > 0) throw new Error(`tick failed: ${String(report.errors[0])}`);
    raised += report.raised.length;
    if (r >= 2) {
      times.push(ms);
      calls.push(counterCalls.n);
    }
  }
  times.sort((a, b) => a - b);
  global.gc?.();
  const heap = process.memoryUsage().heapUsed;
  await world.done();
  return {
    group: `incidents: tick at scale (${backend})`,
    subject: `${registered.toLocaleString("en-US")} tenants, ${activePct}% active`,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    ours: registered === 100 && activePct === 1,
    note: `${active.toLocaleString("en-US")} active; counter calls/tick ${Math.max(...calls)}; incident-store calls last tick ${incidentCalls.n}; heap ${mb(heap)} MB; ${raised} incidents raised over ${ticks + 2} ticks`,
  };
}

const bench: BenchCase = {
  name: "incidents: tick at scale",
  async run({ quick }) {
    // OPS_BENCH_TENANTS=100000 (comma-separated) runs those sizes only, on every backend.
    const only = process.env.OPS_BENCH_TENANTS?.split(",").map(Number);
    const pcts = process.env.OPS_BENCH_ACTIVE_PCT ? [Number(process.env.OPS_BENCH_ACTIVE_PCT)] : [1, 10];
    const sizes = only ?? (quick ? [100, 1_000, 10_000] : [100, 1_000, 10_000, 100_000]);
    const ticks = quick ? 3 : 10;
    const rows: BenchRow[] = [];
    for (const registered of backendOn("memory") ? sizes : [])
      for (const pct of pcts) {
        const stores = memoryStores();
        rows.push(
          await measure(
            "memory",
            { counters: stores.counters, incidents: stores.incidents, done: () => stores.close() },
            registered,
            pct,
            ticks,
          ),
        );
      }
    const pgUrl = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (!backendOn("postgres")) {
      // not asked for
    } else if (!(await tcpUp(pgUrl, 5432)))
      rows.push({
        group: "incidents: tick at scale (postgres)",
        subject: "@ops/adapter-postgres",
        note: "skipped: PostgreSQL not reachable",
      });
    else
      for (const registered of only ?? (quick ? [100, 1_000] : [100, 1_000, 10_000, 100_000]))
        for (const pct of pcts) {
          const { stores, done } = await pgScratch(pgUrl, `opsbench_scale_${process.pid}_${registered}_${pct}`);
          rows.push(await measure("postgres", { counters: stores.counters, incidents: stores.incidents, done }, registered, pct, ticks));
        }
    const url = process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379";
    if (!backendOn("redis")) return rows;
    if (!(await tcpUp(url, 6379))) {
      rows.push({ group: "incidents: tick at scale (redis)", subject: "@ops/adapter-redis", note: "skipped: Redis not reachable" });
      return rows;
    }
    const redis = new Redis(url);
    try {
      for (const registered of sizes)
        for (const pct of pcts) {
          const prefix = `opsbench-scale-${process.pid}-${registered}-${pct}`;
          const stores = redisStores(redis, { prefix });
          rows.push(
            await measure(
              "redis",
              {
                counters: stores.counters,
                incidents: stores.incidents,
                done: async () => (await stores.close(), await dropPrefix(redis, prefix)),
              },
              registered,
              pct,
              ticks,
            ),
          );
        }
    } finally {
      redis.disconnect();
    }
    return rows;
  },
};

export default bench;
