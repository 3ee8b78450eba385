import { isRejection, rejectionReason } from "./batch.js";
import { systemClock, type Clock } from "./clock.js";
import { IntegrityError } from "./errors.js";
import { prefixedId } from "./ids.js";
import type { JsonObject } from "./json.js";
import type { AdminNotification, AuditSink, AuditSinkEntry, Notifier } from "./ports.js";
import type { TenantKey } from "./stores/common.js";
import type { EffectKind, EffectRecord, EffectStore, PendingEffect } from "./stores/effect-store.js";

/**
 * An audit sink that can also find entries (an `@ops/audit` `AuditLog` is one): the relay uses
 * `query` to check, before re-delivering an effect whose earlier attempt may have gone through,
 * whether its entry (`meta.effectId`) is already in the chain.
 */
interface AuditLookup {
  query(input: {
    tenantId: TenantKey;
    targetId?: string;
    actions?: readonly string[];
    from?: string;
    limit?: number;
    cursor?: string | null;
  }): Promise<{ items: ReadonlyArray<{ meta?: JsonObject | null }>; nextCursor: string | null }>;
}

function canLookup(sink: AuditSink): sink is AuditSink & AuditLookup {
  return typeof (sink as Partial<AuditLookup>).query === "function";
}

export interface EffectRelayOptions {
  store: EffectStore;
  /** Where `kind: "audit"` effects go. Without it this relay does not claim them (they wait for a relay that has one). */
  audit?: AuditSink;
  /** Where `kind: "notify"` effects go. Without it this relay does not claim them. */
  notifier?: Notifier;
  clock?: Clock;
  /** Lease of a claimed effect (default 5 s): a relay that dies mid-delivery hands it on after this. */
  leaseMs?: number;
  /** Effects per claim while draining (default 100). */
  batch?: number;
  /** Idle wait of the background loop between drains (default 1 s; `start` only). */
  pollMs?: number;
  /** Told about every failed delivery (the effect stays pending and is retried with backoff). */
  onError?: (err: unknown, effect: EffectRecord) => void;
  /**
   * Called once per effect its sink rejected permanently (a non-retryable @ops error such as a
   * `ValidationError`: sending it again cannot succeed). The effect is dead-lettered: removed from
   * the queue, counted in `stats().deadLettered`, never retried; the other effects of the batch are
   * delivered in the same pass. The hook gets the whole record (to keep it elsewhere). Default: a
   * JSON log line on stderr (`core.effects.dead_letter`) with the effect's id, kind, tenant,
   * attempts and reason, never its payload.
   */
  onDeadLetter?: (d: EffectDeadLetter) => void;
}

/** An effect its sink rejected permanently (see `EffectRelayOptions.onDeadLetter`). */
export interface EffectDeadLetter {
  effect: EffectRecord;
  /** Why: the sink error's code and message (@ops messages carry no values). */
  reason: string;
}

/** Counters of one relay since it was created. */
export interface EffectRelayStats {
  delivered: number;
  /** Failed deliveries left pending for a retry (the sink or the store was unavailable). */
  failed: number;
  /** Effects a sink rejected permanently, removed from the queue (see `onDeadLetter`). */
  deadLettered: number;
}

export interface EffectRelay {
  /**
   * Delivers the given effects now (the "after commit" path of the writer that stored them).
   * Never throws: an effect that fails stays pending with a backoff and the loop retries it.
   */
  deliver(ids: readonly string[]): Promise<void>;
  /** Delivers every due pending effect (leftovers of crashed processes, retries). Returns how many were delivered. */
  drain(): Promise<number>;
  /** Drains now and then every `pollMs` (and at once again after a full batch) until `stop`. */
  start(): void;
  /** Stops the loop and waits for the delivery in flight. Idempotent. */
  stop(): Promise<void>;
  /** Delivered, failed (retried later) and dead-lettered effects since creation. */
  stats(): EffectRelayStats;
}

/** A fresh effect id. */
export function effectId(): string {
  return prefixedId("eff");
}

/** Builds the audit effect of a state change (the entry carries `meta.effectId`). */
export function auditEffect(entry: AuditSinkEntry, createdAt: string, id = effectId()): PendingEffect {
  const payload = { ...entry, tenantId: entry.tenantId ?? null, meta: { ...(entry.meta ?? {}), effectId: id } };
  return { id, tenantId: entry.tenantId ?? null, kind: "audit", payload: payload as unknown as JsonObject, createdAt };
}

/** Builds the notification effect of a state change (the notification's `id`, its idempotency key, is the effect id unless given). */
export function notifyEffect(notification: AdminNotification, createdAt: string, id = effectId()): PendingEffect {
  const payload = { ...notification, id: notification.id ?? id };
  return { id, tenantId: notification.tenantId ?? null, kind: "notify", payload: payload as unknown as JsonObject, createdAt };
}

const LOOKBACK_MS = 10 * 60_000;

/**
 * A permanent refusal of one effect: a non-retryable @ops error, except an `IntegrityError` (a
 * broken chain refuses every entry alike: that is an outage to fix, not a bad record to drop).
 */
function rejectsEffect(err: unknown): boolean {
  return isRejection(err) && !(err instanceof IntegrityError);
}

