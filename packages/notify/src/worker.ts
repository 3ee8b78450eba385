import * as z from "zod";
import {
  isOpsError,
  isRejection,
  parseInput,
  toStorableText,
  prefixedId,
  ValidationError,
  systemClock,
  type AuditSink,
  type Clock,
  type OutboxMessage,
  type OutboxStore,
  type TenantKey,
} from "@ops/core";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { DeliveryError } from "./delivery-error.js";
import { jsonLogger, type NotifyLogger } from "./logger.js";
import type { AdminNotification, NotificationChannel } from "./notification.js";
import type { OutboxPayload } from "./notifier.js";
import { ChannelRateLimiter, type RateLimit } from "./rate-limiter.js";
import { redactSecrets } from "./secrets.js";
import { WorkerStats, type WorkerStatsSnapshot } from "./worker-stats.js";

export interface OutboxWorkerOptions {
  store: OutboxStore;
  channels: readonly NotificationChannel[];
  /** Unique per process (default: a random id). */
  workerId?: string;
  /** How long a claimed message is ours (default 60 s). Must exceed `timeoutMs`. */
  leaseMs?: number;
  /** Per-attempt timeout (default 15 s). */
  timeoutMs?: number;
  /**
   * Messages claimed per channel per round, and delivered concurrently (default 50). After a round
   * in which a channel's claim came back full, `start()` claims again at once: a backlog drains at
   * the channel's speed (a 10,000-message backlog to a webhook in seconds), not one batch per poll.
   */
  batchSize?: number;
  /** Older messages are given up (status `expired`), not sent late (default 24 h). */
  maxAgeMs?: number;
  /** Temporary failures before a message is dead-lettered (default 10). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Per channel name; defaults to what each channel declares (Slack 1/s, PagerDuty 2/s). */
  rateLimits?: Record<string, RateLimit>;
  /** For escalations: true when the incident behind the notification was acknowledged or resolved. */
  isAcknowledged?: (input: { dedupeKey: string | undefined; notificationId: string; tenantId: TenantKey }) => Promise<boolean>;
  /** How long `start()` waits after a round that found the outbox idle (no full claim; default 1 s). */
  pollMs?: number;
  clock?: Clock;
  random?: () => number;
  logger?: NotifyLogger;
  /** Dead letters and give-ups are recorded here (metadata never holds secrets). */
  audit?: AuditSink;
  /** Strings to scrub from anything logged or stored (channel URLs and keys are scrubbed already). */
  secrets?: string[];
  /**
   * Called once per message dead-lettered (status `dead`: a permanent failure, a payload that is
   * not a notification, or too many attempts), after the store recorded it. It is never claimed
   * again (`requeue` resends it on purpose). Counted in `stats()` (`dead`) and logged as
   * `notify.dead_letter`. The reason names the channel and the failure, never the recipient.
   */
  onDeadLetter?: (d: OutboxDeadLetter) => void;
}

/** A message the worker dead-lettered (see `OutboxWorkerOptions.onDeadLetter`). */
export interface OutboxDeadLetter {
  messageId: string;
  tenantId: TenantKey;
  channel: string;
  attempts: number;
  reason: string;
}

export interface RunResult {
  claimed: number;
  /** True when some channel's claim came back full: more is probably due, claim again at once. */
  full: boolean;
  delivered: number;
  retried: number;
  dead: number;
  expired: number;
  cancelled: number;
  conflicts: number;
}

const positiveInt = (what: string) => z.number().int(`expected an integer ${what}`).positive(`expected ${what} > 0`);
const OptionsSchema = z.object({
  store: z.custom<OutboxStore>((v) => typeof (v as OutboxStore | undefined)?.claim === "function", "expected an OutboxStore"),
  channels: z
    .array(
      z.custom<NotificationChannel>(
        (v) => typeof (v as NotificationChannel | undefined)?.send === "function" && typeof (v as NotificationChannel).name === "string",
        "expected a channel with name and send()",
      ),
    )
    .min(1, "expected at least one channel"),
  workerId: z.string().min(1).max(256).optional(),
  leaseMs: positiveInt("number of ms").optional(),
  timeoutMs: positiveInt("number of ms").optional(),
  batchSize: positiveInt("batch size").max(1000, "expected batchSize <= 1000").optional(),
  maxAgeMs: positiveInt("number of ms").optional(),
  maxAttempts: positiveInt("number of attempts").optional(),
  pollMs: positiveInt("number of ms").optional(),
  backoff: z
    .object({
      baseMs: positiveInt("number of ms").optional(),
      maxMs: positiveInt("number of ms").optional(),
      factor: z.number().min(1, "expected factor >= 1").optional(),
    })
    .optional(),
});

