import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "@ops/core";
import { requireService } from "@ops/testkit";
import {
  OPS_MIGRATIONS,
  OpsRoleError,
  applyOpsMigrations,
  migrationStatements,
  prismaExecutor,
  prismaStores,
  setupOpsRoles,
} from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

describe("migrationStatements", () => {
  it("splits drizzle-kit's statement breakpoints and keeps dollar-quoted bodies whole", () => {
    const all = OPS_MIGRATIONS.flatMap((m) => migrationStatements(m.sql));
    expect(all.some((s) => s.startsWith('CREATE TABLE "ops_audit_entries"'))).toBe(true);
    const fn = all.find((s) => s.includes("FUNCTION ops_audit_entries_append_only"));
    expect(fn).toMatch(/\$\$[\s\S]*RAISE EXCEPTION[\s\S]*\$\$;?$/);
    expect(all.every((s) => !s.includes("statement-breakpoint"))).toBe(true);
  });
});

const up = await requireService("postgres");

describe.skipIf(!up)("applyOpsMigrations through the app's own PrismaClient", () => {
  let db: TestDatabase;
  let fresh: TestPrismaClient;
  const schema = `ops_prisma_apply_${process.pid}`;
  beforeAll(async () => {
    db = await createTestDatabase("applyhost");
    await db.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    fresh = await db.client({ schema });
  });
  afterAll(async () => {
    await db?.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db?.drop();
  });

  it("creates every table in an empty schema, then the stores work there", async () => {
    await applyOpsMigrations(fresh);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'ops\\_%'`,
      [schema],
    );
    expect(rows[0].n).toBe(10); // 8 stores + ops_flag_change_requests + ops_effects
    // The migrating role owns the tables and FORCE RLS applies to it: without a tenant or the
    // service policy its stores would see nothing, so they refuse loudly.
    const { rows: me } = await db.pool.query("SELECT current_user AS me");
    const err = await prismaStores(fresh)
      .ready()
      .catch((e: unknown) => e);
    if (!(await db.pool.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).rows[0].rolsuper) {
      expect(err).toBeInstanceOf(OpsRoleError);
      expect(String((err as Error).message)).toContain(`role ${me[0].me} is subject to row-level security`);
    }
    // The documented role setup gives it the service policy; then the cross-tenant stores work.
    await setupOpsRoles(prismaExecutor(fresh), { schema, service: me[0].me, createRoles: false });
    const stores = prismaStores(fresh);
    const rec = await stores.flags.put({ env: "prod", key: "k", tenantId: null, config: 1, expectedVersion: null, actor: "a" });
    expect(rec.version).toBe(1);
  });

  it("refuses to run twice with ConflictError and changes nothing", async () => {
    await expect(applyOpsMigrations(fresh)).rejects.toBeInstanceOf(ConflictError);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${schema}.ops_flags`);
    expect(rows[0].n).toBe(1);
  });
});
