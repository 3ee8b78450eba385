import type { JsonObject } from "../json.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

export const OUTBOX_STATUSES = ["pending", "delivered", "dead", "expired"] as const;
/** `pending` includes messages currently leased by a worker (see `leaseOwner`). */
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export interface OutboxMessage {
  id: string;
  tenantId: TenantKey;
  /** Channel name the message is for ("slack", "email", "pagerduty", a custom one). */
  channel: string;
  payload: JsonObject;
  /** Unique: enqueueing the same key twice yields the first message. */
  idempotencyKey: string;
  status: OutboxStatus;
  attempts: number;
  createdAt: string;
  /** Not claimable before this time (backoff). */
  nextAttemptAt: string;
  leaseOwner: string | null;
  leaseUntil: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  version: number;
}

export interface OutboxStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Adds a pending message; idempotent on `idempotencyKey` (returns the existing message).
   * `tx` is an adapter-specific transaction handle to join the caller's transaction, honoured
   * only when `capabilities.transactions`.
   */
  enqueue(input: {
    message: Pick<OutboxMessage, "id" | "tenantId" | "channel" | "payload" | "idempotencyKey" | "createdAt"> & {
      nextAttemptAt?: string;
    };
    tx?: unknown;
  }): Promise<OutboxMessage>;
  /**
   * Leases up to `limit` due messages to `workerId` until `now + leaseMs`: pending ones whose
   * `nextAttemptAt <= now` and whose lease is absent or expired. A leased message is not handed to
   * any other worker until its lease expires. Oldest `nextAttemptAt` first.
   */
  claim(input: { workerId: string; limit: number; leaseMs: number; now: string; channels?: readonly string[] }): Promise<OutboxMessage[]>;
  /**
   * Marks a leased message delivered.
   * @throws ConflictError when `workerId` no longer holds the lease (it expired and another took it).
   */
  complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage>;
  /**
   * Records a failed attempt: with `retryAt` the message goes back to pending for then; with
   * `final: "dead"` (permanent failure) or `"expired"` (too old to send) it stops.
   * @throws ConflictError when `workerId` no longer holds the lease.
   */
  fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: "dead" | "expired";
  }): Promise<OutboxMessage>;
  /** Puts a dead or expired message back to pending (manual resend), attempts reset. */
  requeue(input: { id: string; now: string }): Promise<OutboxMessage>;
  get(input: { id: string }): Promise<OutboxMessage | null>;
  findByIdempotencyKey(input: { idempotencyKey: string }): Promise<OutboxMessage | null>;
  /** Messages by status, oldest first; tenant-filtered when `tenantId` is given. */
  list(input: { status?: OutboxStatus; tenantId?: TenantKey } & PageRequest): Promise<Page<OutboxMessage>>;
}
