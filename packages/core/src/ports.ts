import type { JsonObject, JsonValue } from "./json.js";
import type { ActorRef, Outcome, Severity } from "./schemas.js";
import type { TenantKey } from "./stores/common.js";

/**
 * How one domain package writes audit entries without importing @ops/audit.
 * `createAuditLog(...)` satisfies it.
 */
export interface AuditSink {
  record(entry: AuditSinkEntry): Promise<void>;
}

export interface AuditSinkEntry {
  action: string;
  actor: ActorRef;
  tenantId?: TenantKey;
  subject?: { id: string; type?: string };
  target?: { id: string; type?: string; name?: string };
  outcome?: Outcome;
  reason?: string;
  surface?: string;
  requestId?: string;
  correlationId?: string;
  meta?: JsonObject;
}

/** A notification for the app's operators (subject, body, severity, optional tenant and dedupe key). */
export interface AdminNotification {
  /** Stable id; also the default idempotency key. */
  id?: string;
  subject: string;
  body: string;
  severity: Severity;
  tenantId?: TenantKey;
  /** What kind of thing happened (an incident type, "HEALTH_FAIL", ...): used for routing. */
  type?: string;
  /** Groups related notifications (an incident id); PagerDuty's dedup_key. */
  dedupeKey?: string;
  /** "trigger" (default), or "acknowledge"/"resolve" for the incident behind `dedupeKey`. */
  action?: "trigger" | "acknowledge" | "resolve";
  link?: string;
  details?: JsonObject;
  createdAt?: string;
}

/**
 * How incidents and health send notifications without importing @ops/notify.
 * `@ops/notify`'s `createNotifier(...)` satisfies it: `notify` resolves once the notification is
 * durably enqueued in the outbox (sending is a worker's job, at least once), so a notification is
 * never lost because a channel is down. Repeats with the same `id`, or the same `dedupeKey` +
 * `action` + `tenantId` within the dedupe window, are sent once. An `acknowledge`/`resolve` needs
 * the `dedupeKey` of the incident it closes (PagerDuty resolves on it).
 * @throws ValidationError on a malformed notification (nothing is enqueued).
 */
export interface Notifier {
  notify(notification: AdminNotification): Promise<void>;
}

/** How incidents flip flags without importing @ops/flags. */
export interface FlagWriter {
  /** The current stored value (global when `tenantId` is absent), or undefined when unset. */
  getValue(input: { key: string; tenantId?: TenantKey }): Promise<JsonValue | undefined>;
  /** Sets a value, audited as `actor` with `reason`. Returns the previous stored value. */
  setValue(input: {
    key: string;
    value: JsonValue;
    tenantId?: TenantKey;
    actor: string;
    reason: string;
  }): Promise<{ previous: JsonValue | undefined }>;
  /** Removes a value set earlier (restores "unset", used by rollbacks). */
  clearValue?(input: { key: string; tenantId?: TenantKey; actor: string; reason: string }): Promise<void>;
}

/** Records auth signals (a tenant-isolation guard reporting a TENANT_LEAK_RISK). */
export interface SignalSink {
  recordAuthEvent(event: { type: string; tenantId?: TenantKey; userId?: string; ip?: string; meta?: JsonObject }): Promise<void> | void;
}
