import * as z from "zod";
import {
  ACTIVE_INCIDENT_STATES,
  parseInput,
  ConflictError,
  mapLimit,
  prefixedId,
  systemClock,
  ValidationError,
  type AuditSink,
  type AuthEventStore,
  type Clock,
  type CounterStore,
  type EffectStore,
  type FlagWriter,
  type IncidentRecord,
  type IncidentStore,
  type JsonValue,
  type Notifier,
  type TenantKey,
} from "@ops/core";
import { DEFAULT_DETECTION_RULES, evaluateRules, type DetectionRule, type Finding } from "./detection.js";
import { dataOf } from "./incident-data.js";
import { IncidentManager, SPINE_ACTOR, fingerprintOf } from "./lifecycle.js";
import { Mitigator, type MitigationPolicy, type MitigationResult } from "./mitigation.js";
import { DEFAULT_INHIBITIONS, SilenceBook, type InhibitionRule } from "./noise.js";
import { DEFAULT_TIMERS, notifyAcknowledged, notifyPass, notifyResolved, type NotificationTimers } from "./notifications.js";
import { SignalRecorder, THRESHOLD_EVENT, type AuthSignal, type IdentityRule } from "./recorder.js";
import { createPlaybookRegistry, type PlaybookRegistry } from "./registry.js";
import type { Triage, TriageScore } from "./triage.js";
import type { SpineEvent } from "./types.js";

const positiveMs = z.number().int("expected an integer number of milliseconds").positive("expected milliseconds > 0");
const Mode = z.enum(["off", "suggest", "apply"]);
const RuntimeScalarsSchema = z.object({
  intervalMs: positiveMs.optional(),
  bucketMs: positiveMs.optional(),
  autoResolveAfterMs: positiveMs.optional(),
  eventRetentionMs: positiveMs.optional(),
  mitigationLeaseMs: positiveMs.optional(),
  instanceId: z.string().min(1).max(128).optional(),
  concurrency: z.number().int("expected an integer").min(1, "expected at least 1").max(1024, "expected at most 1024").optional(),
  timers: z
    .object({ groupWaitMs: positiveMs.optional(), groupIntervalMs: positiveMs.optional(), repeatIntervalMs: positiveMs.optional() })
    .optional(),
  mitigation: z
    .object({ mode: Mode, byType: z.record(z.string(), Mode).optional() })
    .passthrough()
    .optional(),
  groupBy: z.array(z.enum(["tenantId", "type", "severity"])).optional(),
  signals: z
    .object({
      maxBuffer: z.number().int("expected an integer").min(1, "expected at least 1").optional(),
      overflow: z.enum(["drop-details", "refuse"]).optional(),
      onDrop: z.custom<(n: number) => void>((v) => typeof v === "function", "expected a function").optional(),
      flushIntervalMs: positiveMs.optional(),
    })
    .strict()
    .optional(),
});

export interface OpsRuntimeOptions<T extends string = string> {
  /**
   * With `effects` (the bundle's `EffectStore`, e.g. `memoryStores()`, `postgresStores(...)`), every
   * transition's audit entry and every notification commit in the same write as the incident (a
   * transactional outbox) and a relay delivers them; each tick also delivers leftovers of crashes.
   */
  stores: { incidents: IncidentStore; counters: CounterStore; authEvents?: AuthEventStore; effects?: EffectStore };
  /**
   * The signal recorder's buffer: `maxBuffer` (default 100,000 event details waiting for the
   * store), `overflow` when it is full (`"drop-details"`, the default, keeps counting and drops
   * the detail, reported to `onDrop`; `"refuse"` throws `OverloadedError` and records nothing),
   * `flushIntervalMs` (default 1 s). `signalCapacity()` admits a batch whole or refuses it whole.
   */
  signals?: {
    maxBuffer?: number;
    overflow?: "drop-details" | "refuse";
    onDrop?: (count: number) => void;
    flushIntervalMs?: number;
  };
  /** Playbooks (default: the 8 auth ones); detection rules of unregistered types are skipped. */
  registry?: PlaybookRegistry<T>;
  rules?: readonly DetectionRule[];
  identityRules?: readonly IdentityRule[];
  /** Port to @ops/flags (or anything): needed for mitigation mode "apply". */
  flags?: FlagWriter;
  /** Port to @ops/audit: every transition, flip and rollback is recorded. */
  audit?: AuditSink;
  /** Port to @ops/notify. */
  notifier?: Notifier;
  mitigation?: MitigationPolicy;
  timers?: Partial<NotificationTimers>;
  inhibitions?: readonly InhibitionRule[];
  groupBy?: ReadonlyArray<"tenantId" | "type" | "severity">;
  /** A detection incident resolves itself when its rule has not fired for this long (default 5 min). */
  autoResolveAfterMs?: number;
  /** A mitigation "applying"/"rolling_back" this long is taken over by another instance (default 2 min). */
  mitigationLeaseMs?: number;
  /** Auth events older than this are pruned (at most hourly, by any instance). Default 30 days. */
  eventRetentionMs?: number;
  /** Tick period after `start()` (default 15 s). */
  intervalMs?: number;
  /** Counter bucket (default 60 s). */
  bucketMs?: number;
  /**
   * Extra tenants to evaluate besides those this instance saw signals for. Only used with a counter
   * store without `readActive`; with it, every tenant with activity is evaluated.
   */
  tenants?: () => Promise<readonly TenantKey[]> | readonly TenantKey[];
  clock?: Clock;
  /** Names this instance in claims (default a random id). */
  instanceId?: string;
  /** Optional ranking of active incidents (`rank()`); it orders, never hides. */
  triage?: Triage;
  /** Incidents raised, resolved (and per-scope counter reads without `readActive`) in flight at once per tick (default 8). */
  concurrency?: number;
  /** Background errors (ticks under `start()`); default: ignored. */
  onError?: (err: unknown) => void;
}

