import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { TenantIsolationError } from "@ops/core";
import { drizzleStores } from "@ops/adapter-drizzle";
import { requireService, testPgAdminUrl } from "@ops/testkit";
import { OPS_RLS_TABLES, TenantScope, rlsSql, scopeStores } from "@ops/tenancy";
import { drizzleWithTenant } from "@ops/tenancy/drizzle";

const up = await requireService("postgres");

/** The Drizzle adapter's committed migrations, statement by statement (what an app applies). */
function adapterMigrations(): string[] {
  const pkg = createRequire(import.meta.url).resolve("@ops/adapter-drizzle/package.json");
  const dir = join(dirname(pkg), "migrations");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("--> statement-breakpoint"))
    .map((s) => s.trim())
    .filter(Boolean);
}

describe.skipIf(!up)("the Drizzle adapter's real tables under RLS, used through drizzleWithTenant as the app role", () => {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const schema = `t8_adapter_${suffix}`;
  const role = `t8_app_adapter_${suffix}`;
  const admin = new pg.Pool({ connectionString: testPgAdminUrl(), max: 1, options: `-c search_path=${schema}` });
  let app: pg.Pool;

  beforeAll(async () => {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
    await admin.query(`CREATE SCHEMA ${schema}`);
    for (const s of adapterMigrations()) await admin.query(s);
    // The migration already enabled and forced RLS; this adds the app role's grants.
    await admin.query(rlsSql({ schema, grantTo: role, tables: OPS_RLS_TABLES }));
    const url = new URL(testPgAdminUrl());
    url.username = role;
    app = new pg.Pool({ connectionString: url.toString(), max: 2, options: `-c search_path=${schema}` });
  });
  afterAll(async () => {
    await app?.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
    await admin.end();
  });

  it("every table the adapter creates has RLS enabled and forced", async () => {
    const { rows } = await admin.query(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY relname`,
      [schema],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r, r.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
    expect(rows.map((r) => r.relname).sort()).toEqual(OPS_RLS_TABLES.map((t) => t.name).sort());
  });

  it("a store call made for another tenant finds nothing and cannot write, even without scopeStores", async () => {
    const db = drizzle(app);
    await drizzleWithTenant(db, "globex", (tx) =>
      drizzleStores(tx as never).flags.put({
        env: "prod",
        key: "secret",
        tenantId: "globex",
        config: 1,
        expectedVersion: null,
        actor: "u",
      }),
    );
    // The adapter is asked for globex's flag while the transaction is acme's: RLS hides it.
    const leaked = await drizzleWithTenant(db, "acme", (tx) =>
      drizzleStores(tx as never).flags.get({ env: "prod", key: "secret", tenantId: "globex" }),
    );
    expect(leaked).toBeNull();
    await expect(
      drizzleWithTenant(db, "acme", (tx) =>
        drizzleStores(tx as never).flags.put({
          env: "prod",
          key: "planted",
          tenantId: "globex",
          config: 1,
          expectedVersion: null,
          actor: "u",
        }),
      ),
    ).rejects.toThrow();
    const { rows } = await admin.query(`SELECT tenant_id, key FROM ops_flags ORDER BY key`);
    expect(rows).toEqual([{ tenant_id: "globex", key: "secret" }]);
  });

  it("both layers together: scopeStores refuses first, RLS would have hidden it anyway", async () => {
    const db = drizzle(app);
    const seen = await drizzleWithTenant(db, "acme", async (tx) => {
      const stores = scopeStores(drizzleStores(tx as never));
      await stores.flags.put({ env: "prod", key: "mine", config: true, expectedVersion: null, actor: "u" });
      await expect(stores.flags.get({ env: "prod", key: "secret", tenantId: "globex" })).rejects.toThrow(TenantIsolationError);
      return (await stores.flags.list({ env: "prod" })).items.map((r) => `${r.tenantId}/${r.key}`);
    });
    expect(seen).toEqual(["acme/mine"]);
    expect(new TenantScope("acme").tenantId).toBe("acme");
  });
});