/**
 * Claims due outbox messages with a lease and delivers them. At-least-once: a message is
 * completed only after its channel accepted it; if this process dies first, the lease expires
 * and another worker sends it again (receivers dedupe on the idempotency key).
 */
export class OutboxWorker {
  readonly workerId: string;
  private readonly o: Required<Pick<OutboxWorkerOptions, "leaseMs" | "timeoutMs" | "batchSize" | "maxAgeMs" | "maxAttempts" | "pollMs">>;
  private readonly providers = new Map<string, NotificationChannel>();
  private readonly limiter: ChannelRateLimiter;
  private readonly clock: Clock;
  private readonly logger: NotifyLogger;
  private readonly statsData = new WorkerStats();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly secrets: string[];

  /**
   * @throws ValidationError on a bad option (naming it) or two channels with one name.
   * @throws RangeError on inconsistent options (lease not longer than the timeout).
   */
  constructor(private readonly options: OutboxWorkerOptions) {
    // A zero batch or NaN lease would be accepted and then silently never deliver anything.
    parseInput(OptionsSchema, options, { pkg: "notify", what: "outbox worker options" });
    for (const p of options.channels) {
      if (this.providers.has(p.name))
        throw new ValidationError(`[ops/notify] invalid outbox worker options: channels: name "${p.name}" is used twice`, [
          { path: "channels", message: "expected unique names" },
        ]);
      this.providers.set(p.name, p);
    }
    this.secrets = [...(options.secrets ?? []), ...options.channels.flatMap((p) => p.secrets ?? []).flatMap(urlParts)];
    this.workerId = options.workerId ?? prefixedId("wrk");
    this.o = {
      leaseMs: options.leaseMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 15_000,
      batchSize: options.batchSize ?? 50,
      maxAgeMs: options.maxAgeMs ?? 86_400_000,
      maxAttempts: options.maxAttempts ?? 10,
      pollMs: options.pollMs ?? 1000,
    };
    if (this.o.leaseMs <= this.o.timeoutMs)
      throw new RangeError("[ops/notify] invalid leaseMs: expected more than timeoutMs, or a slow send outlives its lease");
    const declared = Object.fromEntries(options.channels.flatMap((p) => (p.rateLimit ? [[p.name, p.rateLimit]] : [])));
    this.limiter = new ChannelRateLimiter({ ...declared, ...options.rateLimits });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? jsonLogger();
  }

  /** Counters since start: delivered, temporary and permanent failures, per channel. */
  stats(): WorkerStatsSnapshot {
    return this.statsData.snapshot();
  }

  /**
   * One round: claim due messages on every channel (within rate limits) and deliver them.
   * @throws the first failed claim, after every other channel was claimed and delivered.
   */
  async runOnce(): Promise<RunResult> {
    const result: RunResult = { claimed: 0, full: false, delivered: 0, retried: 0, dead: 0, expired: 0, cancelled: 0, conflicts: 0 };
    const now = this.clock.now();
    const work: Promise<void>[] = [];
    // One channel's failing claim must not starve the channels after it (nor leave the claimed
    // deliveries un-awaited): it is rethrown after the round, the others still run.
    let claimError: { err: unknown } | undefined;
    for (const channel of this.providers.keys()) {
      const allowed = this.limiter.take(channel, now, this.o.batchSize);
      if (allowed === 0) continue;
      let claimed: OutboxMessage[];
      try {
        claimed = await this.options.store.claim({
          workerId: this.workerId,
          limit: allowed,
          leaseMs: this.o.leaseMs,
          now: new Date(now).toISOString(),
          channels: [channel],
        });
      } catch (err) {
        this.limiter.refund(channel, allowed);
        claimError ??= { err };
        continue;
      }
      this.limiter.refund(channel, allowed - claimed.length);
      result.claimed += claimed.length;
      if (claimed.length > 0 && claimed.length === allowed) result.full = true;
      for (const m of claimed) work.push(this.deliver(m, result));
    }
    await Promise.all(work);
    if (claimError) throw claimError.err;
    return result;
  }

