import { checkCounterIncrement, checkCounterReadActive, type ActiveSeries, type CounterStore, type TenantKey } from "@ops/core";
import { sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import { num, tenantIs } from "../values.js";

/** Every this many increments, expired buckets are deleted (at most 1,000 rows, in the background). */
const SWEEP_EVERY = 1024;

/**
 * `CounterStore` on PostgreSQL (`ops_counters`). `increment` is ONE statement: an upsert of the
 * bucket (row-locked, so concurrent adds serialise) plus the sum of the window's earlier buckets,
 * so every concurrent caller sees a distinct running total. Expired buckets are not read and are
 * deleted in the background now and then.
 */
export class PgCounterStore extends PgStoreBase implements CounterStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "counters" as const;
  private increments = 0;

  async increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
    untracked?: boolean;
  }): Promise<number> {
    const { by, windowBuckets, start } = checkCounterIncrement(this.pkg, input);
    const ttl = Math.max(input.ttlMs ?? 0, windowBuckets * input.bucketMs);
    const expiresAt = new Date(start + input.bucketMs + ttl).toISOString();
    const t = this.t.counters;
    // The window sum does not filter on expires_at: at atMs no bucket of its own window has
    // expired, whatever the database clock says (a replay or backfill runs behind it).
    const rows = await this.q(
      `counters.increment ${input.tenantId ?? "(global)"}/${input.key}`,
      sql`WITH up AS (
            INSERT INTO ${t} AS c ("tenant_id", "key", "bucket_ms", "start_ms", "count", "expires_at")
            VALUES (${input.tenantId}, ${input.key}, ${input.bucketMs}, ${start}, ${by}, ${expiresAt}::timestamptz)
            ON CONFLICT ON CONSTRAINT ops_counters_bucket_key
            DO UPDATE SET "count" = c."count" + EXCLUDED."count", "expires_at" = GREATEST(c."expires_at", EXCLUDED."expires_at")
            RETURNING "count"
          )
          SELECT (SELECT "count" FROM up) + COALESCE((
            SELECT sum("count") FROM ${t}
            WHERE ${tenantIs(input.tenantId)} AND "key" = ${input.key} AND "bucket_ms" = ${input.bucketMs}
              AND "start_ms" >= ${start - (windowBuckets - 1) * input.bucketMs} AND "start_ms" < ${start}
          ), 0) AS "total"`,
    );
    if (++this.increments % SWEEP_EVERY === 0) this.sweep();
    return num(rows[0]?.total);
  }

  async read(input: {
    tenantId: TenantKey;
    key: string;
    bucketMs: number;
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ startMs: number; count: number }>> {
    const rows = await this.q(
      `counters.read ${input.tenantId ?? "(global)"}/${input.key}`,
      sql`SELECT "start_ms", "count" FROM ${this.t.counters}
          WHERE ${tenantIs(input.tenantId)} AND "key" = ${input.key} AND "bucket_ms" = ${input.bucketMs}
            AND "start_ms" >= ${input.fromMs} AND "start_ms" < ${input.toMs} AND "count" > 0 AND "expires_at" > now()
          ORDER BY "start_ms"`,
    );
    return rows.map((r) => ({ startMs: num(r.start_ms), count: num(r.count) }));
  }

  async sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number> {
    const rows = await this.q(
      `counters.sum ${input.tenantId ?? "(global)"}/${input.key}`,
      sql`SELECT COALESCE(sum("count"), 0) AS "total" FROM ${this.t.counters}
          WHERE ${tenantIs(input.tenantId)} AND "key" = ${input.key} AND "bucket_ms" = ${input.bucketMs}
            AND "start_ms" >= ${input.fromMs} AND "start_ms" < ${input.toMs} AND "expires_at" > now()`,
    );
    return num(rows[0]?.total);
  }

  /**
   * Every active series of `keys` in one statement over the bucketed rows (all tenants and the
   * global scope), grouped in memory. `untracked` needs no index here: rows are selected by key,
   * and detection never asks for per-identity keys.
   */
  async readActive(input: { keys: readonly string[]; bucketMs: number; fromMs: number; toMs: number }): Promise<ActiveSeries[]> {
    const keys = checkCounterReadActive(this.pkg, input);
    const rows = await this.q(
      "counters.readActive",
      sql`SELECT "tenant_id", "key", "start_ms", "count" FROM ${this.t.counters}
          WHERE "bucket_ms" = ${input.bucketMs} AND "key" = ANY(${keys}::text[])
            AND "start_ms" >= ${input.fromMs} AND "start_ms" < ${input.toMs} AND "count" > 0 AND "expires_at" > now()
          ORDER BY "tenant_id" NULLS FIRST, "key", "start_ms"`,
    );
    const out: ActiveSeries[] = [];
    let cur: ActiveSeries | undefined;
    for (const r of rows) {
      const tenantId = (r.tenant_id ?? null) as TenantKey;
      const key = String(r.key);
      if (!cur || cur.tenantId !== tenantId || cur.key !== key) out.push((cur = { tenantId, key, buckets: [] }));
      cur.buckets.push({ startMs: num(r.start_ms), count: num(r.count) });
    }
    return out;
  }

  /**
   * Deletes up to `limit` expired buckets (every tenant's). Runs by itself every 1,024 increments;
   * call it from a scheduled job to keep the table small when traffic is low.
   */
  async prune(input: { limit?: number } = {}): Promise<number> {
    const t = this.t.counters;
    const rows = await this.q(
      "counters.prune",
      sql`DELETE FROM ${t} WHERE "row_id" IN (
            SELECT "row_id" FROM ${t} WHERE "expires_at" <= now() LIMIT ${input.limit ?? 1000} FOR UPDATE SKIP LOCKED
          ) RETURNING 1 AS "x"`,
    );
    return rows.length;
  }

  private sweep(): void {
    // Housekeeping must never fail a caller's increment.
    this.prune().catch(() => {});
  }
}
