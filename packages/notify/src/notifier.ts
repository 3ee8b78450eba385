import * as z from "zod";
import {
  ConflictError,
  NotFoundError,
  SeveritySchema,
  UnsupportedError,
  ValidationError,
  checkStorableFields,
  parseInput,
  prefixedId,
  severityRank,
  systemClock,
  type AuditSink,
  type Clock,
  type JsonObject,
  type Notifier,
  type OutboxMessage,
  type OutboxStatus,
  type OutboxStore,
  type Page,
  type Severity,
  type TenantKey,
} from "@ops/core";
import { parseNotification, type AdminNotification, type NotificationChannel, type NormalizedNotification } from "./notification.js";
import { QuietHoursSchema, Router, quietUntil, type QuietHours, type Route } from "./routing.js";

/** What the outbox stores for one channel delivery. */
export interface OutboxPayload extends JsonObject {
  notification: JsonObject;
  /** Not to be judged stale before this (quiet-hours deferral, escalation delay). */
  notBefore: string | null;
  /** Set on escalation messages: cancelled at send time when the incident was acknowledged. */
  escalation: { afterMinutes: number } | null;
  /** Set on a manual resend: the id of the dead/expired original. */
  resendOf: string | null;
}

export interface EscalationPolicy {
  /** Escalate when not acknowledged within this many minutes. */
  afterMinutes: number;
  /** Where escalations go (e.g. PagerDuty when the first page was Slack). */
  channels: string[];
  /** Only notifications at least this severe escalate (default "high"). */
  minSeverity?: Severity;
}

export interface NotifierOptions {
  store: OutboxStore;
  /** Channel names must be unique. The providers themselves are used by the worker. */
  channels: readonly Pick<NotificationChannel, "name">[];
  /** Without routes (or when none matches) a notification goes to `defaultChannels`. */
  routes?: Route[];
  /** Default: every channel. */
  defaultChannels?: string[];
  quietHours?: QuietHours;
  /** Same `dedupeKey` + action + tenant within this window is sent once (default 5 min; 0 = off). */
  dedupeWindowMs?: number;
  escalation?: EscalationPolicy;
  clock?: Clock;
  /** Records dead-letter resends. */
  audit?: AuditSink;
}

export interface NotifyReceipt {
  notificationId: string;
  /** One per routed channel, including duplicates of earlier messages. */
  messages: { channel: string; messageId: string; duplicate: boolean; escalation: boolean }[];
  /** Quiet hours held the notification until then. */
  deferredUntil: string | null;
  /** Why nothing was enqueued ("quiet hours"), or null. */
  dropped: string | null;
}

const OptionsSchema = z.object({
  store: z.custom<OutboxStore>((v) => typeof (v as OutboxStore | undefined)?.enqueue === "function", "expected an OutboxStore"),
  channels: z.array(z.object({ name: z.string().min(1, "expected a channel name").max(128) }).passthrough(), {
    error: "expected an array of channels",
  }),
  routes: z.array(z.unknown(), { error: "expected an array of routes" }).optional(),
  defaultChannels: z.array(z.string(), { error: "expected an array of channel names" }).optional(),
  dedupeWindowMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .optional(),
  escalation: z
    .object({
      afterMinutes: z.number().positive().max(10_080),
      channels: z.array(z.string().min(1)).min(1),
      minSeverity: SeveritySchema.optional(),
    })
    .optional(),
  quietHours: QuietHoursSchema.optional(),
});

/** The idempotency key of the resend of `m`: one copy per original. */
const resendKey = (m: OutboxMessage) => `${m.idempotencyKey}|resend|${m.id}`;

/** Idempotency keys are unique store-wide: the tenant is part of every key. */
const scopeOf = (tenantId: TenantKey | undefined) => (tenantId == null ? "-" : `t:${tenantId}`);

/**
 * The `Notifier` incidents and health use: validates, routes, applies quiet hours and the dedupe
 * window, and enqueues one outbox message per channel. Sending is the worker's job, so
 * `notify` returns once the messages are durable (as durable as the store).
 */
