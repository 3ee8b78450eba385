import { randomTenant, requireService, testPgUrl } from "@ops/testkit";
import type { SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleStores, type DrizzleDatabase, type DrizzleExecutor } from "../src/index.js";
import { chainRecords } from "./support/audit-records.js";
import { createPgSchema } from "./support/harness.js";

const pgUp = await requireService("postgres");

/** A database that records every statement the stores send. */
function recording(db: DrizzleDatabase, into: SQL[]): DrizzleDatabase {
  const wrap = (e: DrizzleExecutor): DrizzleExecutor => ({ execute: (q) => (into.push(q), e.execute(q)) });
  return { execute: (q) => (into.push(q), db.execute(q)), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
}

/**
 * "An index for every query path": every statement the stores issue is planned with sequential
 * scans priced out (`enable_seqscan = off`); a "Seq Scan" on an @ops table in any plan means
 * that path has no usable index.
 */
describe.skipIf(!pgUp)("every store query has an index (EXPLAIN on PostgreSQL)", () => {
  let schema: { schema: string; drop: () => Promise<void> };
  let pool: pg.Pool;
  beforeAll(async () => {
    schema = await createPgSchema("plans");
    pool = new pg.Pool({ connectionString: testPgUrl(), max: 2 });
  });
  afterAll(async () => {
    await pool.end();
    await schema.drop();
  });

  it("no plan of any store method scans an @ops table sequentially", async () => {
    const statements: SQL[] = [];
    const s = drizzleStores(recording(drizzle(pool), statements), { schema: schema.schema });
    const t = randomTenant();
    const at = "2030-01-01T00:00:00.000Z";

    const recs = chainRecords(t, 3, null, () => ({ subject: { id: "s" }, target: { id: "d" }, correlationId: "c" }));
    await s.audit.append({ tenantId: t, records: recs.slice(0, 1) });
    await s.audit.append({ tenantId: t, records: recs.slice(1) });
    await s.audit.append({ tenantId: null, records: chainRecords(null, 1) }).catch(() => {});
    await s.audit.head({ tenantId: t });
    await s.audit.range({ tenantId: t, fromSeq: 1, toSeq: 3 });
    for (const q of [
      { actorId: "user-0" },
      { subjectId: "s" },
      { targetId: "d" },
      { actions: ["DATA_ACCESS"] },
      { correlationId: "c" },
      { from: at, to: at },
    ])
      await s.audit.query({ tenantId: t, ...q });
    await s.audit.query({ tenantId: t, order: "desc", limit: 1 });
    await s.audit.chains({ limit: 5 });

    const key = { keyId: `k-${t}`, tenantId: t, subjectId: "s", key: new Uint8Array(32), createdAt: at };
    await s.auditKeys.getOrCreate({ candidate: key });
    await s.auditKeys.getOrCreate({ candidate: { ...key, keyId: `k2-${t}` } });
    await s.auditKeys.get({ tenantId: t, keyId: key.keyId });
    await s.auditKeys.destroy({ tenantId: t, subjectId: "s" });

    const f = { env: "prod", key: "k", tenantId: t };
    await s.flags.put({ ...f, config: 1, expectedVersion: null, actor: "a" });
    await s.flags.put({ ...f, config: 2, expectedVersion: 1, actor: "a" });
    await s.flags.put({ ...f, config: 2, expectedVersion: 9, actor: "a" }).catch(() => {});
    await s.flags.list({ env: "prod", tenantId: t, limit: 1 });
    await s.flags.snapshot({ env: "prod" });
    await s.flags.delete({ ...f, expectedVersion: 2 });

    const inc = {
      id: `i-${t}`,
      tenantId: t,
      fingerprint: "fp",
      type: "X",
      severity: "high" as const,
      state: "open" as const,
      title: "x",
      openedAt: at,
      updatedAt: at,
      data: {},
    };
    await s.incidents.create({ record: inc });
    await s.incidents.get({ tenantId: t, id: inc.id });
    await s.incidents.findActive({ tenantId: t, fingerprint: "fp" });
    await s.incidents.update({ tenantId: t, id: inc.id, expectedVersion: 1, patch: { state: "acknowledged" } });
    await s.incidents.list({ tenantId: t, states: ["open"], types: ["X"], limit: 1 });
    const page = await s.incidents.list({ tenantId: t, limit: 1 });
    await s.incidents.list({ tenantId: t, limit: 1, cursor: page.nextCursor ?? null });
    await s.incidents.scan({ states: ["open"], limit: 1 });
    await s.incidents.putModel({ tenantId: t, name: "triage", model: {}, expectedVersion: null, updatedAt: at });
    await s.incidents.putModel({ tenantId: t, name: "triage", model: {}, expectedVersion: 1, updatedAt: at });
    await s.incidents.getModel({ tenantId: t, name: "triage" });

    await s.authEvents.append({
      events: [{ id: `e-${t}`, type: "LOGIN_FAILED", occurredAt: at, tenantId: t, userId: "u", ip: "1.2.3.4" }],
    });
    for (const q of [{}, { types: ["LOGIN_FAILED"] }, { userId: "u" }, { ip: "1.2.3.4" }, { from: at, to: at }])
      await s.authEvents.list({ tenantId: t, limit: 1, ...q });
    await s.authEvents.countByType({ tenantId: t, from: at, to: at });
    await s.authEvents.prune({ before: "2000-01-01T00:00:00.000Z" });

    await s.counters.increment({ tenantId: t, key: "k", atMs: Date.now(), bucketMs: 60_000, windowBuckets: 5 });
    await s.counters.read({ tenantId: t, key: "k", bucketMs: 60_000, fromMs: 0, toMs: Date.now() + 60_000 });
    await s.counters.sum({ tenantId: t, key: "k", bucketMs: 60_000, fromMs: 0, toMs: Date.now() + 60_000 });
    await s.counters.prune();

    const msg = { id: `m-${t}`, tenantId: t, channel: "slack", payload: {}, idempotencyKey: `idem-${t}`, createdAt: at };
    await s.outbox.enqueue({ message: msg });
    await s.outbox.enqueue({ message: { ...msg, id: `m2-${t}` } });
    await s.outbox.claim({ workerId: "w", limit: 5, leaseMs: 1000, now: at, channels: ["slack"] });
    await s.outbox.fail({ id: msg.id, workerId: "w", error: "x", now: at, final: "dead" });
    await s.outbox.requeue({ id: msg.id, now: at });
    await s.outbox.claim({ workerId: "w", limit: 5, leaseMs: 1000, now: at });
    await s.outbox.complete({ id: msg.id, workerId: "w", now: at });
    await s.outbox.get({ id: msg.id });
    await s.outbox.findByIdempotencyKey({ tenantId: msg.tenantId, idempotencyKey: msg.idempotencyKey });
    for (const q of [
      {},
      { status: "pending" as const },
      { tenantId: t },
      { channel: "slack" },
      { status: "delivered" as const, tenantId: t },
    ])
      await s.outbox.list({ limit: 1, ...q });

    const dialect = new PgDialect();
    const client = await pool.connect();
    const offenders: string[] = [];
    try {
      await client.query("BEGIN");
      await client.query("SET LOCAL enable_seqscan = off");
      for (const statement of statements) {
        const q = dialect.sqlToQuery(statement);
        if (/^\s*(SET|SELECT set_config|VACUUM)/i.test(q.sql)) continue;
        const plan = (await client.query(`EXPLAIN ${q.sql}`, q.params as unknown[])).rows
          .map((r: Record<string, string>) => r["QUERY PLAN"])
          .join("\n");
        if (/Seq Scan on ops_/.test(plan)) offenders.push(`${q.sql.replace(/\s+/g, " ").slice(0, 160)}\n${plan}`);
      }
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
    expect(statements.length).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });
});
