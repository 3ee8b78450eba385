import type { JsonObject } from "../json.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";
import type { ForgetSubjectInput, ForgetSubjectResult } from "./forget.js";

/**
 * Lifecycle of an outbox message:
 * - `pending`: waiting for `nextAttemptAt`, or leased by a worker (`leaseOwner` set);
 * - `delivered`: the channel accepted it (terminal);
 * - `dead`: a permanent failure (a 4xx, a bad address): the dead-letter list; `requeue` resends;
 * - `expired`: older than the sender's maximum age, given up rather than sent late; `requeue` resends;
 * - `cancelled`: stopped on purpose, not a failure (an escalation whose incident was acknowledged,
 *   or `cancel` by an operator); `requeue` resends.
 */
export const OUTBOX_STATUSES = ["pending", "delivered", "dead", "expired", "cancelled"] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** Terminal statuses `fail` can set. */
export type OutboxFinalStatus = "dead" | "expired" | "cancelled";

/**
 * One message waiting for (or done with) delivery. All times are ISO-8601 UTC strings with
 * milliseconds, as `Date#toISOString()` makes them (adapters store them as timestamps with at
 * least millisecond precision and return them in that form).
 */
export interface OutboxMessage {
  /** Caller-made, unique (a sortable id such as `prefixedId("msg")`). */
  id: string;
  tenantId: TenantKey;
  /** Channel name the message is for ("slack", "email", "pagerduty", a custom one). */
  channel: string;
  /** What to send. Never holds secrets: channels keep their URLs and keys in configuration. */
  payload: JsonObject;
  /**
   * Unique per tenant (`null`, the global scope, counts as one tenant): enqueueing the same key
   * again in the same tenant returns the first message unchanged, whatever its status. Another
   * tenant's message with the same key neither blocks the enqueue nor is revealed by it.
   */
  idempotencyKey: string;
  status: OutboxStatus;
  /** Delivery attempts started: incremented by every `claim` that hands the message out. */
  attempts: number;
  createdAt: string;
  /** Not claimable before this time (backoff, a deferral, an escalation delay). */
  nextAttemptAt: string;
  /** The worker holding the lease, while `status` is `pending`; null otherwise. */
  leaseOwner: string | null;
  leaseUntil: string | null;
  /** Reason of the last failed attempt (or of the dead-lettering); kept after a later success. */
  lastError: string | null;
  deliveredAt: string | null;
  /** When the message reached `dead`, `expired` or `cancelled`; null otherwise. */
  finishedAt: string | null;
  /** Starts at 1, incremented by every change. */
  version: number;
}

/** What `enqueue` takes: the caller chooses id, key and times (no store-side clock). */
export type OutboxEnqueueMessage = Pick<OutboxMessage, "id" | "tenantId" | "channel" | "payload" | "idempotencyKey" | "createdAt"> & {
  /** Defaults to `createdAt`. */
  nextAttemptAt?: string;
};

/**
 * Durable outbox for notifications. At-least-once: a message is handed out again when its lease
 * expires without `complete`/`fail`, so a worker that dies mid-delivery loses nothing.
 *
 * Concurrency contract (what the conformance suite checks):
 * - `enqueue` under concurrent calls with one `idempotencyKey` stores exactly one message, and
 *   every caller gets that message back;
 * - `claim` never hands a message to two workers while a lease is live, even under concurrent
 *   claims (in SQL: `FOR UPDATE SKIP LOCKED`, or one guarded `UPDATE ... RETURNING`);
 * - `complete` and `fail` are one guarded write on `status = 'pending' AND lease_owner = workerId`:
 *   the worker that still holds the lease wins (even past `leaseUntil`, as long as no one else
 *   claimed it); a worker whose message was re-claimed by another gets `ConflictError`.
 *
 * Time comes from the caller (`now`), so one clock drives the sender and the store.
 * Every method rejects with `UnavailableError` after `close()`.
 */