export class OutboxNotifier implements Notifier {
  private readonly store: OutboxStore;
  private readonly router: Router;
  private readonly clock: Clock;
  private readonly dedupeWindowMs: number;
  private readonly quiet: QuietHours | undefined;
  private readonly escalation: EscalationPolicy | undefined;
  private readonly audit: AuditSink | undefined;

  /** @throws ValidationError on bad routes, quiet hours, escalation or duplicate channel names. */
  constructor(options: NotifierOptions) {
    const parsed = parseInput(OptionsSchema, options, { pkg: "notify", what: "notifier options" });
    const names = options.channels.map((c) => c.name);
    const known = new Set(names);
    if (known.size !== names.length || names.length === 0)
      throw new ValidationError("[ops/notify] invalid channels: expected at least one channel and unique names", [
        { path: "channels", message: "expected unique names" },
      ]);
    for (const c of [...(options.defaultChannels ?? []), ...(parsed.escalation?.channels ?? [])])
      if (!known.has(c))
        throw new ValidationError(`[ops/notify] invalid channel "${c}": expected one of ${names.join(", ")}`, [
          { path: "channels", message: `unknown channel "${c}"` },
        ]);
    this.store = options.store;
    this.router = new Router(options.routes ?? [], options.defaultChannels ?? names, known);
    this.clock = options.clock ?? systemClock;
    this.dedupeWindowMs = parsed.dedupeWindowMs ?? 300_000;
    this.quiet = options.quietHours;
    this.escalation = options.escalation;
    this.audit = options.audit;
  }

  /**
   * The `Notifier` port: `enqueue` without the receipt.
   * @throws ValidationError on a bad notification (nothing is enqueued).
   */
  async notify(notification: AdminNotification): Promise<void> {
    await this.enqueue(notification);
  }

  /**
   * Enqueues `n` for every routed channel and says what happened per channel. Idempotent on `n.id` (per tenant and channel); with a
   * `dedupeKey`, repeats of the same key, action and tenant within the dedupe window are
   * duplicates of the first.
   * @throws ValidationError on a bad notification (nothing is enqueued).
   * @throws UnavailableError when the store is down.
   */
  async enqueue(input: AdminNotification, options: { tx?: unknown } = {}): Promise<NotifyReceipt> {
    const p = parseNotification(input);
    const now = this.clock.now();
    const n: NormalizedNotification = {
      ...p,
      id: p.id ?? prefixedId("ntf", now),
      createdAt: p.createdAt ?? new Date(now).toISOString(),
      action: p.action ?? "trigger",
    } as NormalizedNotification;
    if (options.tx !== undefined && !this.store.capabilities.transactions)
      throw new UnsupportedError("[ops/notify] notify: tx given but the outbox store does not support transactions");
    const receipt: NotifyReceipt = { notificationId: n.id, messages: [], deferredUntil: null, dropped: null };
    const channels = this.router.resolve(n);
    const scope = scopeOf(n.tenantId);
    // Quiet hours hold everything that is not severe enough, except acknowledge/resolve (they calm things down).
    const held =
      this.quiet && n.action === "trigger" && severityRank(n.severity) > severityRank(this.quiet.bypassSeverity ?? "critical")
        ? quietUntil(this.quiet, now)
        : null;
    for (const channel of channels) {
      const quietHere = held !== null && (!this.quiet?.channels || this.quiet.channels.includes(channel));
      if (quietHere && (this.quiet?.action ?? "defer") === "drop") {
        receipt.dropped = "quiet hours";
        continue;
      }
      const notBefore = quietHere ? new Date(held).toISOString() : null;
      if (notBefore) receipt.deferredUntil = notBefore;
      const key = await this.keyFor(n, scope, channel, now);
      if (typeof key !== "string") {
        receipt.messages.push({ channel, messageId: key.id, duplicate: true, escalation: false });
        continue;
      }
      receipt.messages.push(await this.put(n, channel, key, notBefore, null, now, options.tx));
    }
    const esc = this.escalation;
    // A repeat that was deduped everywhere is the same incident: its first copy already set the timer.
    const fresh = receipt.messages.length === 0 || receipt.messages.some((m) => !m.duplicate);
    if (
      esc &&
      fresh &&
      receipt.dropped === null &&
      n.action === "trigger" &&
      severityRank(n.severity) <= severityRank(esc.minSeverity ?? "high")
    ) {
      // The clock starts when people were told: after quiet hours when the first send was held.
      const toldAt = receipt.deferredUntil ? Date.parse(receipt.deferredUntil) : now;
      const due = new Date(toldAt + esc.afterMinutes * 60_000).toISOString();
      for (const channel of esc.channels) {
        const key = `${scope}|esc|${n.id}|${channel}`;
        receipt.messages.push(await this.put(n, channel, key, due, { afterMinutes: esc.afterMinutes }, now, options.tx));
      }
    }
    return receipt;
  }