export interface TickReport {
  findings: number;
  firing: Finding[];
  raised: IncidentRecord[];
  updated: number;
  resolved: IncidentRecord[];
  mitigations: MitigationResult[];
  notifications: { sent: number; silenced: number; inhibited: number };
  errors: unknown[];
  /** Names of the steps that failed ("flush", "detect", "raise", "list-active", "notify", ...). */
  failedSteps: string[];
}

/**
 * The spine at runtime: `recordAuthEvent` (synchronous) feeds shared counters; every tick runs
 * collect -> derive -> dedupe -> respond -> mitigate -> notify -> audit. Any number of instances
 * can run it over the same stores: incidents are created once (unique ids and fingerprints),
 * mitigations and notifications are claimed with compare-and-set, so each is acted on once.
 */
export class OpsRuntime<T extends string = string> {
  readonly recorder: SignalRecorder;
  readonly manager: IncidentManager;
  readonly mitigator: Mitigator;
  readonly silences: SilenceBook;
  readonly registry: PlaybookRegistry<T>;
  private readonly o: OpsRuntimeOptions<T>;
  private readonly clock: Clock;
  private readonly timers: NotificationTimers;
  private readonly rules: readonly DetectionRule[];
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<TickReport> | undefined;
  private lastPruneMs = Number.NEGATIVE_INFINITY;
  /** `signalsDurable`: the group-commit flush running, and the one the next callers share. */
  private commit: Promise<void> | undefined;
  private nextCommit: Promise<void> | undefined;
  private readonly concurrency: number;

  constructor(o: OpsRuntimeOptions<T>) {
    if (!o?.stores?.incidents || !o.stores.counters)
      throw new ValidationError("[ops/incidents] invalid runtime options: stores.incidents and stores.counters are required", [
        { path: "stores", message: "expected { incidents, counters }" },
      ]);
    parseInput(RuntimeScalarsSchema, { ...o, stores: undefined }, { pkg: "incidents", what: "runtime options" });
    if (o.mitigation?.mode === "apply" && !o.flags)
      throw new ValidationError('[ops/incidents] invalid runtime options: flags: a FlagWriter is required for mitigation mode "apply"', [
        { path: "flags", message: 'expected a FlagWriter when mitigation.mode is "apply"' },
      ]);
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.timers = { ...DEFAULT_TIMERS, ...o.timers };
    this.rules = o.rules ?? DEFAULT_DETECTION_RULES;
    this.concurrency = o.concurrency ?? 8;
    this.registry = o.registry ?? (createPlaybookRegistry() as unknown as PlaybookRegistry<T>);
    this.recorder = new SignalRecorder({
      counters: o.stores.counters,
      clock: this.clock,
      ...(o.stores.authEvents ? { authEvents: o.stores.authEvents } : {}),
      ...(o.bucketMs ? { bucketMs: o.bucketMs } : {}),
      ...(o.identityRules ? { identityRules: o.identityRules } : {}),
      ...(o.onError ? { onError: o.onError } : {}),
      ...(o.signals?.maxBuffer ? { maxBuffer: o.signals.maxBuffer } : {}),
      ...(o.signals?.overflow ? { overflow: o.signals.overflow } : {}),
      ...(o.signals?.onDrop ? { onDrop: o.signals.onDrop } : {}),
      ...(o.signals?.flushIntervalMs ? { flushIntervalMs: o.signals.flushIntervalMs } : {}),
    });
    this.manager = new IncidentManager({
      store: o.stores.incidents,
      clock: this.clock,
      ...(o.audit ? { audit: o.audit } : {}),
      ...(o.groupBy ? { groupBy: o.groupBy } : {}),
      ...(o.stores.effects ? { effects: o.stores.effects } : {}),
      ...(o.notifier ? { notifier: o.notifier } : {}),
      onAuditError: (err) => this.o.onError?.(err),
    });
    this.mitigator = new Mitigator(this.manager, o.mitigation ?? { mode: "suggest" }, o.flags, o.instanceId ?? prefixedId("ops"));
    this.silences = new SilenceBook(o.stores.incidents, () => this.clock.now());
  }

