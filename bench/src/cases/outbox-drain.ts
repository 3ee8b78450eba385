// Outbox drain: a 10,000-message backlog (after an outage) delivered by ONE worker at the default
// settings to a real webhook receiver on loopback. Target (issue #18): under 60 s, none lost;
// duplicates counted (by idempotency key at the receiver).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { applyOpsMigrations, nodePgExecutor, postgresStores } from "@ops/adapter-postgres";
import { redisStores } from "@ops/adapter-redis";
import type { OutboxStore } from "@ops/core";
import { createNotifier, createOutboxWorker, webhookChannel } from "@ops/notify";
import { dropPrefix, tcpUp } from "../lib/scale.js";
import type { BenchCase, BenchRow } from "../types.js";

async function drain(backend: string, store: OutboxStore, backlog: number): Promise<BenchRow> {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const key = String(req.headers["x-ops-idempotency-key"]);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const channels = [webhookChannel({ name: "hook", url })];
  const notifier = createNotifier({ store, channels, dedupeWindowMs: 0 });
  for (let i = 0; i < backlog; i++) await notifier.enqueue({ id: `n-${i}`, subject: `alert ${i}`, body: "backlog", severity: "high" });
  const silent = { info() {}, warn() {}, error() {} };
  const worker = createOutboxWorker({ store, channels, logger: silent }); // defaults
  const t0 = process.hrtime.bigint();
  worker.start();
  const deadline = Date.now() + 180_000;
  while (seen.size < backlog && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await worker.stop();
  server.close();
  let dups = 0;
  for (const n of seen.values()) dups += n - 1;
  return {
    group: "notify: outbox drain of a backlog, one worker, defaults",
    subject: `@ops/notify worker (${backend} outbox)`,
    opsPerSec: seen.size / s,
    ours: backend === "memory",
    note: `${backlog.toLocaleString("en-US")} backlog: ${seen.size.toLocaleString("en-US")} delivered in ${s.toFixed(1)} s; lost ${backlog - seen.size}; duplicates ${dups}; target < 60 s`,
  };
}

const bench: BenchCase = {
  name: "notify: outbox drain",
  async run({ quick }) {
    const backlog = quick ? 2_000 : 10_000;
    const rows: BenchRow[] = [await drain("memory", new MemoryOutboxStore(), backlog)];
    const pgUrl = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (!(await tcpUp(pgUrl, 5432)))
      rows.push({ group: rows[0]!.group, subject: "@ops/adapter-postgres", note: "skipped: PostgreSQL not reachable" });
    else {
      const schema = `opsbench_outbox_${process.pid}`;
      const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const pool = new pg.Pool({ connectionString: pgUrl, max: 10, options: `-c search_path="${schema}"` });
      try {
        const exec = nodePgExecutor(pool);
        await applyOpsMigrations(exec);
        const stores = postgresStores(exec, { schema });
        rows.push(await drain("postgres", stores.outbox, backlog));
        await stores.close();
      } finally {
        await pool.end();
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
        await admin.end();
      }
    }
    const url = process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379";
    if (!(await tcpUp(url, 6379)))
      return [...rows, { group: rows[0]!.group, subject: "@ops/adapter-redis", note: "skipped: Redis not reachable" }];
    const redis = new Redis(url);
    const prefix = `opsbench-outbox-${process.pid}`;
    try {
      const stores = redisStores(redis, { prefix });
      rows.push(await drain("redis", stores.outbox, backlog));
      await stores.close();
    } finally {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    return rows;
  },
};

export default bench;