  /**
   * Runs rounds until `stop()`: the next round starts at once after a round with a full claim
   * (a backlog), and `pollMs` after a round that found the outbox idle or failed. Errors of a
   * round are logged, never thrown.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      let busy = false;
      this.running = this.runOnce().then(
        (r) => void (busy = r.full),
        (err: unknown) =>
          this.logger.error("notify.worker.round_failed", {
            workerId: this.workerId,
            error: this.scrub(String((err as Error)?.message ?? err)),
          }),
      );
      await this.running;
      // setImmediate, not a direct call: I/O callbacks (and stop()) get their turn between rounds.
      if (!this.stopped) this.timer = busy ? (setImmediate(loop) as unknown as NodeJS.Timeout) : setTimeout(loop, this.o.pollMs);
    };
    void loop();
  }

  /** Stops polling and waits for the round in flight; closes the channels' connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
    }
    await this.running;
    await Promise.all([...this.providers.values()].map((p) => p.close?.()));
  }

  private scrub(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  private async deliver(m: OutboxMessage, result: RunResult): Promise<void> {
    const payload = m.payload as OutboxPayload;
    const n = payload.notification as unknown as AdminNotification & { id: string };
    const provider = this.providers.get(m.channel)!;
    const now = () => new Date(this.clock.now()).toISOString();
    const base = { workerId: this.workerId, messageId: m.id, channel: m.channel, attempt: m.attempts };
    try {
      const malformed = malformedPayload(payload);
      if (malformed) {
        // Not something the notifier wrote: no attempt can send it, so it is dead at once.
        await this.failed(m, new DeliveryError(`[ops/notify] ${m.channel}: ${malformed}`, { kind: "permanent" }), result, base);
        return;
      }
      const ageFrom = Math.max(Date.parse(m.createdAt), payload.notBefore ? Date.parse(payload.notBefore) : 0);
      if (this.clock.now() - ageFrom > this.o.maxAgeMs) {
        const reason = `given up: older than maxAgeMs ${this.o.maxAgeMs}${m.lastError ? ` (last error: ${m.lastError})` : ""}`;
        await this.options.store.fail({ id: m.id, workerId: this.workerId, error: reason, now: now(), final: "expired" });
        result.expired += 1;
        this.statsData.add(m.channel, "expired");
        this.logger.warn("notify.expired", { ...base, reason });
        await this.record("NOTIFICATION_EXPIRED", m, reason);
        return;
      }
      if (payload.escalation && this.options.isAcknowledged) {
        let acked: boolean;
        try {
          acked = await this.options.isAcknowledged({ dedupeKey: n.dedupeKey, notificationId: n.id, tenantId: m.tenantId });
        } catch (err) {
          // Unknown state: retry later rather than page someone for an incident that may be handled.
          const why = `[ops/notify] ${m.channel}: isAcknowledged failed: ${String((err as Error)?.message ?? err).slice(0, 200)}`;
          await this.failed(m, new DeliveryError(why, { kind: "temporary" }), result, base);
          return;
        }
        if (acked) {
          await this.options.store.fail({
            id: m.id,
            workerId: this.workerId,
            error: "escalation not needed: acknowledged",
            now: now(),
            final: "cancelled",
          });
          result.cancelled += 1;
          this.statsData.add(m.channel, "cancelled");
          return;
        }
      }
      const toSend: AdminNotification = payload.escalation ? { ...n, subject: `[ESCALATED] ${n.subject}` } : n;
      try {
        await this.sendWithTimeout(provider, toSend, m);
      } catch (err) {
        await this.failed(m, err, result, base);
        return;
      }
      await this.options.store.complete({ id: m.id, workerId: this.workerId, now: now() });
      result.delivered += 1;
      this.statsData.add(m.channel, "delivered");
      this.logger.info("notify.delivered", base);
    } catch (err) {
      if (isOpsError(err) && err.code === "CONFLICT") {
        // Our lease lapsed and another worker took the message: it may be sent twice, never lost.
        result.conflicts += 1;
        this.statsData.add(m.channel, "conflicts");
        this.logger.warn("notify.lease_lost", base);
        return;
      }
      this.logger.error("notify.store_error", { ...base, error: this.scrub(String((err as Error)?.message ?? err)) });
    }
  }

  /**
   * Sends with the attempt's timeout enforced here too: a provider that ignores its abort signal
   * must not hold the message past its lease.
   */
  private async sendWithTimeout(provider: NotificationChannel, n: AdminNotification, m: OutboxMessage): Promise<void> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new DeliveryError(`[ops/notify] ${m.channel}: timed out after ${this.o.timeoutMs} ms`, { kind: "temporary" }));
      }, this.o.timeoutMs);
    });
    try {
      await Promise.race([provider.send(n, { idempotencyKey: m.idempotencyKey, attempt: m.attempts, signal: controller.signal }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async failed(m: OutboxMessage, err: unknown, result: RunResult, base: Record<string, unknown>): Promise<void> {
    const d = err instanceof DeliveryError ? err : undefined;
    // A non-retryable @ops error (a ValidationError of a channel that cannot format the message)
    // fails the same way every time: permanent. Unknown errors (a provider bug, a thrown string)
    // are treated as temporary: retrying is safer than losing.
    const permanent = d ? d.kind === "permanent" : isRejection(err);
    // The reason is stored as the message's lastError: a receiver's answer may hold text no store
    // keeps (a NUL, half a surrogate pair cut at 200 characters); a refused `fail` would leave the
    // message leased and sent again after every lease, forever.
    const reason = toStorableText(
      this.scrub(
        d
          ? d.message
          : `[ops/notify] ${m.channel}: ${(err as Error)?.name ?? "Error"}: ${String((err as Error)?.message ?? err).slice(0, 300)}`,
      ),
    );
    const nowMs = this.clock.now();
    if (permanent || m.attempts >= this.o.maxAttempts) {
      const why = permanent ? reason : `gave up after ${m.attempts} attempts: ${reason}`;
      await this.options.store.fail({ id: m.id, workerId: this.workerId, error: why, now: new Date(nowMs).toISOString(), final: "dead" });
      result.dead += 1;
      this.statsData.add(m.channel, permanent ? "permanentFailures" : "temporaryFailures");
      this.statsData.add(m.channel, "dead");
      this.logger.error("notify.dead_letter", { ...base, reason: why });
      try {
        this.options.onDeadLetter?.({ messageId: m.id, tenantId: m.tenantId, channel: m.channel, attempts: m.attempts, reason: why });
      } catch {
        // A failing hook must not fail the round.
      }
      await this.record("NOTIFICATION_DEAD_LETTERED", m, why);
      return;
    }
    const delay = Math.max(backoffDelay(m.attempts, this.options.backoff, this.options.random), d?.retryAfterMs ?? 0);
    if (d?.retryAfterMs !== undefined) this.limiter.pause(m.channel, nowMs + d.retryAfterMs);
    const retryAt = new Date(nowMs + delay).toISOString();
    await this.options.store.fail({ id: m.id, workerId: this.workerId, error: reason, now: new Date(nowMs).toISOString(), retryAt });
    result.retried += 1;
    this.statsData.add(m.channel, "temporaryFailures");
    this.logger.warn("notify.retry", { ...base, reason, retryAt });
  }

  private async record(action: string, m: OutboxMessage, reason: string): Promise<void> {
    try {
      await this.options.audit?.record({
        action,
        actor: { id: this.workerId, type: "system" },
        ...(m.tenantId !== null ? { tenantId: m.tenantId } : {}),
        target: { id: m.id, type: "notification" },
        outcome: "failure",
        reason,
        meta: { channel: m.channel, attempts: m.attempts, idempotencyKey: m.idempotencyKey },
      });
    } catch (err) {
      this.logger.error("notify.audit_failed", { messageId: m.id, error: this.scrub(String((err as Error)?.message ?? err)) });
    }
  }
}

/** Why a claimed message's payload cannot be a notification (not one the notifier wrote), or null. */
function malformedPayload(p: unknown): string | null {
  if (typeof p !== "object" || p === null) return "malformed message: payload is not an object";
  const n = (p as { notification?: unknown }).notification;
  if (typeof n !== "object" || n === null || Array.isArray(n)) return "malformed message: payload.notification is not an object";
  const { notBefore } = p as { notBefore?: unknown };
  if (notBefore != null && (typeof notBefore !== "string" || Number.isNaN(Date.parse(notBefore))))
    return "malformed message: payload.notBefore is not a time";
  return null;
}

/** A URL secret is also scrubbed by its path and query, which receivers echo on their own. */
function urlParts(secret: string): string[] {
  if (!/^https?:\/\//.test(secret)) return [secret];
  try {
    const u = new URL(secret);
    return [secret, u.pathname.length > 1 ? u.pathname : "", u.search, ...u.pathname.split("/").filter((p) => p.length >= 8)].filter(
      Boolean,
    );
  } catch {
    return [secret];
  }
}

/** @throws RangeError on inconsistent options. */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  return new OutboxWorker(options);
}
