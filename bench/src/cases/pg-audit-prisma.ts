// Audit append into PostgreSQL through @ops/adapter-prisma (Prisma 7 + @prisma/adapter-pg), the
// sibling of pg-audit.ts (Drizzle): @ops/audit's buffered, hash-chained group commit (500-entry
// batches, each one guarded INSERT) and the store's own append, against a raw 500-row multi-row
// INSERT of the same rows into the same table through pg, in the same run.
import { prismaStores } from "@ops/adapter-prisma";
import { createAuditLog } from "@ops/audit";
import type { AuditRecord } from "@ops/core";
import { PG_URL, benchEntry, benchSchema, median, pgReachable, prismaOn } from "../lib/pg.js";
import type { BenchCase, BenchRow } from "../types.js";

const BATCH = 500;
const GROUP = "audit: append to PostgreSQL via Prisma (hash chain, 500-row batches)";
const STORE_GROUP = "audit: store append to PostgreSQL via Prisma (pre-chained, 500-row batches)";

const COLS = ["id", "tenant_id", "seq", "prev_hash", "hash", "ts", "env", "action", "actor_id", "actor_type", "actor_ip"]
  .concat(["actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason"])
  .concat(["surface", "request_id", "correlation_id", "meta", "sealed"]);
const rowValues = (r: AuditRecord, tenantId: string, suffix: string): unknown[] => [
  `${r.id}${suffix}`,
  tenantId,
  r.seq,
  r.prevHash,
  r.hash,
  r.ts,
  r.env,
  r.action,
  r.actor.id,
  r.actor.type,
  r.actor.ip ?? null,
  r.actor.userAgent ?? null,
  r.subject?.id ?? null,
  r.subject?.type ?? null,
  r.target?.id ?? null,
  r.target?.type ?? null,
  r.target?.name ?? null,
  r.outcome,
  r.reason ?? null,
  r.surface ?? null,
  r.requestId ?? null,
  r.correlationId ?? null,
  JSON.stringify(r.meta),
  null,
];

const pgAuditPrisma: BenchCase = {
  name: "pg-audit-prisma: audit append vs raw multi-row INSERT (PostgreSQL, Prisma 7)",
  async run({ quick }) {
    if (!(await pgReachable()))
      return [{ group: GROUP, subject: "(skipped)", note: `PostgreSQL not reachable at ${new URL(PG_URL).host}` }];
    const n = quick ? 10_000 : 100_000;
    const runs = quick ? 3 : 5;
    const { schema, pool, drop } = await benchSchema("prisma");
    const prisma = await prismaOn(schema);
    const audit = prismaStores(prisma, { schema }).audit;
    const ours: number[] = [];
    const raw: number[] = [];
    const store: number[] = [];
    try {
      // A long-lived app pays Prisma's first-query start-up once: keep it out of the timings, as
      // the pg pool's first connection is for the raw rows.
      const warm = createAuditLog({ store: audit, env: "prod", buffer: { maxBatch: BATCH, maxQueue: BATCH } });
      for (let i = 0; i < BATCH; i++) warm.enqueue(benchEntry("bench-warmup", i));
      await warm.close();
      await pool.query("SELECT 1");
      for (let run = 0; run < runs; run++) {
        const tenant = `bench-${run}`;
        const log = createAuditLog({ store: audit, env: "prod", buffer: { maxBatch: BATCH, maxQueue: n } });
        let t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          log.enqueue(benchEntry(tenant, i));
          if (i % BATCH === BATCH - 1) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await log.flush();
        ours.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
        await log.close();

        const records: AuditRecord[] = [];
        for (let from = 1; from <= n; from += 10_000)
          records.push(...(await audit.range({ tenantId: tenant, fromSeq: from, limit: 10_000 })));
        const statements: Array<{ text: string; values: unknown[] }> = [];
        for (let i = 0; i < records.length; i += BATCH) {
          const chunk = records.slice(i, i + BATCH);
          const tuples = chunk.map((_, k) => `(${COLS.map((__, c) => `$${k * COLS.length + c + 1}`).join(", ")})`);
          statements.push({
            text: `INSERT INTO ops_audit_entries (${COLS.join(", ")}) VALUES ${tuples.join(", ")}`,
            values: chunk.flatMap((r) => rowValues(r, `${tenant}-raw`, "_raw")),
          });
        }
        const batches: AuditRecord[][] = [];
        for (let i = 0; i < records.length; i += BATCH)
          batches.push(records.slice(i, i + BATCH).map((r) => ({ ...r, id: `${r.id}_s`, tenantId: `${tenant}-store` })));
        // Raw and store alternate which goes first, so neither always inserts into the bigger table.
        const measureRaw = async () => {
          const r0 = process.hrtime.bigint();
          for (const s of statements) await pool.query(s.text, s.values);
          raw.push(records.length / (Number(process.hrtime.bigint() - r0) / 1e9));
        };
        if (run % 2 === 0) await measureRaw();
        t0 = process.hrtime.bigint();
        for (const b of batches) await audit.append({ tenantId: `${tenant}-store`, records: b });
        store.push(records.length / (Number(process.hrtime.bigint() - t0) / 1e9));
        if (run % 2 === 1) await measureRaw();
      }
    } finally {
      await prisma.$disconnect();
      await drop();
    }
    const rows: BenchRow[] = [
      {
        group: GROUP,
        subject: "@ops/audit buffered append + @ops/adapter-prisma (Prisma 7, adapter-pg)",
        opsPerSec: median(ours),
        ours: true,
        note: `${n.toLocaleString("en-US")} entries, ~200 B jsonb meta, SHA-256 chain, head-continuity guard, median of ${runs}`,
      },
      {
        group: GROUP,
        subject: "raw pg 500-row multi-row INSERT (same rows, same table)",
        opsPerSec: median(raw),
        note: "pre-built rows and SQL",
      },
      {
        group: STORE_GROUP,
        subject: "@ops/adapter-prisma AuditStore.append (Prisma 7, adapter-pg)",
        opsPerSec: median(store),
        ours: true,
        note: "same pre-chained records, 500 per append: one guarded INSERT (24 column arrays via unnest + head check)",
      },
      {
        group: STORE_GROUP,
        subject: "raw pg 500-row multi-row INSERT (same rows, same table)",
        opsPerSec: median(raw),
        note: "the raw row of the group above",
      },
    ];
    return rows;
  },
};

export default pgAuditPrisma;
