// Helpers of the PostgreSQL cases: a scratch schema with the @ops migrations, the Prisma client
// generated from @ops/adapter-prisma's schema fragment, and fast seeding of long audit chains.
import { createRequire } from "node:module";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { OPS_MIGRATIONS, migrationStatements, type PgAuditStore } from "@ops/adapter-postgres";
import type { PrismaClientLike } from "@ops/adapter-prisma";
import { computeAuditHash } from "@ops/audit";
import type { AuditRecord } from "@ops/core";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

export const PG_URL = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";

export function pgReachable(url = PG_URL): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 5432) });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(1500, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** A fresh schema holding every @ops table (migrations applied), and a pool whose search_path is it. */
export async function benchSchema(tag: string, max = 4): Promise<{ schema: string; pool: pg.Pool; drop: () => Promise<void> }> {
  const schema = `ops_bench_${tag}_${process.pid}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max, options: `-c search_path=${schema}` });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`);
  const client = await pool.connect();
  try {
    for (const m of OPS_MIGRATIONS) for (const s of migrationStatements(m.sql)) await client.query(s);
  } finally {
    client.release();
  }
  return {
    schema,
    pool,
    drop: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    },
  };
}

type BenchPrisma = PrismaClientLike & { $disconnect(): Promise<void> };

/**
 * A PrismaClient (Prisma 7, @prisma/adapter-pg) on `schema`, generated from the adapter's shipped
 * fragment by the adapter's own script (into its .generated/ folder, skipped when up to date).
 */
export async function prismaOn(schema: string, max = 4): Promise<BenchPrisma> {
  const pkgDir = dirname(createRequire(import.meta.url).resolve("@ops/adapter-prisma/package.json"));
  const script = pathToFileURL(join(pkgDir, "scripts", "generate.mjs")).href;
  const { generate } = (await import(script)) as { generate: (o: { quiet: boolean }) => { clientPath: string } };
  const { PrismaClient } = (await import(pathToFileURL(generate({ quiet: true }).clientPath).href)) as {
    PrismaClient: new (o: { adapter: PrismaPg }) => BenchPrisma;
  };
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: PG_URL, options: `-c search_path=${schema}`, max }, { schema }) });
}

/** ~200 bytes of jsonb meta, as in the figures of ANCHORS.md. */
export const benchEntry = (tenantId: string, i: number) => ({
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

/**
 * Appends `n` chained entries to `tenantId`'s chain, 10,000 per `append`, one entry every
 * `stepMs` from `startMs` (so time ranges select known slices). Hashes are computed here, as
 * @ops/audit computes them; the rows go in through the store (24 column arrays per INSERT).
 */
export async function seedChain(
  audit: PgAuditStore,
  tenantId: string,
  n: number,
  opts: { startMs: number; stepMs: number; actions?: readonly string[] },
): Promise<void> {
  let prev = "";
  const actions = opts.actions ?? ["DATA_ACCESS"];
  for (let from = 1; from <= n; from += 10_000) {
    const batch: AuditRecord[] = [];
    for (let seq = from; seq < from + 10_000 && seq <= n; seq++) {
      const e = benchEntry(tenantId, seq);
      const r: Omit<AuditRecord, "hash"> = {
        id: `ae_${tenantId}_${seq}`,
        tenantId,
        seq,
        prevHash: prev,
        ts: new Date(opts.startMs + seq * opts.stepMs).toISOString(),
        env: "prod",
        action: actions[seq % actions.length]!,
        actor: e.actor,
        target: e.target,
        outcome: "success",
        requestId: e.requestId,
        meta: e.meta,
      };
      const hash = computeAuditHash(r);
      batch.push({ ...r, hash });
      prev = hash;
    }
    await audit.append({ tenantId, records: batch });
  }
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
