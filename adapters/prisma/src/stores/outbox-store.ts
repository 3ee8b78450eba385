import {
  ConflictError,
  NotFoundError,
  UnsupportedError,
  ValidationError,
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
  checkOutboxEnqueue,
  invalidField,
} from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { isPrismaSqlClient, type PrismaSqlClient } from "../client.js";
import { iso, isoOrNull, json, tenantIs } from "../values.js";

const FINAL: readonly OutboxFinalStatus[] = ["dead", "expired", "cancelled"];

export interface OutboxRow {
  id: string;
  tenant_id: string | null;
  channel: string;
  payload: string;
  idempotency_key: string;
  status: string;
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  lease_owner: string | null;
  lease_until: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
  finished_at: Date | null;
  version: number;
}

export const OUTBOX_COLUMNS = `id, tenant_id, channel, payload::text AS payload, idempotency_key, status, attempts, created_at,
  next_attempt_at, lease_owner, lease_until, last_error, delivered_at, finished_at, version`;

/** The same columns qualified for `UPDATE ops_outbox o ... FROM due RETURNING`. */
const O_COLUMNS = OUTBOX_COLUMNS.replace(/(^|,\s*)(\w+)/g, "$1o.$2");

export function toMessage(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    channel: row.channel,
    payload: json<JsonObject>(row.payload),
    idempotencyKey: row.idempotency_key,
    status: row.status as OutboxStatus,
    attempts: Number(row.attempts),
    createdAt: iso(row.created_at),
    nextAttemptAt: iso(row.next_attempt_at),
    leaseOwner: row.lease_owner,
    leaseUntil: isoOrNull(row.lease_until),
    lastError: row.last_error,
    deliveredAt: isoOrNull(row.delivered_at),
    finishedAt: isoOrNull(row.finished_at),
    version: Number(row.version),
  };
}

const invalid = (field: string, expected: string) => invalidField(PKG, field, expected);

const time = (value: unknown, field: string) => checkIsoTime(PKG, value, field);

const nonEmpty = (value: unknown, field: string, max?: number) => checkNonEmpty(PKG, value, field, max);

/**
 * `OutboxStore` on `ops_outbox`. Enqueue can join the caller's Prisma interactive transaction
 * (`tx`); claim leases with `FOR UPDATE SKIP LOCKED`; complete/fail are one UPDATE guarded on
 * `status = 'pending' AND lease_owner = workerId`.
 */
