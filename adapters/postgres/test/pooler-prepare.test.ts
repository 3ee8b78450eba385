// postgres.js behind a transaction pooler (PgBouncer pool_mode=transaction, OPS_TEST_PGBOUNCER_URL):
// with prepare: true (its default) the COMMIT of sql.begin is a prepared statement that can land
// on another server connection and roll back silently, so the stores refuse such a client before
// their first statement; with prepare: false every acknowledged write is stored.
import { ConfigError } from "@ops/core";
import { testPgBouncerUrl, testPgUrl } from "@ops/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPostgresJsClient, postgresJsExecutor, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();
const pooled = testPgBouncerUrl();
if (!pooled) {
  const msg = "[adapter-postgres] OPS_TEST_PGBOUNCER_URL is not set (.ci/pgbouncer.sh start prints it)";
  if (process.env.CI) throw new Error(`${msg}: the pooler tests must run under CI`);
  console.warn(`\n!!! ${msg}: SKIPPING the postgres.js-through-PgBouncer tests !!!\n`);
}

const message = (i: number, tag: string) => ({
  id: `msg_${tag}_${i}`,
  tenantId: `t_${tag}`,
  channel: "log",
  payload: { i },
  idempotencyKey: `k_${tag}_${i}`,
  createdAt: new Date().toISOString(),
});

describe.skipIf(!up || !pooled)("adapter-postgres: postgres.js through PgBouncer in transaction mode", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  const opened: Array<ReturnType<typeof postgres>> = [];
  const client = (url: string, prepare: boolean) => {
    const sql = postgres(url, { prepare, max: 8, onnotice: () => {} });
    opened.push(sql);
    return sql;
  };
  const stored = async (tag: string) =>
    Number((await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".ops_outbox WHERE tenant_id = $1`, [`t_${tag}`])).rows[0].n);

  beforeAll(async () => {
    db = await createSchema("pooler");
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.end({ timeout: 1 })));
    await db?.drop();
  });

  it("prepare: true through the pooler is refused before the first write, with a ConfigError naming prepare: false", async () => {
    const sql = client(pooled!, true);
    await expect(checkPostgresJsClient(sql)).rejects.toThrow(/prepare: false/);
    const stores = postgresStores(postgresJsExecutor(sql), { schema: db.schema });
    const err = await stores.outbox.enqueue({ message: message(0, "refused") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("CONFIG");
    expect((err as Error).message).toMatch(/postgres\(url, \{ prepare: false \}\)/);
    expect((err as Error).message).not.toContain("127.0.0.1");
    // Joining the app's own transaction is refused too (its COMMIT is the one that gets lost).
    const inTx = await sql
      .begin((tx) => stores.outbox.enqueue({ message: message(1, "refused"), tx: postgresJsExecutor(tx) }))
      .catch((e: unknown) => e);
    expect(inTx).toBeInstanceOf(ConfigError);
    expect(await stored("refused")).toBe(0);
  });

  it("prepare: true on a direct connection passes the check and stores", async () => {
    const sql = client(testPgUrl(), true);
    await expect(checkPostgresJsClient(sql)).resolves.toBeUndefined();
    const stores = postgresStores(postgresJsExecutor(sql), { schema: db.schema });
    await sql.begin((tx) => stores.outbox.enqueue({ message: message(0, "direct"), tx: postgresJsExecutor(tx) }));
    expect(await stored("direct")).toBe(1);
  });

  it("prepare: false through the pooler: 200 acknowledged enqueues in the app's transactions and 600 counter increments, all stored", async () => {
    const sql = client(pooled!, false);
    await expect(checkPostgresJsClient(sql)).resolves.toBeUndefined();
    const stores = postgresStores(postgresJsExecutor(sql), { schema: db.schema });
    let acknowledged = 0;
    // 8 workers over 200 transactions: clients share the pooler's server connections.
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < 200; i += 8) {
          await sql.begin(async (tx) => {
            await tx`SELECT 1`; // a tagged (preparable) statement of the app in the same transaction
            await stores.outbox.enqueue({ message: message(i, "unprepared"), tx: postgresJsExecutor(tx) });
          });
          acknowledged++;
        }
      }),
    );
    expect(acknowledged).toBe(200);
    expect(await stored("unprepared")).toBe(200);
    const at = Date.now();
    let last = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 75; i++)
          last = Math.max(last, await stores.counters.increment({ tenantId: "t_count", key: "c", atMs: at, bucketMs: 60_000 }));
      }),
    );
    expect(last).toBe(600);
    expect(await stores.counters.sum({ tenantId: "t_count", key: "c", bucketMs: 60_000, fromMs: at - 60_000, toMs: at + 60_000 })).toBe(
      600,
    );
  });
});