export interface OutboxStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Adds a pending message; idempotent on (`tenantId`, `idempotencyKey`) (returns the existing message, so
   * `result.id !== message.id` tells the caller it was a duplicate).
   * `tx` is an adapter-specific transaction handle (a Prisma/Drizzle transaction client, a pg
   * client inside BEGIN) so the message commits or rolls back with the caller's business write.
   * @throws UnsupportedError when `tx` is given and `capabilities.transactions` is false.
   * @throws ValidationError on a malformed message (empty id/channel/key, bad time).
   * @throws ConflictError when `id` already exists under another `idempotencyKey`.
   */
  enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage>;
  /**
   * Leases up to `limit` due messages to `workerId` until `now + leaseMs` and increments their
   * `attempts`: pending ones whose `nextAttemptAt <= now` and whose lease is absent or expired
   * (`leaseUntil <= now`). A leased message is not handed to any other worker until its lease
   * expires. Oldest `nextAttemptAt` first (ties by `id`). `channels` restricts to those channels
   * (an empty array claims nothing).
   * @throws ValidationError when `limit` is not 1..1000 or `leaseMs` not a positive integer.
   */
  claim(input: { workerId: string; limit: number; leaseMs: number; now: string; channels?: readonly string[] }): Promise<OutboxMessage[]>;
  /**
   * Marks a leased message delivered (`deliveredAt = now`, lease cleared).
   * @throws NotFoundError when there is no message `id`.
   * @throws ConflictError when `workerId` no longer holds the lease (another worker claimed it) or
   *   the message is no longer pending.
   */
  complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage>;
  /**
   * Records a failed attempt and clears the lease: without `final` the message goes back to
   * pending for `retryAt` (default `now`); with `final` it stops there (`finishedAt = now`):
   * `"dead"` for a permanent failure, `"expired"` when too old to send, `"cancelled"` when no
   * longer needed. `error` becomes `lastError` (callers pass a reason without secrets).
   * @throws NotFoundError when there is no message `id`.
   * @throws ConflictError when `workerId` no longer holds the lease or the message is not pending.
   */
  fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: OutboxFinalStatus;
  }): Promise<OutboxMessage>;
  /**
   * Manual resend: puts a `dead`, `expired` or `cancelled` message back to pending, due at `now`,
   * with `attempts` reset to 0 and `finishedAt` cleared (`lastError` is kept for the record).
   * @throws NotFoundError when there is no message `id`.
   * @throws ConflictError when the message is `pending` or `delivered`.
   */
  requeue(input: { id: string; now: string }): Promise<OutboxMessage>;
  /**
   * Manual stop (an operator, a superseded notification): a `pending` message, leased or not,
   * becomes `cancelled` with `finishedAt = now`, the lease cleared and `lastError = reason` when
   * given (otherwise `lastError` is kept). One guarded write on `status = 'pending'`, so a
   * concurrent `claim`, `complete` or `fail` either happens before it (and the cancel sees the
   * result) or after it (and finds the message no longer pending): a worker holding the lease
   * that later calls `complete`/`fail` gets `ConflictError` and the message stays cancelled.
   * `requeue` resends a cancelled message. Callers pass a `reason` without secrets (it is stored
   * and shown as `lastError`).
   * @throws ValidationError on an empty `id`, a bad `now`, or a `reason` that is not a string of
   *   1..2000 characters.
   * @throws NotFoundError when there is no message `id`.
   * @throws ConflictError when the message is `delivered`, `dead`, `expired` or already `cancelled`.
   */
  cancel(input: { id: string; now: string; reason?: string }): Promise<OutboxMessage>;
  get(input: { id: string }): Promise<OutboxMessage | null>;
  /** The message of `tenantId` (`null` = global) enqueued under `idempotencyKey`; keys are per tenant. */
  findByIdempotencyKey(input: { tenantId: TenantKey; idempotencyKey: string }): Promise<OutboxMessage | null>;
  /**
   * Messages ordered by (`createdAt`, `id`), oldest first, keyset-paged: complete and without
   * duplicates while messages are added or change status. Filters combine: `status`, `channel`,
   * and `tenantId` (a string = that tenant only; `null` = global messages only; absent = all).
   * @throws ValidationError on a bad limit or a cursor not made by this store.
   */
  list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest): Promise<Page<OutboxMessage>>;
  /**
   * Erasure (`forgetSubject` of @ops/audit): in `tenantId`'s messages (notification bodies), the
   * subject id becomes `pseudonym` and every identifier in `payload` and `lastError` becomes
   * "[ERASED]", whatever the status (delivered ones included); each changed message gets
   * `version + 1`. Returns how many changed. Optional.
   */
  forgetSubject?(input: ForgetSubjectInput): Promise<ForgetSubjectResult>;
}
