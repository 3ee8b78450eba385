import {
  checkEffects,
  checkIsoTime,
  invalidField,
  type EffectKind,
  type EffectRecord,
  type EffectStore,
  type PendingEffect,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import type { Row } from "../executor.js";
import type { OpsTableNames } from "../tables.js";
import { isoOut, jsonIn, jsonOut, num, parseJson, str, strOrNull, tsIn } from "../values.js";

const COLUMNS = sql.join(
  [sql.raw(`"id", "tenant_id", "kind", "attempts", "last_error"`), jsonOut("payload"), isoOut("created_at"), isoOut("lease_until")],
  sql`, `,
);

function toEffect(r: Row): EffectRecord {
  return {
    id: str(r.id),
    tenantId: strOrNull(r.tenant_id),
    kind: str(r.kind) as EffectKind,
    payload: parseJson(r.payload),
    createdAt: str(r.created_at),
    attempts: num(r.attempts),
    leaseUntil: strOrNull(r.lease_until),
    lastError: strOrNull(r.last_error),
  };
}

/**
 * `, e0 AS (INSERT INTO ops_effects ... SELECT ... FROM w), ...` for a write whose CTE is `w`: one
 * row per effect when (and only when) the write changed a row, in the same statement, so the
 * effects commit or roll back with it. Checked first (`checkEffects`): a bad effect writes nothing.
 */
export function effectInserts(t: OpsTableNames, pkg: string, effects: readonly PendingEffect[] | undefined): Sql {
  checkEffects(pkg, effects);
  if (!effects || effects.length === 0) return sql``;
  return sql.join(
    effects.map(
      (e, i) =>
        sql`, ${sql.raw(`"e${i}"`)} AS (
          INSERT INTO ${t.effects} ("id", "tenant_id", "kind", "payload", "created_at", "attempts")
          SELECT ${e.id}::text, ${e.tenantId}::text, ${e.kind}::text, ${jsonIn(e.payload)}, ${tsIn(e.createdAt)}, 0 FROM (SELECT 1 FROM w LIMIT 1) AS "one"
          RETURNING 1
        )`,
    ),
    sql``,
  );
}

/**
 * `EffectStore` on PostgreSQL (table `ops_effects`, migration 0005): the flag and incident stores
 * insert effects in the statement of their write; `claim` leases with `FOR UPDATE SKIP LOCKED`;
 * `complete` deletes the row.
 */
export class PgEffectStore extends PgStoreBase implements EffectStore {
  async claim(input: {
    limit: number;
    leaseMs: number;
    now: string;
    ids?: readonly string[];
    kinds?: readonly EffectKind[];
  }): Promise<EffectRecord[]> {
    if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000)
      throw invalidField(this.pkg, "limit", "an integer 1..1000");
    if (!Number.isInteger(input.leaseMs) || input.leaseMs < 1) throw invalidField(this.pkg, "leaseMs", "a positive integer");
    const now = checkIsoTime(this.pkg, input.now, "now");
    if ((input.ids && input.ids.length === 0) || (input.kinds && input.kinds.length === 0)) return [];
    const until = new Date(Date.parse(now) + input.leaseMs).toISOString();
    const t = this.t.effects;
    const ids = input.ids ? sql`AND "id" = ANY(${[...input.ids]}::text[])` : sql``;
    const kinds = input.kinds ? sql`AND "kind" = ANY(${[...input.kinds]}::text[])` : sql``;
    const rows = await this.q(
      "effects.claim",
      sql`UPDATE ${t} SET "lease_until" = ${until}::timestamptz, "attempts" = "attempts" + 1
          WHERE "id" IN (
            SELECT "id" FROM ${t}
            WHERE ("lease_until" IS NULL OR "lease_until" <= ${now}::timestamptz) ${ids} ${kinds}
            ORDER BY "created_at", "id" LIMIT ${input.limit}
            FOR UPDATE SKIP LOCKED
          )
          RETURNING ${COLUMNS}`,
    );
    return rows.map(toEffect).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  }

  async complete(input: { id: string }): Promise<void> {
    await this.q("effects.complete", sql`DELETE FROM ${this.t.effects} WHERE "id" = ${input.id}`);
  }

  async fail(input: { id: string; error: string; retryAt: string }): Promise<void> {
    const retryAt = checkIsoTime(this.pkg, input.retryAt, "retryAt");
    await this.q(
      "effects.fail",
      sql`UPDATE ${this.t.effects} SET "lease_until" = ${retryAt}::timestamptz, "last_error" = ${String(input.error).slice(0, 2000)}
          WHERE "id" = ${input.id}`,
    );
  }

  async pending(): Promise<number> {
    const rows = await this.q("effects.pending", sql`SELECT count(*)::int AS "n" FROM ${this.t.effects}`);
    return num(rows[0]?.n ?? 0);
  }
}
