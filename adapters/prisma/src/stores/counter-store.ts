import { checkCounterIncrement, type CounterStore, type TenantKey } from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { num, tenantIs } from "../values.js";

/** Expired buckets are deleted by every this-many-th increment of a store (no native TTL). */
const SWEEP_EVERY = 1024;

/** `CounterStore` on `ops_counters`: one upsert statement adds and sums the window atomically. */
export class PrismaCounterStore extends PrismaStoreBase implements CounterStore {
  private increments = 0;

  /** @throws ValidationError on a bad key, bucketMs, by, windowBuckets or atMs. */
  async increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
  }): Promise<number> {
    const { by, windowBuckets, start } = checkCounterIncrement(PKG, input);
    const windowMs = windowBuckets * input.bucketMs;
    const ttl = Math.max(input.ttlMs ?? windowMs, windowMs);
    const expiresMs = start + input.bucketMs + ttl;
    return this.run("counters.increment", async () => {
      // The upsert takes the bucket's row lock, so concurrent callers get distinct running totals;
      // the other buckets of the window are read from the statement's snapshot (older buckets are
      // no longer written in practice).
      const rows = await this.select<{ total: bigint | number | string }>(
        `WITH up AS (
           INSERT INTO ops_counters (tenant_id, key, bucket_ms, start_ms, count, expires_at)
           VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, to_timestamp($6::double precision / 1000))
           ON CONFLICT ON CONSTRAINT ops_counters_bucket_key DO UPDATE
             SET count = ops_counters.count + EXCLUDED.count,
                 expires_at = GREATEST(ops_counters.expires_at, EXCLUDED.expires_at)
           RETURNING count
         )
         SELECT (SELECT count FROM up) + COALESCE((
           SELECT sum(count) FROM ops_counters
           WHERE ${tenantIs(input.tenantId, "$1")} AND key = $2 AND bucket_ms = $3::bigint
             AND start_ms > $4::bigint - $7::bigint AND start_ms < $4::bigint
         ), 0) AS total`,
        [input.tenantId, input.key, input.bucketMs, start, by, expiresMs, windowMs],
      );
      // Housekeeping must never fail an increment that committed: the caller would retry and count twice.
      if (++this.increments % SWEEP_EVERY === 0) await this.sweep().catch(() => undefined);
      return num(rows[0]?.total);
    });
  }

  async read(input: {
    tenantId: TenantKey;
    key: string;
    bucketMs: number;
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ startMs: number; count: number }>> {
    return this.run("counters.read", async () => {
      const rows = await this.select<{ start_ms: bigint; count: bigint }>(
        `SELECT start_ms, count FROM ops_counters
         WHERE ${tenantIs(input.tenantId, "$1")} AND key = $2 AND bucket_ms = $3::bigint
           AND start_ms >= $4::bigint AND start_ms < $5::bigint AND expires_at > now() AND count > 0
         ORDER BY start_ms`,
        [input.tenantId, input.key, input.bucketMs, Math.ceil(input.fromMs), Math.ceil(input.toMs)],
      );
      return rows.map((r) => ({ startMs: num(r.start_ms), count: num(r.count) }));
    });
  }

  async sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number> {
    let total = 0;
    for (const b of await this.read(input)) total += b.count;
    return total;
  }

  private async sweep(): Promise<void> {
    await this.exec(
      `DELETE FROM ops_counters WHERE ctid = ANY(ARRAY(SELECT ctid FROM ops_counters WHERE expires_at <= now() LIMIT 10000))`,
      [],
    );
  }
}
