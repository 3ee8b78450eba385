import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { ValidationError } from "@ops/core";
import { requireService } from "@ops/testkit";
import { TenantScope, currentTenant, rlsSql, withCurrentTenant, withTenant, withTenantConnection, type SqlQueryable } from "@ops/tenancy";
import { createRlsFixture, type RlsFixture } from "./pg-fixture.js";

const up = await requireService("postgres");

type Rows = { rows: Array<Record<string, unknown>> };
const q = async (c: SqlQueryable, text: string, values?: unknown[]) => ((await c.query(text, values)) as Rows).rows;

describe.skipIf(!up)("PostgreSQL row-level security (app role: not superuser, not owner)", () => {
  let fx: RlsFixture;
  let pool: pg.Pool;

  beforeAll(async () => {
    fx = await createRlsFixture("rls");
    pool = fx.app(1);
    for (const t of ["ops_flags", "ops_incidents", "ops_audit_entries"])
      await fx.admin.query(
        `INSERT INTO ${fx.schema}.${t} (tenant_id, body) VALUES ('acme', 'a1'), ('acme', 'a2'), ('globex', 'g1'), (NULL, 'global')`,
      );
  });
  afterAll(async () => {
    await fx?.drop();
  });

  it("connects as a role that is neither superuser nor owner", async () => {
    const [me] = await q(pool, "SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su");
    expect(me).toEqual({ u: fx.role, su: false });
    const owners = await q(fx.admin, `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = $1`, [fx.schema]);
    expect(owners.map((o) => o.tableowner)).not.toContain(fx.role);
  });

  it("a cross-tenant select returns nothing; each tenant sees its own rows", async () => {
    const acme = await withTenantConnection(pool, "acme", (c) => q(c, "SELECT body FROM ops_incidents ORDER BY body"));
    expect(acme.map((r) => r.body)).toEqual(["a1", "a2"]);
    const byId = await withTenantConnection(pool, "acme", (c) => q(c, "SELECT body FROM ops_incidents WHERE tenant_id = 'globex'"));
    expect(byId).toEqual([]);
    const initech = await withTenantConnection(pool, "initech", (c) => q(c, "SELECT body FROM ops_incidents"));
    expect(initech).toEqual([]);
  });

  it("no tenant set, and '' left behind by an ended transaction, both see nothing", async () => {
    const client = await pool.connect();
    try {
      expect(await q(client, "SELECT body FROM ops_incidents")).toEqual([]);
      await withTenant(client, "acme", async () => undefined);
      // After a transaction-local set ends, the setting reads '' on this connection, not NULL.
      const [s] = await q(client, "SELECT current_setting('app.tenant_id', true) AS v");
      expect(s?.v).toBe("");
      expect(await q(client, "SELECT body FROM ops_incidents")).toEqual([]);
      expect(await q(client, "SELECT body FROM ops_flags")).toEqual([]);
    } finally {
      client.release();
    }
  });

  it("a cross-tenant insert fails and a cross-tenant update changes nothing", async () => {
    await expect(
      withTenantConnection(pool, "acme", (c) => q(c, "INSERT INTO ops_incidents (tenant_id, body) VALUES ('globex', 'x')")),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(
      withTenantConnection(pool, "acme", (c) => q(c, "INSERT INTO ops_incidents (tenant_id, body) VALUES (NULL, 'x')")),
    ).rejects.toMatchObject({ code: "42501" });
    const updated = await withTenantConnection(pool, "acme", async (c) =>
      c.query("UPDATE ops_incidents SET body = 'hacked' WHERE tenant_id = 'globex'"),
    );
    expect((updated as { rowCount: number }).rowCount).toBe(0);
    // Moving an own row to another tenant is an insert into that tenant: refused.
    await expect(
      withTenantConnection(pool, "acme", (c) => q(c, "UPDATE ops_incidents SET tenant_id = 'globex' WHERE body = 'a1'")),
    ).rejects.toMatchObject({ code: "42501" });
    const deleted = await withTenantConnection(pool, "acme", (c) => c.query("DELETE FROM ops_incidents WHERE tenant_id = 'globex'"));
    expect((deleted as { rowCount: number }).rowCount).toBe(0);
    const truth = await q(fx.admin, `SELECT tenant_id, body FROM ${fx.schema}.ops_incidents ORDER BY id`);
    expect(truth).toEqual([
      { tenant_id: "acme", body: "a1" },
      { tenant_id: "acme", body: "a2" },
      { tenant_id: "globex", body: "g1" },
      { tenant_id: null, body: "global" },
    ]);
  });

  it("interleaved tenants on one pooled connection never see each other", async () => {
    const tenants = ["acme", "globex", "initech"];
    const expected: Record<string, string[]> = { acme: ["a1", "a2"], globex: ["g1"], initech: [] };
    const runs = Array.from({ length: 60 }, (_, i) => tenants[i % 3]!);
    const results = await Promise.all(
      runs.map((t) =>
        withTenantConnection(pool, t, async (c) => {
          const rows = await q(c, "SELECT body, pg_backend_pid() AS pid FROM ops_incidents ORDER BY body");
          // currentTenant() follows the transaction's tenant too.
          return { t, scope: currentTenant(), bodies: rows.map((r) => r.body), pids: rows.map((r) => r.pid) };
        }),
      ),
    );
    for (const r of results) {
      expect(r.bodies).toEqual(expected[r.t]);
      expect(r.scope).toBe(r.t);
    }
    const pids = new Set(results.flatMap((r) => r.pids));
    expect(pids.size).toBe(1);
  });

  it("a session-level set_config would leak to the next user of the connection (why withTenant never does it)", async () => {
    const c1 = await pool.connect();
    await c1.query("SELECT set_config('app.tenant_id', 'acme', false)");
    c1.release();
    const c2 = await pool.connect();
    try {
      expect((await q(c2, "SELECT body FROM ops_incidents")).length).toBe(2);
      await c2.query("RESET app.tenant_id");
      expect(await q(c2, "SELECT body FROM ops_incidents")).toEqual([]);
    } finally {
      c2.release();
    }
  });

  it("global rows: the global scope sees only them; tenants read global flags but never write them", async () => {
    const global = await withTenantConnection(pool, null, (c) => q(c, "SELECT body FROM ops_incidents"));
    expect(global.map((r) => r.body)).toEqual(["global"]);
    const flags = await withTenantConnection(pool, "acme", (c) => q(c, "SELECT body FROM ops_flags ORDER BY body"));
    expect(flags.map((r) => r.body)).toEqual(["a1", "a2", "global"]);
    const upd = await withTenantConnection(pool, "acme", (c) => c.query("UPDATE ops_flags SET body = 'evil' WHERE tenant_id IS NULL"));
    expect((upd as { rowCount: number }).rowCount).toBe(0);
    const incidents = await withTenantConnection(pool, "acme", (c) => q(c, "SELECT body FROM ops_incidents WHERE tenant_id IS NULL"));
    expect(incidents).toEqual([]);
  });

  it("the audit table is append-only for the app role", async () => {
    await withTenantConnection(pool, "acme", (c) => c.query("INSERT INTO ops_audit_entries (tenant_id, body) VALUES ('acme', 'a3')"));
    await expect(
      withTenantConnection(pool, "acme", (c) => c.query("UPDATE ops_audit_entries SET body = 'x' WHERE body = 'a3'")),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(
      withTenantConnection(pool, "acme", (c) => c.query("DELETE FROM ops_audit_entries WHERE body = 'a3'")),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("rolls back on error and leaves the setting behind on no connection", async () => {
    await expect(
      withTenantConnection(pool, "acme", async (c) => {
        await c.query("INSERT INTO ops_incidents (tenant_id, body) VALUES ('acme', 'rolled-back')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const rows = await q(fx.admin, `SELECT 1 FROM ${fx.schema}.ops_incidents WHERE body = 'rolled-back'`);
    expect(rows).toEqual([]);
  });

  it("join mode scopes part of the caller's transaction and restores the setting; the caller's rollback wins", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const acme = await withTenant(client, "acme", (c) => q(c, "SELECT body FROM ops_incidents ORDER BY body"), { transaction: "join" });
      expect(acme.map((r) => r.body)).toEqual(["a1", "a2"]);
      const [s] = await q(client, "SELECT current_setting('app.tenant_id', true) AS v");
      expect(s?.v ?? "").toBe("");
      await withTenant(client, "globex", (c) => c.query("INSERT INTO ops_incidents (tenant_id, body) VALUES ('globex', 'joined')"), {
        transaction: "join",
      });
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    expect(await q(fx.admin, `SELECT 1 FROM ${fx.schema}.ops_incidents WHERE body = 'joined'`)).toEqual([]);
  });

  it("withCurrentTenant takes the scope's tenant and refuses outside one", async () => {
    const client = await pool.connect();
    try {
      const rows = await new TenantScope("globex").run(() => withCurrentTenant(client, (c) => q(c, "SELECT body FROM ops_incidents")));
      expect(rows.map((r) => r.body)).toEqual(["g1"]);
      await expect(withCurrentTenant(client, async () => 1)).rejects.toThrow(/no tenant scope is current/);
    } finally {
      client.release();
    }
  });

  it("FORCE applies the policies to the table owner too", async () => {
    await fx.admin.query(`CREATE TABLE ${fx.schema}.owned (id serial, tenant_id text)`);
    await fx.admin.query(`INSERT INTO ${fx.schema}.owned (tenant_id) VALUES ('acme'), ('globex')`);
    await fx.admin.query(`ALTER TABLE ${fx.schema}.owned OWNER TO ${fx.role}`);
    await fx.admin.query(rlsSql({ schema: fx.schema, tables: [{ name: "owned" }] }));
    const rows = await withTenantConnection(pool, "acme", (c) => q(c, "SELECT tenant_id FROM owned"));
    expect(rows).toEqual([{ tenant_id: "acme" }]);
    expect(await q(pool, "SELECT tenant_id FROM owned")).toEqual([]);
  });

  it("rlsSql is idempotent, and serviceRoles see every row through a visible policy", async () => {
    const svc = `${fx.role}_svc`;
    await fx.admin.query(`CREATE ROLE ${svc} LOGIN NOSUPERUSER NOBYPASSRLS`);
    try {
      await fx.admin.query(rlsSql({ schema: fx.schema, grantTo: fx.role }));
      await fx.admin.query(rlsSql({ schema: fx.schema, grantTo: svc, serviceRoles: [svc] }));
      const policies = await q(
        fx.admin,
        "SELECT policyname FROM pg_policies WHERE schemaname = $1 AND tablename = 'ops_incidents' ORDER BY 1",
        [fx.schema],
      );
      expect(policies.map((p) => p.policyname)).toEqual(["ops_service_all", "ops_tenant_rows"]);
      const url = new URL(fx.admin.options.connectionString!);
      url.username = svc;
      const worker = new (fx.admin.constructor as typeof pg.Pool)({
        connectionString: url.toString(),
        max: 1,
        options: `-c search_path=${fx.schema}`,
      });
      try {
        const all = await q(worker, "SELECT DISTINCT coalesce(tenant_id, '(null)') AS t FROM ops_incidents ORDER BY 1");
        expect(all.map((r) => r.t)).toEqual(["(null)", "acme", "globex"]);
      } finally {
        await worker.end();
      }
      // Without serviceRoles the policy is dropped again.
      await fx.admin.query(rlsSql({ schema: fx.schema }));
      const after = await q(fx.admin, "SELECT policyname FROM pg_policies WHERE schemaname = $1 AND tablename = 'ops_incidents'", [
        fx.schema,
      ]);
      expect(after.map((p) => p.policyname)).toEqual(["ops_tenant_rows"]);
    } finally {
      await fx.admin.query(`DROP OWNED BY ${svc}`);
      await fx.admin.query(`DROP ROLE ${svc}`);
    }
    // The app role still works after the re-runs.
    expect((await withTenantConnection(pool, "acme", (c) => q(c, "SELECT body FROM ops_incidents"))).length).toBeGreaterThan(0);
  });

  it("rlsSql refuses names that are not plain identifiers", () => {
    expect(() => rlsSql({ schema: "x; DROP TABLE y" })).toThrow(ValidationError);
    expect(() => rlsSql({ grantTo: 'app" WITH SUPERUSER' })).toThrow(/^\[ops\/tenancy\] invalid rlsSql options/);
    expect(() => rlsSql({ tables: [{ name: "t", tenantColumn: "a b" }] })).toThrow(ValidationError);
    expect(() => rlsSql({ tables: [] })).toThrow(ValidationError);
  });

  it("join: the caller's tenant setting is restored when fn throws or the scope is refused (review)", async () => {
    const client = await pool.connect();
    const setting = async () => (await q(client, "SELECT current_setting('app.tenant_id', true) AS v"))[0]?.v;
    try {
      await client.query("BEGIN");
      await client.query("SELECT set_config('app.tenant_id', 'acme', true)");
      // fn throws, the caller handles it and goes on in the same transaction.
      await expect(
        withTenant(
          client,
          "globex",
          async () => {
            throw new Error("boom");
          },
          { transaction: "join" },
        ),
      ).rejects.toThrow("boom");
      expect(await setting()).toBe("acme");
      // Inside tenant acme's scope, joining as globex is refused: the transaction must stay acme's.
      await new TenantScope("acme").run(async () => {
        await expect(withTenant(client, "globex", (c) => q(c, "SELECT body FROM ops_incidents"), { transaction: "join" })).rejects.toThrow(
          /cannot enter tenant/,
        );
      });
      expect(await setting()).toBe("acme");
      expect((await q(client, "SELECT body FROM ops_incidents ORDER BY body")).map((r) => r.body)).toEqual(["a1", "a2"]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  it("rejects an invalid tenant id before touching the database", async () => {
    const sent: string[] = [];
    const spy = { query: async (text: string) => void sent.push(text) };
    await expect(withTenant(spy, "x'; DROP TABLE t; --", async () => 1)).rejects.toThrow(ValidationError);
    expect(sent).toEqual([]);
  });
});