  /** A message by id, to follow its delivery. */
  status(input: { messageId: string }): Promise<OutboxMessage | null> {
    return this.store.get({ id: input.messageId });
  }

  /** Outbox messages, oldest first, filtered by status, tenant and channel; keyset-paged. */
  list(
    input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<OutboxMessage>> {
    return this.store.list(input);
  }

  /**
   * The dead-letter list: permanent failures and give-ups, each with its `lastError` reason.
   * Messages already resent are left out unless `includeResent`.
   */
  async deadLetters(
    input: { tenantId?: TenantKey; channel?: string; limit?: number; cursor?: string | null; includeResent?: boolean } = {},
  ): Promise<Page<OutboxMessage>> {
    const { includeResent, ...filter } = input;
    const page = await this.store.list({ ...filter, status: "dead" });
    if (includeResent) return page;
    const keep: OutboxMessage[] = [];
    for (const m of page.items)
      if (!(await this.store.findByIdempotencyKey({ tenantId: m.tenantId, idempotencyKey: resendKey(m) }))) keep.push(m);
    return { items: keep, nextCursor: page.nextCursor };
  }

  /**
   * Manual resend of a dead, expired or cancelled message: enqueues a copy due now, whose age
   * counts from now (so `maxAgeMs` does not give it up again), with `payload.resendOf` naming
   * the original. The original keeps its status and reason for the record. Idempotent: resending
   * the same message twice returns the same copy.
   * @throws NotFoundError when there is no such message.
   * @throws ConflictError when the message is pending or delivered.
   */
  async resend(input: { messageId: string; actor?: string }): Promise<OutboxMessage> {
    checkStorableFields({ actor: [input?.actor, "name"] }, { pkg: "notify", what: "resend input" });
    const old = await this.store.get({ id: input.messageId });
    if (!old) throw new NotFoundError(`[ops/notify] resend: message ${input.messageId} not found`);
    if (old.status === "pending" || old.status === "delivered")
      throw new ConflictError(
        `[ops/notify] resend: message ${input.messageId} is ${old.status}; only dead, expired or cancelled messages can be resent`,
      );
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    const copy = await this.store.enqueue({
      message: {
        id: prefixedId("msg", now),
        tenantId: old.tenantId,
        channel: old.channel,
        // A resend is a deliberate, fresh send: no escalation check, age counted from now.
        payload: { ...old.payload, notBefore: at, escalation: null, resendOf: old.id },
        idempotencyKey: resendKey(old),
        createdAt: at,
      },
    });
    await this.audit?.record({
      action: "NOTIFICATION_RESENT",
      actor: { id: input.actor ?? "system", type: input.actor ? "user" : "system" },
      ...(old.tenantId !== null ? { tenantId: old.tenantId } : {}),
      target: { id: old.id, type: "notification" },
      meta: { channel: old.channel, previousStatus: old.status, lastError: old.lastError, resentAs: copy.id },
    });
    return copy;
  }

  /**
   * Manual cancel of a pending message (waiting, in backoff, or being sent): it becomes
   * `cancelled` (`OutboxStore.cancel`), so no worker sends it; a worker mid-delivery gets a
   * conflict when it reports. `reason` becomes the message's `lastError` (pass one without
   * secrets or personal data); `resend` can send it later. Audited as `NOTIFICATION_CANCELLED`.
   * @throws NotFoundError when there is no such message.
   * @throws ConflictError when the message is no longer pending.
   */
  async cancel(input: { messageId: string; reason?: string; actor?: string }): Promise<OutboxMessage> {
    checkStorableFields({ reason: [input?.reason, "text"], actor: [input?.actor, "name"] }, { pkg: "notify", what: "cancel input" });
    const m = await this.store.cancel({
      id: input.messageId,
      now: new Date(this.clock.now()).toISOString(),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
    });
    await this.audit?.record({
      action: "NOTIFICATION_CANCELLED",
      actor: { id: input.actor ?? "system", type: input.actor ? "user" : "system" },
      ...(m.tenantId !== null ? { tenantId: m.tenantId } : {}),
      target: { id: m.id, type: "notification" },
      meta: { channel: m.channel, attempts: m.attempts },
    });
    return m;
  }

  private bucket(now: number): number {
    return this.dedupeWindowMs > 0 ? Math.floor(now / this.dedupeWindowMs) : 0;
  }

  /**
   * The idempotency key for one channel, or the earlier message when the dedupe window already
   * holds this notification. The messages of one `dedupeKey` (any action) form a chain: the first
   * in a window takes the window's key (the current fixed bucket, with a look back into the
   * previous one, which makes it sliding), each later one is keyed on its predecessor's id. A
   * repeat of the chain's last action within the window is a duplicate; any other action extends
   * the chain, so trigger -> resolve -> trigger pages again. Racing processes compute the same key
   * and the store's unique key makes exactly one of them enqueue.
   */
  private async keyFor(n: NormalizedNotification, scope: string, channel: string, now: number): Promise<string | OutboxMessage> {
    if (!n.dedupeKey || this.dedupeWindowMs === 0) return `${scope}|id|${n.id}|${channel}`;
    const base = `${scope}|dd|${n.dedupeKey}|${channel}`;
    const bucket = this.bucket(now);
    const within = (m: OutboxMessage | null) => m !== null && now - Date.parse(m.createdAt) < this.dedupeWindowMs;
    const endOf = async (root: OutboxMessage): Promise<OutboxMessage> => {
      let last = root;
      // Bounded: a chain grows by one per change of action, and a window holds few of those.
      for (let i = 0; i < 1000; i++) {
        const next = await this.store.findByIdempotencyKey({ tenantId: n.tenantId ?? null, idempotencyKey: `${base}|after|${last.id}` });
        if (!next) break;
        last = next;
      }
      return last;
    };
    // The previous bucket's chain is still the live one while its latest message is in the window,
    // even when its root is older (a trigger -> resolve -> trigger that crossed the bucket edge).
    const before = await this.store.findByIdempotencyKey({ tenantId: n.tenantId ?? null, idempotencyKey: `${base}|${bucket - 1}` });
    const beforeEnd = before ? await endOf(before) : null;
    let last: OutboxMessage;
    if (beforeEnd && within(beforeEnd)) last = beforeEnd;
    else {
      const root = await this.store.findByIdempotencyKey({ tenantId: n.tenantId ?? null, idempotencyKey: `${base}|${bucket}` });
      if (!root) return `${base}|${bucket}`;
      last = await endOf(root);
    }
    const lastAction = ((last.payload as unknown as OutboxPayload).notification as { action?: string } | undefined)?.action ?? "trigger";
    if (lastAction === n.action && within(last)) return last;
    return `${base}|after|${last.id}`;
  }

  private async put(
    n: NormalizedNotification,
    channel: string,
    idempotencyKey: string,
    notBefore: string | null,
    escalation: { afterMinutes: number } | null,
    now: number,
    tx: unknown,
  ): Promise<NotifyReceipt["messages"][number]> {
    const id = prefixedId("msg", now);
    const payload: OutboxPayload = { notification: n as unknown as JsonObject, notBefore, escalation, resendOf: null };
    const m = await this.store.enqueue({
      message: {
        id,
        tenantId: n.tenantId ?? null,
        channel,
        payload,
        idempotencyKey,
        createdAt: new Date(now).toISOString(),
        ...(notBefore ? { nextAttemptAt: notBefore } : {}),
      },
      ...(tx !== undefined ? { tx } : {}),
    });
    return { channel, messageId: m.id, duplicate: m.id !== id, escalation: escalation !== null };
  }
}

/** @throws ValidationError on bad options. */
export function createNotifier(options: NotifierOptions): OutboxNotifier {
  return new OutboxNotifier(options);
}
