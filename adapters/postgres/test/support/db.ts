import { requireService, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, type PgExecutor } from "../../src/index.js";

/**
 * What a test harness runs after migrating a schema as `OPS_TEST_PG_URL`'s role (CI: the
 * non-superuser `ops_test`, owner of the tables): the service policy for that same role, so its
 * cross-tenant stores see every row under FORCE ROW LEVEL SECURITY, as the documented service role does.
 */
export async function grantServiceToSelf(
  query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>,
  schema: string,
): Promise<void> {
  const me = String((await query("SELECT current_user AS me")).rows[0]?.me);
  for (const s of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await query(s);
}

/** A fresh PostgreSQL schema with the migrations applied, as `testPgUrl()`'s role, which also gets the service policy. */
export async function createSchema(tag: string): Promise<{ schema: string; pool: pg.Pool; admin: PgExecutor; drop: () => Promise<void> }> {
  const schema = `ops_pg_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 10, options: `-c search_path=${schema}` });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  const client = await pool.connect();
  try {
    for (const m of OPS_MIGRATIONS) for (const s of migrationStatements(m.sql)) await client.query(s);
    await grantServiceToSelf((s) => client.query(s), schema);
  } finally {
    client.release();
  }
  return {
    schema,
    pool,
    admin: nodePgExecutor(pool),
    drop: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

export const pgUp = () => requireService("postgres");