  /**
   * Records one auth signal (synchronous, no I/O).
   * @throws ValidationError naming the field; OverloadedError when the buffer is full and
   * `signals.overflow` is `"refuse"` (nothing recorded).
   */
  recordAuthEvent(signal: AuthSignal): void {
    this.recorder.recordAuthEvent(signal);
  }

  /**
   * How many more signal details fit in the recorder's buffer. An ingest endpoint checks it
   * before recording a batch and answers 503 + `Retry-After` (`signalRetryAfterMs`) when the
   * batch does not fit, so nothing it acknowledges is dropped.
   */
  signalCapacity(): number {
    return this.recorder.capacity();
  }

  /** The delay a refused sender should wait: the recorder's flush interval. */
  get signalRetryAfterMs(): number {
    return this.recorder.retryAfterMs;
  }

  /**
   * Resolves once every signal recorded before the call is stored (AuthEventStore) and counted
   * (CounterStore): call it after `recordAuthEvent` and acknowledge only then, so an
   * acknowledgement survives a crash (SIGKILL) of this process. A group commit: every caller that
   * arrives while a flush runs shares the one flush that starts after it, so concurrent ingest
   * requests cost one flush per round, not one each.
   * @throws the store error of that flush; the signals stay buffered and are written by a later
   * flush (so a sender told to retry may have them stored twice: at-least-once on failure).
   */
  signalsDurable(): Promise<void> {
    if (this.nextCommit !== undefined) return this.nextCommit;
    const after = this.commit ?? Promise.resolve();
    const next = after.then(() => {
      this.nextCommit = undefined;
      const flush = this.recorder.flush();
      const settled = flush.then(
        () => {},
        () => {},
      );
      this.commit = settled;
      void settled.then(() => {
        if (this.commit === settled) this.commit = undefined;
      });
      return flush;
    });
    this.nextCommit = next;
    return next;
  }

  /**
   * Takes an incident from outside detection (`deriveAuthIncidents`, an app's own detector):
   * responds, raises (deduped), mitigates per policy.
   * @throws ValidationError on a malformed event or unregistered type.
   */
  async handle<E extends T>(
    event: SpineEvent<E>,
  ): Promise<{ incident: IncidentRecord; created: boolean; mitigation: MitigationResult | null }> {
    const response = this.registry.run(event);
    const { incident, created } = await this.manager.raise(event, response, { source: "manual" });
    const mitigation = created ? await this.mitigator.mitigate(incident) : null;
    return { incident, created, mitigation };
  }

