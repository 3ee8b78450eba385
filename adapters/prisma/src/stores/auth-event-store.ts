import {
  ValidationError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type AuthEventQuery,
  type AuthEventRecord,
  type AuthEventStore,
  type JsonObject,
  type Page,
  type TenantKey,
} from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { iso, json, tenantIs } from "../values.js";

export interface AuthEventRow {
  id: string;
  type: string;
  occurred_at: Date;
  tenant_id: string | null;
  user_id: string | null;
  ip: string | null;
  provider: string | null;
  meta: string | null;
}

export const AUTH_EVENT_COLUMNS = `id, type, occurred_at, tenant_id, user_id, ip, provider, meta::text AS meta`;

export function toRecord(row: AuthEventRow): AuthEventRecord {
  const rec: AuthEventRecord = { id: row.id, type: row.type as AuthEventRecord["type"], occurredAt: iso(row.occurred_at), tenantId: row.tenant_id };
  if (row.user_id !== null) rec.userId = row.user_id;
  if (row.ip !== null) rec.ip = row.ip;
  if (row.provider !== null) rec.provider = row.provider;
  if (row.meta !== null) rec.meta = json<JsonObject>(row.meta);
  return rec;
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/${PKG}] invalid auth event append: ${path}: ${message}`, [{ path, message }]);
}

/** `AuthEventStore` on `ops_auth_events` (the `AuthOpsLog` model). */
export class PrismaAuthEventStore extends PrismaStoreBase implements AuthEventStore {
  /**
   * One multi-row INSERT ... ON CONFLICT (id) DO NOTHING: a retried batch never double counts.
   * @throws ValidationError when an event lacks id, type or a valid occurredAt (nothing written).
   */
  async append(input: { events: readonly AuthEventRecord[] }): Promise<{ inserted: number }> {
    if (!Array.isArray(input?.events)) throw invalid("events", "expected an array");
    for (const [i, e] of input.events.entries()) {
      if (typeof e?.id !== "string" || e.id === "") throw invalid(`events[${i}].id`, "expected a non-empty string");
      if (typeof e.type !== "string" || e.type === "") throw invalid(`events[${i}].type`, "expected a non-empty string");
      if (typeof e.occurredAt !== "string" || Number.isNaN(Date.parse(e.occurredAt)))
        throw invalid(`events[${i}].occurredAt`, "expected an ISO 8601 time");
    }
    if (input.events.length === 0) return { inserted: 0 };
    return this.run("authEvents.append", async () => {
      // One json parameter expanded by PostgreSQL: cheaper through Prisma than per-column arrays.
      const batch = JSON.stringify(
        input.events.map((e) => ({
          id: e.id,
          type: e.type,
          occurred_at: e.occurredAt,
          tenant_id: e.tenantId,
          user_id: e.userId ?? null,
          ip: e.ip ?? null,
          provider: e.provider ?? null,
          meta: e.meta ?? null,
        })),
      );
      const inserted = await this.exec(
        `INSERT INTO ops_auth_events (id, type, occurred_at, tenant_id, user_id, ip, provider, meta)
         SELECT id, type, occurred_at, tenant_id, user_id, ip, provider, meta
         FROM json_populate_recordset(NULL::ops_auth_events, $1::json)
         ON CONFLICT (id) DO NOTHING`,
        [batch],
      );
      return { inserted };
    });
  }

  /** @throws ValidationError for a bad limit or cursor. */
  async list(input: AuthEventQuery): Promise<Page<AuthEventRecord>> {
    const limit = pageLimit(input.limit, PKG);
    const after = input.cursor ? (decodeCursor(input.cursor, 2, PKG) as [string, string]) : null;
    return this.run("authEvents.list", async () => {
      const rows = await this.select<AuthEventRow>(
        `SELECT ${AUTH_EVENT_COLUMNS} FROM ops_auth_events
         WHERE ${tenantIs(input.tenantId, "$1")}
           AND ($2::text[] IS NULL OR type = ANY($2::text[]))
           AND ($3::text IS NULL OR user_id = $3)
           AND ($4::text IS NULL OR ip = $4)
           AND ($5::timestamptz IS NULL OR occurred_at >= $5::timestamptz)
           AND ($6::timestamptz IS NULL OR occurred_at < $6::timestamptz)
           AND ($7::timestamptz IS NULL OR (occurred_at, id) < ($7::timestamptz, $8::text))
         ORDER BY occurred_at DESC, id DESC
         LIMIT $9`,
        [
          input.tenantId,
          input.types ? [...input.types] : null,
          input.userId ?? null,
          input.ip ?? null,
          input.from ?? null,
          input.to ?? null,
          after?.[0] ?? null,
          after?.[1] ?? null,
          limit + 1,
        ],
      );
      const items = rows.slice(0, limit).map(toRecord);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.occurredAt, last.id]) : null };
    });
  }

  async countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>> {
    return this.run("authEvents.countByType", async () => {
      const rows = await this.select<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM ops_auth_events
         WHERE ${tenantIs(input.tenantId, "$1")} AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz
         GROUP BY type`,
        [input.tenantId, input.from, input.to],
      );
      const out: Record<string, number> = {};
      for (const r of rows) out[r.type] = Number(r.n);
      return out;
    });
  }

  async prune(input: { before: string }): Promise<number> {
    return this.run("authEvents.prune", () =>
      this.exec(`DELETE FROM ops_auth_events WHERE occurred_at < $1::timestamptz`, [input.before]),
    );
  }
}
