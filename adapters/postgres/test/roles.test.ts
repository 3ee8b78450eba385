import { readFileSync } from "node:fs";
import { ValidationError } from "@ops/core";
import { pgUrlAs, requireService, testPgAdminUrl } from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  OpsRoleError,
  OPS_MIGRATIONS,
  checkOpsRoles,
  migrationStatements,
  nodePgExecutor,
  opsRoleSetupSql,
  opsRoleSetupStatements,
  postgresStores,
  setupOpsRoles,
  type PgExecutor,
} from "../src/index.js";

const up = await requireService("postgres", testPgAdminUrl());

describe("opsRoleSetupSql (no database)", () => {
  it("refuses a name that is not a plain identifier, naming the option, before any SQL", () => {
    expect(() => opsRoleSetupStatements({ app: 'app"; DROP TABLE x; --' })).toThrow(ValidationError);
    expect(() => opsRoleSetupStatements({ app: "1app" })).toThrow(/options\.app/);
    expect(() => opsRoleSetupStatements({ owner: "o", app: "o" })).toThrow(/options\.app/);
    expect(() => opsRoleSetupStatements({})).toThrow(/at least one of owner, app, service/);
    expect(() => opsRoleSetupStatements({ app: "a", schema: "bad-schema" })).toThrow(/options\.schema/);
  });

  it("never grants UPDATE or DELETE on the audit table to the app or service role", () => {
    const text = opsRoleSetupSql({ owner: "o", app: "a", service: "s" });
    const auditGrants = text.split("\n").filter((l) => /GRANT [A-Z, ]+ ON "public"\."ops_audit_entries"/.test(l));
    expect(auditGrants.length).toBe(2);
    for (const l of auditGrants) {
      expect(l).toMatch(/GRANT SELECT, INSERT ON/);
      expect(l).toMatch(/REVOKE UPDATE, DELETE, TRUNCATE ON/);
    }
    expect(text).not.toMatch(/SUPERUSER(?<!NOSUPERUSER)|BYPASSRLS(?<!NOBYPASSRLS)/);
  });

  it("the shipped sql/ops-roles.sql is what opsRoleSetupSql prints for the default names", () => {
    const file = readFileSync(new URL("../sql/ops-roles.sql", import.meta.url), "utf8");
    expect(file).toBe(opsRoleSetupSql({ owner: "ops_owner", app: "ops_app", service: "ops_service" }));
  });
});

