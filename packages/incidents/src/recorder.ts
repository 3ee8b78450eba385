import {
  mapLimit,
  storableJsonIssue,
  storableTextIssue,
  sortableId,
  systemClock,
  ValidationError,
  type AuthEventRecord,
  type AuthEventStore,
  type Clock,
  type CounterStore,
  type JsonObject,
  type SignalSink,
  type TenantKey,
} from "@ops/core";
import {
  addIdentity,
  countIdentities,
  DEFAULT_IDENTITY_RULES,
  eventKey,
  THRESHOLD_EVENT,
  type IdentityRule,
  type TypeCell,
} from "./identity.js";

export { DEFAULT_IDENTITY_RULES, THRESHOLD_EVENT, breachKey, eventKey, type IdentityRule } from "./identity.js";

/** One auth signal to record (stored as an auth event, counted in the detection windows). */
export interface AuthSignal {
  /** UPPER_SNAKE_CASE, e.g. "LOGIN_FAILED" (see `AUTH_EVENT_TYPES` in @ops/core). */
  type: string;
  tenantId?: TenantKey;
  userId?: string;
  ip?: string;
  provider?: string;
  /** Default: now. */
  occurredAt?: string | number | Date;
  meta?: JsonObject;
}

export interface SignalRecorderOptions {
  /** Where counts go: shared (Redis) counters make a spike over many instances count once. */
  counters: CounterStore;
  /** Where events are stored (an `AuthEventStore`); absent: counts only. */
  authEvents?: AuthEventStore;
  /** Counter bucket length (default 60 s). */
  bucketMs?: number;
  /** How long counters are kept (default 2 h, longer than the longest detection window). */
  counterTtlMs?: number;
  /** Bound of buffered events between flushes (default 100,000); beyond it details are dropped, counts are not. */
  maxBuffer?: number;
  /** Events per `append` call (default 500). */
  batchSize?: number;
  /** Flush period after `start()` (default 1 s). */
  flushIntervalMs?: number;
  /** Counter adds in flight at once during a flush (default 32). */
  concurrency?: number;
  identityRules?: readonly IdentityRule[];
  clock?: Clock;
  /** Called with background flush failures (the data is kept for the next flush). */
  onError?: (err: unknown) => void;
}

export interface RecorderStats {
  recorded: number;
  buffered: number;
  /** Event details dropped because the buffer was full (their counts were kept). */
  dropped: number;
  flushedEvents: number;
  flushErrors: number;
}

interface Buffered {
  type: string;
  tenantId: TenantKey;
  at: number;
  userId: string | undefined;
  ip: string | undefined;
  provider: string | undefined;
  meta: JsonObject | undefined;
}