  /** One pass of the loop. Errors of single steps are collected in the report, not thrown. */
  tick(): Promise<TickReport> {
    if (this.running !== undefined) return this.running;
    const p = this.doTick().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  /** Ticks every `intervalMs` (and flushes signals every second) until `stop()`. Idempotent. */
  start(): void {
    if (this.timer) return;
    this.recorder.start();
    this.timer = setInterval(() => {
      this.tick()
        .then((r) => r.errors.forEach((e) => this.o.onError?.(e)))
        .catch((err: unknown) => this.o.onError?.(err));
    }, this.o.intervalMs ?? 15_000);
    this.timer.unref?.();
  }

  /**
   * Stops ticking, waits for a running tick, flushes buffered signals (retrying a failed flush
   * until `flushTimeoutMs`, default 10 s).
   * @throws the store error when signals are still unwritten at the deadline.
   */
  async stop(options: { flushTimeoutMs?: number } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
    await this.recorder.close({ timeoutMs: options.flushTimeoutMs ?? 10_000 });
  }

  /** Acknowledges an incident; when its whole notified group is acknowledged, sends "acknowledge". */
  async acknowledge(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }): Promise<IncidentRecord> {
    const r = await this.manager.acknowledge(i);
    if (this.o.notifier)
      await notifyAcknowledged({
        manager: this.manager,
        notifier: this.o.notifier,
        acknowledged: r,
        active: await this.active(),
        nowMs: this.clock.now(),
      });
    return r;
  }

  /** Resolves an incident and, when its group is done, sends the "resolve" notification. */
  async resolve(i: { tenantId: TenantKey; id: string; actor: string; reason?: string }): Promise<IncidentRecord> {
    const r = await this.manager.resolve(i);
    if (this.o.notifier)
      await notifyResolved({
        manager: this.manager,
        notifier: this.o.notifier,
        resolved: r,
        stillActive: await this.active(),
        nowMs: this.clock.now(),
      });
    return r;
  }

  /** Restores exactly the flag values the incident's mitigation replaced. */
  rollback(i: { tenantId: TenantKey; id: string; actor?: string }) {
    return this.mitigator.rollback(i);
  }

  /** Applies a suggested mitigation now (a human approved it). */
  applyMitigation(i: { tenantId: TenantKey; id: string; actor: string }) {
    return this.mitigator.applyNow(i);
  }

  /**
   * Active incidents, most urgent first: by the triage model when configured, else by severity
   * then age. Every active incident is in the result.
   */
  async rank(): Promise<TriageScore[]> {
    const active = await this.active();
    if (this.o.triage) return this.o.triage.rank(active);
    const order = ["critical", "high", "medium", "low", "info"];
    return active
      .map((incident) => ({ incident, score: 1 - order.indexOf(incident.severity) / order.length, source: "prior" as const }))
      .sort((a, b) => b.score - a.score || a.incident.openedAt.localeCompare(b.incident.openedAt));
  }

  /** Every active incident of every tenant. */
  async active(): Promise<IncidentRecord[]> {
    const out: IncidentRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: IncidentRecord[]; nextCursor: string | null } = await this.o.stores.incidents.scan({
        states: ACTIVE_INCIDENT_STATES,
        limit: 500,
        cursor,
      });
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /** Who crossed an identity threshold in the finding's window (for the on-call engineer), worst first. */
  private async offenders(f: Finding): Promise<JsonValue> {
    const store = this.o.stores.authEvents;
    if (!store) return [];
    const page = await store.list({
      tenantId: f.tenantId,
      types: [THRESHOLD_EVENT],
      from: new Date(f.windowStartMs).toISOString(),
      to: new Date(f.windowEndMs).toISOString(),
      limit: 100,
    });
    return page.items
      .filter((e) => e.meta?.incidentType === f.incidentType)
      .map((e) => ({ userId: e.userId ?? null, ip: e.ip ?? null, count: (e.meta?.count as number) ?? 0 }))
      .sort((a, b) => b.count - a.count)
      .slice(0, 10);
  }

