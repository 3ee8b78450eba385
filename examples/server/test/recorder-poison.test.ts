// Issue #23 item 3 on the shared stores: a record PostgreSQL or Redis rejects in the middle of a
// recorder flush is dead-lettered and every other record is stored at once (the memory case and
// the scenario's origin: packages/incidents/test/recorder-poison.test.ts).
import { drizzleStores, opsRoleSetupStatements } from "@ops/adapter-drizzle";
import { redisStores } from "@ops/adapter-redis";
import { ValidationError, type AuthEventStore, type CounterAdd, type CounterStore } from "@ops/core";
import { createSignalRecorder, type RecorderDeadLetter } from "@ops/incidents";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { Cluster, Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleMigrationsFolder } from "../src/storage.js";

/** Rejects (as a store would: a non-retryable @ops error) every batch holding an event of user "poison". */
function poisonEvents(store: AuthEventStore): AuthEventStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "append")
        return async (input: Parameters<AuthEventStore["append"]>[0]) => {
          if (input.events.some((e) => e.userId === "poison"))
            throw new ValidationError("[ops/test] authEvents.append: a value cannot be stored (22021: test)");
          return target.append(input);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Rejects every counter add (batched or not) of tenant "t-poison"; `batched: false` hides incrementMany. */
function poisonCounters(store: CounterStore, batched = true): CounterStore {
  const bad = (a: CounterAdd) => a.tenantId === "t-poison";
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "increment")
        return async (a: CounterAdd) => {
          if (bad(a)) throw new ValidationError("[ops/test] counters.increment: a value cannot be stored (22021: test)");
          return target.increment(a);
        };
      if (prop === "incrementMany" && (!batched || !target.incrementMany)) return undefined;
      if (prop === "incrementMany")
        return async (adds: CounterAdd[]) => {
          if (adds.some(bad)) throw new ValidationError("[ops/test] counters.incrementMany: a value cannot be stored (22021: test)");
          return target.incrementMany!(adds);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * One poison event and one poison tenant's counts in the middle of a 1,000-event flush: the flush
 * resolves, the poison records are dead-lettered (counted, reported with a reason), every other
 * event and count is stored at once, and a clean event sent next is stored within a second.
 */
async function poisonScenario(counters: CounterStore, authEvents: AuthEventStore, batched: boolean): Promise<void> {
  const dead: RecorderDeadLetter[] = [];
  const rec = createSignalRecorder({
    counters: poisonCounters(counters, batched),
    authEvents: poisonEvents(authEvents),
    onDeadLetter: (d) => dead.push(d),
    batchSize: 500,
  });
  const run = `r${Math.random().toString(36).slice(2, 8)}`;
  const now = Date.now();
  for (let i = 0; i < 1_000; i++)
    rec.recordAuthEvent({
      type: "LOGIN_FAILED",
      tenantId: i === 600 ? "t-poison" : `${run}-${i % 20}`,
      userId: i === 500 ? "poison" : `u${i}`,
      ip: "10.0.0.1",
      occurredAt: now,
    });
  await rec.flush();
  const st = rec.stats();
  expect(st.flushedEvents).toBe(999);
  expect(st.flushErrors).toBe(0);
  expect(st.buffered).toBe(0);
  const events = dead.filter((d) => d.kind === "event");
  expect(events).toHaveLength(1);
  expect(events[0]!.reason).toContain("VALIDATION");
  expect(dead.some((d) => d.kind === "counter" && d.tenantId === "t-poison")).toBe(true);
  expect(st.deadLettered).toBe(dead.length);
  const from = new Date(now - 60_000).toISOString();
  const to = new Date(now + 60_000).toISOString();
  let stored = 0;
  for (let t = 0; t < 20; t++) stored += (await authEvents.countByType({ tenantId: `${run}-${t}`, from, to })).LOGIN_FAILED ?? 0;
  expect(stored).toBe(998); // 1,000 minus the poison event and the poison tenant's event
  const bucket = Math.floor(now / 60_000) * 60_000;
  expect(
    await counters.sum({ tenantId: `${run}-3`, key: "ev:LOGIN_FAILED", bucketMs: 60_000, fromMs: bucket, toMs: bucket + 60_000 }),
  ).toBe(50);
  // Nothing is retried: the next flush stores a clean event at once.
  rec.recordAuthEvent({ type: "LOGIN_SUCCEEDED", tenantId: `${run}-0`, userId: "clean", occurredAt: now });
  const t0 = Date.now();
  await rec.flush();
  expect(Date.now() - t0).toBeLessThan(1_000);
  expect((await authEvents.countByType({ tenantId: `${run}-0`, from, to })).LOGIN_SUCCEEDED).toBe(1);
  expect(rec.stats().deadLettered).toBe(dead.length);
  await rec.close();
}

const pgUp = await requireService("postgres");
const redisUp = await requireService("redis");

describe.skipIf(!pgUp)("recorder poison on PostgreSQL (Drizzle, node-postgres)", () => {
  const schema = `ops_poison_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  let pool: pg.Pool;
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.end();
    pool = new pg.Pool({ connectionString: testPgUrl(), max: 4, options: `-c search_path="${schema}"` });
    await migrate(drizzle(pool), { migrationsFolder: drizzleMigrationsFolder(), migrationsSchema: schema });
    // The migrating role (CI: the non-superuser ops_test, owner under FORCE RLS) gets the service policy.
    const me = String((await pool.query("SELECT current_user AS me")).rows[0]?.me);
    for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await pool.query(st);
  });
  afterAll(async () => {
    await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool?.end();
  });

  it("a rejected event and a rejected tenant's counts in the middle of a flush: dead-lettered, the rest stored", async () => {
    const s = drizzleStores(drizzle(pool));
    await poisonScenario(s.counters, s.authEvents, true);
    await s.close();
  });

  it("a value PostgreSQL itself refuses (NUL in a user id, when the recorder lets it through) never blocks the flush", async () => {
    const s = drizzleStores(drizzle(pool));
    const dead: RecorderDeadLetter[] = [];
    const rec = createSignalRecorder({ counters: s.counters, authEvents: s.authEvents, onDeadLetter: (d) => dead.push(d) });
    const now = Date.now();
    try {
      rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "tnul", userId: "nul\u0000user", ip: "10.0.0.9", occurredAt: now });
    } catch (err) {
      // Refused at the boundary (input checks): nothing reaches the store, which is fine too.
      expect(err).toBeInstanceOf(ValidationError);
      return;
    }
    for (let i = 0; i < 200; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "tnul", userId: `u${i}`, occurredAt: now });
    await rec.flush();
    // The event row and the identity counter (its key holds the NUL) are refused by PostgreSQL alone.
    expect(dead.map((d) => d.kind).sort()).toEqual(["counter", "event"]);
    for (const d of dead) expect(d.reason).toContain("22021");
    // The reason names the SQLSTATE, never the value.
    for (const d of dead) expect(`${d.type} ${d.reason}`).not.toMatch(/\u0000|nul.user|10\.0\.0\.9/);
    const from = new Date(now - 60_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    expect((await s.authEvents.countByType({ tenantId: "tnul", from, to })).LOGIN_FAILED).toBe(200);
    await rec.close();
    await s.close();
  });
});

describe.skipIf(!redisUp)("recorder poison on Redis", () => {
  it("single server", async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `ops-poison-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    try {
      const s = redisStores(redis, { prefix });
      await poisonScenario(s.counters, s.authEvents, true);
      await s.close();
    } finally {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== "0");
      redis.disconnect();
    }
  });

  const nodes = (process.env.OPS_TEST_REDIS_CLUSTER ?? "").split(",").filter(Boolean);
  it.skipIf(nodes.length === 0)("Redis Cluster (adds pipelined per node)", async () => {
    const cluster = new Cluster(nodes.map((n) => ({ host: n.split(":")[0]!, port: Number(n.split(":")[1]) })));
    const prefix = `ops-poison-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    try {
      const s = redisStores(cluster, { prefix });
      await poisonScenario(s.counters, s.authEvents, true);
      await s.close();
    } finally {
      cluster.disconnect();
    }
  });
});
