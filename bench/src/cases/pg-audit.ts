// Audit append into PostgreSQL through @ops/adapter-drizzle (node-postgres): @ops/audit's buffered,
// hash-chained group commit (500-entry batches, each one guarded multi-row INSERT) against a raw
// 500-row multi-row INSERT of the same rows into the same table, in the same run. Each run gets a
// fresh tenant chain; the table keeps its indexes, trigger and RLS (the bench role is a superuser).
import { readFileSync, readdirSync } from "node:fs";
import { createConnection } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { drizzleStores, type DrizzleDatabase } from "@ops/adapter-drizzle";
import { createAuditLog } from "@ops/audit";
import type { AuditRecord } from "@ops/core";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import type { BenchCase, BenchRow } from "../types.js";

const PG_URL = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const BATCH = 500;
const GROUP = "audit: append to PostgreSQL via Drizzle (hash chain, 500-row batches)";
const STORE_GROUP = "audit: store append to PostgreSQL via Drizzle (pre-chained, 500-row batches)";

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

function migrationStatements(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve("@ops/adapter-drizzle/package.json")), "migrations");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("--> statement-breakpoint"))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** ~200 bytes of jsonb meta, as in the figures of ANCHORS.md. */
const entry = (tenantId: string, i: number) => ({
  action: "DATA_ACCESS" as const,
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
const rowValues = (r: AuditRecord, tenantId: string, idSuffix: string): unknown[] => [
  `${r.id}${idSuffix}`,
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

const pgAudit: BenchCase = {
  name: "pg-audit: audit append vs raw multi-row INSERT (PostgreSQL, Drizzle)",
  async run({ quick }) {
    if (!(await reachable(PG_URL)))
      return [{ group: GROUP, subject: "(skipped)", note: `PostgreSQL not reachable at ${new URL(PG_URL).host}` }];
    const n = quick ? 10_000 : 100_000;
    const runs = quick ? 2 : 3;
    const schema = `ops_bench_${process.pid}`;
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    const client = await pool.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
      for (const s of migrationStatements()) await client.query(s);
      await client.query("RESET search_path");
    } finally {
      client.release();
    }
    const table = `"${schema}"."ops_audit_entries"`;
    // bench and the adapter may resolve different drizzle-orm copies (peer variants): the adapter
    // only needs the structural DrizzleDatabase.
    const audit = drizzleStores(drizzle(pool) as unknown as DrizzleDatabase, { schema }).audit;
    const ours: number[] = [];
    const raw: number[] = [];
    const store: number[] = [];
    /** Raw: the very same rows (read back untimed), 500 per multi-row INSERT; then the store alone. */
    const measureRawAndStore = async (records: AuditRecord[], run: number): Promise<void> => {
      const rawTenant = `bench-${run}-raw`;
      const statements: Array<{ text: string; values: unknown[] }> = [];
      for (let i = 0; i < records.length; i += BATCH) {
        const chunk = records.slice(i, i + BATCH);
        const values = chunk.flatMap((r) => rowValues(r, rawTenant, `_raw${run}`));
        const tuples = chunk.map((_, k) => `(${COLS.map((__, c) => `$${k * COLS.length + c + 1}`).join(", ")})`);
        statements.push({ text: `INSERT INTO ${table} (${COLS.map((c) => `"${c}"`).join(", ")}) VALUES ${tuples.join(", ")}`, values });
      }
      let t0 = process.hrtime.bigint();
      for (const st of statements) await pool.query(st.text, st.values);
      raw.push(records.length / (Number(process.hrtime.bigint() - t0) / 1e9));

      // The store alone: the same pre-chained records, 500 per AuditStore.append.
      const storeTenant = `bench-${run}-store`;
      const batches: AuditRecord[][] = [];
      for (let i = 0; i < records.length; i += BATCH)
        batches.push(records.slice(i, i + BATCH).map((r) => ({ ...r, id: `${r.id}_s${run}`, tenantId: storeTenant })));
      t0 = process.hrtime.bigint();
      for (const b of batches) await audit.append({ tenantId: storeTenant, records: b });
      store.push(records.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    };
    let previous: AuditRecord[] | null = null;
    try {
      for (let run = 0; run < runs; run++) {
        // Odd runs measure raw and store first (on the previous run's rows), so neither side always
        // inserts into the bigger table.
        if (run % 2 === 1 && previous) await measureRawAndStore(previous, run);
        // Ours: entries arrive 500 at a time (yielding between, as requests would), group commit
        // chains them and writes each batch with one INSERT while the next batch is prepared.
        const tenant = `bench-${run}`;
        const log = createAuditLog({ store: audit, env: "prod", buffer: { maxBatch: BATCH, maxQueue: n } });
        const t0 = process.hrtime.bigint();
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
        if (!(run % 2 === 1 && previous)) await measureRawAndStore(records, run);
        previous = records;
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rows: BenchRow[] = [
      {
        group: GROUP,
        subject: "@ops/audit buffered append + @ops/adapter-drizzle (node-postgres)",
        opsPerSec: median(ours),
        ours: true,
        note: `${n.toLocaleString("en-US")} entries, ~200 B jsonb meta, SHA-256 chain, head-continuity guard, median of ${runs}`,
      },
      {
        group: GROUP,
        subject: "raw pg 500-row multi-row INSERT (same rows, same table)",
        opsPerSec: median(raw),
        note: "pre-built rows and SQL: no hashing, no chain, no validation",
      },
      {
        group: STORE_GROUP,
        subject: "@ops/adapter-drizzle AuditStore.append (node-postgres)",
        opsPerSec: median(store),
        ours: true,
        note: "same pre-chained records, 500 per append: one guarded INSERT (24 column arrays via unnest + head-continuity check)",
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

export default pgAudit;
