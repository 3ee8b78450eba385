import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, postgresStores } from "@ops/adapter-postgres";
import { requireService, testPgUrl } from "@ops/testkit";
import { incidentBoundaryScenario } from "./boundary-scenario.js";

// IncidentManager / Mitigator writes name the caller's field on memory and PostgreSQL (as the
// non-superuser ops_test in CI), with the transactional outbox; Redis runs the same scenario in
// adapters/redis/test/incident-boundary.test.ts.

const pgUp = await requireService("postgres");
const schema = `opstest_relay_incb_${process.pid}_${Date.now().toString(36)}`;
const pool = new pg.Pool({ connectionString: testPgUrl(), max: 4 });

beforeAll(async () => {
  if (!pgUp) return;
  const c = await pool.connect();
  try {
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.query(`SET search_path TO "${schema}"`);
    for (const m of OPS_MIGRATIONS) for (const st of migrationStatements(m.sql)) await c.query(st);
    const me = String((await c.query("SELECT current_user AS me")).rows[0]?.me);
    for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await c.query(st);
  } finally {
    await c.query("RESET search_path").catch(() => {});
    c.release();
  }
});
afterAll(async () => {
  if (pgUp) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

describe("IncidentManager writes refuse bad caller input naming the caller's field", () => {
  it("memory (with the transactional outbox)", async () => {
    await incidentBoundaryScenario(memoryStores());
  });
  it.skipIf(!pgUp)("PostgreSQL (with the transactional outbox)", async () => {
    await incidentBoundaryScenario(postgresStores(nodePgExecutor(pool), { schema }));
  });
});