const TYPE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
const TENANT_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function bad(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/incidents] invalid auth event: ${path}: ${message}`, [{ path, message }]);
}

/**
 * Records auth signals. `recordAuthEvent` is synchronous and cheap (no I/O, no zod): it counts into
 * in-process buckets and buffers the event. `flush()` (every `flushIntervalMs` after `start()`, and
 * on `close()`) writes the buffered events to the AuthEventStore in batches and adds the counts to
 * the CounterStore. Durability: an event is durable once a flush containing it resolved; a crash
 * loses at most one flush interval. Failed writes stay buffered for the next flush (counter adds
 * are at-least-once).
 */
export class SignalRecorder implements SignalSink {
  private readonly counters: CounterStore;
  private readonly authEvents: AuthEventStore | undefined;
  private readonly bucketMs: number;
  private readonly ttlMs: number;
  private readonly maxBuffer: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  private readonly rulesByType = new Map<string, IdentityRule[]>();
  private readonly okTypes = new Set<string>();
  private readonly okTenants = new Set<string>();
  private buffer: Buffered[] = [];
  /** bucket start -> tenant -> type -> counts */
  private agg = new Map<number, Map<TenantKey, Map<string, TypeCell>>>();
  private lastBucket = Number.NaN;
  private lastByTenant: Map<TenantKey, Map<string, TypeCell>> | undefined;
  private readonly seen = new Map<TenantKey, number>();
  private retryAdds: Array<{ tenantId: TenantKey; type: string; bucket: number; by: number }> = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private inflight: Promise<void> | undefined;
  private recorded = 0;
  private dropped = 0;
  private flushedEvents = 0;
  private flushErrors = 0;

  constructor(options: SignalRecorderOptions) {
    if (!options?.counters) throw bad("counters", "expected a CounterStore");
    this.counters = options.counters;
    this.authEvents = options.authEvents;
    this.bucketMs = options.bucketMs ?? 60_000;
    this.ttlMs = options.counterTtlMs ?? 2 * 3_600_000;
    this.maxBuffer = options.maxBuffer ?? 100_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.concurrency = options.concurrency ?? 32;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? (() => {});
    for (const [k, v] of Object.entries({ bucketMs: this.bucketMs, maxBuffer: this.maxBuffer, batchSize: this.batchSize }))
      if (!Number.isInteger(v) || v < 1) throw bad(k, "expected a positive integer");
    for (const r of options.identityRules ?? DEFAULT_IDENTITY_RULES) {
      if (!Number.isInteger(r.threshold) || r.threshold < 1 || !Number.isInteger(r.windowBuckets) || r.windowBuckets < 1)
        throw bad(`identityRules.${r.id}`, "expected a positive integer threshold and windowBuckets");
      const list = this.rulesByType.get(r.eventType) ?? [];
      list.push(r);
      this.rulesByType.set(r.eventType, list);
    }
  }

  get bucketSize(): number {
    return this.bucketMs;
  }

  /**
   * Records one signal. Synchronous; never does I/O.
   * @throws ValidationError naming the bad field (nothing is recorded then).
   */
  recordAuthEvent(e: AuthSignal): void {
    if (e === null || typeof e !== "object") throw bad("(input)", "expected an object");
    const type = e.type;
    const tenant = e.tenantId ?? null;
    const userId = e.userId;
    const ip = e.ip;
    const provider = e.provider;
    const meta = e.meta;
    if (userId !== undefined && (typeof userId !== "string" || userId.length > 256))
      throw bad("userId", "expected a string of at most 256 characters");
    if (ip !== undefined && (typeof ip !== "string" || ip.length > 64)) throw bad("ip", "expected a string of at most 64 characters");
    if (provider !== undefined && (typeof provider !== "string" || provider.length > 64))
      throw bad("provider", "expected a string of at most 64 characters");
    if (meta !== undefined && (meta === null || typeof meta !== "object" || Array.isArray(meta))) throw bad("meta", "expected an object");
    // Storable text (one definition in @ops/core): a NUL or a lone surrogate is refused here, so
    // it can never reach a flush and block the batch.
    const unstorable =
      (userId !== undefined && storableTextIssue(userId, "userId", "name", 0)) ||
      (ip !== undefined && storableTextIssue(ip, "ip", "name", 0)) ||
      (provider !== undefined && storableTextIssue(provider, "provider", "name", 0)) ||
      (meta !== undefined && storableJsonIssue(meta, "meta"));
    if (unstorable) throw bad(unstorable.path, unstorable.message);
    const at = e.occurredAt === undefined ? this.clock.now() : this.timeOf(e.occurredAt);
    const bucket = at - (at % this.bucketMs);

    let byTenant = this.lastByTenant;
    if (bucket !== this.lastBucket || byTenant === undefined) {
      byTenant = this.agg.get(bucket);
      if (byTenant === undefined) this.agg.set(bucket, (byTenant = new Map()));
      this.lastBucket = bucket;
      this.lastByTenant = byTenant;
    }
    // A tenant or type already counted in this bucket was validated then: the common case costs
    // two map lookups and no validation.
    let byType = byTenant.get(tenant);
    let cell = byType?.get(type);
    if (cell === undefined) {
      if (tenant !== null && !this.okTenants.has(tenant)) this.checkTenant(tenant);
      if (!this.okTypes.has(type)) this.checkType(type);
      if (byType === undefined) byTenant.set(tenant, (byType = new Map()));
      byType.set(type, (cell = { n: 0, rules: this.rulesByType.get(type), ids: undefined }));
    }
    cell.n++;
    if (cell.rules !== undefined) countIdentities(cell, cell.rules, userId, ip);

    this.recorded++;
    if (this.authEvents !== undefined) {
      if (this.buffer.length < this.maxBuffer) this.buffer.push({ type, tenantId: tenant, at, userId, ip, provider, meta });
      else this.dropped++;
    }
  }

  /** `SignalSink` port: the same as `recordAuthEvent`. */
  record(e: AuthSignal): void {
    this.recordAuthEvent(e);
  }

  /**
   * Writes buffered events and counts to the stores. Concurrent calls share one flush.
   * @throws the first store error (what failed stays buffered for the next flush).
   */
  flush(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight.then(() => this.flush());
    const p = this.doFlush().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  /** Flushes every `flushIntervalMs` until `close()`. Idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.onError(err));
    }, this.flushIntervalMs);
    this.timer.unref?.();
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  stats(): RecorderStats {
    return {
      recorded: this.recorded,
      buffered: this.buffer.length,
      dropped: this.dropped,
      flushedEvents: this.flushedEvents,
      flushErrors: this.flushErrors,
    };
  }

  /** Tenants (and `null` for global) that had signals flushed at or after `sinceMs`. */
  activeTenants(sinceMs: number): TenantKey[] {
    const out: TenantKey[] = [];
    for (const [t, last] of this.seen) if (last >= sinceMs) out.push(t);
    return out;
  }

  private checkType(type: unknown): void {
    if (typeof type !== "string" || !TYPE_RE.test(type))
      throw bad("type", 'expected an UPPER_SNAKE_CASE event type such as "LOGIN_FAILED"');
    if (this.okTypes.size < 10_000) this.okTypes.add(type);
  }

  private checkTenant(tenant: unknown): void {
    if (typeof tenant !== "string" || !TENANT_RE.test(tenant))
      throw bad("tenantId", "expected a tenant id of 1-128 letters, digits and . _ : -");
    if (this.okTenants.size < 100_000) this.okTenants.add(tenant);
  }

  private timeOf(t: string | number | Date): number {
    const ms = typeof t === "number" ? t : t instanceof Date ? t.getTime() : typeof t === "string" ? Date.parse(t) : Number.NaN;
    // Beyond +-8.64e15 ms there is no Date: the flush would throw a RangeError and lose its whole batch.
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
      throw bad("occurredAt", "expected an ISO 8601 date-time, a Date or epoch milliseconds");
    return ms;
  }

  private async doFlush(): Promise<void> {
    const events = this.buffer;
    const agg = this.agg;
    this.buffer = [];
    this.agg = new Map();
    this.lastBucket = Number.NaN;
    this.lastByTenant = undefined;
    const errors: unknown[] = [];
    const now = this.clock.now();

    const adds = this.retryAdds;
    this.retryAdds = [];
    for (const [bucket, byTenant] of agg) {
      const global = new Map<string, number>();
      for (const [tenant, byType] of byTenant) {
        this.seen.set(tenant, Math.max(this.seen.get(tenant) ?? 0, bucket));
        for (const [type, { n }] of byType) {
          if (tenant !== null) adds.push({ tenantId: tenant, type, bucket, by: n });
          global.set(type, (global.get(type) ?? 0) + n);
        }
      }
      this.seen.set(null, Math.max(this.seen.get(null) ?? 0, bucket));
      for (const [type, n] of global) adds.push({ tenantId: null, type, bucket, by: n });
    }
    await mapLimit(adds, this.concurrency, async (a) => {
      try {
        await this.counters.increment({
          tenantId: a.tenantId,
          key: eventKey(a.type),
          atMs: a.bucket,
          bucketMs: this.bucketMs,
          by: a.by,
          ttlMs: this.ttlMs,
        });
      } catch (err) {
        errors.push(err);
        // Retried verbatim: re-aggregating would add the global share twice.
        this.retryAdds.push(a);
      }
    });

    const crossings: AuthEventRecord[] = [];
    const idAdds: Array<() => Promise<void>> = [];
    const push = (rule: IdentityRule, tenant: TenantKey, bucket: number, a: string, b: string, n: number) =>
      idAdds.push(() =>
        addIdentity(this.counters, this.bucketMs, this.ttlMs, rule, tenant, bucket, a, b, n, now, crossings).catch(
          (err: unknown) => void errors.push(err),
        ),
      );
    for (const [bucket, byTenant] of agg)
      for (const [tenant, byType] of byTenant)
        for (const cell of byType.values()) {
          if (!cell.rules || !cell.ids) continue;
          for (let r = 0; r < cell.rules.length; r++)
            for (const [a, c] of cell.ids[r]!) {
              push(cell.rules[r]!, tenant, bucket, a, c.b, c.n);
              if (c.more) for (const [b, n] of c.more) push(cell.rules[r]!, tenant, bucket, a, b, n);
            }
        }
    await mapLimit(idAdds, this.concurrency, (add) => add());

    if (this.authEvents && (events.length > 0 || crossings.length > 0)) {
      const prefix = `ae_${sortableId(now)}_`;
      const records: AuthEventRecord[] = crossings;
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        const r: AuthEventRecord = {
          id: prefix + i.toString(36),
          type: e.type,
          occurredAt: new Date(e.at).toISOString(),
          tenantId: e.tenantId,
        };
        if (e.userId !== undefined) r.userId = e.userId;
        if (e.ip !== undefined) r.ip = e.ip;
        if (e.provider !== undefined) r.provider = e.provider;
        if (e.meta !== undefined) r.meta = e.meta;
        records.push(r);
      }
      for (let i = 0; i < records.length; i += this.batchSize) {
        const batch = records.slice(i, i + this.batchSize);
        try {
          await this.authEvents.append({ events: batch });
          this.flushedEvents += batch.length;
        } catch (err) {
          errors.push(err);
          // Keep the unwritten events (ids are regenerated; the store skips none twice since they never landed).
          for (const r of records.slice(i))
            if (this.buffer.length < this.maxBuffer && r.type !== THRESHOLD_EVENT)
              this.buffer.push({
                type: r.type,
                tenantId: r.tenantId,
                at: Date.parse(r.occurredAt),
                userId: r.userId,
                ip: r.ip,
                provider: r.provider,
                meta: r.meta,
              });
          break;
        }
      }
    }
    if (errors.length > 0) {
      this.flushErrors++;
      throw errors[0];
    }
  }
}

/**
 * Creates a `SignalRecorder` (see its JSDoc for durability).
 * @throws ValidationError on bad options (missing counters, non-positive sizes, bad identity rules).
 */
export function createSignalRecorder(options: SignalRecorderOptions): SignalRecorder {
  return new SignalRecorder(options);
}
