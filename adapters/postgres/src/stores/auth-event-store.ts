import {
  decodeCursor,
  encodeCursor,
  pageLimit,
  type AuthEventQuery,
  type AuthEventRecord,
  type AuthEventStore,
  type JsonObject,
  type Page,
  type TenantKey,
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import type { Row } from "../executor.js";
import { isoOut, jsonOut, num, parseJson, str, tenantIs } from "../values.js";

/** Rows per INSERT (sent as 8 column arrays, whatever the count). */
const CHUNK = 10_000;

const COLUMNS = sql.join(
  [sql.raw(`"id", "type", "tenant_id", "user_id", "ip", "provider"`), isoOut("occurred_at"), jsonOut("meta")],
  sql`, `,
);

function toEvent(r: Row): AuthEventRecord {
  const e: AuthEventRecord = {
    id: str(r.id),
    type: str(r.type),
    occurredAt: str(r.occurred_at),
    tenantId: r.tenant_id === null ? null : str(r.tenant_id),
  };
  if (r.user_id !== null) e.userId = str(r.user_id);
  if (r.ip !== null) e.ip = str(r.ip);
  if (r.provider !== null) e.provider = str(r.provider);
  if (r.meta !== null) e.meta = parseJson<JsonObject>(r.meta);
  return e;
}

/** `AuthEventStore` on PostgreSQL (`ops_auth_events`, the auth signals): batched, idempotent appends. */
export class PgAuthEventStore extends PgStoreBase implements AuthEventStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "authEvents" as const;
  /** See `AuthEventStore.forgetSubject`: the tenant's events in id pages, each changed one rewritten. */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    const ids = forgetReplacements(input);
    const ips = new Set(input.identifiers);
    const what = "authEvents.forgetSubject";
    let records = 0;
    let after = "";
    for (;;) {
      const page = await this.q(
        what,
        sql`SELECT ${COLUMNS} FROM ${this.t.authEvents} WHERE ${tenantIs(input.tenantId)} AND "id" > ${after} ORDER BY "id" LIMIT 1000`,
      );
      for (const row of page) {
        const e = toEvent(row);
        const own = e.userId === input.subjectId;
        const meta = e.meta ? scrubJson(e.meta, ids) : undefined;
        const dropIp = e.ip !== undefined && (own || ips.has(e.ip));
        if (!own && !dropIp && meta === e.meta) continue;
        await this.q(
          what,
          sql`UPDATE ${this.t.authEvents} SET "user_id" = ${own ? input.pseudonym : (e.userId ?? null)}::text, "ip" = ${dropIp ? null : (e.ip ?? null)}::text,
                "meta" = ${meta === undefined ? null : JSON.stringify(meta)}::jsonb WHERE "id" = ${e.id} AND ${tenantIs(input.tenantId)}`,
        );
        records++;
      }
      if (page.length < 1000) break;
      after = str(page[page.length - 1]!.id);
    }
    return { records };
  }

  async append(input: { events: readonly AuthEventRecord[] }): Promise<{ inserted: number }> {
    if (!Array.isArray(input.events)) throw this.invalid("events", "expected an array");
    for (const [i, e] of input.events.entries())
      if (typeof e?.id !== "string" || e.id === "" || typeof e.type !== "string" || typeof e.occurredAt !== "string")
        throw this.invalid(`events[${i}]`, "expected id, type and occurredAt strings");
    if (input.events.length === 0) return { inserted: 0 };
    const what = `authEvents.append ${input.events.length} events`;
    let inserted = 0;
    for (let i = 0; i < input.events.length; i += CHUNK) {
      const chunk = input.events.slice(i, i + CHUNK);
      const n = chunk.length;
      const ids = new Array<string>(n);
      const types = new Array<string>(n);
      const times = new Array<string>(n);
      const tenants = new Array<string | null>(n);
      const users = new Array<string | null>(n);
      const ipList = new Array<string | null>(n);
      const providers = new Array<string | null>(n);
      const metas = new Array<string | null>(n);
      for (let j = 0; j < n; j++) {
        const e = chunk[j]!;
        ids[j] = e.id;
        types[j] = e.type;
        times[j] = e.occurredAt;
        tenants[j] = e.tenantId;
        users[j] = e.userId ?? null;
        ipList[j] = e.ip ?? null;
        providers[j] = e.provider ?? null;
        metas[j] = e.meta === undefined || e.meta === null ? null : JSON.stringify(e.meta);
      }
      // One statement per chunk whatever its size: the rows travel as eight column arrays (one
      // parse and plan, eight parameters), not as a VALUES list of 8 parameters per row. Each chunk
      // is atomic on its own; a retried flush skips what an earlier attempt stored.
      const r = await this.q(
        what,
        sql`WITH ins AS (
              INSERT INTO ${this.t.authEvents} ("id", "type", "occurred_at", "tenant_id", "user_id", "ip", "provider", "meta")
              SELECT "id", "type", "at"::timestamptz, "tenant_id", "user_id", "ip", "provider", "meta"::jsonb
              FROM unnest(${ids}::text[], ${types}::text[], ${times}::text[], ${tenants}::text[], ${users}::text[], ${ipList}::text[],
                ${providers}::text[], ${metas}::text[]) AS v("id", "type", "at", "tenant_id", "user_id", "ip", "provider", "meta")
              ON CONFLICT DO NOTHING RETURNING 1
            ) SELECT count(*) AS "n" FROM ins`,
      );
      inserted += num(r[0]?.n);
    }
    return { inserted };
  }

  async list(input: AuthEventQuery): Promise<Page<AuthEventRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const after = input.cursor ? decodeCursor(input.cursor, 2, this.pkg) : null;
    if (after && (typeof after[0] !== "string" || typeof after[1] !== "string"))
      throw this.invalid("cursor", "expected a cursor returned by a previous page");
    if (input.types && input.types.length === 0) return { items: [], nextCursor: null };
    const filters: Sql[] = [tenantIs(input.tenantId)];
    if (input.types)
      filters.push(
        sql`"type" IN (${sql.join(
          input.types.map((t) => sql`${t}`),
          sql`, `,
        )})`,
      );
    if (input.userId !== undefined) filters.push(sql`"user_id" = ${input.userId}`);
    if (input.ip !== undefined) filters.push(sql`"ip" = ${input.ip}`);
    if (input.from !== undefined) filters.push(sql`"occurred_at" >= ${input.from}::timestamptz`);
    if (input.to !== undefined) filters.push(sql`"occurred_at" < ${input.to}::timestamptz`);
    if (after) filters.push(sql`("occurred_at", "id") < (${after[0]}::timestamptz, ${after[1]})`);
    const rows = await this.q(
      `authEvents.list ${input.tenantId ?? "(global)"}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.authEvents} WHERE ${sql.join(filters, sql` AND `)}
          ORDER BY ${this.t.authEvents}."occurred_at" DESC NULLS LAST, "id" DESC NULLS LAST LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toEvent);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.occurredAt, last.id]) : null };
  }

  async countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>> {
    const rows = await this.q(
      `authEvents.countByType ${input.tenantId ?? "(global)"}`,
      sql`SELECT "type", count(*) AS "n" FROM ${this.t.authEvents}
          WHERE ${tenantIs(input.tenantId)} AND "occurred_at" >= ${input.from}::timestamptz AND "occurred_at" < ${input.to}::timestamptz
          GROUP BY "type"`,
    );
    const out: Record<string, number> = {};
    for (const r of rows) out[str(r.type)] = num(r.n);
    return out;
  }

  async prune(input: { before: string }): Promise<number> {
    const rows = await this.q(
      "authEvents.prune",
      sql`WITH d AS (DELETE FROM ${this.t.authEvents} WHERE "occurred_at" < ${input.before}::timestamptz RETURNING 1) SELECT count(*) AS "n" FROM d`,
    );
    return num(rows[0]?.n);
  }
}
