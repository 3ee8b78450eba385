import {
  EnvironmentSchema,
  UnavailableError,
  parseInput,
  streamFlagSnapshot,
  systemClock,
  type Clock,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import { readBootstrapFile, writeBackupFile } from "./bootstrap.js";
import type { FlagConfig } from "./config.js";
import type { FlagDefinitions, KeysOfType } from "./define-flags.js";
import { checkControllerOptions, type FeatureFlagControllerOptions, type FlagErrorInfo } from "./options.js";
import { FlagState } from "./state.js";
import type { EvaluationContext, EvaluationDetails, FlagType } from "./types.js";

const EMPTY: EvaluationContext = Object.freeze({});

/**
 * Where the local copy stands against the store. NOT_READY: the first load has not finished.
 * READY: loaded and the store answers. ERROR: the first load failed (serving fallbacks), until a
 * load succeeds. STALE: loaded once, but the store stopped answering (serving the last known
 * flags) until a reload succeeds.
 */
export type FlagsStatus = "NOT_READY" | "READY" | "ERROR" | "STALE";

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`[ops/flags] ${what} did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The read side of `FeatureFlagController`: loading, change subscription or polling, fail-safe
 * fallbacks, and the synchronous hot path over precompiled flags.
 */
export abstract class FlagReader<D extends FlagDefinitions = FlagDefinitions> {
  readonly env: string;
  protected readonly state: FlagState;
  protected readonly clock: Clock;
  protected readonly onError: (error: unknown, info: FlagErrorInfo) => void;
  protected readonly startedAt: number;
  protected loaded = false;
  protected closed = false;
  private readyPromise: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private readonly watchers = new Set<(keys: readonly string[]) => void>();
  private readonly statusWatchers = new Set<(status: FlagsStatus, error: unknown) => void>();
  private currentStatus: FlagsStatus = "NOT_READY";
  private healthTimer: ReturnType<typeof setInterval> | null = null;
  private probing = false;

  /** @throws ValidationError when `env` is not an environment slug, ConfigError for a bad option. */
  constructor(
    protected readonly store: FlagStore,
    env: string,
    protected readonly options: FeatureFlagControllerOptions<D> = {},
  ) {
    this.env = parseInput(EnvironmentSchema, env, { pkg: "flags", what: "env" });
    checkControllerOptions(options);
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
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
        this.lastError = err;
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
    if (outcome !== true && !this.loaded) {
      await this.loadFallbacks();
      if (!this.loaded)
        this.setStatus(
          "ERROR",
          outcome === "timeout" ? new UnavailableError(`[ops/flags] first load did not finish within ${limit} ms`) : this.lastError,
        );
    }
    const every = this.options.pollIntervalMs ?? (this.unsubscribe ? 60_000 : 15_000);
    if (every > 0 && !this.closed) {
      this.pollTimer = setInterval(() => void this.tick(), every);
      this.pollTimer.unref?.();
    }
    const probeEvery = this.options.healthCheckIntervalMs ?? 5000;
    if (probeEvery > 0 && !this.closed) {
      this.healthTimer = setInterval(() => void this.probe(), probeEvery);
      this.healthTimer.unref?.();
    }
  }

  private lastError: unknown = null;

  /** The error behind the last failed load or probe, or null. */
  get lastLoadError(): unknown {
    return this.lastError;
  }

  /**
   * Where the local flags stand against the store (see `FlagsStatus`). The OpenFeature provider
   * maps it onto its lifecycle: READY, ERROR (first load failed), STALE (store lost after READY).
   */
  get status(): FlagsStatus {
    return this.currentStatus;
  }

  /** Calls `listener` on every status change (with the error behind ERROR / STALE). Returns an unsubscribe function. */
  onStatus(listener: (status: FlagsStatus, error: unknown) => void): () => void {
    this.statusWatchers.add(listener);
    return () => void this.statusWatchers.delete(listener);
  }

  private setStatus(next: FlagsStatus, error: unknown = null): void {
    if (next === this.currentStatus || this.closed) return;
    this.currentStatus = next;
    for (const w of [...this.statusWatchers]) {
      try {
        w(next, error);
      } catch (err) {
        this.onError(err, { operation: "refresh" });
      }
    }
  }

  private storeLost(err: unknown): void {
    this.lastError = err;
    if (this.currentStatus === "READY") this.setStatus("STALE", err);
  }

  /**
   * The health probe (every `healthCheckIntervalMs`): while READY, one point read with a timeout
   * (a lost store makes the flags STALE); while STALE or ERROR, a full reload (changes missed
   * meanwhile are applied, then READY).
   */
  private async probe(): Promise<void> {
    if (this.probing || this.closed || this.currentStatus === "NOT_READY") return;
    this.probing = true;
    const timeout = this.options.healthCheckTimeoutMs ?? 2000;
    try {
      if (this.currentStatus === "READY")
        await withTimeout(this.store.get({ env: this.env, key: "$stats", tenantId: null }), timeout, "the flag store");
      else await withTimeout(this.refresh(), timeout, "the flag store");
    } catch (err) {
      this.storeLost(err);
      this.onError(err, { operation: "refresh" });
    } finally {
      this.probing = false;
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
      this.storeLost(err);
      this.onError(err, { operation: "refresh" });
    }
    await this.maintain();
  }

  /**
   * Reloads every flag of the environment from the store. On failure the last known flags stay.
   * @throws whatever the store throws (the background refresh reports it to `onError` instead).
   */
  async refresh(): Promise<void> {
    // Streamed in keyset pages (`snapshotPage`, else one `snapshot`): each page is folded into a
    // compact load as it arrives, so the event loop never holds one huge answer or one long task;
    // the local copy is swapped in once the last page arrived (reads serve the previous copy until then).
    const load = this.state.startLoad();
    const records: FlagRecord[] | null = this.options.backupFile ? [] : null;
    try {
      for await (const page of streamFlagSnapshot(this.store, this.env)) {
        load.add(page);
        if (records) for (const r of page) records.push(r);
      }
    } catch (err) {
      this.state.abandonLoad(load);
      throw err;
    }
    this.beforeReload();
    this.state.finishLoad(load);
    this.loaded = true;
    this.setStatus("READY");
    this.afterChange();
    this.changed(this.keys());
    if (this.options.backupFile && records)
      await writeBackupFile(this.options.backupFile, records).catch((err: unknown) => this.onError(err, { operation: "backup" }));
  }

  private onChange(c: FlagChange): void {
    if (c.env !== this.env || this.closed) return;
    const at = { key: c.key, tenantId: c.tenantId };
    this.store
      .get({ env: this.env, ...at })
      .then((rec) => {
        if (rec === null && c.version !== 0 && this.state.held(at) === undefined) return;
        // Deleted then re-created: the new record restarts at version 1, below what we hold.
        if (c.version === 0 && rec !== null) this.state.apply(at, null);
        if ((rec === null || rec.version >= c.version) && this.state.apply(at, rec)) this.changed([c.key]);
        this.afterChange();
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

  protected changed(all: readonly string[]): void {
    const keys = all.filter((k) => !k.startsWith("$"));
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
    await this.beforeClose();
    this.closed = true;
    this.unsubscribe?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.statusWatchers.clear();
  }

  /** Hooks for the writing controller: periodic work, before a reload, after any change, before close. */
  protected async maintain(): Promise<void> {}
  protected beforeReload(): void {}
  protected afterChange(): void {}
  protected async beforeClose(): Promise<void> {}

  // ---------------------------------------------------------------- reads (hot path)

  /**
   * Synchronous evaluation with details (value, variant, reason, ruleId, errorCode). Never throws:
   * problems come back as `reason: "ERROR"`. The returned object is shared and frozen.
   * `defaultValue` is the caller's default: a disabled flag (kill switch off, no `offValue` /
   * `offVariant`) resolves to it with reason DISABLED and no variant; without it, to the
   * definition's default, else null.
   */
  evaluate(key: string, context: EvaluationContext = EMPTY, defaultValue?: JsonValue): EvaluationDetails {
    try {
      const ready = this.loaded || this.options.bootstrap !== undefined || this.options.definitions?.[key] !== undefined;
      const d = this.state.evaluate(key, context, ready, defaultValue);
      const t = this.options.telemetry;
      if (t !== undefined) t.record(d, context);
      return d;
    } catch (err) {
      this.onError(err, { operation: "evaluate", key });
      return {
        flagKey: key,
        value: this.defaultOf(key),
        variant: null,
        reason: "ERROR",
        ruleId: null,
        errorCode: "GENERAL",
        errorMessage: String(err),
      };
    }
  }

  protected defaultOf(key: string): JsonValue {
    return (this.options.definitions?.[key]?.default as JsonValue | undefined) ?? null;
  }

  /** Synchronous boolean; `fallback` (default: the definition's default, else false) when missing or not a boolean. */
  isEnabled(key: KeysOfType<D, "boolean">, context: EvaluationContext = EMPTY, fallback?: boolean): boolean {
    const v = this.evaluate(key, context, fallback).value;
    return typeof v === "boolean" ? v : (fallback ?? this.defaultOf(key) === true);
  }

  stringValue(key: KeysOfType<D, "string">, context: EvaluationContext = EMPTY, fallback?: string): string {
    const v = this.evaluate(key, context, fallback).value;
    if (typeof v === "string") return v;
    const d = this.defaultOf(key);
    return fallback ?? (typeof d === "string" ? d : "");
  }

  numberValue(key: KeysOfType<D, "number">, context: EvaluationContext = EMPTY, fallback?: number): number {
    const v = this.evaluate(key, context, fallback).value;
    if (typeof v === "number") return v;
    const d = this.defaultOf(key);
    return fallback ?? (typeof d === "number" ? d : 0);
  }

  jsonValue(key: KeysOfType<D, FlagType>, context: EvaluationContext = EMPTY, fallback?: JsonValue): JsonValue {
    const d = this.evaluate(key, context, fallback);
    return d.reason === "ERROR" ? (fallback ?? d.value) : d.value;
  }

  protected ctx(tenantId: TenantKey | undefined): EvaluationContext {
    return tenantId ? { tenantId } : EMPTY;
  }

  /** Reads a boolean flag: waits for the first load, then evaluates for the tenant (if given). Never rejects. */
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

  /** @internal Read access to the local copy, for `buildClientPayload` (not a stable API). */
  get localState(): FlagState {
    return this.state;
  }

  /** Every flag key known: stored, defined, bootstrapped or overridden. */
  keys(): string[] {
    return [...this.state.keys()].sort();
  }
}
