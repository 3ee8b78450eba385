import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, postgresStores } from "@ops/adapter-postgres";
import { redisStores } from "@ops/adapter-redis";
import { ManualClock, type OutboxStore } from "@ops/core";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { createNotifier, createOutboxWorker, webhookChannel, type NotifyLogger, type OutboxDeadLetter } from "../src/index.js";

// One message that cannot succeed in the middle of a batch, on real stores: a receiver that
// refuses it with an answer holding a NUL (text no store keeps as lastError), and a message whose
// payload is not a notification. Each is dead-lettered once, never handed out again; every other
// message of the batch is delivered in the same round.

const redisUp = await requireService("redis");
const pgUp = await requireService("postgres");
const tag = `${process.pid}_${Date.now().toString(36)}`;
const schema = `opstest_relay_notify_${tag}`;
const prefix = `opstest-relay-notify-${tag}`;
const pool = new pg.Pool({ connectionString: testPgUrl(), max: 4 });
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
let server: Server;
let url = "";
const received: string[] = [];

beforeAll(async () => {
  if (pgUp) {
    const c = await pool.connect();
    try {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`SET search_path TO "${schema}"`);
      for (const m of OPS_MIGRATIONS) for (const st of migrationStatements(m.sql)) await c.query(st);
      const me = String((await c.query("SELECT current_user AS me")).rows[0]?.me);
      for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await c.query(st);
    } finally {
      await c.query("RESET search_path").catch(() => {});
      c.release();
    }
  }
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push(body);
      if (body.includes("POISON-SEND")) {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end("refused: bad \u0000 value");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (pgUp) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  if (!redisUp) return redis.disconnect();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

const backends: { name: string; up: boolean; make: () => { outbox: OutboxStore } }[] = [
  { name: "memory", up: true, make: () => memoryStores() },
  { name: "postgres", up: pgUp, make: () => postgresStores(nodePgExecutor(pool), { schema }) },
  { name: "redis", up: redisUp, make: () => redisStores(redis, { prefix }) },
];

for (const b of backends)
  describe.skipIf(!b.up)(`outbox worker on ${b.name}: a message that cannot succeed`, () => {
    it("is dead-lettered once (hook, count, log line); the messages behind it are delivered in the same round", async () => {
      const store = b.make().outbox;
      const clock = new ManualClock(Date.now());
      const channel = `hook${b.name}`;
      const channels = [webhookChannel({ name: channel, url: `${url}/hooks/s3cr3t-path-${b.name}`, timeoutMs: 5000 })];
      const notifier = createNotifier({ store, channels, clock, dedupeWindowMs: 0 });
      const logs: Array<{ e: string; f: Record<string, unknown> }> = [];
      const logger: NotifyLogger = {
        info: (e, f) => logs.push({ e, f: f ?? {} }),
        warn: (e, f) => logs.push({ e, f: f ?? {} }),
        error: (e, f) => logs.push({ e, f: f ?? {} }),
      };
      const dead: OutboxDeadLetter[] = [];
      const worker = createOutboxWorker({
        store,
        channels,
        clock,
        logger,
        leaseMs: 30_000,
        timeoutMs: 5000,
        batchSize: 50,
        onDeadLetter: (d) => dead.push(d),
      });
      const run = Math.random().toString(36).slice(2, 8);
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) {
        const r = await notifier.enqueue({
          subject: i === 4 ? `POISON-SEND ${run}` : `ok ${run} ${i}`,
          body: "b",
          severity: "high",
          tenantId: `t-${run}`,
        });
        ids.push(r.messages[0]!.messageId);
        clock.advance(1);
      }
      // A message no notifier wrote: its payload is not a notification.
      const junk = await store.enqueue({
        message: {
          id: `msg_junk_${run}`,
          tenantId: `t-${run}`,
          channel,
          payload: { junk: true },
          idempotencyKey: `junk-${run}`,
          createdAt: new Date(clock.now()).toISOString(),
        },
      });
      clock.advance(1);

      const first = await worker.runOnce();
      expect(first).toMatchObject({ claimed: 10, delivered: 8, dead: 2, retried: 0 });
      const mine = () => received.filter((r) => r.includes(run));
      expect(mine().filter((r) => r.includes("POISON-SEND"))).toHaveLength(1);
      expect(mine()).toHaveLength(9);
      expect(dead.map((d) => d.messageId).sort()).toEqual([ids[4]!, junk.id].sort());
      for (const d of dead) {
        expect(d.reason).not.toContain("\u0000");
        expect(d.reason).not.toContain("s3cr3t");
      }
      expect(dead.find((d) => d.messageId === ids[4])!.reason).toContain("HTTP 400");
      expect(dead.find((d) => d.messageId === junk.id)!.reason).toContain("malformed message");
      expect(worker.stats().byChannel[channel]).toMatchObject({ delivered: 8, dead: 2, permanentFailures: 2 });
      const lines = logs.filter((l) => l.e === "notify.dead_letter");
      expect(lines).toHaveLength(2);
      expect(JSON.stringify(lines)).not.toContain("s3cr3t");
      expect(await store.get({ id: ids[4]! })).toMatchObject({ status: "dead" });
      expect(await store.get({ id: junk.id })).toMatchObject({ status: "dead" });
      for (const [i, id] of ids.entries()) if (i !== 4) expect(await store.get({ id })).toMatchObject({ status: "delivered" });

      // Long after every lease: nothing is handed out again.
      clock.advance(10 * 60_000);
      const later = await worker.runOnce();
      expect(later.claimed).toBe(0);
      expect(mine()).toHaveLength(9);
      expect(dead).toHaveLength(2);
      await worker.stop();
    });
  });
