import type { JsonObject } from "../json.js";
import type { AuthEventType } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";
import type { ForgetSubjectInput, ForgetSubjectResult } from "./forget.js";

/** One auth signal as stored: type, time, tenant, user, provider, ip and meta (the `AuthOpsLog` row). */
export interface AuthEventRecord {
  /** Unique; the idempotency key of the event. */
  id: string;
  /** UPPER_SNAKE_CASE, e.g. "LOGIN_FAILED" (see `AUTH_EVENT_TYPES`). */
  type: AuthEventType;
  /** ISO 8601 UTC with milliseconds. */
  occurredAt: string;
  /** `null` for events outside any tenant. */
  tenantId: TenantKey;
  userId?: string;
  ip?: string;
  provider?: string;
  meta?: JsonObject;
}

export interface AuthEventQuery extends PageRequest {
  tenantId: TenantKey;
  types?: readonly string[];
  userId?: string;
  ip?: string;
  /** Inclusive (ISO). */
  from?: string;
  /** Exclusive (ISO). */
  to?: string;
}

/**
 * Storage of auth signals. Tenant-scoped reads only see the given tenant's events (`null` is the
 * global scope, not "all tenants").
 */
export interface AuthEventStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Appends events, in one batch when the backend allows. Ids are unique per tenant (`null`, the
   * global scope, counts as one): an id already stored in the event's tenant is skipped (not an
   * error), so a retried flush never double counts; concurrent appends of one id store it once.
   * The same id in another tenant is a different event (stored, and nothing about the other
   * tenant's is revealed). Returns how many were newly stored.
   */
  append(input: { events: readonly AuthEventRecord[] }): Promise<{ inserted: number }>;
  /**
   * One tenant's events, newest first (occurredAt desc, then id desc), keyset-paged: complete, no
   * duplicates, stable under concurrent appends.
   */
  list(input: AuthEventQuery): Promise<Page<AuthEventRecord>>;
  /** Counts one tenant's events per type with `from <= occurredAt < to`; absent types are omitted. */
  countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>>;
  /** Deletes every tenant's events with `occurredAt < before` (retention). Returns how many were removed. */
  prune(input: { before: string }): Promise<number>;
  /**
   * Erasure (`forgetSubject` of @ops/audit): in `tenantId`'s events, `userId === subjectId`
   * becomes `pseudonym`, the `ip` of those events and any `ip` equal to an identifier is removed,
   * and every identifier inside `meta` is replaced (see `scrubJson`). Ids and times are kept, so
   * counts stay right. Returns how many events changed. Optional: a store without it keeps them.
   */
  forgetSubject?(input: ForgetSubjectInput): Promise<ForgetSubjectResult>;
}