  private async doTick(): Promise<TickReport> {
    const report: TickReport = {
      findings: 0,
      firing: [],
      raised: [],
      updated: 0,
      resolved: [],
      mitigations: [],
      notifications: { sent: 0, silenced: 0, inhibited: 0 },
      errors: [],
      failedSteps: [],
    };
    // A tick never rejects: a failing step is reported (`failedSteps`, `errors`) and the later steps
    // still run on what is known, so one bad store call cannot stop detection of everything else.
    const step = async <R>(name: string, fn: () => Promise<R>): Promise<R | undefined> => {
      try {
        return await fn();
      } catch (err) {
        report.errors.push(err);
        report.failedSteps.push(name);
        return undefined;
      }
    };
    await step("flush", () => this.recorder.flush());
    const nowMs = this.clock.now();
    const bucketMs = this.recorder.bucketSize;
    const rules = this.rules.filter((r) => this.registry.has(r.incidentType));
    const counters = this.o.stores.counters;
    const findings =
      (await step("detect", async () => {
        // Set-based when the store can list active series: every tenant with activity is evaluated
        // (also those whose signals another instance recorded) and idle tenants cost nothing.
        if (counters.readActive) return evaluateRules({ counters, rules, bucketMs, nowMs });
        const scopes = new Set<TenantKey>([null, ...this.recorder.activeTenants(nowMs - 2 * 3_600_000)]);
        for (const t of (await this.o.tenants?.()) ?? []) scopes.add(t);
        return evaluateRules({ counters, rules, bucketMs, scopes: [...scopes], nowMs, concurrency: this.concurrency });
      })) ?? [];
    report.findings = findings.length;
    const firingFingerprints = new Set<string>();
    const firing = findings.filter((x) => x.firing);
    for (const f of firing) {
      report.firing.push(f);
      firingFingerprints.add(fingerprintOf(f.incidentType, f.tenantId));
    }
    await mapLimit(firing, this.concurrency, async (f) => {
      try {
        const event: SpineEvent = {
          event_id: f.eventId,
          incident_type: f.incidentType,
          severity_guess: f.severityGuess,
          occurred_at: new Date(f.windowEndMs).toISOString(),
          metrics_snapshot: f.reason === "identity" ? { ...f.snapshot, identities: await this.offenders(f) } : f.snapshot,
        };
        if (f.tenantId !== null) event.tenant_id = f.tenantId;
        const response = this.registry.run(event as SpineEvent<T>);
        const { incident, created } = await this.manager.raise(event, response, { source: "detection" });
        if (created) {
          report.raised.push(incident);
          report.mitigations.push(await this.mitigator.mitigate(incident));
        } else report.updated++;
      } catch (err) {
        report.errors.push(err);
        if (!report.failedSteps.includes("raise")) report.failedSteps.push("raise");
      }
    });
    await step("retry-audits", () => this.manager.retryPendingAudits());
    const relay = this.manager.relay;
    if (relay) await step("relay", () => relay.drain());
    let active = await step("list-active", () => this.active());
    if (active) {
      const act = active;
      await step("recover-mitigations", () => this.mitigator.recoverStale(act, nowMs, this.o.mitigationLeaseMs ?? 120_000));
      const autoAfter = this.o.autoResolveAfterMs ?? 5 * 60_000;
      const stale = act.filter((r) => {
        const d = dataOf(r);
        return d.source === "detection" && !firingFingerprints.has(r.fingerprint) && nowMs - Date.parse(d.lastSeenAt) >= autoAfter;
      });
      await mapLimit(stale, this.concurrency, async (r) => {
        try {
          report.resolved.push(
            await this.manager.resolve({ tenantId: r.tenantId, id: r.id, actor: SPINE_ACTOR, reason: "signals receded below thresholds" }),
          );
        } catch (err) {
          if (err instanceof ConflictError) return; // another instance resolved it first
          report.errors.push(err);
          if (!report.failedSteps.includes("auto-resolve")) report.failedSteps.push("auto-resolve");
        }
      });
      if (report.resolved.length > 0) active = await step("list-active", () => this.active());
    }
    const authEvents = this.o.stores.authEvents;
    if (authEvents && nowMs - this.lastPruneMs >= 3_600_000) {
      this.lastPruneMs = nowMs;
      const before = new Date(nowMs - (this.o.eventRetentionMs ?? 30 * 86_400_000)).toISOString();
      await step("prune", () => authEvents.prune({ before }));
    }
    const notifier = this.o.notifier;
    if (notifier && active) {
      const act = active;
      await step("notify", async () => {
        for (const r of report.resolved) await notifyResolved({ manager: this.manager, notifier, resolved: r, stillActive: act, nowMs });
        report.notifications = await notifyPass({
          manager: this.manager,
          notifier,
          active: act,
          silences: await this.silences.list(),
          inhibitions: this.o.inhibitions ?? DEFAULT_INHIBITIONS,
          timers: this.timers,
          nowMs,
          onError: (err) => {
            report.errors.push(err);
            if (!report.failedSteps.includes("notify")) report.failedSteps.push("notify");
          },
        });
      });
    }
    return report;
  }
}

/**
 * Creates the runtime (see `OpsRuntime`). Call `start()` to tick on an interval, or `tick()` yourself.
 * @throws ValidationError on missing stores, or mode "apply" without a FlagWriter.
 */
export function createOpsRuntime<T extends string = string>(options: OpsRuntimeOptions<T>): OpsRuntime<T> {
  return new OpsRuntime(options);
}
