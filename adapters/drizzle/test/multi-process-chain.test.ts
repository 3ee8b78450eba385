import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createAuditLog } from "@ops/audit";
import { randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleStores } from "../src/index.js";
import { createPgSchema } from "./support/harness.js";

const CHILD = fileURLToPath(new URL("./support/chain-child.ts", import.meta.url));
const TSX = createRequire(import.meta.url).resolve("tsx/cli");
const PROCESSES = 4;
const PER_PROCESS = 2500;

/** Runs one writer process to completion; rejects with its stderr when it fails. */
function runChild(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, "--conditions=@ops/source", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>);
      else reject(new Error(`writer ${args[4]} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

const pgUp = await requireService("postgres");

describe.skipIf(!pgUp)("many processes, one chain (PostgreSQL)", () => {
  let schema: { schema: string; drop: () => Promise<void> };
  let pool: pg.Pool;
  beforeAll(async () => {
    schema = await createPgSchema("chain");
    pool = new pg.Pool({ connectionString: testPgUrl(), max: 2 });
  });
  afterAll(async () => {
    await pool.end();
    await schema.drop();
  });

  it(`${PROCESSES} child processes append ${PER_PROCESS} entries each to one tenant chain: ${PROCESSES * PER_PROCESS} entries, no gap, no fork`, async () => {
    const tenant = randomTenant("chain");
    const stats = await Promise.all(
      Array.from({ length: PROCESSES }, (_, w) => runChild([testPgUrl(), schema.schema, tenant, String(PER_PROCESS), String(w)])),
    );
    console.info("[multi-process chain] writer stats:", JSON.stringify(stats));
    for (const s of stats) expect(s.committed).toBe(PER_PROCESS);
    // The writers really raced: somebody lost at least one append and re-chained.
    expect(stats.reduce((n, s) => n + (s.conflicts ?? 0), 0)).toBeGreaterThan(0);

    const table = `"${schema.schema}"."ops_audit_entries"`;
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seq, min(seq)::int AS lo, max(seq)::int AS hi,
                count(DISTINCT prev_hash)::int AS distinct_prev
           FROM ${table} WHERE tenant_id = $1`,
      [tenant],
    );
    expect(rows[0]).toEqual({ n: 10_000, distinct_seq: 10_000, lo: 1, hi: 10_000, distinct_prev: 10_000 });
    const perWorker = await pool.query(
      `SELECT (meta->>'worker')::int AS w, count(*)::int AS n, count(DISTINCT meta->>'n')::int AS d FROM ${table} WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
      [tenant],
    );
    expect(perWorker.rows).toEqual(Array.from({ length: PROCESSES }, (_, w) => ({ w, n: PER_PROCESS, d: PER_PROCESS })));

    // The chain verifies end to end from what the store returns.
    const log = createAuditLog({ store: drizzleStores(drizzle(pool), { schema: schema.schema }).audit, env: "test" });
    const result = await log.verify({ tenantId: tenant });
    await log.close();
    expect(result.problem).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.checked).toBe(10_000);
    expect(result.lastSeq).toBe(10_000);
  }, 300_000);
});
