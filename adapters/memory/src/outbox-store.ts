import {
  ConflictError,
  NotFoundError,
  UnsupportedError,
  decodeCursor,
  encodeCursor,
  pageLimit,
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
import { MemoryStoreBase, tick } from "./base.js";

const PKG = "adapter-memory";
const FINAL: readonly OutboxFinalStatus[] = ["dead", "expired", "cancelled"];

const invalid = (field: string, expected: string) => invalidField(PKG, field, expected);

const timeMs = (value: unknown, field: string) => Date.parse(checkIsoTime(PKG, value, field));

const nonEmpty = (value: unknown, field: string, max?: number) => checkNonEmpty(PKG, value, field, max);

/** Idempotency keys are per tenant; a tenant id never contains a NUL. */
const keyOf = (tenantId: TenantKey, key: string): string => `${tenantId ?? ""}\u0000${key}`;

/**
 * In-process `OutboxStore`: the reference semantics of leases, idempotency and paging. Not
 * shared between processes and not durable (`capabilities.durable === false`).
 */
export class MemoryOutboxStore extends MemoryStoreBase implements OutboxStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "outbox" as const;
  private readonly byId = new Map<string, OutboxMessage>();
  /** Message id by `keyOf(tenantId, idempotencyKey)`: keys are unique per tenant. */
  private readonly byKey = new Map<string, string>();

  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    await tick();
    const ids = forgetReplacements(input);
    let records = 0;
    for (const m of this.byId.values()) {
      if (m.tenantId !== input.tenantId) continue;
      const payload = scrubJson(m.payload, ids);
      const lastError = m.lastError === null ? null : scrubText(m.lastError, ids);
      if (payload === m.payload && lastError === m.lastError) continue;
      m.payload = payload;
      m.lastError = lastError;
      m.version += 1;
      records++;
    }
    return { records };
  }

  async enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage> {
    this.assertOpen();
    if (input.tx !== undefined)
      throw new UnsupportedError(`[ops/${PKG}] outbox enqueue: tx given but the memory store has no transactions`);
    const m = input.message;
    const times = checkOutboxEnqueue(PKG, m);
    const created = Date.parse(times.createdAt);
    const next = Date.parse(times.nextAttemptAt);
    const existingId = this.byKey.get(keyOf(m.tenantId, m.idempotencyKey));
    if (existingId !== undefined) return this.copy(this.byId.get(existingId)!);
    if (this.byId.has(m.id)) throw new ConflictError(`[ops/${PKG}] outbox message id ${m.id} already exists under another idempotencyKey`);
    const row: OutboxMessage = {
      id: m.id,
      tenantId: m.tenantId,
      channel: m.channel,
      payload: this.copy(m.payload),
      idempotencyKey: m.idempotencyKey,
      status: "pending",
      attempts: 0,
      createdAt: new Date(created).toISOString(),
      nextAttemptAt: new Date(next).toISOString(),
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      deliveredAt: null,
      finishedAt: null,
      version: 1,
    };
    this.byId.set(row.id, row);
    this.byKey.set(keyOf(row.tenantId, row.idempotencyKey), row.id);
    return this.copy(row);
  }

  async claim(input: {
    workerId: string;
    limit: number;
    leaseMs: number;
    now: string;
    channels?: readonly string[];
  }): Promise<OutboxMessage[]> {
    this.assertOpen();
    nonEmpty(input.workerId, "workerId", 256);
    if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000) throw invalid("limit", "an integer 1..1000");
    if (!Number.isInteger(input.leaseMs) || input.leaseMs < 1) throw invalid("leaseMs", "a positive integer");
    const now = timeMs(input.now, "now");
    const channels = input.channels === undefined ? null : new Set(input.channels);
    // Let concurrent callers interleave as they would against a database, then decide in one
    // synchronous step: that step is the "guarded write" no two claims can share.
    await tick();
    const due: OutboxMessage[] = [];
    for (const m of this.byId.values()) {
      if (m.status !== "pending" || Date.parse(m.nextAttemptAt) > now) continue;
      if (m.leaseUntil !== null && Date.parse(m.leaseUntil) > now) continue;
      if (channels !== null && !channels.has(m.channel)) continue;
      due.push(m);
    }
    due.sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id < b.id ? -1 : 1));
    const leaseUntil = new Date(now + input.leaseMs).toISOString();
    return due.slice(0, input.limit).map((m) => {
      m.leaseOwner = input.workerId;
      m.leaseUntil = leaseUntil;
      m.attempts += 1;
      m.version += 1;
      return this.copy(m);
    });
  }

  async complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    const now = timeMs(input.now, "now");
    await tick();
    const m = this.leased(input.id, input.workerId, "complete");
    m.status = "delivered";
    m.deliveredAt = new Date(now).toISOString();
    m.leaseOwner = null;
    m.leaseUntil = null;
    m.version += 1;
    return this.copy(m);
  }

  async fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: OutboxFinalStatus;
  }): Promise<OutboxMessage> {
    this.assertOpen();
    const now = timeMs(input.now, "now");
    const retryAt = input.retryAt === undefined ? now : timeMs(input.retryAt, "retryAt");
    if (typeof input.error !== "string") throw invalid("error", "a string");
    if (input.final !== undefined && !FINAL.includes(input.final)) throw invalid("final", "one of dead, expired, cancelled");
    await tick();
    const m = this.leased(input.id, input.workerId, "fail");
    m.lastError = input.error.slice(0, 2000);
    m.leaseOwner = null;
    m.leaseUntil = null;
    if (input.final !== undefined) {
      m.status = input.final;
      m.finishedAt = new Date(now).toISOString();
    } else {
      m.nextAttemptAt = new Date(retryAt).toISOString();
    }
    m.version += 1;
    return this.copy(m);
  }

  async requeue(input: { id: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    const now = timeMs(input.now, "now");
    const m = this.byId.get(input.id);
    if (m === undefined) throw new NotFoundError(`[ops/${PKG}] outbox message ${input.id} not found`);
    if (m.status === "pending" || m.status === "delivered")
      throw new ConflictError(
        `[ops/${PKG}] outbox message ${input.id} is ${m.status}: only dead, expired or cancelled messages can be requeued`,
      );
    m.status = "pending";
    m.attempts = 0;
    m.finishedAt = null;
    m.nextAttemptAt = new Date(now).toISOString();
    m.version += 1;
    return this.copy(m);
  }

  async cancel(input: { id: string; now: string; reason?: string }): Promise<OutboxMessage> {
    this.assertOpen();
    const { now, reason } = checkOutboxCancel(PKG, input);
    // Interleave like a database would, then check and change in one synchronous step.
    await tick();
    const m = this.byId.get(input.id);
    if (m === undefined) throw new NotFoundError(`[ops/${PKG}] outbox message ${input.id} not found`);
    if (m.status !== "pending")
      throw new ConflictError(`[ops/${PKG}] outbox message ${input.id} is ${m.status}: only pending messages can be cancelled`);
    m.status = "cancelled";
    m.finishedAt = now;
    m.leaseOwner = null;
    m.leaseUntil = null;
    if (reason !== null) m.lastError = reason;
    m.version += 1;
    return this.copy(m);
  }

  async get(input: { id: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    const m = this.byId.get(input.id);
    return m === undefined ? null : this.copy(m);
  }

  async findByIdempotencyKey(input: { tenantId: TenantKey; idempotencyKey: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    const id = this.byKey.get(keyOf(input.tenantId ?? null, input.idempotencyKey));
    return id === undefined ? null : this.copy(this.byId.get(id)!);
  }

  async list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest = {}): Promise<Page<OutboxMessage>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, PKG);
    let after: [string, string] | null = null;
    if (input.cursor != null) {
      const [c, id] = decodeCursor(input.cursor, 2, PKG);
      if (typeof c !== "string" || typeof id !== "string") throw invalid("cursor", "a cursor returned by a previous page");
      after = [c, id];
    }
    const rows = [...this.byId.values()].filter(
      (m) =>
        (input.status === undefined || m.status === input.status) &&
        (input.tenantId === undefined || m.tenantId === input.tenantId) &&
        (input.channel === undefined || m.channel === input.channel) &&
        (after === null || m.createdAt > after[0] || (m.createdAt === after[0] && m.id > after[1])),
    );
    rows.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
    const items = rows.slice(0, limit).map((m) => this.copy(m));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null };
  }

  /** The message if `workerId` still holds its lease; the single guard of complete/fail. */
  private leased(id: string, workerId: string, op: string): OutboxMessage {
    const m = this.byId.get(id);
    if (m === undefined) throw new NotFoundError(`[ops/${PKG}] outbox ${op}: message ${id} not found`);
    if (m.status !== "pending" || m.leaseOwner !== workerId)
      throw new ConflictError(`[ops/${PKG}] outbox ${op}: worker ${workerId} no longer holds the lease on message ${id}`);
    return m;
  }
}
