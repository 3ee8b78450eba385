import {
  checkCounterAdds,
  checkCounterIncrement,
  checkCounterReadActive,
  type ActiveCondition,
  type ActiveSeries,
  type CounterAdd,
  type CounterStore,
  type TenantKey,
} from "@ops/core";
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
    if (++this.increments >= SWEEP_EVERY) {
      this.increments = 0;
      this.sweep();
    }
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
   * Many adds in ONE statement: the rows travel as column arrays (`unnest`), adds of the same
   * bucket are merged first (an upsert may touch a row once), rows are locked in one order (no
   * deadlock between concurrent flushes), and each add gets its running window total. The
   * statement is atomic: when it fails nothing of the call was written.
   */
  async incrementMany(adds: readonly CounterAdd[]): Promise<number[]> {
    const checked = checkCounterAdds(this.pkg, adds);
    if (adds.length === 0) return [];
    interface RowAcc {
      tenantId: TenantKey;
      key: string;
      bucketMs: number;
      start: number;
      by: number;
      expires: number;
      from: number;
      members: number[];
    }
    const rows = new Map<string, RowAcc>();
    adds.forEach((a, i) => {
      const { by, windowBuckets, start } = checked[i]!;
      const ttl = Math.max(a.ttlMs ?? 0, windowBuckets * a.bucketMs);
      const id = `${a.tenantId === null ? "\u0000" : `t${a.tenantId}`}\u0001${a.key}\u0001${a.bucketMs}\u0001${start}`;
      const r = rows.get(id);
      const from = start - (windowBuckets - 1) * a.bucketMs;
      if (r) {
        r.by += by;
        r.expires = Math.max(r.expires, start + a.bucketMs + ttl);
        r.from = Math.min(r.from, from);
        r.members.push(i);
      } else
        rows.set(id, {
          tenantId: a.tenantId,
          key: a.key,
          bucketMs: a.bucketMs,
          start,
          by,
          expires: start + a.bucketMs + ttl,
          from,
          members: [i],
        });
    });
    const list = [...rows.values()].sort((x, y) =>
      x.tenantId === y.tenantId
        ? x.key < y.key
          ? -1
          : x.key > y.key
            ? 1
            : x.bucketMs - y.bucketMs || x.start - y.start
        : x.tenantId === null
          ? -1
          : y.tenantId === null
            ? 1
            : x.tenantId < y.tenantId
              ? -1
              : 1,
    );
    const t = this.t.counters;
    // The window's earlier buckets are read from the statement's snapshot (before this call's
    // adds); adds of this call to those buckets are added below. The tenant test is a plain
    // equality (one subquery for the global scope, one for tenants): with an OR the planner walks
    // the (bucket_ms, key, start_ms) index over every tenant sharing the key (a user id or IP seen
    // by 10,000 tenants made each add read 100,000 rows).
    const result = await this.q(
      `counters.incrementMany (${adds.length} adds)`,
      sql`WITH v AS (
            SELECT * FROM unnest(${list.map((r) => r.tenantId)}::text[], ${list.map((r) => r.key)}::text[],
              ${list.map((r) => r.bucketMs)}::bigint[], ${list.map((r) => r.start)}::bigint[], ${list.map((r) => r.by)}::bigint[],
              ${list.map((r) => new Date(r.expires).toISOString())}::timestamptz[], ${list.map((r) => r.from)}::bigint[])
              WITH ORDINALITY AS v("tenant_id", "key", "bucket_ms", "start_ms", "by", "expires_at", "from_ms", "i")
          ), up AS (
            INSERT INTO ${t} AS c ("tenant_id", "key", "bucket_ms", "start_ms", "count", "expires_at")
            SELECT "tenant_id", "key", "bucket_ms", "start_ms", "by", "expires_at" FROM v ORDER BY "i"
            ON CONFLICT ON CONSTRAINT ops_counters_bucket_key
            DO UPDATE SET "count" = c."count" + EXCLUDED."count", "expires_at" = GREATEST(c."expires_at", EXCLUDED."expires_at")
            RETURNING c."tenant_id", c."key", c."bucket_ms", c."start_ms", c."count"
          )
          SELECT v."i", up."count" + CASE WHEN v."from_ms" >= v."start_ms" THEN 0
            WHEN v."tenant_id" IS NULL THEN COALESCE((
              SELECT sum(e."count") FROM ${t} e
              WHERE e."tenant_id" IS NULL
                AND e."key" = v."key" AND e."bucket_ms" = v."bucket_ms" AND e."start_ms" >= v."from_ms" AND e."start_ms" < v."start_ms"
            ), 0)
            ELSE COALESCE((
              SELECT sum(e."count") FROM ${t} e
              WHERE e."tenant_id" = v."tenant_id"
                AND e."key" = v."key" AND e."bucket_ms" = v."bucket_ms" AND e."start_ms" >= v."from_ms" AND e."start_ms" < v."start_ms"
            ), 0) END AS "total"
          FROM v JOIN up ON COALESCE(up."tenant_id", '') = COALESCE(v."tenant_id", '') AND up."key" = v."key"
            AND up."bucket_ms" = v."bucket_ms" AND up."start_ms" = v."start_ms"`,
    );
    const rowTotal = new Array<number>(list.length);
    for (const r of result) rowTotal[num(r.i) - 1] = num(r.total);
    // Adds of this call to earlier buckets of the same window (not in the snapshot).
    const bySeries = new Map<string, RowAcc[]>();
    for (const r of list) {
      const sid = `${r.tenantId ?? "\u0000"}\u0001${r.key}\u0001${r.bucketMs}`;
      const g = bySeries.get(sid);
      if (g) g.push(r);
      else bySeries.set(sid, [r]);
    }
    const out = new Array<number>(adds.length);
    list.forEach((r, j) => {
      let total = rowTotal[j] ?? 0;
      const g = bySeries.get(`${r.tenantId ?? "\u0000"}\u0001${r.key}\u0001${r.bucketMs}`)!;
      if (g.length > 1) for (const o of g) if (o.start >= r.from && o.start < r.start) total += o.by;
      // Adds merged into one row see distinct running totals, in input order.
      let later = r.by;
      for (const i of r.members) {
        later -= checked[i]!.by;
        out[i] = total - later;
      }
    });
    if ((this.increments += adds.length) >= SWEEP_EVERY) {
      this.increments = 0;
      this.sweep();
    }
    return out;
  }

  /**
   * Every active series of `keys` in one statement: the bucketed rows of the range (index
   * `ops_counters_active_idx` on bucket_ms, key, start_ms), one row per series with its buckets as
   * arrays. With `having`, the tenants are first reduced in the database with one
   * `GROUP BY tenant_id HAVING` (sum per condition), so only tenants that can fire a rule travel.
   */
  async readActive(input: {
    keys: readonly string[];
    bucketMs: number;
    fromMs: number;
    toMs: number;
    having?: readonly ActiveCondition[];
  }): Promise<ActiveSeries[]> {
    const keys = checkCounterReadActive(this.pkg, input);
    const t = this.t.counters;
    const range = sql`"bucket_ms" = ${input.bucketMs} AND "key" = ANY(${keys}::text[])
            AND "start_ms" >= ${input.fromMs} AND "start_ms" < ${input.toMs} AND "count" > 0 AND "expires_at" > now()`;
    const having = input.having ?? [];
    const statement =
      having.length === 0
        ? sql`SELECT "tenant_id", "key", array_agg("start_ms" ORDER BY "start_ms") AS "starts", array_agg("count" ORDER BY "start_ms") AS "counts"
            FROM ${t} WHERE ${range}
            GROUP BY "tenant_id", "key"`
        : sql`WITH s AS MATERIALIZED (SELECT "tenant_id", "key", "start_ms", "count" FROM ${t} WHERE ${range}),
            keep AS (
              SELECT "tenant_id" FROM s WHERE "tenant_id" IS NOT NULL GROUP BY "tenant_id"
              HAVING ${sql.join(
                having.map(
                  (c) =>
                    sql`COALESCE(sum("count") FILTER (WHERE "key" = ANY(${[...new Set(c.keys)]}::text[]) AND "start_ms" >= ${c.fromMs} AND "start_ms" < ${c.toMs}), 0) >= ${c.min}`,
                ),
                " OR ",
              )}
            )
            SELECT s."tenant_id", s."key", array_agg(s."start_ms" ORDER BY s."start_ms") AS "starts", array_agg(s."count" ORDER BY s."start_ms") AS "counts"
            FROM s WHERE s."tenant_id" IS NULL OR s."tenant_id" IN (SELECT "tenant_id" FROM keep)
            GROUP BY s."tenant_id", s."key"`;
    const rows = await this.q("counters.readActive", statement);
    return rows.map((r) => {
      const starts = arr(r.starts);
      const counts = arr(r.counts);
      return {
        tenantId: (r.tenant_id ?? null) as TenantKey,
        key: String(r.key),
        buckets: starts.map((st, i) => ({ startMs: num(st), count: num(counts[i]) })),
      };
    });
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

/** A bigint[] column as values: drivers give arrays, or (some shims) the text form `{1,2}`. */
function arr(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return v === "{}" ? [] : v.slice(1, -1).split(",");
  return [];
}
