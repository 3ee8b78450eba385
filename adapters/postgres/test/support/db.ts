import { requireService, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, type PgExecutor } from "../../src/index.js";

/** A fresh PostgreSQL schema with the migrations applied (as the superuser of the test server). */
export async function createSchema(tag: string): Promise<{ schema: string; pool: pg.Pool; admin: PgExecutor; drop: () => Promise<void> }> {
  const schema = `ops_pg_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 10, options: `-c search_path=${schema}` });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  const client = await pool.connect();
  try {
    for (const m of OPS_MIGRATIONS) for (const s of migrationStatements(m.sql)) await client.query(s);
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