/** The default `onDeadLetter`: one JSON line on stderr, without the payload. */
function logEffectDeadLetter(d: EffectDeadLetter): void {
  console.warn(
    JSON.stringify({
      level: "warn",
      event: "core.effects.dead_letter",
      effectId: d.effect.id,
      kind: d.effect.kind,
      tenantId: d.effect.tenantId,
      attempts: d.effect.attempts,
      reason: d.reason,
    }),
  );
}

/**
 * The one relay of side effects: reads effects committed with their state change and hands them
 * to the audit sink or the notifier, then removes them. At least once by the store's leases,
 * exactly once in the result: a notification is idempotent on its id, and an audit effect whose
 * earlier attempt may have reached the chain is looked up by `meta.effectId` first (when the
 * sink can `query`, as `@ops/audit`'s log can) and not appended twice.
 */
export function createEffectRelay(o: EffectRelayOptions): EffectRelay {
  const clock = o.clock ?? systemClock;
  const leaseMs = o.leaseMs ?? 5_000;
  const batch = o.batch ?? 100;
  const pollMs = o.pollMs ?? 1000;
  const onError = o.onError ?? (() => {});
  const onDeadLetter = o.onDeadLetter ?? logEffectDeadLetter;
  const counts: EffectRelayStats = { delivered: 0, failed: 0, deadLettered: 0 };
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let inFlight: Promise<unknown> = Promise.resolve();

  const nowIso = () => new Date(clock.now()).toISOString();
  const kinds: EffectKind[] = [...(o.audit ? (["audit"] as const) : []), ...(o.notifier ? (["notify"] as const) : [])];

  async function alreadyAudited(sink: AuditSink & AuditLookup, e: EffectRecord): Promise<boolean> {
    const entry = e.payload as unknown as AuditSinkEntry;
    const from = new Date(Date.parse(e.createdAt) - LOOKBACK_MS).toISOString();
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<AuditLookup["query"]>> = await sink.query({
        tenantId: e.tenantId,
        ...(entry.target?.id ? { targetId: entry.target.id } : {}),
        actions: [entry.action],
        from,
        limit: 500,
        cursor,
      });
      if (page.items.some((r) => r.meta?.effectId === e.id)) return true;
      cursor = page.nextCursor;
    } while (cursor);
    return false;
  }

  async function deliverOne(e: EffectRecord): Promise<boolean> {
    try {
      if (e.kind === "audit") {
        if (!o.audit) return false;
        if (!(e.attempts > 1 && canLookup(o.audit) && (await alreadyAudited(o.audit, e))))
          await o.audit.record(e.payload as unknown as AuditSinkEntry);
      } else {
        if (!o.notifier) return false;
        const n = e.payload as unknown as AdminNotification;
        await o.notifier.notify({ ...n, id: n.id ?? e.id });
      }
    } catch (err) {
      onError(err, e);
      if (rejectsEffect(err)) {
        // Sending it again cannot succeed: dead-letter it once instead of retrying it forever.
        counts.deadLettered++;
        try {
          onDeadLetter({ effect: e, reason: rejectionReason(err).slice(0, 2000) });
        } catch {
          // A failing hook must not stop the batch.
        }
        await o.store.complete({ id: e.id });
        return false;
      }
      counts.failed++;
      const backoff = Math.min(300_000, 500 * 2 ** Math.min(e.attempts, 10));
      const message = err instanceof Error ? err.message : String(err);
      await o.store
        .fail({ id: e.id, error: message.slice(0, 2000), retryAt: new Date(clock.now() + backoff).toISOString() })
        .catch(() => {});
      return false;
    }
    await o.store.complete({ id: e.id });
    counts.delivered++;
    return true;
  }

  async function run(items: EffectRecord[]): Promise<number> {
    let delivered = 0;
    // In order: one flag's audit entries reach the chain in the order they were committed.
    for (const e of items) {
      try {
        if (await deliverOne(e)) delivered++;
      } catch (err) {
        // The store failed to complete it: its lease lapses and it is handed out again (the
        // effect-id check keeps the result exactly once); the rest of the batch goes on.
        onError(err, e);
      }
    }
    return delivered;
  }

  const relay: EffectRelay = {
    async deliver(ids) {
      if (ids.length === 0 || kinds.length === 0) return;
      try {
        const items = await o.store.claim({ limit: Math.min(1000, ids.length), leaseMs, now: nowIso(), ids, kinds });
        const p = run(items);
        inFlight = p.catch(() => {});
        await p;
      } catch (err) {
        // The effects are stored: the loop (or the next start) delivers them.
        onError(err, {
          id: ids[0] ?? "",
          tenantId: null,
          kind: "audit",
          payload: {},
          createdAt: nowIso(),
          attempts: 0,
          leaseUntil: null,
          lastError: null,
        });
      }
    },
    async drain() {
      let total = 0;
      if (kinds.length === 0) return 0;
      for (;;) {
        const items = await o.store.claim({ limit: batch, leaseMs, now: nowIso(), kinds });
        if (items.length === 0) return total;
        const p = run(items);
        inFlight = p.catch(() => {});
        total += await p;
        if (items.length < batch) return total;
      }
    },
    start() {
      if (running) return;
      running = true;
      const loop = async () => {
        if (!running) return;
        let delivered = 0;
        try {
          delivered = await relay.drain();
        } catch {
          // Store down: try again after pollMs.
        }
        if (!running) return;
        timer = setTimeout(() => void loop(), delivered >= batch ? 0 : pollMs);
        timer.unref?.();
      };
      void loop();
    },
    stats() {
      return { ...counts };
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
  };
  return relay;
}
