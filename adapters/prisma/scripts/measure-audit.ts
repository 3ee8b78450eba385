// Quick throughput check (not a benchmark of record: bench/ owns those). Appends chained audit
// batches of 500 through PrismaAuditStore and compares with a raw 500-row multi-row INSERT of the
// same rows through pg, on a scratch schema. Run: node --conditions @ops/source --import tsx scripts/measure-audit.ts
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import type { AuditRecord } from "@ops/core";
import { OPS_MIGRATIONS, PrismaAuditStore, type PrismaClientLike } from "../src/index.js";
// @ts-expect-error plain ESM script without types
import { generate } from "./generate.mjs";

const url = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";
const schema = `ops_prisma_measure_${process.pid}`;
const BATCH = 500;
const BATCHES = Number(process.env.BATCHES ?? 20);

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
for (const m of OPS_MIGRATIONS) await admin.query(m.sql);
await admin.query(`CREATE TABLE raw_rows (LIKE ops_audit_entries INCLUDING ALL)`);

const { clientPath } = generate({ quiet: true }) as { clientPath: string };
const { PrismaClient } = (await import(pathToFileURL(clientPath).href)) as {
  PrismaClient: new (o: { adapter: PrismaPg }) => PrismaClientLike & { $disconnect(): Promise<void> };
};
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, options: `-c search_path=${schema}` }, { schema }) });
const store = new PrismaAuditStore(prisma);

function batch(seq0: number, prev: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const seq = seq0 + i;
    const base = {
      id: `a${seq}`,
      tenantId: "bench",
      seq,
      prevHash: prev,
      ts: new Date(1_700_000_000_000 + seq).toISOString(),
      env: "prod",
      action: "DATA_ACCESS",
      actor: { id: `u${seq % 97}`, type: "user" as const, ip: "203.0.113.7" },
      outcome: "success" as const,
      meta: { path: `/api/items/${seq}`, method: "GET", status: 200, bytes: 1234 + seq, note: "x".repeat(120) },
    };
    const hash = createHash("sha256").update(prev).update(JSON.stringify(base)).digest("hex");
    out.push({ ...base, hash });
    prev = hash;
  }
  return out;
}

const batches: AuditRecord[][] = [];
let prev = "";
for (let b = 0; b < BATCHES; b++) {
  const recs = batch(b * BATCH + 1, prev);
  prev = recs[recs.length - 1]!.hash;
  batches.push(recs);
}

// Warm up connections, Prisma's query path and PostgreSQL's caches before timing.
for (const recs of batches.slice(0, 3)) {
  await store.append({ tenantId: "warm", records: recs.map((r) => ({ ...r, id: `w${r.id}`, tenantId: "warm" })) });
  await admin.query(`INSERT INTO raw_rows SELECT * FROM ops_audit_entries WHERE tenant_id = 'warm'`);
  await admin.query(`TRUNCATE raw_rows`);
}

let t0 = performance.now();
for (const recs of batches) await store.append({ tenantId: "bench", records: recs });
const oursMs = performance.now() - t0;

const cols = 11;
t0 = performance.now();
for (const recs of batches) {
  const values: unknown[] = [];
  const rows = recs.map((r, i) => {
    values.push(r.id, r.tenantId, r.seq, r.prevHash, r.hash, r.ts, r.env, r.action, r.actor.id, r.actor.type, JSON.stringify(r.meta));
    return `(${Array.from({ length: cols }, (_, c) => `$${i * cols + c + 1}`).join(", ")}, 'success')`;
  });
  await admin.query(
    `INSERT INTO raw_rows (id, tenant_id, seq, prev_hash, hash, ts, env, action, actor_id, actor_type, meta, outcome) VALUES ${rows.join(", ")}`,
    values,
  );
}
const rawMs = performance.now() - t0;

// Same JSON batch, no head guard, through Prisma and through pg: where the time goes.
await admin.query(`TRUNCATE raw_rows`);
const payloads = batches.map((recs) =>
  JSON.stringify(
    recs.map((r) => ({
      id: r.id,
      tenant_id: r.tenantId,
      seq: r.seq,
      prev_hash: r.prevHash,
      hash: r.hash,
      ts: r.ts,
      env: r.env,
      action: r.action,
      actor_id: r.actor.id,
      actor_type: r.actor.type,
      actor_ip: r.actor.ip,
      outcome: r.outcome,
      meta: r.meta,
    })),
  ),
);
const ins = `INSERT INTO raw_rows SELECT * FROM json_populate_recordset(NULL::raw_rows, $1::json)`;
t0 = performance.now();
for (const p of payloads) await prisma.$executeRawUnsafe(ins, p);
const prismaJsonMs = performance.now() - t0;
await admin.query(`TRUNCATE raw_rows`);
t0 = performance.now();
for (const p of payloads) await admin.query(ins, [p]);
const pgJsonMs = performance.now() - t0;
console.log(
  JSON.stringify({
    prismaJsonNoGuard: Math.round(((BATCH * BATCHES) / prismaJsonMs) * 1000),
    pgJsonNoGuard: Math.round(((BATCH * BATCHES) / pgJsonMs) * 1000),
  }),
);

const n = BATCH * BATCHES;
console.log(
  JSON.stringify({
    rows: n,
    prismaAuditAppend: Math.round((n / oursMs) * 1000),
    rawPgMultiRowInsert: Math.round((n / rawMs) * 1000),
    ratio: Number((rawMs / oursMs).toFixed(2)),
  }),
);
await prisma.$disconnect();
await admin.query(`DROP SCHEMA ${schema} CASCADE`);
await admin.end();
