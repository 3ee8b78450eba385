import {
  isRejection,
  mapLimit,
  OverloadedError,
  rejectionReason,
  storableJsonIssue,
  storableTextIssue,
  sortableId,
  writeIsolated,
  systemClock,
  ValidationError,
  type AuthEventRecord,
  type AuthEventStore,
  type Clock,
  type CounterAdd,
  type CounterStore,
  type JsonObject,
  type SignalSink,
  type TenantKey,
} from "@ops/core";
import {
  countIdentities,
  DEFAULT_IDENTITY_RULES,
  breachKey,
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
  /**
   * Bound of event details held for the store (default 100,000): buffered, plus those a flush is
   * writing (which come back to the buffer if the write fails, so a failed flush never pushes
   * anything out). What happens when it is full is `overflow`.
   */
  maxBuffer?: number;
  /**
   * When the buffer is full:
   * - `"drop-details"` (default): the signal is still counted (detection keeps working under a
   *   flood), its detail is not stored; `onDrop` and `stats().dropped` report it.
   * - `"refuse"`: `recordAuthEvent` throws `OverloadedError` and records nothing, not even the
   *   count — for ingest endpoints that can tell their sender to retry (HTTP 503 + Retry-After).
   * `capacity()` tells how many more details fit, so a batch can be admitted whole or refused whole.
   */
  overflow?: "drop-details" | "refuse";
  /** Called (synchronously, with the number dropped) when a detail is dropped for a full buffer. */
  onDrop?: (count: number) => void;
  /**
   * Events per `append` call (default 5,000; PostgreSQL sends a batch as one statement of column
   * arrays). A flush writes the event details, the event counts and the per-identity counts side
   * by side (at most three store calls in flight).
   */
  batchSize?: number;
  /** Flush period after `start()` (default 1 s). */
  flushIntervalMs?: number;
  /** Counter adds in flight at once during a flush (default 32). */
  concurrency?: number;
  identityRules?: readonly IdentityRule[];
  clock?: Clock;
  /** Called with background flush failures (the data is kept for the next flush). */
  onError?: (err: unknown) => void;
  /** Counter adds per `incrementMany` call during a flush (default 5,000). */
  counterBatchSize?: number;
  /**
   * Called once per record a store rejected on its own (dead-lettered: never retried, the rest of
   * its batch is stored). Default: a JSON log line on stderr (`incidents.recorder.dead_letter`)
   * naming the kind, tenant, event type and reason; never the user id, IP or meta.
   */
  onDeadLetter?: (d: RecorderDeadLetter) => void;
}

/** A record the store refused (see `SignalRecorderOptions.onDeadLetter`). */
export interface RecorderDeadLetter {
  kind: "event" | "counter";
  tenantId: TenantKey;
  /** The event type (events) or counter key family (`ev:LOGIN_FAILED`, `id:<rule>`, `breach:<type>`). */
  type: string;
  /** Why: the store error's code and message (no values). */
  reason: string;
}

export interface RecorderStats {
  recorded: number;
  buffered: number;
  /** Event details dropped because the buffer was full (their counts were kept). */
  dropped: number;
  flushedEvents: number;
  flushErrors: number;
  /** Records a store rejected on their own and that were dropped (see `onDeadLetter`). */
  deadLettered: number;
}

/** A per-identity counter add and the rule and identity it counts (to report its crossing). */
interface IdAdd {
  add: CounterAdd;
  rule: IdentityRule;
  a: string;
  b: string;
}

/**
 * Merges adds to the same series and bucket (summing `by`): what an outage keeps for the next
 * flush grows with the series touched, not with the number of failed flushes.
 */
