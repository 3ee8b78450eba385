import {
  ConflictError,
  EnvironmentSchema,
  UnavailableError,
  NotFoundError,
  ValidationError,
  parseInput,
  systemClock,
  type AuditSink,
  type Clock,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type FlagWriter,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import { readBootstrapFile, writeBackupFile } from "./bootstrap.js";
import { compileFlag } from "./compile.js";
import {
  FlagConfigSchema,
  FlagPatchSchema,
  SEGMENT_PREFIX,
  inferType,
  valueMatchesType,
  type FlagConfig,
  type FlagPatch,
} from "./config.js";
import type { FlagDefinitions, KeysOfType } from "./define-flags.js";
import * as I from "./inputs.js";
import { applyPatch, nextScheduledAt } from "./schedule.js";
import { computeStale, type StaleFlag, type StaleOptions } from "./stale.js";
import { FlagState } from "./state.js";
import type { EvaluationContext, EvaluationDetails, FlagType } from "./types.js";

/** What `onError` is told about: a failed load or refresh, a malformed stored flag, a throwing evaluation. */
export interface FlagErrorInfo {
  operation: "load" | "refresh" | "compile" | "evaluate" | "schedule" | "backup" | "usage";
  key?: string;
}

export interface FeatureFlagControllerOptions<D extends FlagDefinitions = FlagDefinitions> {
  /** From `defineFlags`: typed keys, and defaults for flags not (yet) in the store. */
  definitions?: D;
  /** Every write records a FLAG_CHANGE entry (before / after) here. */
  audit?: AuditSink;
  clock?: Clock;
  /**
   * Reload interval in ms. Default 15 000 without a change subscription; with one (store
   * `capabilities.pubsub`), 60 000 as a safety net. 0 disables polling.
   */
  pollIntervalMs?: number;
  /** Values served when the store is unreachable at start: an object, or a JSON file path. */
  bootstrap?: Record<string, JsonValue> | { file: string };
  /** After every successful load the full snapshot is written here; read back (rules and all) if the store is down at start. */
  backupFile?: string;
  /** Receives every error the controller absorbs. Never called on the hot path's success. */
  onError?: (error: unknown, info: FlagErrorInfo) => void;
  /** Attempts of a read-modify-write that keeps losing compare-and-set races (default 50). */
  maxWriteAttempts?: number;
  /**
   * How often evaluation times are merged into the shared `$stats` record, so `staleFlags()` sees
   * usage across processes and restarts (default 600 000 = 10 min; 0 disables). Checked on each poll.
   */
  usageFlushMs?: number;
  /** How long `ready()` (and so `getBool`) waits for the first load before serving fallbacks (default 5000 ms). */
  startTimeoutMs?: number;
  /** Start loading in the constructor (default true). */
  autoStart?: boolean;
}

const EMPTY: EvaluationContext = Object.freeze({});
type Op = "usage" | "set" | "clear" | "update" | "enable" | "disable" | "rules" | "rollout" | "delete" | "segment" | "schedule" | "scheduled-apply" | "create";

/**
 * The seed's flag controller, grown up: reads are synchronous over precompiled flags kept fresh
 * by the store's change subscription (or polling); writes are validated, compare-and-set,
 * audited. Implements `FlagWriter` so incidents can flip and roll back flags.
 */
export class FeatureFlagController<D extends FlagDefinitions = FlagDefinitions> implements FlagWriter {
  readonly env: string;
  private readonly state: FlagState;
  private readonly clock: Clock;
  private readonly onError: (error: unknown, info: FlagErrorInfo) => void;
  private readonly maxAttempts: number;
  private loaded = false;
  private closed = false;
  private readyPromise: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private scheduleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly startedAt: number;
  private readonly usage = new Map<string, { count: number; at: number }>();
  private lastUsageFlush = 0;
  private usageDirty = false;
  private readonly watchers = new Set<(keys: readonly string[]) => void>();

  /** @throws ValidationError when `env` is not an environment slug. */
  constructor(
    private readonly store: FlagStore,
    env: string,
    private readonly options: FeatureFlagControllerOptions<D> = {},
  ) {
    this.env = parseInput(EnvironmentSchema, env, { pkg: "flags", what: "env" });
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.maxAttempts = options.maxWriteAttempts ?? 50;
    const hook = options.onError;
    this.onError = (err, info) => {
      try {
        hook?.(err, info);
      } catch {
        // A throwing hook must not turn an absorbed error into a thrown one.
      }
    };
    this.state = new FlagState(options.definitions, (key, err) => this.onError(err, { operation: "compile", key }));
    if (options.bootstrap && !("file" in options.bootstrap)) this.state.setBootstrap(options.bootstrap as Record<string, JsonValue>);
    if (options.autoStart !== false) void this.ready();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Resolves once the first load finished: from the store, or (store down) from the backup file,
   * bootstrap values and definitions. Never rejects; retries continue in the background.
   */
  ready(): Promise<void> {
    this.readyPromise ??= this.start();
    return this.readyPromise;
  }

  /** True once flags were loaded from the store at least once. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  private async start(): Promise<void> {
    if (this.store.subscribe && this.store.capabilities.pubsub) {
      try {
        this.unsubscribe = this.store.subscribe((c) => this.onChange(c));
      } catch (err) {
        this.onError(err, { operation: "load" });
      }
    }
    const first = this.refresh().then(
      () => true,
      (err: unknown) => {
        this.onError(err, { operation: "load" });
        return false;
      },
    );
    // A store that hangs (no connect timeout) must not hang the app's reads: serve fallbacks.
    const limit = this.options.startTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), limit);
      timer.unref?.();
    });
    const outcome = await Promise.race([first, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout")
      this.onError(new UnavailableError(`[ops/flags] first load did not finish within ${limit} ms; serving fallbacks until it does`), {
        operation: "load",
      });
    if (outcome !== true && !this.loaded) await this.loadFallbacks();
    const every = this.options.pollIntervalMs ?? (this.unsubscribe ? 60_000 : 15_000);
    if (every > 0 && !this.closed) {
      this.pollTimer = setInterval(() => void this.tick(), every);
      this.pollTimer.unref?.();
    }
  }

  private async loadFallbacks(): Promise<void> {
    // Each step re-checks `loaded`: a late first load must never be overwritten by older fallbacks.
    if (this.options.backupFile) {
      try {
        const records = await readBootstrapFile(this.options.backupFile);
        if (this.loaded) return;
        if (Array.isArray(records)) return this.state.replaceAll(records as FlagRecord[]);
      } catch (err) {
        this.onError(err, { operation: "load" });
      }
    }
    const b = this.options.bootstrap;
    if (b && "file" in b && typeof b.file === "string") {
      try {
        const values = await readBootstrapFile(b.file);
        if (this.loaded) return;
        if (Array.isArray(values)) this.state.replaceAll(values as FlagRecord[]);
        else this.state.setBootstrap(values);
      } catch (err) {
        this.onError(err, { operation: "load" });
      }
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      this.onError(err, { operation: "refresh" });
    }
    await this.applyDueChanges().catch((err: unknown) => this.onError(err, { operation: "schedule" }));
    const every = this.options.usageFlushMs ?? 600_000;
    if (every > 0 && this.clock.now() - this.lastUsageFlush >= every)
      await this.flushUsage().catch((err: unknown) => this.onError(err, { operation: "usage" }));
  }

  /**
   * Merges this process's last evaluation times into the environment's `$stats` record (latest
   * wins per key; compare-and-set, not audited). Runs on its own every `usageFlushMs` and on close.
   * @throws what the store throws
   */
  async flushUsage(): Promise<void> {
    this.sampleUsage();
    this.lastUsageFlush = this.clock.now();
    if (!this.usageDirty) return;
    this.usageDirty = false;
    const mine = new Map([...this.usage].map(([k, u]) => [k, u.at]));
    const startedAt = new Date(this.startedAt).toISOString();
    await this.mutate({ key: STATS_KEY, tenantId: null }, { actor: "ops-flags", reason: "usage", op: "usage", audit: false }, (current) => {
      const stats = readStats(current?.config ?? null);
      const lastEvaluated: Record<string, JsonValue> = { ...stats.lastEvaluated };
      for (const [k, at] of mine) {
        const prev = lastEvaluated[k];
        if (typeof prev !== "string" || Date.parse(prev) < at) lastEvaluated[k] = new Date(at).toISOString();
      }
      return { kind: "usage", since: stats.since ?? startedAt, lastEvaluated };
    });
  }

  /**
   * Reloads every flag of the environment from the store. On failure the last known flags stay.
   * @throws whatever the store throws (the background refresh reports it to `onError` instead).
   */
  async refresh(): Promise<void> {
    const records = await this.store.snapshot({ env: this.env });
    this.sampleUsage();
    this.state.replaceAll(records);
    this.loaded = true;
    this.armSchedule();
    this.changed(this.keys());
    if (this.options.backupFile)
      await writeBackupFile(this.options.backupFile, records).catch((err: unknown) => this.onError(err, { operation: "backup" }));
  }

  private onChange(c: FlagChange): void {
    if (c.env !== this.env || this.closed) return;
    const at = { key: c.key, tenantId: c.tenantId };
    this.store
      .get({ env: this.env, ...at })
      .then((rec) => {
        if (rec === null && c.version !== 0 && this.state.held(at) === undefined) return;
        if ((rec === null || rec.version >= c.version) && this.state.apply(at, rec)) this.changed([c.key]);
        this.armSchedule();
      })
      .catch((err: unknown) => this.onError(err, { operation: "refresh", key: c.key }));
  }

  /**
   * Calls `listener` after the local flags changed (a reload, a change from another process, a
   * write made here) with the keys concerned. Returns an unsubscribe function.
   */
  watch(listener: (keys: readonly string[]) => void): () => void {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  private changed(all: readonly string[]): void {
    const keys = all.filter((k) => k !== STATS_KEY);
    if (keys.length === 0) return;
    for (const w of [...this.watchers]) {
      try {
        w(keys);
      } catch (err) {
        this.onError(err, { operation: "refresh" });
      }
    }
  }

  /** Stops subscriptions and timers. Does not close the store (the app owns it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.loaded && (this.options.usageFlushMs ?? 600_000) > 0)
      await this.flushUsage().catch((err: unknown) => this.onError(err, { operation: "usage" }));
    this.closed = true;
    this.unsubscribe?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
  }

  // ---------------------------------------------------------------- reads (hot path)

  /**
   * Synchronous evaluation with details (value, variant, reason, ruleId, errorCode). Never throws:
   * problems come back as `reason: "ERROR"`. The returned object is shared and frozen.
   */
  evaluate(key: string, context: EvaluationContext = EMPTY): EvaluationDetails {
    try {
      return this.state.evaluate(key, context, this.loaded || this.options.bootstrap !== undefined || this.options.definitions?.[key] !== undefined);
    } catch (err) {
      this.onError(err, { operation: "evaluate", key });
      return { flagKey: key, value: this.defaultOf(key), variant: null, reason: "ERROR", ruleId: null, errorCode: "GENERAL", errorMessage: String(err) };
    }
  }

  private defaultOf(key: string): JsonValue {
    return (this.options.definitions?.[key]?.default as JsonValue | undefined) ?? null;
  }

  /** Synchronous boolean; `fallback` (default: the definition's default, else false) when missing or not a boolean. */
  isEnabled(key: KeysOfType<D, "boolean">, context: EvaluationContext = EMPTY, fallback?: boolean): boolean {
    const v = this.evaluate(key, context).value;
    return typeof v === "boolean" ? v : (fallback ?? (this.defaultOf(key) === true));
  }

  stringValue(key: KeysOfType<D, "string">, context: EvaluationContext = EMPTY, fallback?: string): string {
    const v = this.evaluate(key, context).value;
    if (typeof v === "string") return v;
    const d = this.defaultOf(key);
    return fallback ?? (typeof d === "string" ? d : "");
  }

  numberValue(key: KeysOfType<D, "number">, context: EvaluationContext = EMPTY, fallback?: number): number {
    const v = this.evaluate(key, context).value;
    if (typeof v === "number") return v;
    const d = this.defaultOf(key);
    return fallback ?? (typeof d === "number" ? d : 0);
  }

  jsonValue(key: KeysOfType<D, FlagType>, context: EvaluationContext = EMPTY, fallback?: JsonValue): JsonValue {
    const d = this.evaluate(key, context);
    return d.reason === "ERROR" ? (fallback ?? d.value) : d.value;
  }

  private ctx(tenantId: TenantKey | undefined): EvaluationContext {
    return tenantId ? { tenantId } : EMPTY;
  }

  /** The seed's read: waits for the first load, then evaluates for the tenant (if given). Never rejects. */
  async getBool(key: KeysOfType<D, "boolean">, tenantId?: TenantKey): Promise<boolean> {
    await this.ready();
    return this.isEnabled(key, this.ctx(tenantId));
  }

  async getString(key: KeysOfType<D, "string">, tenantId?: TenantKey): Promise<string> {
    await this.ready();
    return this.stringValue(key, this.ctx(tenantId));
  }

  async getNumber(key: KeysOfType<D, "number">, tenantId?: TenantKey): Promise<number> {
    await this.ready();
    return this.numberValue(key, this.ctx(tenantId));
  }

  async getJson(key: KeysOfType<D, FlagType>, tenantId?: TenantKey): Promise<JsonValue> {
    await this.ready();
    return this.jsonValue(key, this.ctx(tenantId));
  }

  /** The stored definition of a flag in this environment (after the first load), or null. */
  getFlag(key: string): { config: FlagConfig; version: number; updatedAt: string; updatedBy: string } | null {
    const rec = this.state.globals.get(key);
    const config = this.state.configOf(key);
    return rec && config ? { config, version: rec.version, updatedAt: rec.updatedAt, updatedBy: rec.updatedBy } : null;
  }

  /** Every flag key known: stored, defined, bootstrapped or overridden. */
  keys(): string[] {
    return [...this.state.keys()].sort();
  }

  // ---------------------------------------------------------------- writes

  /**
   * The seed's write. Without `tenantId`: sets the flag's value in this environment (creating
   * the flag, typed by its definition or the value, if needed; rules and rollouts stay). With
   * `tenantId`: sets that tenant's override. Compare-and-set with retries: concurrent writers
   * never lose an update; pass `expectedVersion` to fail instead of retrying.
   * @throws ValidationError (bad input or a value of the wrong type; nothing written), ConflictError.
   */
  async setFlag(input: I.SetFlagInput): Promise<FlagRecord> {
    const p = parseInput(I.SetFlagInput, input, { pkg: "flags", what: "setFlag input" });
    const tenantId = p.tenantId ?? null;
    const expected = this.expectedType(p.key);
    if (expected && !valueMatchesType(expected, p.newValue))
      throw new ValidationError(`[ops/flags] invalid newValue for flag "${p.key}": expected a ${expected}`, [
        { path: "newValue", message: `expected a ${expected}` },
      ]);
    const rec = await this.mutate(
      { key: p.key, tenantId },
      { actor: p.actorUserId, reason: p.reason, op: "set", expectedVersion: p.expectedVersion },
      (current) => {
        if (tenantId !== null) return { value: p.newValue };
        const base = current ? this.parseStored(p.key, current) : this.newConfig(p.key, p.newValue);
        if (!valueMatchesType(base.type, p.newValue))
          throw new ValidationError(`[ops/flags] invalid newValue for flag "${p.key}": expected a ${base.type}`, [
            { path: "newValue", message: `expected a ${base.type}` },
          ]);
        return { ...base, value: p.newValue };
      },
    );
    return rec!;
  }

  /**
   * Changes any editable part of a flag (kill switch, value, variants, rules, rollout, metadata).
   * Creates the flag from its definition when absent.
   * @throws ValidationError, NotFoundError (absent and not defined), ConflictError.
   */
  async updateFlag(input: I.UpdateFlagInput): Promise<FlagRecord> {
    const p = parseInput(I.UpdateFlagInput, input, { pkg: "flags", what: "updateFlag input" });
    return this.patch(p.key, p.patch, p.actorUserId, p.reason, "update", p.expectedVersion);
  }

  /** The kill switch: `enabled: false` serves the off value to everyone, overrides and rules included. */
  async setEnabled(input: I.SetEnabledInput): Promise<FlagRecord> {
    const p = parseInput(I.SetEnabledInput, input, { pkg: "flags", what: "setEnabled input" });
    return this.patch(p.key, { enabled: p.enabled }, p.actorUserId, p.reason, p.enabled ? "enable" : "disable");
  }

  /** Replaces the targeting rules (evaluated in order). */
  async setRules(input: I.SetRulesInput): Promise<FlagRecord> {
    const p = parseInput(I.SetRulesInput, input, { pkg: "flags", what: "setRules input" });
    return this.patch(p.key, { rules: p.rules }, p.actorUserId, p.reason, "rules");
  }

  /** Sets (or with null removes) the flag-level percentage rollout or split. */
  async setRollout(input: I.SetRolloutInput): Promise<FlagRecord> {
    const p = parseInput(I.SetRolloutInput, input, { pkg: "flags", what: "setRollout input" });
    return this.patch(p.key, { rollout: p.rollout }, p.actorUserId, p.reason, "rollout");
  }

  /** Removes a tenant's override. @throws NotFoundError when the tenant has none. */
  async clearTenantOverride(input: I.ClearOverrideInput): Promise<void> {
    const p = parseInput(I.ClearOverrideInput, input, { pkg: "flags", what: "clearTenantOverride input" });
    await this.mutate({ key: p.key, tenantId: p.tenantId }, { actor: p.actorUserId, reason: p.reason, op: "clear" }, (current) => {
      if (!current) throw new NotFoundError(`[ops/flags] flag "${p.key}" has no override for tenant ${p.tenantId}`);
      return null;
    });
  }

  /** Deletes a flag in this environment and every tenant override of it known here. */
  async deleteFlag(input: I.DeleteFlagInput): Promise<void> {
    const p = parseInput(I.DeleteFlagInput, input, { pkg: "flags", what: "deleteFlag input" });
    for (const tenantId of [...(this.state.overrides.get(p.key)?.keys() ?? [])]) {
      await this.mutate({ key: p.key, tenantId }, { actor: p.actorUserId, reason: p.reason, op: "delete" }, () => null).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "delete" }, (current) => {
      if (!current) throw new NotFoundError(`[ops/flags] flag "${p.key}" does not exist in ${this.env}`);
      return null;
    });
  }

  /** Creates or replaces a reusable segment, usable from rules' `segments`. */
  async defineSegment(input: I.DefineSegmentInput): Promise<FlagRecord> {
    const p = parseInput(I.SegmentInputSchema, input, { pkg: "flags", what: "defineSegment input" });
    const rec = await this.mutate(
      { key: `${SEGMENT_PREFIX}${p.name}`, tenantId: null },
      { actor: p.actorUserId, reason: p.reason, op: "segment" },
      () => ({ kind: "segment", ...p.segment }) as unknown as JsonValue,
    );
    return rec!;
  }

  /**
   * Stores a change to apply at `at` (by any process running a controller for this environment:
   * compare-and-set makes exactly one apply it). Returns the change id.
   */
  async scheduleChange(input: I.ScheduleChangeInput): Promise<string> {
    const p = parseInput(I.ScheduleInput, input, { pkg: "flags", what: "scheduleChange input" });
    const at = (typeof p.at === "string" ? new Date(p.at) : p.at).toISOString();
    const id = `sch_${this.clock.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "schedule" }, (current) => {
      const base = current ? this.parseStored(p.key, current) : this.configFromDefinition(p.key);
      // Validate now that the patch would apply cleanly, so a bad change fails at scheduling time.
      this.validated(p.key, applyPatch(base, p.patch));
      return { ...base, schedule: [...(base.schedule ?? []), { id, at, actor: p.actorUserId, reason: p.reason, patch: p.patch }] };
    });
    return id;
  }

  /** @throws NotFoundError when no such scheduled change is pending. */
  async cancelScheduledChange(input: I.CancelScheduledChangeInput): Promise<void> {
    const p = parseInput(I.CancelScheduleInput, input, { pkg: "flags", what: "cancelScheduledChange input" });
    await this.mutate({ key: p.key, tenantId: null }, { actor: p.actorUserId, reason: p.reason, op: "schedule" }, (current) => {
      const base = current ? this.parseStored(p.key, current) : null;
      if (!base?.schedule?.some((s) => s.id === p.id))
        throw new NotFoundError(`[ops/flags] flag "${p.key}" has no pending scheduled change ${p.id}`);
      return { ...base, schedule: base.schedule.filter((s) => s.id !== p.id) };
    });
  }

  /** Applies every scheduled change that is due (runs on its own on a timer). Returns how many were applied. */
  async applyDueChanges(): Promise<number> {
    const now = this.clock.now();
    let applied = 0;
    for (const key of [...this.state.globals.keys()]) {
      const due = this.state.configOf(key)?.schedule?.filter((s) => Date.parse(s.at) <= now) ?? [];
      for (const change of due.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
        const rec = await this.mutate(
          { key, tenantId: null },
          { actor: change.actor, reason: `scheduled: ${change.reason}`, op: "scheduled-apply", meta: { scheduledChangeId: change.id } },
          (current) => {
            const base = current ? this.parseStored(key, current) : null;
            // Another process applied (or someone cancelled) it meanwhile: nothing to do.
            if (!base?.schedule?.some((s) => s.id === change.id)) return NO_CHANGE;
            const rest = base.schedule.filter((s) => s.id !== change.id);
            return this.validated(key, { ...applyPatch(base, change.patch), schedule: rest });
          },
        );
        if (rec) applied += 1;
      }
    }
    this.armSchedule();
    return applied;
  }

  /**
   * Flags to clean up: expired (definition or stored `expiresAt` passed), or unchanged AND not
   * evaluated by this process for `unusedForDays` (default 30).
   */
  staleFlags(options: StaleOptions = {}): StaleFlag[] {
    this.sampleUsage();
    const shared = readStats(this.state.stats.record?.config ?? null);
    const sharedSince = shared.since ? Date.parse(shared.since) : Number.NaN;
    return computeStale({
      now: options.now?.getTime() ?? this.clock.now(),
      unusedForDays: options.unusedForDays ?? 30,
      // Usage is known since the earliest process that recorded it into `$stats`.
      startedAt: Number.isNaN(sharedSince) ? this.startedAt : Math.min(sharedSince, this.startedAt),
      definitions: this.options.definitions ?? {},
      globals: this.state.globals,
      configOf: (k) => this.state.configOf(k),
      lastEvaluatedAt: (k) => {
        const local = this.usage.get(k)?.at;
        const s = shared.lastEvaluated[k];
        const remote = typeof s === "string" ? Date.parse(s) : undefined;
        return local === undefined ? remote : remote === undefined ? local : Math.max(local, remote);
      },
    });
  }

  private sampleUsage(): void {
    const now = this.clock.now();
    for (const key of this.state.keys()) {
      const count = this.state.get(key)?.evaluations ?? 0;
      const u = this.usage.get(key);
      if (!u) {
        if (count > 0) {
          this.usage.set(key, { count, at: now });
          this.usageDirty = true;
        }
      } else if (u.count !== count) {
        u.count = count;
        u.at = now;
        this.usageDirty = true;
      }
    }
  }

  // ---------------------------------------------------------------- FlagWriter

  /** This controller as the `FlagWriter` port (incidents use it to flip flags and roll back). */
  asFlagWriter(): FlagWriter {
    return this;
  }

  async getValue(input: { key: string; tenantId?: TenantKey }): Promise<JsonValue | undefined> {
    const rec = await this.store.get({ env: this.env, key: input.key, tenantId: input.tenantId ?? null });
    if (!rec) return undefined;
    const v = (rec.config as { value?: JsonValue } | null)?.value;
    return v === undefined ? undefined : v;
  }

  async setValue(input: { key: string; value: JsonValue; tenantId?: TenantKey; actor: string; reason: string }): Promise<{ previous: JsonValue | undefined }> {
    const previous = await this.getValue(input);
    await this.setFlag({ key: input.key, newValue: input.value, tenantId: input.tenantId ?? null, actorUserId: input.actor, reason: input.reason });
    return { previous };
  }

  async clearValue(input: { key: string; tenantId?: TenantKey; actor: string; reason: string }): Promise<void> {
    const tenantId = input.tenantId ?? null;
    await this.mutate({ key: input.key, tenantId }, { actor: input.actor, reason: input.reason, op: "clear" }, (current) =>
      current ? null : NO_CHANGE,
    );
  }

  // ---------------------------------------------------------------- internals

  private expectedType(key: string): FlagType | null {
    return this.options.definitions?.[key]?.type ?? this.state.configOf(key)?.type ?? null;
  }

  private configFromDefinition(key: string): FlagConfig {
    const def = this.options.definitions?.[key];
    if (!def) throw new NotFoundError(`[ops/flags] flag "${key}" does not exist in ${this.env} and has no definition`);
    return this.newConfig(key, def.default as JsonValue);
  }

  private newConfig(key: string, value: JsonValue): FlagConfig {
    const def = this.options.definitions?.[key];
    return {
      type: def?.type ?? inferType(value),
      enabled: true,
      value,
      rules: [],
      ...(def?.description ? { description: def.description } : {}),
      ...(def?.owner ? { owner: def.owner } : {}),
      ...(def?.expiresAt ? { expiresAt: def.expiresAt } : {}),
    };
  }

  private parseStored(key: string, rec: FlagRecord): FlagConfig {
    const parsed = FlagConfigSchema.safeParse(rec.config);
    if (parsed.success) return parsed.data;
    throw new ValidationError(`[ops/flags] stored config of flag "${key}" is malformed; fix it with updateFlag on a valid base`, []);
  }

  /** Full validation of a config about to be written: schema, value types, compilable conditions. */
  private validated(key: string, config: FlagConfig): FlagConfig {
    const parsed = parseInput(FlagConfigSchema, config, { pkg: "flags", what: `config of flag "${key}"` });
    const segments = this.state.segmentConfigs();
    compileFlag({ key, config: parsed, overrides: new Map(), segments, offDefault: parsed.value });
    return parsed;
  }

  private async patch(key: string, patch: FlagPatch, actor: string, reason: string, op: Op, expectedVersion?: number): Promise<FlagRecord> {
    const clean = parseInput(FlagPatchSchema, patch, { pkg: "flags", what: "patch" });
    const rec = await this.mutate({ key, tenantId: null }, { actor, reason, op, expectedVersion }, (current) => {
      const base = current ? this.parseStored(key, current) : this.configFromDefinition(key);
      return this.validated(key, applyPatch(base, clean));
    });
    return rec!;
  }

  /**
   * Read-modify-write with compare-and-set. `fn` sees the freshly read record and returns the
   * next config, null to delete, or NO_CHANGE. On a lost race it re-reads and re-applies `fn`,
   * so concurrent changes compose instead of overwriting each other. Audits after the write.
   */
  private async mutate(
    at: { key: string; tenantId: TenantKey },
    how: { actor: string; reason: string; op: Op; expectedVersion?: number | undefined; meta?: Record<string, JsonValue>; audit?: boolean },
    fn: (current: FlagRecord | null) => JsonValue | null | typeof NO_CHANGE,
  ): Promise<FlagRecord | null> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = await this.store.get({ env: this.env, ...at });
      if (how.expectedVersion !== undefined && (current?.version ?? null) !== how.expectedVersion)
        throw new ConflictError(
          `[ops/flags] flag "${at.key}" is at version ${current?.version ?? "(absent)"}, expected ${how.expectedVersion}`,
        );
      const next = fn(current);
      if (next === NO_CHANGE) return null;
      let written: FlagRecord | null = null;
      try {
        if (next === null) {
          if (!current) return null;
          await this.store.delete({ env: this.env, ...at, expectedVersion: current.version });
        } else
          written = await this.store.put({ env: this.env, ...at, config: next, expectedVersion: current?.version ?? null, actor: how.actor });
      } catch (err) {
        const lostRace = err instanceof ConflictError || (err instanceof NotFoundError && next === null);
        if (lostRace && how.expectedVersion === undefined) {
          // Jittered backoff spreads retrying writers out, so each round has fewer contenders.
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
          continue;
        }
        throw err;
      }
      if (this.state.apply(at, written)) this.changed([at.key]);
      this.armSchedule();
      if (how.audit !== false)
        await this.options.audit?.record({
          action: "FLAG_CHANGE",
          actor: { id: how.actor, type: how.op === "scheduled-apply" ? "system" : "user" },
          tenantId: at.tenantId,
          target: { id: at.key, type: at.key.startsWith(SEGMENT_PREFIX) ? "flag_segment" : "feature_flag" },
          outcome: "success",
          reason: how.reason,
          meta: {
            env: this.env,
            key: at.key,
            operation: how.op,
            before: current?.config ?? null,
            after: next,
            version: written?.version ?? 0,
            ...(how.meta ?? {}),
          },
        });
      return written;
    }
    throw new ConflictError(`[ops/flags] flag "${at.key}": gave up after ${this.maxAttempts} compare-and-set attempts under contention`);
  }

  private armSchedule(): void {
    if (this.closed) return;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
    const next = nextScheduledAt([...this.state.globals.keys()].map((k) => this.state.configOf(k)));
    if (next === null) return;
    // A due change that keeps failing is retried each second, never in a tight loop.
    const delay = Math.min(Math.max(1000, next - this.clock.now()), 2_147_483_647);
    this.scheduleTimer = setTimeout(() => {
      this.applyDueChanges().catch((err: unknown) => this.onError(err, { operation: "schedule" }));
    }, delay);
    this.scheduleTimer.unref?.();
  }
}

const NO_CHANGE: unique symbol = Symbol("no change");
const STATS_KEY = "$stats";

function readStats(config: JsonValue): { since: string | null; lastEvaluated: Record<string, JsonValue> } {
  const c = config && typeof config === "object" && !Array.isArray(config) ? config : {};
  const le = c.lastEvaluated;
  return {
    since: typeof c.since === "string" ? c.since : null,
    lastEvaluated: le && typeof le === "object" && !Array.isArray(le) ? le : {},
  };
}
