import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  systemClock,
  type ChangeRequestPatch,
  type ChangeRequestRecord,
  type ChangeRequestStatus,
  type ChangeRequestStore,
  type Clock,
  type JsonValue,
  type NewChangeRequest,
  type Page,
  type PageRequest,
} from "@ops/core";
import { sql } from "../sql.js";
import { PgStoreBase, type PgStoreContext } from "../base.js";
import type { Row } from "../executor.js";
import { inList, isoOut, jsonIn, jsonOut, num, parseJson, str, strOrNull, tsIn } from "../values.js";

const COLUMNS = sql.join(
  [
    sql.raw(
      `"env", "id", "key", "tenant_id", "kind", "base_version", "author", "reason", "status", "reviewer", "review_note", "applied_version", "version"`,
    ),
    jsonOut("config"),
    jsonOut("change"),
    isoOut("created_at"),
    isoOut("updated_at"),
  ],
  sql`, `,
);

function toRecord(r: Row): ChangeRequestRecord {
  return {
    env: str(r.env),
    id: str(r.id),
    key: str(r.key),
    tenantId: strOrNull(r.tenant_id),
    kind: str(r.kind),
    config: r.config === null || r.config === undefined ? null : parseJson<JsonValue>(r.config),
    change: parseJson<JsonValue>(r.change),
    baseVersion: r.base_version === null || r.base_version === undefined ? null : num(r.base_version),
    author: str(r.author),
    reason: str(r.reason),
    status: str(r.status) as ChangeRequestStatus,
    reviewer: strOrNull(r.reviewer),
    reviewNote: strOrNull(r.review_note),
    appliedVersion: r.applied_version === null || r.applied_version === undefined ? null : num(r.applied_version),
    version: num(r.version),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  };
}

/**
 * `ChangeRequestStore` on PostgreSQL: creates are INSERT ... ON CONFLICT DO NOTHING, updates one
 * UPDATE ... WHERE version = expected, so of concurrent reviewers exactly one wins. A proposed
 * deletion keeps SQL NULL in `config` (a JSON null config is stored as jsonb null).
 */
export class PgChangeRequestStore extends PgStoreBase implements ChangeRequestStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "changeRequests" as const;
  private readonly clock: Clock;

  constructor(ctx: PgStoreContext) {
    super(ctx);
    this.clock = ctx.clock ?? systemClock;
  }

  async create(input: { request: NewChangeRequest }): Promise<ChangeRequestRecord> {
    const r = input.request;
    if (!r || typeof r.id !== "string" || r.id.length === 0) throw this.invalid("request.id", "expected a non-empty string");
    const now = this.clock.date().toISOString();
    const rows = await this.q(
      `changeRequests.create ${r.env}/${r.id}`,
      sql`INSERT INTO ${this.t.flagChangeRequests}
            ("env", "id", "key", "tenant_id", "kind", "config", "change", "base_version", "author", "reason", "status", "version", "created_at", "updated_at")
          VALUES (${r.env}, ${r.id}, ${r.key}, ${r.tenantId}, ${r.kind}, ${r.config === null ? sql`NULL` : jsonIn(r.config)}, ${jsonIn(r.change)},
            ${r.baseVersion}, ${r.author}, ${r.reason}, 'pending', 1, ${tsIn(now)}, ${tsIn(now)})
          ON CONFLICT ON CONSTRAINT ops_flag_change_requests_pkey DO NOTHING
          RETURNING ${COLUMNS}`,
    );
    if (!rows[0]) throw new ConflictError(`[ops/${this.pkg}] change request ${r.env}/${r.id} already exists`, { retryable: false });
    return toRecord(rows[0]);
  }

  async get(input: { env: string; id: string }): Promise<ChangeRequestRecord | null> {
    const rows = await this.q(
      `changeRequests.get ${input.env}/${input.id}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.flagChangeRequests} WHERE "env" = ${input.env} AND "id" = ${input.id}`,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async update(input: { env: string; id: string; expectedVersion: number; patch: ChangeRequestPatch }): Promise<ChangeRequestRecord> {
    const p = input.patch;
    const sets = [sql`"version" = "version" + 1`, sql`"updated_at" = ${tsIn(this.clock.date().toISOString())}`];
    if (p.status !== undefined) sets.push(sql`"status" = ${p.status}`);
    if (p.reviewer !== undefined) sets.push(sql`"reviewer" = ${p.reviewer}`);
    if (p.reviewNote !== undefined) sets.push(sql`"review_note" = ${p.reviewNote}`);
    if (p.appliedVersion !== undefined) sets.push(sql`"applied_version" = ${p.appliedVersion}`);
    const what = `changeRequests.update ${input.env}/${input.id}`;
    const rows = await this.q(
      what,
      sql`UPDATE ${this.t.flagChangeRequests} SET ${sql.join(sets, sql`, `)}
          WHERE "env" = ${input.env} AND "id" = ${input.id} AND "version" = ${input.expectedVersion}
          RETURNING ${COLUMNS}`,
    );
    if (rows[0]) return toRecord(rows[0]);
    const current = await this.get(input);
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] change request ${input.env}/${input.id} not found`);
    throw new ConflictError(
      `[ops/${this.pkg}] change request ${input.env}/${input.id} is at version ${current.version}, expected ${input.expectedVersion}`,
    );
  }

  async list(
    input: { env: string; statuses?: readonly ChangeRequestStatus[]; key?: string } & PageRequest,
  ): Promise<Page<ChangeRequestRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const after = input.cursor ? String(decodeCursor(input.cursor, 1, this.pkg)[0]) : null;
    const rows = await this.q(
      `changeRequests.list ${input.env}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.flagChangeRequests}
          WHERE "env" = ${input.env}
          ${input.statuses && input.statuses.length > 0 ? sql`AND "status" IN (${inList(input.statuses)})` : sql``}
          ${input.statuses && input.statuses.length === 0 ? sql`AND false` : sql``}
          ${input.key !== undefined ? sql`AND "key" = ${input.key}` : sql``}
          ${after === null ? sql`` : sql`AND "id" > ${after}`}
          ORDER BY "id" LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }
}