function coalesce<T>(items: T[], addOf: (x: T) => CounterAdd, merged: (x: T, by: number) => T): T[] {
  if (items.length < 2) return items;
  const byId = new Map<string, T>();
  for (const x of items) {
    const a = addOf(x);
    const id = `${a.tenantId ?? "\u0001"}\u0000${a.key}\u0000${a.atMs}\u0000${a.bucketMs}`;
    const prev = byId.get(id);
    byId.set(id, prev === undefined ? x : merged(prev, (addOf(prev).by ?? 1) + (a.by ?? 1)));
  }
  return [...byId.values()];
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
  private retryAdds: CounterAdd[] = [];
  /** Identity adds a flush could not write (store unavailable), with what their crossing reports. */
  private retryIdAdds: IdAdd[] = [];
  private readonly counterBatchSize: number;
  private readonly onDeadLetter: (d: RecorderDeadLetter) => void;
  private deadLettered = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inflight: Promise<void> | undefined;
  private recorded = 0;
  private dropped = 0;
  /** Details a running flush is writing: they return to the buffer if the write fails. */
  private inFlight = 0;
  private readonly overflow: "drop-details" | "refuse";
  private readonly onDrop: ((count: number) => void) | undefined;
  private flushedEvents = 0;
  private flushErrors = 0;

  constructor(options: SignalRecorderOptions) {
    if (!options?.counters) throw bad("counters", "expected a CounterStore");
    this.counters = options.counters;
    this.authEvents = options.authEvents;
    this.bucketMs = options.bucketMs ?? 60_000;
    this.ttlMs = options.counterTtlMs ?? 2 * 3_600_000;
    this.maxBuffer = options.maxBuffer ?? 100_000;
    if (options.overflow !== undefined && options.overflow !== "drop-details" && options.overflow !== "refuse")
      throw new ValidationError('[ops/incidents] invalid recorder options: overflow: expected "drop-details" or "refuse"', [
        { path: "overflow", message: 'expected "drop-details" or "refuse"' },
      ]);
    this.overflow = options.overflow ?? "drop-details";
    if (options.onDrop !== undefined && typeof options.onDrop !== "function")
      throw new ValidationError("[ops/incidents] invalid recorder options: onDrop: expected a function", [
        { path: "onDrop", message: "expected a function" },
      ]);
    this.onDrop = options.onDrop;
    this.batchSize = options.batchSize ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.concurrency = options.concurrency ?? 32;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? (() => {});
    this.counterBatchSize = options.counterBatchSize ?? 5_000;
    this.onDeadLetter = options.onDeadLetter ?? logDeadLetter;
    for (const [k, v] of Object.entries({
      bucketMs: this.bucketMs,
      maxBuffer: this.maxBuffer,
      batchSize: this.batchSize,
      counterBatchSize: this.counterBatchSize,
    }))
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
    const full = this.authEvents !== undefined && this.buffer.length + this.inFlight >= this.maxBuffer;
    if (full && this.overflow === "refuse") {
      if (tenant !== null && !this.okTenants.has(tenant)) this.checkTenant(tenant);
      if (!this.okTypes.has(type)) this.checkType(type);
      throw new OverloadedError(
        `[ops/incidents] the signal buffer is full (${this.maxBuffer} events waiting for the store): nothing was recorded; retry after ${this.flushIntervalMs} ms`,
        this.flushIntervalMs,
      );
    }

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
      if (!full) this.buffer.push({ type, tenantId: tenant, at, userId, ip, provider, meta });
      else {
        this.dropped++;
        this.onDrop?.(1);
      }
    }
  }

  /**
   * How many more event details fit before the buffer is full (`Infinity` without an
   * AuthEventStore). Check it before recording a batch to admit it whole or refuse it whole.
   */
  capacity(): number {
    if (this.authEvents === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.maxBuffer - this.buffer.length - this.inFlight);
  }

  /** Milliseconds between background flushes: a refused sender's retry delay. */
  get retryAfterMs(): number {
    return this.flushIntervalMs;
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
      this.inFlight = 0; // also after an unexpected throw: a stuck reservation would refuse every signal
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

  /**
   * Stops the timer and flushes what is left, retrying a failed flush (every 200 ms) until
   * everything is written or `timeoutMs` (default 10 s) has passed.
   * @throws the last store error, when details or counts are still unwritten at the deadline.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        await this.flush();
        if (this.buffer.length === 0 && this.retryAdds.length === 0 && this.retryIdAdds.length === 0) return;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (Date.now() >= deadline) return;
    }
  }

  stats(): RecorderStats {
    return {
      recorded: this.recorded,
      buffered: this.buffer.length,
      dropped: this.dropped,
      flushedEvents: this.flushedEvents,
      flushErrors: this.flushErrors,
      deadLettered: this.deadLettered,
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

  private deadLetter(d: RecorderDeadLetter): void {
    this.deadLettered++;
    try {
      this.onDeadLetter(d);
    } catch {
      // A failing hook must not fail the flush.
    }
  }

  private counterDead(a: CounterAdd, err: unknown): void {
    const k = a.key.startsWith("id:") ? a.key.slice(0, a.key.indexOf(":", 3) + 1 || a.key.length) : a.key;
    this.deadLetter({ kind: "counter", tenantId: a.tenantId, type: k.length > 80 ? k.slice(0, 80) : k, reason: rejectionReason(err) });
  }

  /**
   * Adds counts, in batches (`incrementMany`: one statement or pipeline per batch) or one by one.
   * A rejected batch is split until the add the store refuses is alone: that add is dead-lettered
   * and the others are stored. Adds not written because the store is unavailable are returned.
   * `onTotal` receives each stored add's window total.
   */
  private async addCounts(adds: CounterAdd[], errors: unknown[], onTotal?: (index: number, total: number) => void): Promise<CounterAdd[]> {
    const pending: CounterAdd[] = [];
    const many = this.counters.incrementMany?.bind(this.counters);
    const indexed = adds.map((a, i) => ({ a, i }));
    if (many) {
      for (let i = 0; i < indexed.length; i += this.counterBatchSize) {
        const res = await writeIsolated(indexed.slice(i, i + this.counterBatchSize), async (batch) => {
          const totals = await many(batch.map((x) => x.a));
          if (onTotal) batch.forEach((x, j) => onTotal(x.i, totals[j]!));
        });
        for (const r of res.rejected) this.counterDead(r.record.a, r.error);
        if (res.error !== undefined) {
          errors.push(res.error);
          for (const x of res.pending) pending.push(x.a);
        }
      }
      return pending;
    }
    await mapLimit(indexed, this.concurrency, async ({ a, i }) => {
      try {
        const total = await this.counters.increment(a);
        onTotal?.(i, total);
      } catch (err) {
        if (isRejection(err)) this.counterDead(a, err);
        else {
          errors.push(err);
          pending.push(a);
        }
      }
    });
    return pending;
  }

  private async doFlush(): Promise<void> {
    const events = this.buffer;
    const agg = this.agg;
    this.buffer = [];
    this.inFlight = events.length;
    this.agg = new Map();
    this.lastBucket = Number.NaN;
    this.lastByTenant = undefined;
    const errors: unknown[] = [];
    const now = this.clock.now();

    const adds = this.retryAdds;
    this.retryAdds = [];
    const add = (tenantId: TenantKey, type: string, bucket: number, by: number) =>
      adds.push({ tenantId, key: eventKey(type), atMs: bucket, bucketMs: this.bucketMs, by, ttlMs: this.ttlMs });
    for (const [bucket, byTenant] of agg) {
      const global = new Map<string, number>();
      for (const [tenant, byType] of byTenant) {
        this.seen.set(tenant, Math.max(this.seen.get(tenant) ?? 0, bucket));
        for (const [type, { n }] of byType) {
          if (tenant !== null) add(tenant, type, bucket, n);
          global.set(type, (global.get(type) ?? 0) + n);
        }
      }
      this.seen.set(null, Math.max(this.seen.get(null) ?? 0, bucket));
      for (const [type, n] of global) add(null, type, bucket, n);
    }
    // The three writes of a flush are independent and run side by side (at most three statements
    // in flight): the event counts, the per-identity counts (then their breaches and crossing
    // events) and the event details.
    const settled = await Promise.allSettled([
      // Retried verbatim: re-aggregating would add the global share twice.
      // Merged per series and bucket, so a long outage keeps one add per series.
      this.addCounts(adds, errors).then((left) => {
        this.retryAdds = coalesce(
          [...this.retryAdds, ...left],
          (a) => a,
          (a, by) => ({ ...a, by }),
        );
      }),
      this.addIdentityCounts(agg, now, errors),
      this.appendEvents(events, now, errors),
    ]);
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    this.inFlight = 0;
    if (errors.length > 0) {
      this.flushErrors++;
      throw errors[0];
    }
  }

  /**
   * Per-identity counts: a crossing of the rule's threshold (seen by exactly one add, however
   * many instances share the counter) records a breach and a THRESHOLD_EXCEEDED event.
   */
  private async addIdentityCounts(agg: Map<number, Map<TenantKey, Map<string, TypeCell>>>, now: number, errors: unknown[]): Promise<void> {
    const crossings: AuthEventRecord[] = [];
    // Adds a failed flush kept (the store was unavailable) go first: a spike recorded during an
    // outage still crosses its threshold once the store is back.
    const kept = this.retryIdAdds;
    this.retryIdAdds = [];
    const idAdds: CounterAdd[] = kept.map((x) => x.add);
    const idOf: Array<{ rule: IdentityRule; a: string; b: string }> = kept.map(({ rule, a, b }) => ({ rule, a, b }));
    for (const [bucket, byTenant] of agg)
      for (const [tenant, byType] of byTenant)
        for (const cell of byType.values()) {
          if (!cell.rules || !cell.ids) continue;
          for (let r = 0; r < cell.rules.length; r++) {
            const rule = cell.rules[r]!;
            const push = (a: string, b: string, n: number) => {
              idAdds.push({
                tenantId: tenant,
                key: `id:${rule.id}:${rule.by === "user+ip" ? `${a}|${b}` : a}`,
                atMs: bucket,
                bucketMs: this.bucketMs,
                by: n,
                windowBuckets: rule.windowBuckets,
                ttlMs: this.ttlMs,
                // One series per user and IP: read by key at the crossing, never listed by detection.
                untracked: true,
              });
              idOf.push({ rule, a, b });
            };
            for (const [a, c] of cell.ids[r]!) {
              push(a, c.b, c.n);
              if (c.more) for (const [b, n] of c.more) push(a, b, n);
            }
          }
        }
    if (idAdds.length === 0) return;
    const breaches: CounterAdd[] = [];
    // Identity adds the store could not take are kept for the next flush (merged per identity and
    // bucket); the crossing is reported by the add that lands it.
    const idPending = await this.addCounts(idAdds, errors, (i, total) => {
      const { rule, a, b } = idOf[i]!;
      const x = idAdds[i]!;
      if (!(total >= rule.threshold && total - x.by! < rule.threshold)) return;
      // Tenant crossings stay in the tenant's scope; the global scope counts untenanted ones.
      breaches.push({ tenantId: x.tenantId, key: breachKey(rule.incidentType), atMs: x.atMs, bucketMs: this.bucketMs, ttlMs: this.ttlMs });
      const rec: AuthEventRecord = {
        id: `ae_${sortableId(now)}_x${crossings.length}`,
        type: THRESHOLD_EVENT,
        occurredAt: new Date(x.atMs).toISOString(),
        tenantId: x.tenantId,
        meta: { rule: rule.id, eventType: rule.eventType, count: total, threshold: rule.threshold, incidentType: rule.incidentType },
      };
      if (rule.by === "user+ip") {
        rec.userId = a;
        rec.ip = b;
      } else if (rule.by === "ip") rec.ip = a;
      else rec.userId = a;
      crossings.push(rec);
    });
    if (idPending.length > 0) {
      const indexOf = new Map(idAdds.map((a, i) => [a, i]));
      const pending = idPending.map((add) => ({ add, ...idOf[indexOf.get(add)!]! }));
      this.retryIdAdds = coalesce(
        [...this.retryIdAdds, ...pending],
        (x) => x.add,
        (x, by) => ({ ...x, add: { ...x.add, by } }),
      );
    }
    if (breaches.length > 0) {
      // Read after the await: the count branch of the same flush may have replaced the array.
      const left = await this.addCounts(breaches, errors);
      this.retryAdds.push(...left);
    }
    // Crossing events are not retried (as before): the breach counter carries the detection.
    if (crossings.length > 0 && this.authEvents !== undefined) await this.appendRecords(crossings, errors);
  }

  /** Writes the flushed event details; what the store could not take goes back to the buffer. */
  private async appendEvents(events: Buffered[], now: number, errors: unknown[]): Promise<void> {
    if (this.authEvents === undefined || events.length === 0) return;
    const prefix = `ae_${sortableId(now)}_`;
    const records = new Array<AuthEventRecord>(events.length);
    // Signals of one burst share their millisecond: its ISO text is built once.
    let lastAt = Number.NaN;
    let lastIso = "";
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.at !== lastAt) {
        lastAt = e.at;
        lastIso = new Date(e.at).toISOString();
      }
      const r: AuthEventRecord = { id: prefix + i.toString(36), type: e.type, occurredAt: lastIso, tenantId: e.tenantId };
      if (e.userId !== undefined) r.userId = e.userId;
      if (e.ip !== undefined) r.ip = e.ip;
      if (e.provider !== undefined) r.provider = e.provider;
      if (e.meta !== undefined) r.meta = e.meta;
      records[i] = r;
    }
    // Keep the unwritten events (ids are regenerated; the store skips none twice since they never
    // landed). Their room was reserved (inFlight): putting them back never pushes anything out.
    for (const r of await this.appendRecords(records, errors))
      this.buffer.push({
        type: r.type,
        tenantId: r.tenantId,
        at: Date.parse(r.occurredAt),
        userId: r.userId,
        ip: r.ip,
        provider: r.provider,
        meta: r.meta,
      });
  }

  /**
   * Appends records in batches of `batchSize`. A batch the store rejects is split until the record
   * it refuses is alone: that record is dead-lettered, every other one is stored now (one bad
   * signal never blocks the rest). Returns the records left unwritten by a store failure.
   */
  private async appendRecords(records: AuthEventRecord[], errors: unknown[]): Promise<AuthEventRecord[]> {
    const authEvents = this.authEvents!;
    for (let i = 0; i < records.length; i += this.batchSize) {
      const res = await writeIsolated(records.slice(i, i + this.batchSize), async (batch) => {
        await authEvents.append({ events: batch });
      });
      this.flushedEvents += res.stored;
      for (const r of res.rejected) this.deadLetter({ kind: "event", tenantId: r.record.tenantId, type: r.record.type, reason: r.reason });
      if (res.error !== undefined) {
        errors.push(res.error);
        return [...res.pending, ...records.slice(i + this.batchSize)];
      }
    }
    return [];
  }
}

/** The default `onDeadLetter`: one JSON line on stderr, no user id, IP or meta. */
function logDeadLetter(d: RecorderDeadLetter): void {
  console.warn(
    JSON.stringify({
      level: "warn",
      event: "incidents.recorder.dead_letter",
      kind: d.kind,
      tenantId: d.tenantId,
      type: d.type,
      reason: d.reason,
    }),
  );
}

/**
 * Creates a `SignalRecorder` (see its JSDoc for durability).
 * @throws ValidationError on bad options (missing counters, non-positive sizes, bad identity rules).
 */
export function createSignalRecorder(options: SignalRecorderOptions): SignalRecorder {
  return new SignalRecorder(options);
}
