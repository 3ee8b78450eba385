// LISTEN through PgBouncer in transaction mode (OPS_TEST_PGBOUNCER_URL) hears nothing and raises
// nothing. The flag store's self-NOTIFY probe notices: one warning (no URL), then polling every
// second, so a change from another process still arrives; with listenUrl (a direct connection
// for LISTEN) it stays on NOTIFY while every other statement goes through the pooler.
import { ValidationError, type FlagChange } from "@ops/core";
import { testPgBouncerUrl, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodePgExecutor, nodePgListener, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();
const pooled = testPgBouncerUrl();
if (!pooled) {
  const msg = "[adapter-postgres] OPS_TEST_PGBOUNCER_URL is not set (.ci/pgbouncer.sh start prints it)";
  if (process.env.CI) throw new Error(`${msg}: the pooler tests must run under CI`);
  console.warn(`\n!!! ${msg}: SKIPPING the LISTEN-through-PgBouncer tests !!!\n`);
}

async function until(cond: () => boolean, ms: number): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

describe.skipIf(!up || !pooled)("adapter-postgres: flag propagation through PgBouncer (transaction mode)", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let pool: pg.Pool;
  const ends: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    db = await createSchema("poolerlisten");
    pool = new pg.Pool({ connectionString: pooled, max: 4 });
    ends.push(() => pool.end());
  });
  afterAll(async () => {
    for (const end of ends) await end().catch(() => {});
    await db?.drop();
  });

  /** Another process: its own stores over the pooler, writing flags. */
  const writer = () => postgresStores(nodePgExecutor(pool), { schema: db.schema }).flags;

  it("a listener through the pooler: the probe goes unheard, one warning without the URL, then a change from another process arrives by 1 s polling", async () => {
    const client = new pg.Client({ connectionString: pooled });
    await client.connect();
    ends.push(() => client.end());
    const warnings: string[] = [];
    const listener = nodePgListener(client);
    const opts = { schema: db.schema, listener, propagation: { probeTimeoutMs: 500 }, onWarning: (m: string) => warnings.push(m) };
    const stores = postgresStores(nodePgExecutor(pool), opts);
    const second = postgresStores(nodePgExecutor(pool), opts); // same listener: still one warning
    ends.push(
      () => stores.close(),
      () => second.close(),
    );
    const got: FlagChange[] = [];
    stores.flags.subscribe!((c) => got.push(c));
    expect(await until(() => stores.flags.propagation === "polling", 3000)).toBeLessThan(3000);
    expect(await until(() => second.flags.propagation === "polling", 3000)).toBeLessThan(3000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/transaction pooler/);
    expect(warnings[0]).toMatch(/PgBouncer/);
    expect(warnings[0]).toMatch(/listenUrl/);
    expect(warnings[0]).not.toMatch(/postgres:\/\/|127\.0\.0\.1|6432/);

    const env = "env_polled";
    const at = performance.now();
    await writer().put({ env, key: "kill-switch", tenantId: null, config: true, expectedVersion: null, actor: "ops" });
    const ms = await until(() => got.some((c) => c.env === env && c.key === "kill-switch" && c.version === 1), 5000);
    console.log(
      `[pooler] LISTEN unheard -> polling; a change from another process arrived after ${(performance.now() - at).toFixed(0)} ms`,
    );
    expect(ms).toBeLessThan(1600);
    await writer().delete({ env, key: "kill-switch", tenantId: null, expectedVersion: 1 });
    expect(await until(() => got.some((c) => c.env === env && c.key === "kill-switch" && c.version === 0), 3000)).toBeLessThan(3000);
  });

  it("listenUrl (direct) with every statement through the pooler: NOTIFY speed, no warning", async () => {
    const warnings: string[] = [];
    const stores = postgresStores(nodePgExecutor(pool), { schema: db.schema, listenUrl: testPgUrl(), onWarning: (m) => warnings.push(m) });
    ends.push(() => stores.close());
    const got: FlagChange[] = [];
    stores.flags.subscribe!((c) => got.push(c));
    expect(await until(() => stores.flags.propagation === "listen", 3000)).toBeLessThan(3000);
    const env = "env_direct";
    const at = performance.now();
    await writer().put({ env, key: "kill-switch", tenantId: null, config: true, expectedVersion: null, actor: "ops" });
    const ms = await until(() => got.some((c) => c.env === env && c.version === 1), 3000);
    console.log(`[listenUrl] a change from another process arrived after ${(performance.now() - at).toFixed(0)} ms`);
    expect(ms).toBeLessThan(500);
    expect(warnings).toEqual([]);
  });

  it("listenUrl is validated before anything is opened", () => {
    expect(() => postgresStores(nodePgExecutor(pool), { listenUrl: "http://example.org" })).toThrow(ValidationError);
    expect(() => postgresStores(nodePgExecutor(pool), { listenUrl: "http://example.org" })).toThrow(/options\.listenUrl/);
    expect(() => postgresStores(nodePgExecutor(pool), { propagation: { pollIntervalMs: 0 } })).toThrow(
      /options\.propagation\.pollIntervalMs/,
    );
  });
});
