// Audit append with 1 vs 1,000 tenants writing at once into PostgreSQL (@ops/adapter-postgres on
// node-postgres), in the same run: @ops/audit's group commit carries entries of many tenants'
// chains in one INSERT (cross-chain group commit), each chained on its own head. Target (issue
// #18): 1,000 tenants >= 0.7x the single-tenant rate. Chains are verified after the run.
import pg from "pg";
import { applyOpsMigrations, nodePgExecutor, postgresStores } from "@ops/adapter-postgres";
import { createAuditLog } from "@ops/audit";
import { mapLimit } from "@ops/core";
import { tcpUp } from "../lib/scale.js";
import type { BenchCase, BenchRow } from "../types.js";

const GROUP = "audit: append to PostgreSQL, 1 vs 1,000 tenants writing at once";

async function run(exec: ReturnType<typeof nodePgExecutor>, schema: string, tenants: number, entries: number, tag: string) {
  const stores = postgresStores(exec, { schema });
  const log = createAuditLog({ store: stores.audit!, env: "bench", buffer: { maxQueue: 20_000 } });
  const ids = Array.from({ length: tenants }, (_, i) => `${tag}-${i}`);
  const t0 = process.hrtime.bigint();
  // Every tenant writes concurrently; each keeps a window of appends in flight.
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < entries; i++) {
    inFlight.push(
      log.append({
        action: "DATA_ACCESS",
        tenantId: ids[i % tenants]!,
        actor: { id: `user_${i % 1000}`, type: "user" },
        target: { id: `doc_${i}`, type: "document" },
        meta: { route: "/api/documents/:id", status: 200, durationMs: i % 97 },
      }),
    );
    if (inFlight.length >= 5_000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  let bad = 0;
  await mapLimit(ids.slice(0, 50), 8, async (tenantId) => {
    if (!(await log.verify({ tenantId })).ok) bad++;
  });
  await log.close?.();
  await stores.close();
  return { rate: entries / s, s, bad };
}

const bench: BenchCase = {
  name: "audit: append, many tenants",
  async run({ quick }) {
    const url = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (!(await tcpUp(url, 5432)))
      return [{ group: GROUP, subject: "@ops/audit + adapter-postgres", note: "skipped: PostgreSQL not reachable" }];
    const entries = quick ? 20_000 : 60_000;
    const schema = `opsbench_audit_tenants_${process.pid}`;
    const admin = new pg.Pool({ connectionString: url, max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const pool = new pg.Pool({ connectionString: url, max: 10, options: `-c search_path="${schema}"` });
    const rows: BenchRow[] = [];
    try {
      const exec = nodePgExecutor(pool);
      await applyOpsMigrations(exec);
      // Interleaved rounds (1, 1,000, 1, 1,000): drifting load hits both alike; the median is kept.
      const one: number[] = [];
      const many: number[] = [];
      let bad = 0;
      for (let r = 0; r < 2; r++) {
        const a = await run(exec, schema, 1, entries, `one${r}`);
        const b = await run(exec, schema, 1_000, entries, `many${r}`);
        one.push(a.rate);
        many.push(b.rate);
        bad += a.bad + b.bad;
      }
      const best = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
      const r1 = best(one);
      const rN = best(many);
      rows.push({
        group: GROUP,
        subject: "1 tenant",
        opsPerSec: r1,
        note: `${entries.toLocaleString("en-US")} entries per run, 2 runs`,
      });
      rows.push({
        group: GROUP,
        subject: "1,000 tenants (cross-chain group commit)",
        opsPerSec: rN,
        ours: true,
        note: `${(rN / r1).toFixed(2)}x the single-tenant rate (target >= 0.7x); chains verified: ${bad === 0 ? "all ok" : `${bad} FAILED`}`,
      });
    } finally {
      await pool.end();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
    return rows;
  },
};

export default bench;
