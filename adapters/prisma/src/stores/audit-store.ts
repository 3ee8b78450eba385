import {
  ConflictError,
  ValidationError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type JsonObject,
  type Page,
  type PageRequest,
  type SealedFields,
  type TenantKey,
} from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { iso, json, num, tenantIs } from "../values.js";

const MAX_APPEND = 10_000;
const MAX_RANGE = 10_000;

export interface AuditRow {
  id: string;
  tenant_id: string | null;
  seq: bigint | number | string;
  prev_hash: string;
  hash: string;
  ts: Date;
  env: string;
  action: string;
  actor_id: string;
  actor_type: string;
  actor_ip: string | null;
  actor_user_agent: string | null;
  subject_id: string | null;
  subject_type: string | null;
  target_id: string | null;
  target_type: string | null;
  target_name: string | null;
  outcome: string;
  reason: string | null;
  surface: string | null;
  request_id: string | null;
  correlation_id: string | null;
  meta: string;
  sealed: string | null;
}

/** Every column, in insert order; meta and sealed as JSON text (see `json()`). */
const FIELDS = [
  "id", "tenant_id", "seq", "prev_hash", "hash", "ts", "env", "action", "actor_id", "actor_type", "actor_ip",
  "actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason",
  "surface", "request_id", "correlation_id", "meta", "sealed",
] as const;
const COLUMNS = FIELDS.map((f) => (f === "meta" || f === "sealed" ? `${f}::text AS ${f}` : f)).join(", ");
// The batch travels as ONE json parameter that PostgreSQL expands into rows: per-parameter
// overhead in Prisma's raw-query path makes 24 column arrays (or 12,000 placeholders) several
// times slower than one string.
const INSERT_SQL = `INSERT INTO ops_audit_entries (${FIELDS.join(", ")})
  SELECT ${FIELDS.join(", ")} FROM json_populate_recordset(NULL::ops_audit_entries, $1::json)`;