export class PrismaOutboxStore extends PrismaStoreBase implements OutboxStore {
  /**
   * @throws ValidationError on a malformed message or a `tx` that is not a Prisma client.
   * @throws UnsupportedError when `tx` is given but transactions were switched off.
   * @throws ConflictError when `id` exists under another idempotencyKey.
   */
  async enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage> {
    const m = input?.message;
    const { createdAt, nextAttemptAt } = checkOutboxEnqueue(PKG, m);
    let client: PrismaSqlClient = this.db;
    if (input.tx !== undefined) {
      if (!this.capabilities.transactions)
        throw new UnsupportedError(`[ops/${PKG}] outbox enqueue: tx given but transactions are switched off for this store`);
      if (!isPrismaSqlClient(input.tx)) throw invalid("tx", "the transaction client of prisma.$transaction(async (tx) => ...)");
      client = input.tx;
    }
    return this.run(`outbox.enqueue ${m.idempotencyKey}`, async () => {
      // A concurrent enqueue of the same key waits on the unique index, then does nothing; the
      // follow-up SELECT (a new snapshot) then sees the winner's row.
      const rows = await this.select<OutboxRow>(
        `INSERT INTO ops_outbox (id, tenant_id, channel, payload, idempotency_key, status, attempts, created_at, next_attempt_at, version)
         VALUES ($1, $2, $3, $4::jsonb, $5, 'pending', 0, $6::timestamptz, $7::timestamptz, 1)
         ON CONFLICT DO NOTHING
         RETURNING ${OUTBOX_COLUMNS}`,
        [m.id, m.tenantId, m.channel, JSON.stringify(m.payload), m.idempotencyKey, createdAt, nextAttemptAt],
        client,
      );
      if (rows[0]) return toMessage(rows[0]);
      const existing = await this.select<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM ops_outbox WHERE idempotency_key = $1`, [m.idempotencyKey], client);
      if (existing[0]) return toMessage(existing[0]);
      throw new ConflictError(`[ops/${PKG}] outbox message id ${m.id} already exists under another idempotencyKey`);
    });
  }

  /** @throws ValidationError when limit is not 1..1000, leaseMs not a positive integer or now not a time. */
  async claim(input: { workerId: string; limit: number; leaseMs: number; now: string; channels?: readonly string[] }): Promise<OutboxMessage[]> {
    nonEmpty(input.workerId, "workerId", 256);
    if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000) throw invalid("limit", "an integer 1..1000");
    if (!Number.isInteger(input.leaseMs) || input.leaseMs < 1) throw invalid("leaseMs", "a positive integer");
    const now = time(input.now, "now");
    const leaseUntil = new Date(Date.parse(now) + input.leaseMs).toISOString();
    if (input.channels !== undefined && input.channels.length === 0) return [];
    return this.run("outbox.claim", async () => {
      // SKIP LOCKED: concurrent claimers take disjoint rows instead of queueing on each other;
      // FOR UPDATE re-checks the lease on rows another claim committed meanwhile.
      const rows = await this.select<OutboxRow>(
        `WITH due AS (
           SELECT id FROM ops_outbox
           WHERE status = 'pending' AND next_attempt_at <= $1::timestamptz
             AND (lease_until IS NULL OR lease_until <= $1::timestamptz)
             AND ($2::text[] IS NULL OR channel = ANY($2::text[]))
           ORDER BY next_attempt_at, id
           LIMIT $3
           FOR UPDATE SKIP LOCKED
         )
         UPDATE ops_outbox o
         SET lease_owner = $4, lease_until = $5::timestamptz, attempts = o.attempts + 1, version = o.version + 1
         FROM due WHERE o.id = due.id
         RETURNING ${O_COLUMNS}`,
        [now, input.channels ? [...input.channels] : null, input.limit, input.workerId, leaseUntil],
      );
      return rows
        .map(toMessage)
        .sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id < b.id ? -1 : 1));
    });
  }

  /** @throws NotFoundError when absent; ConflictError when workerId no longer holds the lease. */
  async complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage> {
    const now = time(input.now, "now");
    return this.run(`outbox.complete ${input.id}`, () =>
      this.leasedUpdate(
        input.id,
        input.workerId,
        "complete",
        `status = 'delivered', delivered_at = $3::timestamptz, lease_owner = NULL, lease_until = NULL`,
        [now],
      ),
    );
  }

  /** @throws NotFoundError when absent; ConflictError when workerId no longer holds the lease. */
  async fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: OutboxFinalStatus;
  }): Promise<OutboxMessage> {
    const now = time(input.now, "now");
    const retryAt = input.retryAt === undefined ? now : time(input.retryAt, "retryAt");
    if (typeof input.error !== "string") throw invalid("error", "a string");
    if (input.final !== undefined && !FINAL.includes(input.final)) throw invalid("final", "one of dead, expired, cancelled");
    const error = input.error.slice(0, 2000);
    return this.run(`outbox.fail ${input.id}`, () =>
      input.final !== undefined
        ? this.leasedUpdate(
            input.id,
            input.workerId,
            "fail",
            `status = $3, finished_at = $4::timestamptz, last_error = $5, lease_owner = NULL, lease_until = NULL`,
            [input.final, now, error],
          )
        : this.leasedUpdate(
            input.id,
            input.workerId,
            "fail",
            `next_attempt_at = $3::timestamptz, last_error = $4, lease_owner = NULL, lease_until = NULL`,
            [retryAt, error],
          ),
    );
  }

  /** @throws NotFoundError when absent; ConflictError when the message is pending or delivered. */
  async requeue(input: { id: string; now: string }): Promise<OutboxMessage> {
    const now = time(input.now, "now");
    return this.run(`outbox.requeue ${input.id}`, async () => {
      const rows = await this.select<OutboxRow>(
        `UPDATE ops_outbox SET status = 'pending', attempts = 0, finished_at = NULL, next_attempt_at = $2::timestamptz, version = version + 1
         WHERE id = $1 AND status IN ('dead', 'expired', 'cancelled')
         RETURNING ${OUTBOX_COLUMNS}`,
        [input.id, now],
      );
      if (rows[0]) return toMessage(rows[0]);
      const current = await this.get({ id: input.id });
      if (!current) throw new NotFoundError(`[ops/${PKG}] outbox message ${input.id} not found`);
      throw new ConflictError(`[ops/${PKG}] outbox message ${input.id} is ${current.status}: only dead, expired or cancelled messages can be requeued`);
    });
  }

  async get(input: { id: string }): Promise<OutboxMessage | null> {
    return this.run("outbox.get", async () => {
      const rows = await this.select<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM ops_outbox WHERE id = $1`, [input.id]);
      return rows[0] ? toMessage(rows[0]) : null;
    });
  }

  async findByIdempotencyKey(input: { idempotencyKey: string }): Promise<OutboxMessage | null> {
    return this.run("outbox.findByIdempotencyKey", async () => {
      const rows = await this.select<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM ops_outbox WHERE idempotency_key = $1`, [input.idempotencyKey]);
      return rows[0] ? toMessage(rows[0]) : null;
    });
  }

  /** @throws ValidationError on a bad limit or cursor. */
  async list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest = {}): Promise<Page<OutboxMessage>> {
    const limit = pageLimit(input.limit, PKG);
    let after: [string, string] | null = null;
    if (input.cursor != null) {
      const [c, id] = decodeCursor(input.cursor, 2, PKG);
      if (typeof c !== "string" || typeof id !== "string") throw invalid("cursor", "a cursor returned by a previous page");
      after = [c, id];
    }
    return this.run("outbox.list", async () => {
      const rows = await this.select<OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM ops_outbox
         WHERE ($1::text IS NULL OR status = $1)
           AND ${input.tenantId === undefined ? "($2::boolean IS FALSE AND $3::text IS NULL)" : `$2::boolean AND ${tenantIs(input.tenantId, "$3")}`}
           AND ($4::text IS NULL OR channel = $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) > ($5::timestamptz, $6::text))
         ORDER BY created_at, id LIMIT $7`,
        [
          input.status ?? null,
          input.tenantId !== undefined,
          input.tenantId ?? null,
          input.channel ?? null,
          after?.[0] ?? null,
          after?.[1] ?? null,
          limit + 1,
        ],
      );
      const items = rows.slice(0, limit).map(toMessage);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    });
  }

  /** The single guard of complete/fail: pending and still leased by `workerId`. */
  private async leasedUpdate(id: string, workerId: string, op: string, set: string, values: unknown[]): Promise<OutboxMessage> {
    const rows = await this.select<OutboxRow>(
      `UPDATE ops_outbox SET ${set}, version = version + 1
       WHERE id = $1 AND status = 'pending' AND lease_owner = $2
       RETURNING ${OUTBOX_COLUMNS}`,
      [id, workerId, ...values],
    );
    if (rows[0]) return toMessage(rows[0]);
    const current = await this.get({ id });
    if (!current) throw new NotFoundError(`[ops/${PKG}] outbox ${op}: message ${id} not found`);
    throw new ConflictError(`[ops/${PKG}] outbox ${op}: worker ${workerId} no longer holds the lease on message ${id}`);
  }
}
