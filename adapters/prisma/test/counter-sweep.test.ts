import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomKey, randomTenant, requireService } from "@ops/testkit";
import { PrismaCounterStore } from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: counter housekeeping never fails an increment that committed", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("ctrsweep");
    prisma = await db.client();
    // The expired-bucket sweep fails (as it would on a lost connection, a lock timeout or a role
    // without DELETE), while the increments themselves succeed.
    await db.pool.query(`CREATE FUNCTION ops_test_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'no delete here' USING ERRCODE = 'lock_not_available'; END; $$`);
    await db.pool.query(
      `CREATE TRIGGER ops_test_no_delete BEFORE DELETE ON ops_counters FOR EACH ROW EXECUTE FUNCTION ops_test_no_delete()`,
    );
  });
  afterAll(async () => db?.drop());

  it("1,100 increments (one sweep among them, failing): every one resolves, running totals 1..1100, no double count", async () => {
    const store = new PrismaCounterStore(prisma);
    const t = randomTenant();
    const key = randomKey();
    const atMs = Date.now();
    // An expired bucket for the sweep to try to delete.
    await db.pool.query(
      `INSERT INTO ops_counters (tenant_id, key, bucket_ms, start_ms, count, expires_at) VALUES ($1, $2, 1000, 0, 1, now() - interval '1 day')`,
      [t, `${key}-old`],
    );
    const totals: number[] = [];
    for (let i = 0; i < 1100; i++) totals.push(await store.increment({ tenantId: t, key, atMs, bucketMs: 3_600_000 }));
    expect(totals).toEqual(Array.from({ length: 1100 }, (_, i) => i + 1));
  }, 60_000);
});
