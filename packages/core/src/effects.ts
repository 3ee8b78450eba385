import { systemClock, type Clock } from "./clock.js";
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
      const backoff = Math.min(300_000, 500 * 2 ** Math.min(e.attempts, 10));
      const message = err instanceof Error ? err.message : String(err);
      await o.store
        .fail({ id: e.id, error: message.slice(0, 2000), retryAt: new Date(clock.now() + backoff).toISOString() })
        .catch(() => {});
      return false;
    }
    await o.store.complete({ id: e.id });
    return true;
  }

  async function run(items: EffectRecord[]): Promise<number> {
    let delivered = 0;
    // In order: one flag's audit entries reach the chain in the order they were committed.
    for (const e of items) {
      if (await deliverOne(e)) delivered++;
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
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
  };
  return relay;
}
