import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TenantIsolationError } from "@ops/core";
import { pgUrlAs, randomTenant, requireService, testPgAdminUrl, testPgUrl } from "@ops/testkit";
import { OpsRoleError } from "@ops/adapter-postgres";
import { inTransaction, prismaStores, type PrismaSqlClient } from "../src/index.js";
import { chainRecords } from "./helpers/chain.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

/**
 * The migrations FORCE row-level security keyed on app.tenant_id. Superusers bypass it, so these
 * cases connect as a plain role, the way an app should, and scope each transaction to a tenant
 * (what @ops/tenancy's `$withTenant` does) with the stores built on the transaction handle.
 */
describe.skipIf(!up)("prisma: the stores under row-level security (non-superuser role)", () => {
  let db: TestDatabase;
  let app: TestPrismaClient;
  const role = `ops_prisma_app_${process.pid}`;

  beforeAll(async () => {
    db = await createTestDatabase("rls");
    const s = db.schema;
    // Creating a role needs the admin connection (testPgAdminUrl); the role itself is ordinary.
    const { Client } = (await import("pg")).default;
    const admin = new Client({ connectionString: testPgAdminUrl() });
    await admin.connect();
    try {
      await admin.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
      await admin.query(
        `GRANT USAGE ON SCHEMA ${s} TO ${role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role};
         REVOKE UPDATE, DELETE ON ${s}.ops_audit_entries FROM ${role};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role};`,
      );
    } finally {
      await admin.end();
    }
    app = await db.client({ url: pgUrlAs(testPgUrl(), role) });
  });
  afterAll(async () => {
    await db?.drop();
    await db?.pool.end().catch(() => {});
    const { Client } = (await import("pg")).default;
    const c = new Client({ connectionString: testPgAdminUrl() });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.end();
  });

  const asTenant = <T>(tenantId: string, fn: (tx: PrismaSqlClient) => Promise<T>) =>
    inTransaction(app, async (tx) => {
      await tx.$executeRawUnsafe(`SELECT set_config('app.tenant_id', $1, true)`, tenantId);
      return fn(tx);
    });

  it("a tenant's transaction reads and writes its own rows; another tenant sees none of them", async () => {
    const a = randomTenant();
    const b = randomTenant();
    await asTenant(a, async (tx) => {
      const s = prismaStores(tx);
      await s.flags.put({ env: "prod", key: "checkout", tenantId: a, config: { on: true }, expectedVersion: null, actor: "ops" });
      await s.audit.append({ tenantId: a, records: chainRecords(a, null, 2) });
      await s.authEvents.append({ events: [{ id: `ev-${a}`, type: "LOGIN_FAILED", occurredAt: new Date().toISOString(), tenantId: a }] });
    });
    await asTenant(b, async (tx) => {
      const s = prismaStores(tx);
      // Even asking for tenant a's records by name returns nothing: the database filters them.
      expect(await s.flags.get({ env: "prod", key: "checkout", tenantId: a })).toBeNull();
      expect(await s.audit.head({ tenantId: a })).toBeNull();
      expect((await s.authEvents.list({ tenantId: a })).items).toEqual([]);
    });
    await asTenant(a, async (tx) => {
      const s = prismaStores(tx);
      expect((await s.flags.get({ env: "prod", key: "checkout", tenantId: a }))?.version).toBe(1);
      expect((await s.audit.head({ tenantId: a }))?.seq).toBe(2);
    });
  });

  it("writing another tenant's row from a tenant's transaction is TenantIsolationError, nothing written", async () => {
    const a = randomTenant();
    const b = randomTenant();
    const err = await asTenant(b, (tx) =>
      prismaStores(tx).flags.put({ env: "prod", key: "x", tenantId: a, config: 1, expectedVersion: null, actor: "b" }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenantIsolationError);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM ops_flags WHERE tenant_id = $1", [a]);
    expect(rows[0].n).toBe(0);
  });

  it("without a tenant in the transaction the role sees no tenant rows at all", async () => {
    const a = randomTenant();
    await asTenant(a, (tx) =>
      prismaStores(tx).incidents.create({
        record: {
          id: `inc-${a}`,
          tenantId: a,
          fingerprint: "f",
          type: "T",
          severity: "high",
          state: "open",
          title: "t",
          openedAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
          data: {},
        },
      }),
    );
    // The default role check refuses loudly: this role would see nothing, so nothing is served.
    const checked = prismaStores(app);
    const err = await checked.incidents.get({ tenantId: a, id: `inc-${a}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsRoleError);
    expect(String((err as Error).message)).toContain(`role ${role} is subject to row-level security`);
    // Opted out, RLS itself still fails closed.
    const stores = prismaStores(app, { roleCheck: false });
    expect(await stores.incidents.get({ tenantId: a, id: `inc-${a}` })).toBeNull();
    expect((await stores.incidents.scan({})).items).toEqual([]);
  });
});
