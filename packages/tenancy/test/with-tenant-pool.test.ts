import { ValidationError } from "@ops/core";
import { requireService, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { withCurrentTenant, withTenant, withTenantConnection } from "../src/index.js";

const up = await requireService("postgres");

describe.skipIf(!up)("withTenant refuses a pool (its queries would run on different connections)", () => {
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 2 });
  afterAll(() => pool.end());

  it("at run time: a ValidationError that explains pool.connect(), before any query", async () => {
    let queries = 0;
    pool.on("connect", () => void queries++);
    const fn = async () => "ran";
    // @ts-expect-error a Pool does not satisfy the parameter type
    const err = await withTenant(pool, "acme", fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/needs one connection, not a pool/);
    expect((err as Error).message).toMatch(/pool\.connect\(\)/);
    expect((err as Error).message).toMatch(/withTenantConnection/);
    expect(queries).toBe(0);
    // @ts-expect-error the same for withCurrentTenant
    await expect(withCurrentTenant(pool, fn)).rejects.toBeInstanceOf(ValidationError);
  });

  it("one connection (pool.connect()) and withTenantConnection(pool) work", async () => {
    const client = await pool.connect();
    try {
      const seen = await withTenant(
        client,
        "acme",
        async (c) => (await c.query("SELECT current_setting('app.tenant_id', true) AS t")).rows[0].t,
      );
      expect(seen).toBe("acme");
    } finally {
      client.release();
    }
    const seen = await withTenantConnection(
      pool,
      "beta",
      async (c) => ((await c.query("SELECT current_setting('app.tenant_id', true) AS t")) as { rows: Array<{ t: string }> }).rows[0]!.t,
    );
    expect(seen).toBe("beta");
  });
});
