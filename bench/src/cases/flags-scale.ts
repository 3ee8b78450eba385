// Flags at SaaS scale: 100,000 tenants x 10 overrides (1M records; --quick: 10,000 x 10 = 100k).
// Reports: controller start from the whole store (memory in-process; PostgreSQL and Redis in a
// fresh child process, with RSS / heap bytes per record), the longest event-loop stall while 100
// tenant overrides change (monitorEventLoopDelay), change-visible-in-another-process p50/p99, and
// evaluation ns/op at 10 flags vs 100,000 tenants' overrides. Runnable alone:
//   cd bench && npx tsx --conditions=@ops/source src/run.ts --only=flags-scale [--quick]
// OPS_BENCH_FLAG_TENANTS=N overrides the tenant count.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadavg } from "node:os";
import { Redis } from "ioredis";
import pg from "pg";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { applyOpsMigrations, nodePgExecutor, postgresStores } from "@ops/adapter-postgres";
import { RedisKeys, redisStores } from "@ops/adapter-redis";
import type { FlagStore } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { dropPrefix, mb, tcpUp } from "../lib/scale.js";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const child = join(root, "bench", "src", "lib", "flags-scale-reader.ts");
const FLAGS = 10;
const CHANGES = 100;
const GLOBAL = { type: "boolean", enabled: true, value: false, rules: [] };
const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

interface ReaderOut {
  ready: Promise<{ startMs: number; records: number; rssPerRecord: number; heapPerRecord: number; rss: number }>;
  seen: Array<{ value: boolean; at: number }>;
  stop(): void;
}

function startReader(args: string[]): ReaderOut {
  const p = spawn(process.execPath, ["--expose-gc", "--conditions=@ops/source", "--import", "tsx", child, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const seen: Array<{ value: boolean; at: number }> = [];
  let resolveReady!: (v: never) => void;
  const ready = new Promise<never>((r) => (resolveReady = r));
  let buf = "";
  p.stdout.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buf.slice(0, i)) as { ready?: boolean; value: boolean; at: number };
      buf = buf.slice(i + 1);
      if (msg.ready) resolveReady(msg as never);
      else seen.push({ value: msg.value, at: msg.at });
    }
  });
  return { ready, seen, stop: () => p.stdin.end() };
}

const now = () => performance.timeOrigin + performance.now();

/** 100 override changes of (f0, t0) through `writer`: the loop's longest stall here, and when `reader` saw each. */
async function changes(writer: FeatureFlagController, reader: ReaderOut | null): Promise<{ stallMs: number; visible: number[] }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const visible: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const value = i % 2 !== 0; // t0 starts true
    const t = now();
    await writer.setFlag({ key: "f0", tenantId: "t0", newValue: value, actorUserId: "bench", reason: "scale" });
    if (reader) {
      const until = Date.now() + 5000;
      while (reader.seen.length <= i && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
      const s = reader.seen[i];
      if (s) visible.push(s.at - t);
    }
  }
  h.disable();
  return { stallMs: h.max / 1e6, visible: visible.sort((a, b) => a - b) };
}

function evalNs(c: FeatureFlagController, keys: readonly string[], ctxs: ReadonlyArray<{ tenantId: string }>, n: number): number {
  let sink = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) if (c.isEnabled(keys[i % keys.length] as never, ctxs[i & 1023]!, false)) sink++;
  };
  run(n / 10);
  const t0 = process.hrtime.bigint();
  run(n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  return sink < 0 ? 0 : ns;
}

