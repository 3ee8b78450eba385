import pg from "pg";
import { testPgAdminUrl } from "@ops/testkit";
import { OPS_TABLE_NAMES, rlsSql } from "@ops/tenancy";

/**
 * A private schema holding the @ops table names, owned by the superuser, with the generated RLS
 * applied, and a fresh LOGIN role that is neither superuser nor owner: the app's role. Creating
 * roles needs the admin connection (`testPgAdminUrl()`, `OPS_TEST_PG_ADMIN_URL` in CI); every
 * assertion runs as the ordinary role.
 */
export interface RlsFixture {
  schema: string;
  role: string;
  /** Superuser pool (setup, seeding, checking what is really stored). */
  admin: pg.Pool;
  /** Pool connecting as the app role, `search_path` set to the schema. */
  app(max?: number): pg.Pool;
  drop(): Promise<void>;
}

export async function createRlsFixture(name: string): Promise<RlsFixture> {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const schema = `t8_${name}_${suffix}`;
  const role = `t8_app_${name}_${suffix}`;
  const admin = new pg.Pool({ connectionString: testPgAdminUrl(), max: 2 });
  const pools: pg.Pool[] = [];
  await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  for (const table of OPS_TABLE_NAMES)
    await admin.query(`CREATE TABLE ${schema}.${table} (id bigserial PRIMARY KEY, tenant_id text, body text NOT NULL DEFAULT '')`);
  await admin.query(rlsSql({ schema, grantTo: role }));
  return {
    schema,
    role,
    admin,
    app(max = 1) {
      const url = new URL(testPgAdminUrl());
      url.username = role;
      url.password = "";
      const pool = new pg.Pool({ connectionString: url.toString(), max, options: `-c search_path=${schema}` });
      pools.push(pool);
      return pool;
    },
    async drop() {
      await Promise.all(pools.map((p) => p.end()));
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    },
  };
}