describe.skipIf(!up)("owner / app / service roles on a real PostgreSQL (none of them superuser)", () => {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const schema = `ops_roles_${suffix}`;
  const owner = `ops_r_owner_${suffix}`;
  const app = `ops_r_app_${suffix}`;
  const service = `ops_r_svc_${suffix}`;
  const admin = new pg.Pool({ connectionString: testPgAdminUrl(), max: 2 });
  const pools: pg.Pool[] = [];
  const as = (role: string, max = 3) => {
    const p = new pg.Pool({ connectionString: pgUrlAs(testPgAdminUrl(), role), max, options: `-c search_path=${schema}` });
    pools.push(p);
    return p;
  };
  let appPool: pg.Pool;
  let servicePool: pg.Pool;
  let ownerPool: pg.Pool;

  /** One transaction as the app role with `app.tenant_id` set (what withTenant from @ops/tenancy does). */
  async function inTenant<T>(tenant: string, fn: (tx: PgExecutor, client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await appPool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
      const out = await fn(nodePgExecutor(client), client);
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    } finally {
      client.release();
    }
  }

  beforeAll(async () => {
    if (!up) return;
    await admin.query(`CREATE SCHEMA "${schema}"`);
    // Before the migrations: roles and schema grants (the table parts are skipped: no tables yet).
    await setupOpsRoles(nodePgExecutor(admin), { owner, app, service, schema });
    // The migrations run as the owner, an ordinary role.
    ownerPool = as(owner, 1);
    const c = await ownerPool.connect();
    try {
      for (const m of OPS_MIGRATIONS) for (const s of migrationStatements(m.sql)) await c.query(s);
    } finally {
      c.release();
    }
    // After the migrations: grants and the service policy (and again: it is idempotent).
    await setupOpsRoles(nodePgExecutor(admin), { owner, app, service, schema });
    await setupOpsRoles(nodePgExecutor(admin), { owner, app, service, schema });
    appPool = as(app);
    servicePool = as(service);
  });

  afterAll(async () => {
    if (!up) return;
    for (const p of pools) await p.end();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const r of [app, service, owner]) {
      await admin.query(`DROP OWNED BY "${r}"`).catch(() => {});
      await admin.query(`DROP ROLE IF EXISTS "${r}"`);
    }
    await admin.end();
  });

  it("the roles are ordinary: no superuser, no BYPASSRLS, and the owner owns every table", async () => {
    const { rows } = await admin.query(`SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`, [
      [owner, app, service],
    ]);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ rolsuper: false, rolbypassrls: false });
    const owners = await admin.query(
      `SELECT DISTINCT pg_get_userbyid(c.relowner) AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [schema],
    );
    expect(owners.rows).toEqual([{ o: owner }]);
  });

  it("the app role, in tenant A's transaction, cannot read or write tenant B's rows", async () => {
    await inTenant("tenant-b", (tx) =>
      postgresStores(tx, { schema }).flags.put({
        env: "prod",
        key: "secret",
        tenantId: "tenant-b",
        config: { b: 1 },
        expectedVersion: null,
        actor: "u",
      }),
    );
    const seen = await inTenant("tenant-a", async (tx, client) => ({
      viaStore: await postgresStores(tx, { schema }).flags.get({ env: "prod", key: "secret", tenantId: "tenant-b" }),
      viaSql: (await client.query(`SELECT count(*)::int AS n FROM ops_flags WHERE tenant_id = 'tenant-b'`)).rows[0].n,
    }));
    expect(seen).toEqual({ viaStore: null, viaSql: 0 });
    await expect(
      inTenant("tenant-a", (tx) =>
        postgresStores(tx, { schema }).flags.put({
          env: "prod",
          key: "x",
          tenantId: "tenant-b",
          config: 1,
          expectedVersion: null,
          actor: "u",
        }),
      ),
    ).rejects.toThrow();
    // Tenant B still sees its own row.
    const own = await inTenant("tenant-b", (tx) =>
      postgresStores(tx, { schema }).flags.get({ env: "prod", key: "secret", tenantId: "tenant-b" }),
    );
    expect(own?.config).toEqual({ b: 1 });
  });

  it("the app role appends audit rows but cannot UPDATE or DELETE them (permission denied, not a trigger)", async () => {
    await inTenant("tenant-a", (_tx, client) =>
      client.query(
        `INSERT INTO ops_audit_entries (id, tenant_id, seq, prev_hash, hash, ts, env, action, actor_id, actor_type, outcome)
         VALUES ($1, 'tenant-a', 1, 'g', 'h', now(), 'prod', 'x.y', 'u', 'user', 'success')`,
        [`a-${suffix}`],
      ),
    );
    for (const stmt of [`UPDATE ops_audit_entries SET action = 'forged'`, `DELETE FROM ops_audit_entries`, `TRUNCATE ops_audit_entries`]) {
      const err = await inTenant("tenant-a", (_tx, client) => client.query(stmt)).catch((e: unknown) => e);
      expect(err, stmt).toMatchObject({ code: "42501" });
      expect(String((err as Error).message)).toMatch(/permission denied for table ops_audit_entries/);
    }
    // The service role cannot either.
    const svcErr = await servicePool.query(`UPDATE ops_audit_entries SET action = 'forged'`).catch((e: unknown) => e);
    expect(svcErr).toMatchObject({ code: "42501" });
  });

  it("loud start-up error: the app role over a pool (no tenant set) fails naming the role, never returns empty results", async () => {
    const stores = postgresStores(nodePgExecutor(appPool), { schema });
    const err = await stores.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsRoleError);
    expect(err).toMatchObject({ code: "CONFIG", role: app });
    expect(String((err as Error).message)).toContain(`role ${app} is subject to row-level security`);
    expect(String((err as Error).message)).toContain("no tenant is set (app.tenant_id)");
    // Every call rejects the same way: a flag read never silently answers "not found".
    await expect(stores.flags.get({ env: "prod", key: "secret", tenantId: "tenant-b" })).rejects.toBeInstanceOf(OpsRoleError);
    await expect(stores.flags.snapshot({ env: "prod" })).rejects.toBeInstanceOf(OpsRoleError);
    // The same role inside a tenant's transaction passes.
    await inTenant("tenant-a", async (tx) => expect((await postgresStores(tx, { schema }).ready())?.role).toBe(app));
  });

  it("loud start-up error: a missing grant names the role, the privilege and the table", async () => {
    await admin.query(`REVOKE INSERT ON "${schema}".ops_outbox FROM "${app}"`);
    try {
      const err = await inTenant("tenant-a", (tx) => postgresStores(tx, { schema }).ready()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpsRoleError);
      expect(String((err as Error).message)).toMatch(new RegExp(`role ${app} lacks INSERT on ops_outbox`));
    } finally {
      await setupOpsRoles(nodePgExecutor(admin), { app, schema, createRoles: false });
    }
    await inTenant("tenant-a", (tx) => postgresStores(tx, { schema }).ready());
  });

  it("loud start-up error: the owner (FORCE applies to it) and missing tables", async () => {
    const err = await postgresStores(nodePgExecutor(ownerPool), { schema })
      .ready()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsRoleError);
    expect(String((err as Error).message)).toContain("it owns the tables, but FORCE ROW LEVEL SECURITY applies to the owner too");
    const missing = await postgresStores(nodePgExecutor(servicePool), { schema: "public_nothing_here" })
      .ready()
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpsRoleError);
    expect(String((missing as Error).message)).toMatch(
      /ops_audit_entries, ops_audit_subject_keys, ops_flags and 7 more do not exist in schema/,
    );
  });

  it("a superuser passes with a warning, and fails when refuseSuperuser is set", async () => {
    const report = await checkOpsRoles(nodePgExecutor(admin), { schema });
    expect(report.superuser).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.warnings.join(" ")).toMatch(/row-level security does not apply/);
    const err = await postgresStores(nodePgExecutor(admin), { schema, roleCheck: { refuseSuperuser: true } })
      .ready()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsRoleError);
    expect(String((err as Error).message)).toMatch(/is a superuser: .*refuseSuperuser is set/);
    // The documented opt-out skips the check.
    expect(await postgresStores(nodePgExecutor(appPool), { schema, roleCheck: false }).ready()).toBeUndefined();
  });

  it("the service role (no superuser, no BYPASSRLS, no tenant) runs a cross-tenant job: every tenant's flags and outbox", async () => {
    await inTenant("tenant-a", (tx) =>
      postgresStores(tx, { schema }).flags.put({
        env: "prod",
        key: "secret",
        tenantId: "tenant-a",
        config: { a: 1 },
        expectedVersion: null,
        actor: "u",
      }),
    );
    for (const t of ["tenant-a", "tenant-b"])
      await inTenant(t, (tx) =>
        postgresStores(tx, { schema }).outbox.enqueue({
          message: {
            id: `m-${t}-${suffix}`,
            tenantId: t,
            channel: "log",
            payload: { t },
            idempotencyKey: `k-${t}-${suffix}`,
            createdAt: new Date().toISOString(),
          } as never,
        }),
      );
    const svc = postgresStores(nodePgExecutor(servicePool), { schema, roleCheck: { refuseSuperuser: true } });
    const report = await svc.ready();
    expect(report).toMatchObject({ role: service, superuser: false, bypassRls: false, tenant: null, problems: [] });
    const flags = await svc.flags.snapshot({ env: "prod" });
    expect(flags.map((f) => f.tenantId).sort()).toEqual(["tenant-a", "tenant-b"]);
    const claimed = await svc.outbox.claim({
      workerId: "w1",
      limit: 10,
      leaseMs: 60_000,
      now: new Date(Date.now() + 1000).toISOString(),
    } as never);
    expect(claimed.map((m) => m.tenantId).sort()).toEqual(["tenant-a", "tenant-b"]);
  });
});
