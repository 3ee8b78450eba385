import { TenantIsolationError } from "@ops/core";
import { randomKey, randomTenant, requireService, testPgAdminUrl } from "@ops/testkit";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpsRoleError } from "@ops/adapter-postgres";
import { drizzleStores, type DrizzleStores } from "../src/index.js";
import { chainRecords } from "./support/audit-records.js";
import { createPgSchema } from "./support/harness.js";

const pgUp = await requireService("postgres");

/**
 * The migrations' row-level security, seen by an ordinary role (superusers bypass RLS): stores
 * bound to a transaction that set `app.tenant_id` see and write only that tenant's rows.
 */
describe.skipIf(!pgUp)("row-level security from the migrations (PostgreSQL, non-superuser role)", () => {
  const role = `ops_dz_app_${process.pid}`;
  let schema: { schema: string; drop: () => Promise<void> };
  let pool: pg.Pool;
  let db: ReturnType<typeof drizzle>;

  beforeAll(async () => {
    schema = await createPgSchema("rls");
    // CREATE ROLE and SET ROLE need the admin (superuser) connection; the role itself is ordinary.
    pool = new pg.Pool({ connectionString: testPgAdminUrl(), max: 4 });
    db = drizzle(pool);
    const s = `"${schema.schema}"`;
    await pool.query(`DROP ROLE IF EXISTS ${role}`);
    await pool.query(`CREATE ROLE ${role} NOLOGIN`);
    await pool.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
    await pool.query(`REVOKE UPDATE, DELETE ON ${s}."ops_audit_entries" FROM ${role}`);
    await pool.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`);
  });
  afterAll(async () => {
    await schema.drop();
    await pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await pool.query(`DROP ROLE IF EXISTS ${role}`);
    await pool.end();
  });

  /** Runs `fn` with stores bound to one transaction, as the app role, in `tenant`'s scope. */
  function asTenant<T>(tenant: string | null, fn: (stores: DrizzleStores) => Promise<T>, roleCheck = true): Promise<T> {
    return db.transaction(async (tx) => {
      await tx.execute(sql.raw(`SET LOCAL ROLE ${role}`));
      if (tenant !== null) await tx.execute(sql`SELECT set_config('app.tenant_id', ${tenant}, true)`);
      return fn(drizzleStores(tx, { schema: schema.schema, roleCheck }));
    });
  }

  it("a tenant reads and writes its own rows; another tenant's rows are invisible and unwritable", async () => {
    const a = randomTenant();
    const b = randomTenant();
    const key = randomKey("f");
    const admin = drizzleStores(db, { schema: schema.schema });
    await admin.flags.put({ env: "prod", key, tenantId: b, config: { b: true }, expectedVersion: null, actor: "admin" });
    await admin.flags.put({ env: "prod", key, tenantId: null, config: { global: true }, expectedVersion: null, actor: "admin" });

    await asTenant(a, async (s) => {
      const mine = await s.flags.put({ env: "prod", key, tenantId: a, config: { a: true }, expectedVersion: null, actor: "u" });
      expect(mine.version).toBe(1);
      expect(await s.flags.get({ env: "prod", key, tenantId: b })).toBeNull();
      // Flag definitions (global rows) are shared-read: visible, not writable.
      expect((await s.flags.get({ env: "prod", key, tenantId: null }))?.config).toEqual({ global: true });
      const snapshot = await s.flags.snapshot({ env: "prod" });
      expect(snapshot.map((r) => r.tenantId).sort()).toEqual([a, null].sort());
    });
    await expect(
      asTenant(a, (s) => s.flags.put({ env: "prod", key: randomKey("f"), tenantId: b, config: {}, expectedVersion: null, actor: "u" })),
    ).rejects.toBeInstanceOf(TenantIsolationError);
    await expect(
      asTenant(a, (s) => s.flags.put({ env: "prod", key: randomKey("f"), tenantId: null, config: {}, expectedVersion: null, actor: "u" })),
    ).rejects.toBeInstanceOf(TenantIsolationError);
  });

  it("with no tenant set, the stores refuse loudly (OpsRoleError naming the role), never empty results", async () => {
    const t = randomTenant();
    await asTenant(t, (s) => s.audit.append({ tenantId: t, records: chainRecords(t, 2) }));
    const err = await asTenant(null, (s) => s.audit.head({ tenantId: t })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsRoleError);
    expect(String((err as Error).message)).toContain(`role ${role} is subject to row-level security`);
  });

  it("with no tenant set and the role check opted out, RLS itself still fails closed", async () => {
    const t = randomTenant();
    await asTenant(t, (s) => s.audit.append({ tenantId: t, records: chainRecords(t, 2) }));
    await asTenant(
      null,
      async (s) => {
        expect(await s.audit.head({ tenantId: t })).toBeNull();
        expect((await s.audit.chains({})).items).toEqual([]);
      },
      false,
    );
    await expect(asTenant(null, (s) => s.audit.append({ tenantId: t, records: chainRecords(t, 1) }), false)).rejects.toBeInstanceOf(
      TenantIsolationError,
    );
    await asTenant(t, async (s) => expect((await s.audit.head({ tenantId: t }))?.seq).toBe(2));
  });

  it("the app role cannot UPDATE or DELETE audit rows, even its own tenant's", async () => {
    const t = randomTenant();
    await asTenant(t, (s) => s.audit.append({ tenantId: t, records: chainRecords(t, 1) }));
    const table = sql.raw(`"${schema.schema}"."ops_audit_entries"`);
    for (const statement of [
      sql`UPDATE ${table} SET "hash" = 'x' WHERE "tenant_id" = ${t}`,
      sql`DELETE FROM ${table} WHERE "tenant_id" = ${t}`,
    ]) {
      const err = await db
        .transaction(async (tx) => {
          await tx.execute(sql.raw(`SET LOCAL ROLE ${role}`));
          await tx.execute(sql`SELECT set_config('app.tenant_id', ${t}, true)`);
          await tx.execute(statement);
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(((err as { cause?: { code?: string } })?.cause ?? (err as { code?: string }))?.code).toBe("42501");
    }
  });
});
