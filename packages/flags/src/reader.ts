import {
  EnvironmentSchema,
  UnavailableError,
  parseInput,
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
    await this.maintain();
  }

  /**
   * Reloads every flag of the environment from the store. On failure the last known flags stay.
   * @throws whatever the store throws (the background refresh reports it to `onError` instead).
   */
  async refresh(): Promise<void> {
    const records = await this.store.snapshot({ env: this.env });
    this.beforeReload();
    this.state.replaceAll(records);
    this.loaded = true;
    this.afterChange();
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
   */
  evaluate(key: string, context: EvaluationContext = EMPTY): EvaluationDetails {
    try {
      return this.state.evaluate(key, context, this.loaded || this.options.bootstrap !== undefined || this.options.definitions?.[key] !== undefined);
    } catch (err) {
      this.onError(err, { operation: "evaluate", key });
      return { flagKey: key, value: this.defaultOf(key), variant: null, reason: "ERROR", ruleId: null, errorCode: "GENERAL", errorMessage: String(err) };
    }
  }

  protected defaultOf(key: string): JsonValue {
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

  /** Every flag key known: stored, defined, bootstrapped or overridden. */
  keys(): string[] {
    return [...this.state.keys()].sort();
  }
}
