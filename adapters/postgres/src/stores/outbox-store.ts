import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type JsonObject,
  type OutboxEnqueueMessage,
  type OutboxFinalStatus,
  type OutboxMessage,
  type OutboxStatus,
  type OutboxStore,
  type Page,
  type PageRequest,
  type TenantKey,
  checkIsoTime,
  checkNonEmpty,
  checkOutboxCancel,
  checkOutboxEnqueue,
  invalidField,
  forgetReplacements,
  scrubJson,
  scrubText,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import { isoOut, jsonIn, jsonOut, num, parseJson, str, strOrNull, tenantIs } from "../values.js";
import { isPgExecutor, type PgExecutor, type Row } from "../executor.js";

const FINAL: readonly OutboxFinalStatus[] = ["dead", "expired", "cancelled"];

const COLUMNS = sql.join(
  [
    sql.raw(`"id", "tenant_id", "channel", "idempotency_key", "status", "attempts", "lease_owner", "last_error", "version"`),
    jsonOut("payload"),
    isoOut("created_at"),
    isoOut("next_attempt_at"),
    isoOut("lease_until"),
    isoOut("delivered_at"),
    isoOut("finished_at"),
  ],
  sql`, `,
);

function toMessage(r: Row): OutboxMessage {
  return {
    id: str(r.id),
    tenantId: strOrNull(r.tenant_id),
    channel: str(r.channel),
    payload: parseJson<JsonObject>(r.payload),
    idempotencyKey: str(r.idempotency_key),
    status: str(r.status) as OutboxStatus,
    attempts: num(r.attempts),
    createdAt: str(r.created_at),
    nextAttemptAt: str(r.next_attempt_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseUntil: strOrNull(r.lease_until),
    lastError: strOrNull(r.last_error),
    deliveredAt: strOrNull(r.delivered_at),
    finishedAt: strOrNull(r.finished_at),
    version: num(r.version),
  };
}

/**
 * `OutboxStore` on PostgreSQL (`ops_outbox`). `enqueue` joins the caller's Drizzle transaction
 * when given `tx`; `claim` leases with `FOR UPDATE SKIP LOCKED`, so concurrent workers never get
 * the same message; `complete`/`fail` are one guarded UPDATE on the lease holder.
 */
export class PgOutboxStore extends PgStoreBase implements OutboxStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "outbox" as const;
  /** See `OutboxStore.forgetSubject`: the tenant's messages in id pages; each change is a compare-and-set on `version`. */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    const ids = forgetReplacements(input);
    const what = "outbox.forgetSubject";
    let records = 0;
    let after = "";
    for (;;) {
      const page = await this.q(
        what,
        sql`SELECT ${COLUMNS} FROM ${this.t.outbox} WHERE ${tenantIs(input.tenantId)} AND "id" > ${after} ORDER BY "id" LIMIT 500`,
      );
      for (const row of page) {
        const m = toMessage(row);
        const payload = scrubJson(m.payload, ids);
        const lastError = m.lastError === null ? null : scrubText(m.lastError, ids);
        if (payload === m.payload && lastError === m.lastError) continue;
        const done = await this.q(
          what,
          sql`UPDATE ${this.t.outbox} SET "payload" = ${JSON.stringify(payload)}::jsonb, "last_error" = ${lastError}::text, "version" = "version" + 1
              WHERE "id" = ${m.id} AND "version" = ${m.version} RETURNING 1 AS "n"`,
        );
        records += done.length;
      }
      if (page.length < 500) break;
      after = str(page[page.length - 1]!.id);
    }
    return { records };
  }

  async enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage> {
    const m = input.message;
    const { createdAt, nextAttemptAt } = checkOutboxEnqueue(this.pkg, m);
    let on: PgExecutor = this.exec;
    if (input.tx !== undefined) {
      const adopted = this.ctx.adoptTx ? this.ctx.adoptTx(input.tx) : isPgExecutor(input.tx) ? input.tx : null;
      if (!adopted) throw invalidField(this.pkg, "tx", this.ctx.txExpected ?? "a PgExecutor on the caller's transaction");
      on = adopted;
    }
    const what = `outbox.enqueue ${m.id}`;
    const rows = await this.q(
      what,
      sql`INSERT INTO ${this.t.outbox} ("id", "tenant_id", "channel", "payload", "idempotency_key", "status", "attempts", "created_at", "next_attempt_at", "version")
          VALUES (${m.id}, ${m.tenantId}, ${m.channel}, ${jsonIn(m.payload)}, ${m.idempotencyKey}, 'pending', 0,
            ${createdAt}::timestamptz, ${nextAttemptAt}::timestamptz, 1)
          ON CONFLICT ("tenant_id", "idempotency_key") DO NOTHING
          RETURNING ${COLUMNS}`,
      on,
    );
    if (rows[0]) return toMessage(rows[0]);
    const existing = await this.q(
      what,
      sql`SELECT ${COLUMNS} FROM ${this.t.outbox} WHERE ${tenantIs(m.tenantId)} AND "idempotency_key" = ${m.idempotencyKey}`,
      on,
    );
    if (existing[0]) return toMessage(existing[0]);
    throw new ConflictError(`[ops/${this.pkg}] outbox enqueue: key ${m.idempotencyKey} is taken but not visible, retry`);
  }

  async claim(input: {
    workerId: string;
    limit: number;
    leaseMs: number;
    now: string;
    channels?: readonly string[];
  }): Promise<OutboxMessage[]> {
    checkNonEmpty(this.pkg, input.workerId, "workerId", 256);
    if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000)
      throw invalidField(this.pkg, "limit", "an integer 1..1000");
    if (!Number.isInteger(input.leaseMs) || input.leaseMs < 1) throw invalidField(this.pkg, "leaseMs", "a positive integer");
    const now = checkIsoTime(this.pkg, input.now, "now");
    if (input.channels !== undefined && input.channels.length === 0) return [];
    const leaseUntil = new Date(Date.parse(now) + input.leaseMs).toISOString();
    const t = this.t.outbox;
    const channelFilter =
      input.channels === undefined
        ? sql``
        : sql`AND "channel" IN (${sql.join(
            input.channels.map((c) => sql`${c}`),
            sql`, `,
          )})`;
    const rows = await this.q(
      `outbox.claim ${input.workerId}`,
      sql`UPDATE ${t} SET "lease_owner" = ${input.workerId}, "lease_until" = ${leaseUntil}::timestamptz,
            "attempts" = "attempts" + 1, "version" = "version" + 1
          WHERE "id" IN (
            SELECT "id" FROM ${t}
            WHERE "status" = 'pending' AND "next_attempt_at" <= ${now}::timestamptz
              AND ("lease_until" IS NULL OR "lease_until" <= ${now}::timestamptz) ${channelFilter}
            ORDER BY "next_attempt_at", "id" LIMIT ${input.limit}
            FOR UPDATE SKIP LOCKED
          )
          RETURNING ${COLUMNS}`,
    );
    return rows
      .map(toMessage)
      .sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id < b.id ? -1 : 1));
  }

  async complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage> {
    const now = checkIsoTime(this.pkg, input.now, "now");
    return this.leasedUpdate(
      "complete",
      input.id,
      input.workerId,
      sql`"status" = 'delivered', "delivered_at" = ${now}::timestamptz, "lease_owner" = NULL, "lease_until" = NULL`,
    );
  }

  async fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: OutboxFinalStatus;
  }): Promise<OutboxMessage> {
    const now = checkIsoTime(this.pkg, input.now, "now");
    const retryAt = input.retryAt === undefined ? now : checkIsoTime(this.pkg, input.retryAt, "retryAt");
    if (typeof input.error !== "string") throw invalidField(this.pkg, "error", "a string");
    if (input.final !== undefined && !FINAL.includes(input.final)) throw invalidField(this.pkg, "final", "one of dead, expired, cancelled");
    const outcome =
      input.final !== undefined
        ? sql`"status" = ${input.final}, "finished_at" = ${now}::timestamptz`
        : sql`"next_attempt_at" = ${retryAt}::timestamptz`;
    return this.leasedUpdate(
      "fail",
      input.id,
      input.workerId,
      sql`"last_error" = ${input.error.slice(0, 2000)}, "lease_owner" = NULL, "lease_until" = NULL, ${outcome}`,
    );
  }

  async requeue(input: { id: string; now: string }): Promise<OutboxMessage> {
    const now = checkIsoTime(this.pkg, input.now, "now");
    const rows = await this.q(
      `outbox.requeue ${input.id}`,
      sql`UPDATE ${this.t.outbox}
          SET "status" = 'pending', "attempts" = 0, "finished_at" = NULL, "next_attempt_at" = ${now}::timestamptz, "version" = "version" + 1
          WHERE "id" = ${input.id} AND "status" IN ('dead', 'expired', 'cancelled')
          RETURNING ${COLUMNS}`,
    );
    if (rows[0]) return toMessage(rows[0]);
    const current = await this.get({ id: input.id });
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] outbox message ${input.id} not found`);
    throw new ConflictError(
      `[ops/${this.pkg}] outbox message ${input.id} is ${current.status}: only dead, expired or cancelled messages can be requeued`,
    );
  }

  async cancel(input: { id: string; now: string; reason?: string }): Promise<OutboxMessage> {
    const { now, reason } = checkOutboxCancel(this.pkg, input);
    // One guarded write: a concurrent complete/fail either committed first (status no longer
    // pending: Conflict below) or waits on the row lock and then finds it cancelled.
    const rows = await this.q(
      `outbox.cancel ${input.id}`,
      sql`UPDATE ${this.t.outbox}
          SET "status" = 'cancelled', "finished_at" = ${now}::timestamptz, "lease_owner" = NULL, "lease_until" = NULL,
            "last_error" = COALESCE(${reason}::text, "last_error"), "version" = "version" + 1
          WHERE "id" = ${input.id} AND "status" = 'pending'
          RETURNING ${COLUMNS}`,
    );
    if (rows[0]) return toMessage(rows[0]);
    const current = await this.get({ id: input.id });
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] outbox message ${input.id} not found`);
    throw new ConflictError(`[ops/${this.pkg}] outbox message ${input.id} is ${current.status}: only pending messages can be cancelled`);
  }

  async get(input: { id: string }): Promise<OutboxMessage | null> {
    const rows = await this.q(`outbox.get ${input.id}`, sql`SELECT ${COLUMNS} FROM ${this.t.outbox} WHERE "id" = ${input.id}`);
    return rows[0] ? toMessage(rows[0]) : null;
  }

  async findByIdempotencyKey(input: { tenantId: TenantKey; idempotencyKey: string }): Promise<OutboxMessage | null> {
    const rows = await this.q(
      "outbox.findByIdempotencyKey",
      sql`SELECT ${COLUMNS} FROM ${this.t.outbox} WHERE ${tenantIs(input.tenantId ?? null)} AND "idempotency_key" = ${input.idempotencyKey}`,
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  async list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest = {}): Promise<Page<OutboxMessage>> {
    const limit = pageLimit(input.limit, this.pkg);
    let after: [string, string] | null = null;
    if (input.cursor != null) {
      const [c, id] = decodeCursor(input.cursor, 2, this.pkg);
      if (typeof c !== "string" || typeof id !== "string") throw invalidField(this.pkg, "cursor", "a cursor returned by a previous page");
      after = [c, id];
    }
    const filters: Sql[] = [sql`TRUE`];
    if (input.status !== undefined) filters.push(sql`"status" = ${input.status}`);
    if (input.tenantId !== undefined) filters.push(tenantIs(input.tenantId));
    if (input.channel !== undefined) filters.push(sql`"channel" = ${input.channel}`);
    if (after) filters.push(sql`("created_at", "id") > (${after[0]}::timestamptz, ${after[1]})`);
    const rows = await this.q(
      "outbox.list",
      sql`SELECT ${COLUMNS} FROM ${this.t.outbox} WHERE ${sql.join(filters, sql` AND `)}
          ORDER BY ${this.t.outbox}."created_at", "id" LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toMessage);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null };
  }

  /** The single guard of complete/fail: only the worker still holding the lease on a pending message wins. */
  private async leasedUpdate(op: string, id: string, workerId: string, set: Sql): Promise<OutboxMessage> {
    const rows = await this.q(
      `outbox.${op} ${id}`,
      sql`UPDATE ${this.t.outbox} SET ${set}, "version" = "version" + 1
          WHERE "id" = ${id} AND "status" = 'pending' AND "lease_owner" = ${workerId}
          RETURNING ${COLUMNS}`,
    );
    if (rows[0]) return toMessage(rows[0]);
    const current = await this.get({ id });
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] outbox ${op}: message ${id} not found`);
    throw new ConflictError(`[ops/${this.pkg}] outbox ${op}: worker ${workerId} no longer holds the lease on message ${id}`);
  }
}