async function seedMemory(store: MemoryFlagStore, tenants: number): Promise<void> {
  for (let k = 0; k < FLAGS; k++)
    await store.put({ env: "prod", key: `f${k}`, tenantId: null, config: GLOBAL, expectedVersion: null, actor: "seed" });
  const batch: Promise<unknown>[] = [];
  for (let t = 0; t < tenants; t++) {
    for (let k = 0; k < FLAGS; k++)
      batch.push(
        store.put({ env: "prod", key: `f${k}`, tenantId: `t${t}`, config: { value: t % 2 === 0 }, expectedVersion: null, actor: "seed" }),
      );
    if (batch.length >= 5000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

async function seedPg(pool: pg.Pool, tenants: number): Promise<void> {
  for (let k = 0; k < FLAGS; k++)
    await pool.query(
      `INSERT INTO ops_flags ("env","key","tenant_id","config","version","updated_at","updated_by") VALUES ('prod', $1, NULL, $2, 1, now(), 'seed')`,
      [`f${k}`, JSON.stringify(GLOBAL)],
    );
  for (let from = 0; from < tenants; from += 20_000)
    await pool.query(
      `INSERT INTO ops_flags ("env","key","tenant_id","config","version","updated_at","updated_by")
       SELECT 'prod', 'f' || k, 't' || t, jsonb_build_object('value', t % 2 = 0), 1, now(), 'seed'
       FROM generate_series($1::int, $2::int) t, generate_series(0, ${FLAGS - 1}) k`,
      [from, Math.min(tenants, from + 20_000) - 1],
    );
  await pool.query("ANALYZE ops_flags");
}

async function seedRedis(redis: Redis, prefix: string, tenants: number): Promise<void> {
  const keys = new RedisKeys(prefix);
  const at = new Date().toISOString();
  const field = (config: unknown) => `1\n${at}\n"seed"\n${JSON.stringify(config)}`;
  await redis.sadd(keys.flagEnvs(), "prod");
  const p0 = redis.pipeline();
  for (let k = 0; k < FLAGS; k++) {
    p0.hset(keys.flagHash("prod", null), `f${k}`, field(GLOBAL));
    p0.zadd(keys.flagIndex("prod", null), 0, `f${k}`);
  }
  p0.sadd(keys.flagScopes("prod", "~g"), "~g");
  await p0.exec();
  for (let from = 0; from < tenants; from += 2000) {
    const p = redis.pipeline();
    for (let t = from; t < Math.min(tenants, from + 2000); t++) {
      const id = `t${t}`;
      const h: Record<string, string> = {};
      for (let k = 0; k < FLAGS; k++) h[`f${k}`] = field({ value: t % 2 === 0 });
      p.hset(keys.flagHash("prod", id), h);
      p.zadd(keys.flagIndex("prod", id), ...Object.keys(h).flatMap((f) => [0, f]));
      p.sadd(keys.flagScopes("prod", id), id);
    }
    await p.exec();
  }
}

async function startIn(store: FlagStore): Promise<{ c: FeatureFlagController; ms: number }> {
  const t0 = performance.now();
  const c = new FeatureFlagController(store, "prod", { startTimeoutMs: 120_000, pollIntervalMs: 0, usageFlushMs: 0 });
  await c.ready();
  return { c, ms: performance.now() - t0 };
}

const bench: BenchCase = {
  name: "flags: 1M records (100,000 tenants x 10 overrides)",
  async run({ quick }) {
    const tenants = Number(process.env.OPS_BENCH_FLAG_TENANTS ?? (quick ? 10_000 : 100_000));
    const records = tenants * FLAGS + FLAGS;
    const group = `flags at scale: ${fmt(records)} records (${fmt(tenants)} tenants x ${FLAGS})`;
    const rows: BenchRow[] = [];
    const ctxs = Array.from({ length: 1024 }, (_, i) => ({ tenantId: `t${(i * 97) % tenants}` }));
    const evalN = quick ? 2_000_000 : 5_000_000;

    // ---- memory: start in-process, eval ratio, stall on change
    {
      const small = new MemoryFlagStore();
      for (let k = 0; k < FLAGS; k++)
        await small.put({ env: "prod", key: `f${k}`, tenantId: null, config: GLOBAL, expectedVersion: null, actor: "seed" });
      const s = await startIn(small);
      const store = new MemoryFlagStore();
      await seedMemory(store, tenants);
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const big = await startIn(store);
      global.gc?.();
      const heapPer = (process.memoryUsage().heapUsed - heap0) / records;
      const keys = Array.from({ length: FLAGS }, (_, k) => `f${k}`);
      const ns10 = evalNs(s.c, keys, ctxs, evalN);
      const nsBig = evalNs(big.c, keys, ctxs, evalN);
      const ch = await changes(big.c, null);
      rows.push(
        {
          group,
          subject: "memory: controller start",
          p50Ms: big.ms,
          note: `heap ${fmt(heapPer)} B/record (controller; store excluded); load ${load()}`,
          ours: true,
        },
        { group, subject: "memory: eval, 10 flags, no overrides", opsPerSec: 1e9 / ns10, note: `${fmt(ns10, 1)} ns/op` },
        {
          group,
          subject: `memory: eval, ${fmt(tenants)} tenants' overrides`,
          opsPerSec: 1e9 / nsBig,
          note: `${fmt(nsBig, 1)} ns/op; ${fmt(nsBig / ns10, 2)}x the 10-flag case (target <= 2x)`,
        },
        {
          group,
          subject: `memory: longest event-loop stall over ${CHANGES} override changes`,
          p99Ms: ch.stallMs,
          note: `target < 20 ms; load ${load()}`,
        },
      );
      await s.c.close();
      await big.c.close();
    }

    // ---- PostgreSQL: child start / RSS, stall in this process, visibility in the child
    const pgUrl = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (!(await tcpUp(pgUrl, 5432))) rows.push({ group, subject: "postgres", note: "skipped: PostgreSQL not reachable" });
    else {
      const schema = `opsbench_flags1m_${process.pid}`;
      const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const pool = new pg.Pool({ connectionString: pgUrl, max: 4, options: `-c search_path="${schema}"` });
      const exec = nodePgExecutor(pool);
      await applyOpsMigrations(exec);
      const stores = postgresStores(exec, { schema, listenUrl: pgUrl });
      try {
        await seedPg(pool, tenants);
        const reader = startReader(["postgres", pgUrl, schema, "f0", "t0"]);
        const r = await reader.ready;
        const w = await startIn(stores.flags);
        const ch = await changes(w.c, reader);
        reader.stop();
        rows.push(
          {
            group,
            subject: "postgres: controller start (fresh process)",
            p50Ms: r.startMs,
            note: `${fmt(r.records)} records; RSS ${fmt(r.rssPerRecord)} B/record, heap ${fmt(r.heapPerRecord)} B/record (RSS ${mb(r.rss)} MB); in this process ${fmt(w.ms)} ms; load ${load()}`,
          },
          {
            group,
            subject: `postgres: longest event-loop stall over ${CHANGES} override changes`,
            p99Ms: ch.stallMs,
            note: "writer process, every record loaded",
          },
          {
            group,
            subject: "postgres: change visible in another process",
            p50Ms: percentile(ch.visible, 50),
            p99Ms: percentile(ch.visible, 99),
            note: `${ch.visible.length}/${CHANGES} seen (LISTEN/NOTIFY, then one record read); target p99 < 50 ms`,
          },
        );
        await w.c.close();
      } finally {
        await stores.close();
        await pool.end();
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
        await admin.end();
      }
    }

    // ---- Redis: child start / RSS, visibility in the child
    const redisUrl = process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379";
    if (!(await tcpUp(redisUrl, 6379))) rows.push({ group, subject: "redis", note: "skipped: Redis not reachable" });
    else {
      const prefix = `opsbench-flags1m-${process.pid}`;
      const redis = new Redis(redisUrl);
      const stores = redisStores(redis, { prefix });
      try {
        await seedRedis(redis, prefix, tenants);
        const reader = startReader(["redis", redisUrl, prefix, "f0", "t0"]);
        const r = await reader.ready;
        const writer = new FeatureFlagController(stores.flags, "prod", { autoStart: false, usageFlushMs: 0 });
        const ch = await changes(writer, reader);
        reader.stop();
        rows.push(
          {
            group,
            subject: "redis: controller start (fresh process)",
            p50Ms: r.startMs,
            note: `${fmt(r.records)} records; RSS ${fmt(r.rssPerRecord)} B/record, heap ${fmt(r.heapPerRecord)} B/record (RSS ${mb(r.rss)} MB); load ${load()}`,
          },
          {
            group,
            subject: "redis: change visible in another process",
            p50Ms: percentile(ch.visible, 50),
            p99Ms: percentile(ch.visible, 99),
            note: `${ch.visible.length}/${CHANGES} seen (pub/sub, then one record read); target p99 < 50 ms`,
          },
        );
        await writer.close();
      } finally {
        await stores.close();
        await dropPrefix(redis, prefix);
        redis.disconnect();
      }
    }
    return rows;
  },
};

export default bench;
