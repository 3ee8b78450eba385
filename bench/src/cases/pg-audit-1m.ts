// A 1,000,000-entry audit chain in PostgreSQL: `verify` throughput on every driver the stores run
// on (node-postgres, postgres.js, Prisma 7), and the audit query paths (time range, time range +
// action, time range + actor, actor alone) answered from an index, in milliseconds.
import { nodePgExecutor, postgresJsExecutor, postgresStores, type PgExecutor } from "@ops/adapter-postgres";
import { prismaStores } from "@ops/adapter-prisma";
import { createAuditLog } from "@ops/audit";
import type { AuditQuery, AuditStore } from "@ops/core";
import postgres from "postgres";
import { PG_URL, benchSchema, median, pgReachable, prismaOn, seedChain } from "../lib/pg.js";
import { percentile, type BenchCase, type BenchRow } from "../types.js";

const VERIFY = "audit: verify a chain on PostgreSQL (entries/s)";
const QUERY = "audit: query a chain on PostgreSQL (index-backed, ms per page of 100)";
const START = Date.parse("2026-01-01T00:00:00.000Z");
const STEP_MS = 1000;
const ACTIONS = ["DATA_ACCESS", "LOGIN", "EXPORT", "SETTINGS_CHANGED"];

const pgAudit1m: BenchCase = {
  name: "pg-audit-1m: verify and query a 1,000,000-entry chain (PostgreSQL)",
  async run({ quick }) {
    if (!(await pgReachable()))
      return [{ group: VERIFY, subject: "(skipped)", note: `PostgreSQL not reachable at ${new URL(PG_URL).host}` }];
    const n = quick ? 100_000 : 1_000_000;
    const tenant = "bench-big";
    const { schema, pool, drop } = await benchSchema("1m");
    const pgjs = postgres(PG_URL, { max: 4, onnotice: () => {}, connection: { search_path: schema } });
    const prisma = await prismaOn(schema);
    const rows: BenchRow[] = [];
    try {
      const t0 = process.hrtime.bigint();
      const nodePg = postgresStores(nodePgExecutor(pool), { schema });
      await seedChain(nodePg.audit, tenant, n, { startMs: START, stepMs: STEP_MS, actions: ACTIONS });
      // Another tenant's rows in the same table: every query must stay on its own tenant.
      await seedChain(nodePg.audit, "bench-other", Math.min(n, 50_000), { startMs: START, stepMs: STEP_MS, actions: ACTIONS });
      // As autovacuum leaves an insert-only table (visibility map set): index-only scans apply.
      await pool.query(`VACUUM ANALYZE "${schema}"."ops_audit_entries"`);
      const seedS = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stderr.write(`bench: seeded ${n.toLocaleString("en-US")} entries in ${seedS.toFixed(1)} s\n`);

      const drivers: Array<{ name: string; store: AuditStore }> = [
        { name: "node-postgres (pg.Pool)", store: nodePg.audit },
        { name: "postgres.js", store: postgresStores(postgresJsExecutor(pgjs) as PgExecutor, { schema }).audit },
        { name: "Prisma 7 (@prisma/adapter-pg)", store: prismaStores(prisma, { schema }).audit },
      ];
      // One pass per driver: a full pass reads the whole million rows.
      const runs = 1;
      for (const d of drivers) {
        const log = createAuditLog({ store: d.store, env: "prod" });
        const rates: number[] = [];
        for (let r = 0; r < runs; r++) {
          const s0 = process.hrtime.bigint();
          const res = await log.verify({ tenantId: tenant });
          const s = Number(process.hrtime.bigint() - s0) / 1e9;
          if (!res.ok || res.checked !== n) throw new Error(`verify on ${d.name}: ${res.problem?.message ?? `checked ${res.checked}`}`);
          rates.push(n / s);
        }
        await log.close();
        rows.push({
          group: VERIFY,
          subject: `@ops/audit verify + @ops/adapter-postgres over ${d.name}`,
          opsPerSec: median(rates),
          ...(rows.length === 0 ? { ours: true } : {}),
          note: `${n.toLocaleString("en-US")} entries, ~200 B jsonb meta, SHA-256 chain, ${runs} pass; target >= 100,000/s`,
        });
      }

      // Query shapes: a one-hour window in the middle of the chain, alone and with a filter.
      const mid = START + Math.floor(n / 2) * STEP_MS;
      const hour = (h: number) => new Date(mid + h * 3_600_000).toISOString();
      const shapes: Array<{ name: string; q: AuditQuery }> = [
        { name: "time range (1 h, mid-chain), oldest first", q: { tenantId: tenant, from: hour(0), to: hour(1), limit: 100 } },
        {
          name: "time range (1 h, mid-chain), newest first",
          q: { tenantId: tenant, from: hour(0), to: hour(1), limit: 100, order: "desc" },
        },
        { name: "time range (24 h) + action", q: { tenantId: tenant, from: hour(0), to: hour(24), actions: ["EXPORT"], limit: 100 } },
        { name: "time range (24 h) + actor", q: { tenantId: tenant, from: hour(0), to: hour(24), actorId: "user_7", limit: 100 } },
        { name: "from only (second half of the chain)", q: { tenantId: tenant, from: hour(0), limit: 100 } },
        { name: "actor alone, newest first", q: { tenantId: tenant, actorId: "user_7", limit: 100, order: "desc" } },
      ];
      const reps = quick ? 10 : 20;
      for (const [i, shape] of shapes.entries()) {
        const ms: number[] = [];
        for (let r = 0; r < reps; r++) {
          const q0 = process.hrtime.bigint();
          const page = await nodePg.audit.query(shape.q);
          ms.push(Number(process.hrtime.bigint() - q0) / 1e6);
          if (page.items.length === 0) throw new Error(`query "${shape.name}" found nothing`);
        }
        ms.sort((a, b) => a - b);
        rows.push({
          group: QUERY,
          subject: `${shape.name} (node-postgres)`,
          p50Ms: percentile(ms, 50),
          p99Ms: percentile(ms, 99),
          ...(i === 0 ? { ours: true } : {}),
          note: `${n.toLocaleString("en-US")}-entry chain + another tenant's 50,000; ${reps} runs; target < 20 ms`,
        });
      }
    } finally {
      await prisma.$disconnect().catch(() => {});
      await pgjs.end().catch(() => {});
      await drop();
    }
    return rows;
  },
};

export default pgAudit1m;
