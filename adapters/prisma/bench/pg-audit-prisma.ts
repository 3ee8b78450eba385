// Audit append into PostgreSQL through @ops/adapter-prisma (Prisma 7 + @prisma/adapter-pg), the
// sibling of bench/src/cases/pg-audit.ts (Drizzle): @ops/audit's buffered, hash-chained group
// commit (500-entry batches, each one guarded multi-row INSERT) against a raw 500-row multi-row
// INSERT of the same rows into the same table through pg, in the same run.
//
// A BenchCase (bench/src/types.ts) kept in this package because it needs the Prisma client
// generated from prisma/ops.prisma. Run alone: node --conditions @ops/source --import tsx bench/pg-audit-prisma.ts [--full]
// or copy it into bench/src/cases/ (with @ops/adapter-prisma, @prisma/adapter-pg in bench's deps).
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import { createAuditLog } from "@ops/audit";
import type { AuditRecord } from "@ops/core";
import pg from "pg";
import { OPS_MIGRATIONS, PrismaAuditStore, type PrismaClientLike } from "../src/index.js";

interface BenchRow {
  group: string;
  subject: string;
  opsPerSec?: number;
  note?: string;
  ours?: boolean;
}

const PG_URL = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const BATCH = 500;
const GROUP = "audit: append to PostgreSQL via Prisma (hash chain, 500-row batches)";
const STORE_GROUP = "audit: store append to PostgreSQL via Prisma (pre-chained, 500-row batches)";
const here = dirname(fileURLToPath(import.meta.url));

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 5432) });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(1500, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** ~200 bytes of jsonb meta, as in the figures of ANCHORS.md (same entries as the Drizzle case). */
const entry = (tenantId: string, i: number) => ({
  action: "DATA_ACCESS",
  tenantId,
  actor: { id: `user_${i % 1000}`, type: "user" as const, ip: `10.0.${(i >> 8) & 255}.${i & 255}` },
  target: { id: `doc_${i}`, type: "document" },
  requestId: `req_${i}`,
  meta: {
    route: "/api/documents/:id",
    method: "GET",
    status: 200,
    durationMs: i % 97,
    region: "eu-west-1",
    plan: "enterprise",
    flags: ["a", "b"],
  },
});

const COLS = [
  "id",
  "tenant_id",
  "seq",
  "prev_hash",
  "hash",
  "ts",
  "env",
  "action",
  "actor_id",
  "actor_type",
  "actor_ip",
  "actor_user_agent",
  "subject_id",
  "subject_type",
  "target_id",
  "target_type",
  "target_name",
  "outcome",
  "reason",
  "surface",
  "request_id",
  "correlation_id",
  "meta",
  "sealed",
];
const rowValues = (r: AuditRecord, tenantId: string): unknown[] => [
  `${r.id}_raw`,
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const pgAuditPrisma = {
  name: "pg-audit-prisma: audit append vs raw multi-row INSERT (PostgreSQL, Prisma 7)",
  async run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
    if (!(await reachable(PG_URL)))
      return [{ group: GROUP, subject: "(skipped)", note: `PostgreSQL not reachable at ${new URL(PG_URL).host}` }];
    const n = quick ? 10_000 : 100_000;
    const runs = quick ? 1 : 3;
    const schema = `ops_bench_prisma_${process.pid}`;
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4, options: `-c search_path=${schema}` });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`);
    for (const m of OPS_MIGRATIONS) await pool.query(m.sql);
    const { generate } = (await import(pathToFileURL(join(here, "..", "scripts", "generate.mjs")).href)) as {
      generate: (o: { quiet: boolean }) => { clientPath: string };
    };
    const { PrismaClient } = (await import(pathToFileURL(generate({ quiet: true }).clientPath).href)) as {
      PrismaClient: new (o: { adapter: PrismaPg }) => PrismaClientLike & { $disconnect(): Promise<void> };
    };
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: PG_URL, options: `-c search_path=${schema}`, max: 4 }, { schema }),
    });
    const audit = new PrismaAuditStore(prisma);
    const ours: number[] = [];
    const raw: number[] = [];
    const store: number[] = [];
    // A long-lived app pays Prisma's first-query start-up (query compiler, connection) once: keep
    // it out of the timings, as the pg pool's first connection is for the raw rows.
    const warm = createAuditLog({ store: audit, env: "prod", buffer: { maxBatch: BATCH, maxQueue: BATCH } });
    for (let i = 0; i < BATCH; i++) warm.enqueue(entry("bench-warmup", i));
    await warm.flush();
    await warm.close();
    await pool.query("SELECT 1");
    try {
      for (let run = 0; run < runs; run++) {
        const tenant = `bench-${run}`;
        const log = createAuditLog({ store: audit, env: "prod", buffer: { maxBatch: BATCH, maxQueue: n } });
        let t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          log.enqueue(entry(tenant, i));
          if (i % BATCH === BATCH - 1) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await log.flush();
        ours.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
        await log.close();

        const records: AuditRecord[] = [];
        for (let from = 1; from <= n; from += 10_000)
          records.push(...(await audit.range({ tenantId: tenant, fromSeq: from, limit: 10_000 })));
        const rawTenant = `${tenant}-raw`;
        const statements: Array<{ text: string; values: unknown[] }> = [];
        for (let i = 0; i < records.length; i += BATCH) {
          const chunk = records.slice(i, i + BATCH);
          const values = chunk.flatMap((r) => rowValues(r, rawTenant));
          const tuples = chunk.map((_, k) => `(${COLS.map((__, c) => `$${k * COLS.length + c + 1}`).join(", ")})`);
          statements.push({ text: `INSERT INTO ops_audit_entries (${COLS.join(", ")}) VALUES ${tuples.join(", ")}`, values });
        }
        t0 = process.hrtime.bigint();
        for (const s of statements) await pool.query(s.text, s.values);
        raw.push(records.length / (Number(process.hrtime.bigint() - t0) / 1e9));

        const storeTenant = `${tenant}-store`;
        const batches: AuditRecord[][] = [];
        for (let i = 0; i < records.length; i += BATCH)
          batches.push(records.slice(i, i + BATCH).map((r) => ({ ...r, id: `${r.id}_s`, tenantId: storeTenant })));
        t0 = process.hrtime.bigint();
        for (const b of batches) await audit.append({ tenantId: storeTenant, records: b });
        store.push(records.length / (Number(process.hrtime.bigint() - t0) / 1e9));
      }
    } finally {
      await prisma.$disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    }
    return [
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
  },
};

export default pgAuditPrisma;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await pgAuditPrisma.run({ quick: !process.argv.includes("--full") });
  for (const r of rows)
    console.log(`${r.subject.padEnd(75)} ${r.opsPerSec ? Math.round(r.opsPerSec).toLocaleString("en-US").padStart(8) : ""} /s`);
}