/** Maps a row back to exactly the record that was appended (NULL column <=> absent key). */
export function auditRecordFromRow(row: AuditRow): AuditRecord {
  const actor: AuditRecord["actor"] = { id: row.actor_id, type: row.actor_type as AuditRecord["actor"]["type"] };
  if (row.actor_ip !== null) actor.ip = row.actor_ip;
  if (row.actor_user_agent !== null) actor.userAgent = row.actor_user_agent;
  const rec: AuditRecord = {
    id: row.id,
    tenantId: row.tenant_id,
    seq: num(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    ts: iso(row.ts),
    env: row.env,
    action: row.action,
    actor,
    outcome: row.outcome as AuditRecord["outcome"],
    meta: json<JsonObject>(row.meta),
  };
  if (row.subject_id !== null) rec.subject = row.subject_type === null ? { id: row.subject_id } : { id: row.subject_id, type: row.subject_type };
  if (row.target_id !== null) {
    const target: NonNullable<AuditRecord["target"]> = { id: row.target_id };
    if (row.target_type !== null) target.type = row.target_type;
    if (row.target_name !== null) target.name = row.target_name;
    rec.target = target;
  }
  if (row.reason !== null) rec.reason = row.reason;
  if (row.surface !== null) rec.surface = row.surface;
  if (row.request_id !== null) rec.requestId = row.request_id;
  if (row.correlation_id !== null) rec.correlationId = row.correlation_id;
  if (row.sealed !== null) rec.sealed = json<SealedFields>(row.sealed);
  return rec;
}

/** The batch as the JSON array json_populate_recordset reads: one object per row, keyed by column. */
function batchJson(records: readonly AuditRecord[]): string {
  return JSON.stringify(
    records.map((r) => ({
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
      actor_ip: r.actor.ip ?? null,
      actor_user_agent: r.actor.userAgent ?? null,
      subject_id: r.subject?.id ?? null,
      subject_type: r.subject?.type ?? null,
      target_id: r.target?.id ?? null,
      target_type: r.target?.type ?? null,
      target_name: r.target?.name ?? null,
      outcome: r.outcome,
      reason: r.reason ?? null,
      surface: r.surface ?? null,
      request_id: r.requestId ?? null,
      correlation_id: r.correlationId ?? null,
      meta: r.meta ?? {},
      sealed: r.sealed ?? null,
    })),
  );
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/${PKG}] invalid ${path}: ${message}`, [{ path, message }]);
}

/**
 * `AuditStore` on `ops_audit_entries`. An append is ONE multi-row INSERT (a JSON batch expanded
 * by json_populate_recordset) guarded by the chain head: it writes all records or none. Two writers racing for one
 * seq collide on the unique (tenant_id, seq) key and the loser gets ConflictError.
 */
export class PrismaAuditStore extends PrismaStoreBase implements AuditStore {
  /**
   * @throws ValidationError when records are empty, too many, of another tenant or not consecutive.
   * @throws ConflictError when a seq is taken or the records do not continue the head.
   */
  async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
    const { tenantId, records } = input;
    if (!Array.isArray(records) || records.length === 0 || records.length > MAX_APPEND)
      throw invalid("records", `expected 1..${MAX_APPEND} records`);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.tenantId !== tenantId) throw invalid(`records[${i}].tenantId`, "expected the input's tenantId");
      if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw invalid(`records[${i}].seq`, "expected a positive integer");
      if (i > 0 && r.seq !== records[i - 1]!.seq + 1) throw invalid(`records[${i}].seq`, "expected consecutive seqs");
      if (Number.isNaN(Date.parse(r.ts))) throw invalid(`records[${i}].ts`, "expected an ISO 8601 time");
    }
    const first = records[0]!;
    await this.run(`audit.append seq ${first.seq}`, async () => {
      // The head check and the insert are one statement: nothing is written unless the first
      // record continues the chain as it is now; a concurrent winner makes this one hit the
      // unique key (23505 -> ConflictError).
      const inserted = await this.exec(
        `${INSERT_SQL}
         WHERE COALESCE((SELECT seq FROM ops_audit_entries WHERE ${tenantIs(tenantId, "$2")} ORDER BY seq DESC LIMIT 1), 0) = $3::bigint - 1
           AND COALESCE((SELECT hash FROM ops_audit_entries WHERE ${tenantIs(tenantId, "$2")} AND seq = $3::bigint - 1), '') = $4::text`,
        [batchJson(records), tenantId, first.seq, first.prevHash],
      );
      if (inserted !== records.length)
        throw new ConflictError(`[ops/${PKG}] audit records (seq ${first.seq}) do not continue the chain head`);
    });
  }

  async head(input: { tenantId: TenantKey }): Promise<{ seq: number; hash: string } | null> {
    return this.run("audit.head", async () => {
      const rows = await this.select<{ seq: bigint; hash: string }>(
        `SELECT seq, hash FROM ops_audit_entries WHERE ${tenantIs(input.tenantId, "$1")} ORDER BY seq DESC LIMIT 1`,
        [input.tenantId],
      );
      return rows[0] ? { seq: num(rows[0].seq), hash: rows[0].hash } : null;
    });
  }

  async range(input: { tenantId: TenantKey; fromSeq: number; toSeq?: number; limit?: number }): Promise<AuditRecord[]> {
    const limit = Math.max(1, Math.min(input.limit ?? 1000, MAX_RANGE));
    return this.run("audit.range", async () => {
      const rows = await this.select<AuditRow>(
        `SELECT ${COLUMNS} FROM ops_audit_entries
         WHERE ${tenantIs(input.tenantId, "$1")} AND seq >= $2::bigint AND ($3::bigint IS NULL OR seq <= $3::bigint)
         ORDER BY seq LIMIT $4`,
        [input.tenantId, input.fromSeq, input.toSeq ?? null, limit],
      );
      return rows.map(auditRecordFromRow);
    });
  }

  /** @throws ValidationError for a bad limit or cursor. */
  async query(input: AuditQuery): Promise<Page<AuditRecord>> {
    const limit = pageLimit(input.limit, PKG);
    const desc = input.order === "desc";
    const after = input.cursor ? decodeCursor(input.cursor, 1, PKG)[0] : null;
    if (after !== null && typeof after !== "number") throw invalid("cursor", "expected a cursor returned by a previous page");
    return this.run("audit.query", async () => {
      const rows = await this.select<AuditRow>(
        `SELECT ${COLUMNS} FROM ops_audit_entries
         WHERE ${tenantIs(input.tenantId, "$1")}
           AND ($2::bigint IS NULL OR seq ${desc ? "<" : ">"} $2::bigint)
           AND ($3::text IS NULL OR actor_id = $3)
           AND ($4::text IS NULL OR subject_id = $4)
           AND ($5::text IS NULL OR target_id = $5)
           AND ($6::text[] IS NULL OR action = ANY($6::text[]))
           AND ($7::text IS NULL OR outcome = $7)
           AND ($8::text IS NULL OR correlation_id = $8)
           AND ($9::timestamptz IS NULL OR ts >= $9::timestamptz)
           AND ($10::timestamptz IS NULL OR ts < $10::timestamptz)
         ORDER BY seq ${desc ? "DESC" : "ASC"} LIMIT $11`,
        [
          input.tenantId,
          after,
          input.actorId ?? null,
          input.subjectId ?? null,
          input.targetId ?? null,
          input.actions ? [...input.actions] : null,
          input.outcome ?? null,
          input.correlationId ?? null,
          input.from ?? null,
          input.to ?? null,
          limit + 1,
        ],
      );
      const items = rows.slice(0, limit).map(auditRecordFromRow);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : null };
    });
  }

  /** Chains with entries: the global one (null) first, then tenant ids ascending. */
  async chains(input: PageRequest = {}): Promise<Page<TenantKey>> {
    const limit = pageLimit(input.limit, PKG);
    // The cursor holds the last chain returned: [null] after the global chain, [tenantId] after a tenant's.
    const cursor = input.cursor ? decodeCursor(input.cursor, 1, PKG) : null;
    const after = cursor === null ? undefined : cursor[0];
    if (after !== undefined && after !== null && typeof after !== "string") throw invalid("cursor", "expected a cursor returned by a previous page");
    return this.run("audit.chains", async () => {
      const rows = await this.select<{ tenant_id: string | null }>(
        `SELECT DISTINCT tenant_id FROM ops_audit_entries
         WHERE ($1::boolean OR tenant_id IS NOT NULL) AND ($2::text IS NULL OR tenant_id > $2::text)
         ORDER BY tenant_id NULLS FIRST LIMIT $3`,
        [after === undefined, typeof after === "string" ? after : null, limit + 1],
      );
      const items = rows.slice(0, limit).map((r) => r.tenant_id);
      const more = rows.length > limit && items.length > 0;
      return { items, nextCursor: more ? encodeCursor([items[items.length - 1]!]) : null };
    });
  }
}
