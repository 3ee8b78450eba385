import { writeIsolated, ValidationError, type AuthEventRecord } from "@ops/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodePgExecutor, postgresStores, type PgExecutor } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();
const BUCKET = 60_000;

/** An executor that keeps every statement it runs (to EXPLAIN what the store really sends). */
function recording(exec: PgExecutor, into: Array<{ text: string; params: readonly unknown[] }>): PgExecutor {
  return {
    query: (text, params) => (into.push({ text, params }), exec.query(text, params)),
    transaction: (fn) => exec.transaction((tx) => fn(recording(tx, into))),
  };
}

describe.skipIf(!up)("PostgreSQL counters: set-based detection and batched adds", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  beforeAll(async () => {
    db = await createSchema("setb");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("readActive with having is one GROUP BY tenant HAVING statement over ops_counters_active_idx", async () => {
    const seen: Array<{ text: string; params: readonly unknown[] }> = [];
    const stores = postgresStores(recording(nodePgExecutor(db.pool), seen), { schema: db.schema });
    const b0 = Math.floor(Date.now() / BUCKET) * BUCKET - 30 * BUCKET;
    // 3,000 tenants with an hour of history on other keys and bucket sizes (rows the query must not
    // touch), 200 of them active in the range, 5 of those hot.
    const adds = [];
    for (let t = 0; t < 3_000; t++)
      for (let b = 0; b < 6; b++)
        adds.push({ tenantId: `t${t}`, key: "ev:OTHER", atMs: b0 + b * BUCKET, bucketMs: BUCKET, by: 1, ttlMs: 7_200_000 });
    for (let t = 0; t < 200; t++)
      adds.push({
        tenantId: `t${t}`,
        key: "ev:LOGIN_FAILED",
        atMs: b0 + 28 * BUCKET,
        bucketMs: BUCKET,
        by: t < 5 ? 50 : 1,
        ttlMs: 7_200_000,
      });
    for (let i = 0; i < adds.length; i += 5_000) await stores.counters.incrementMany(adds.slice(i, i + 5_000));
    await db.pool.query(`ANALYZE "${db.schema}"."ops_counters"`);
    seen.length = 0;
    const having = [{ keys: ["ev:LOGIN_FAILED"], fromMs: b0 + 27 * BUCKET, toMs: b0 + 29 * BUCKET, min: 40 }];
    const got = await stores.counters.readActive({
      keys: ["ev:LOGIN_FAILED", "breach:X"],
      bucketMs: BUCKET,
      fromMs: b0,
      toMs: b0 + 31 * BUCKET,
      having,
    });
    expect(got.map((s) => s.tenantId).sort()).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.text).toMatch(/GROUP BY "tenant_id"\s+HAVING/);
    const client = await db.pool.connect();
    try {
      // Priced as on a large table (the 18,000-row test table would otherwise be read whole).
      await client.query("SET enable_seqscan = off");
      const plan = await client.query(`EXPLAIN (FORMAT JSON) ${seen[0]!.text}`, seen[0]!.params as unknown[]);
      const text = JSON.stringify(plan.rows[0]);
      expect(text).toContain("ops_counters_active_idx");
      expect(text).not.toContain('"Seq Scan"');
      // Without having: one aggregate too, on the same index.
      seen.length = 0;
      await stores.counters.readActive({ keys: ["ev:LOGIN_FAILED"], bucketMs: BUCKET, fromMs: b0, toMs: b0 + 31 * BUCKET });
      const plain = await client.query(`EXPLAIN (FORMAT JSON) ${seen[0]!.text}`, seen[0]!.params as unknown[]);
      expect(JSON.stringify(plain.rows[0])).toContain("ops_counters_active_idx");
    } finally {
      await client.query("RESET enable_seqscan");
      client.release();
    }
    await stores.close();
  });

  it("incrementMany: one statement per call; concurrent calls over the same rows in opposite orders neither deadlock nor lose adds", async () => {
    const seen: Array<{ text: string; params: readonly unknown[] }> = [];
    const stores = postgresStores(recording(nodePgExecutor(db.pool), seen), { schema: db.schema });
    const at = Math.floor(Date.now() / BUCKET) * BUCKET;
    const adds = Array.from({ length: 500 }, (_, i) => ({ tenantId: `c${i}`, key: "ev:X", atMs: at, bucketMs: BUCKET, ttlMs: 3_600_000 }));
    const reversed = [...adds].reverse();
    await Promise.all(Array.from({ length: 8 }, (_, i) => stores.counters.incrementMany(i % 2 ? adds : reversed)));
    // One upsert per call (the start-up role check is another statement, not one of these).
    expect(seen.filter((s) => s.text.includes("unnest") && s.text.includes("ops_counters"))).toHaveLength(8);
    for (const t of ["c0", "c250", "c499"])
      expect(await stores.counters.sum({ tenantId: t, key: "ev:X", bucketMs: BUCKET, fromMs: at, toMs: at + BUCKET })).toBe(8);
    await stores.close();
  });

  it("a value PostgreSQL itself rejects is isolated: the store's ValidationError, every other record stored", async () => {
    const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
    const at = new Date().toISOString();
    const records: AuthEventRecord[] = Array.from({ length: 500 }, (_, i) => ({
      id: `ae_poison_${i}`,
      type: "LOGIN_FAILED",
      occurredAt: at,
      tenantId: "tp",
      userId: i === 250 ? "nul\u0000user" : `u${i}`,
    }));
    const res = await writeIsolated(records, async (batch) => {
      await stores.authEvents.append({ events: batch });
    });
    expect(res.stored).toBe(499);
    expect(res.pending).toEqual([]);
    expect(res.rejected.map((r) => r.record.id)).toEqual(["ae_poison_250"]);
    expect(res.rejected[0]!.error).toBeInstanceOf(ValidationError);
    // Refused by the core's storable-text guard before PostgreSQL (22021) would: either way alone.
    expect(res.rejected[0]!.reason).toMatch(/22021|no NUL characters/);
    expect(res.rejected[0]!.reason).not.toContain("nul");
    // Counters: a key PostgreSQL cannot store (NUL) is refused by the statement; its neighbours are not.
    const t0 = Math.floor(Date.now() / BUCKET) * BUCKET;
    const adds = ["k1", "bad\u0000key", "k2"].map((key) => ({ tenantId: "tp", key, atMs: t0, bucketMs: BUCKET }));
    const c = await writeIsolated(adds, async (batch) => {
      await stores.counters.incrementMany(batch);
    });
    expect(c.stored).toBe(2);
    expect(c.rejected.map((r) => r.record.key)).toEqual(["bad\u0000key"]);
    expect(await stores.counters.sum({ tenantId: "tp", key: "k2", bucketMs: BUCKET, fromMs: t0, toMs: t0 + BUCKET })).toBe(1);
    await stores.close();
  });
});
