// A child process of the flags-scale case: loads every flag of "prod" from PostgreSQL or Redis into
// a FeatureFlagController, reports start time and memory per record, then prints every value of
// (flag, tenant) it sees change. Protocol (stdout, one JSON per line): {"ready":true,...} once
// loaded, then {"value":..,"at":epochMs}. Exits when stdin ends.
import { Redis } from "ioredis";
import pg from "pg";
import { nodePgExecutor, postgresStores } from "@ops/adapter-postgres";
import { redisStores } from "@ops/adapter-redis";
import type { FlagStore } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";

const [backend, url, where, key, tenantId] = process.argv.slice(2) as [string, string, string, string, string];
const now = () => performance.timeOrigin + performance.now();
let close: () => Promise<void>;
let store: FlagStore;
if (backend === "postgres") {
  const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path="${where}"` });
  const stores = postgresStores(nodePgExecutor(pool), { schema: where, listenUrl: url });
  store = stores.flags;
  close = async () => {
    await stores.close();
    await pool.end();
  };
} else {
  const redis = new Redis(url);
  const stores = redisStores(redis, { prefix: where });
  store = stores.flags;
  close = async () => {
    await stores.close();
    redis.disconnect();
  };
}
global.gc?.();
const rss0 = process.memoryUsage().rss;
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const flags = new FeatureFlagController(store, "prod", { startTimeoutMs: 120_000, pollIntervalMs: 0, usageFlushMs: 0 });
await flags.ready();
const startMs = performance.now() - t0;
global.gc?.();
const m = process.memoryUsage();
const records = flags.localState.size;
const ctx = { tenantId };
let last = flags.isEnabled(key as never, ctx, false);
flags.watch(() => {
  const value = flags.isEnabled(key as never, ctx, false);
  if (value !== last) {
    last = value;
    process.stdout.write(`${JSON.stringify({ value, at: now() })}\n`);
  }
});
process.stdout.write(
  `${JSON.stringify({ ready: true, value: last, startMs, records, rssPerRecord: (m.rss - rss0) / records, heapPerRecord: (m.heapUsed - heap0) / records, rss: m.rss })}\n`,
);
process.stdin.resume();
process.stdin.on("end", async () => {
  await flags.close();
  await close();
  process.exit(0);
});
