import type { FlagRecord, JsonValue } from "@ops/core";
import { compileFlag, compileStatic, details, prerequisiteFailed, resolve, type CompiledFlag, type Details } from "./compile.js";
import {
  FlagConfigSchema,
  SEGMENT_PREFIX,
  SegmentConfigSchema,
  TenantOverrideSchema,
  inferType,
  valueMatchesType,
  type FlagConfig,
  type SegmentConfig,
} from "./config.js";
import type { FlagDefinitions } from "./define-flags.js";
import type { EvaluationContext, FlagType } from "./types.js";

const ZERO: Record<FlagType, JsonValue> = { boolean: false, string: "", number: 0, json: null };

/**
 * The local copy of one environment's flags: the raw records, and each flag compiled for the hot
 * path. Only this class touches compiled flags; recompiling swaps one map entry, so an
 * evaluation running concurrently sees either the old or the new flag, never a mix.
 */
export class FlagState {
  readonly globals = new Map<string, FlagRecord>();
  readonly overrides = new Map<string, Map<string, FlagRecord>>();
  readonly segments = new Map<string, FlagRecord>();
  readonly stats = { record: null as FlagRecord | null };
  private compiled = new Map<string, CompiledFlag>();
  private readonly fallbackValues = new Map<string, JsonValue>();
  private readonly notFound = new Map<string, Details>();
  /** Prerequisites read the current map at evaluation, so recompiling one flag updates its dependents. */
  private readonly lookup = (key: string): CompiledFlag | undefined => this.compiled.get(key);

  constructor(
    private readonly definitions: FlagDefinitions | undefined,
    private readonly onCompileError: (key: string, err: unknown) => void,
  ) {
    for (const [key, def] of Object.entries(definitions ?? {})) this.fallbackValues.set(key, def.default as JsonValue);
    this.recompileAll();
  }

  /** Static values used while the store is unreachable (bootstrap); they never override the store. */
  setBootstrap(values: Record<string, JsonValue>): void {
    for (const [key, v] of Object.entries(values)) this.fallbackValues.set(key, v);
    this.recompileAll();
  }

  replaceAll(records: readonly FlagRecord[]): void {
    // A snapshot read before a write we already applied must not roll that write back.
    const newer: FlagRecord[] = [];
    for (const r of records) {
      const held = this.held(r);
      if (held && held.version > r.version) newer.push(held);
    }
    this.globals.clear();
    this.overrides.clear();
    this.segments.clear();
    this.stats.record = null;
    for (const r of records) this.put(r);
    for (const r of newer) this.put(r);
    this.recompileAll();
  }

  /** Applies one record (or its deletion) unless we already hold a newer version. Returns true if applied. */
  apply(at: { key: string; tenantId: string | null }, rec: FlagRecord | null): boolean {
    const held = this.held(at);
    if (rec && held && held.version >= rec.version) return false;
    if (rec) this.put(rec);
    else this.remove(at);
    if (at.key.startsWith(SEGMENT_PREFIX)) this.recompileAll();
    else if (!at.key.startsWith("$")) this.recompile(at.key);
    return true;
  }

  held(at: { key: string; tenantId: string | null }): FlagRecord | undefined {
    if (at.tenantId !== null) return this.overrides.get(at.key)?.get(at.tenantId);
    if (at.key.startsWith(SEGMENT_PREFIX)) return this.segments.get(at.key.slice(SEGMENT_PREFIX.length));
    if (at.key === "$stats") return this.stats.record ?? undefined;
    return this.globals.get(at.key);
  }

  private put(r: FlagRecord): void {
    if (r.tenantId !== null) {
      let m = this.overrides.get(r.key);
      if (!m) this.overrides.set(r.key, (m = new Map()));
      m.set(r.tenantId, r);
    } else if (r.key.startsWith(SEGMENT_PREFIX)) this.segments.set(r.key.slice(SEGMENT_PREFIX.length), r);
    else if (r.key === "$stats") this.stats.record = r;
    else this.globals.set(r.key, r);
  }

  private remove(at: { key: string; tenantId: string | null }): void {
    if (at.tenantId !== null) this.overrides.get(at.key)?.delete(at.tenantId);
    else if (at.key.startsWith(SEGMENT_PREFIX)) this.segments.delete(at.key.slice(SEGMENT_PREFIX.length));
    else if (at.key === "$stats") this.stats.record = null;
    else this.globals.delete(at.key);
  }

  /** The parsed config of a global record, or null (absent or malformed). */
  configOf(key: string): FlagConfig | null {
    const r = this.globals.get(key);
    if (!r) return null;
    const parsed = FlagConfigSchema.safeParse(r.config);
    return parsed.success ? parsed.data : null;
  }

  segmentConfigs(): Map<string, SegmentConfig> {
    const out = new Map<string, SegmentConfig>();
    for (const [name, r] of this.segments) {
      const parsed = SegmentConfigSchema.safeParse(r.config);
      if (parsed.success) out.set(name, parsed.data);
      else this.onCompileError(`${SEGMENT_PREFIX}${name}`, parsed.error);
    }
    return out;
  }

  private recompileAll(): void {
    const keys = new Set<string>([...this.fallbackValues.keys(), ...this.globals.keys(), ...this.overrides.keys()]);
    const segments = this.segmentConfigs();
    const next = new Map<string, CompiledFlag>();
    for (const key of keys) {
      const f = this.compileOne(key, segments);
      if (f) next.set(key, f);
    }
    for (const [key, f] of next) f.evaluations = this.compiled.get(key)?.evaluations ?? 0;
    this.compiled = next;
  }

  private recompile(key: string): void {
    const f = this.compileOne(key, this.segmentConfigs());
    const old = this.compiled.get(key);
    if (f) {
      f.evaluations = old?.evaluations ?? 0;
      this.compiled.set(key, f);
    } else this.compiled.delete(key);
  }

  private compileOne(key: string, segments: Map<string, SegmentConfig>): CompiledFlag | null {
    const def = this.definitions?.[key];
    const rec = this.globals.get(key);
    const overrides = new Map<string, JsonValue>();
    for (const [tenant, r] of this.overrides.get(key) ?? []) {
      const o = TenantOverrideSchema.safeParse(r.config);
      if (o.success) overrides.set(tenant, o.data.value);
      else this.onCompileError(key, o.error);
    }
    const fallback = this.fallbackValues.get(key);
    const type: FlagType = def?.type ?? (fallback !== undefined ? inferType(fallback) : "json");
    const offDefault = fallback ?? ZERO[type];
    if (rec) {
      try {
        const config = FlagConfigSchema.parse(rec.config);
        // A stand-in only: a disabled flag without an off value serves the caller's default.
        const off = fallback !== undefined && valueMatchesType(config.type, fallback) ? fallback : null;
        return compileFlag({ key, config, overrides, segments, offDefault: off, lookup: this.lookup });
      } catch (err) {
        this.onCompileError(key, err);
        const f = compileStatic(key, type, offDefault, new Map(), "ERROR");
        return { ...f, fallback: details(key, offDefault, "ERROR", null, null, "PARSE_ERROR", "stored flag config is malformed") };
      }
    }
    if (fallback !== undefined) return compileStatic(key, type, fallback, overrides, def ? "DEFAULT" : "STATIC");
    if (overrides.size > 0) {
      const t = inferType([...overrides.values()][0] ?? null);
      return compileStatic(key, t, ZERO[t], overrides, "DEFAULT");
    }
    return null;
  }

  get(key: string): CompiledFlag | undefined {
    return this.compiled.get(key);
  }

  keys(): IterableIterator<string> {
    return this.compiled.keys();
  }

  /**
   * Evaluates; unknown keys get a cached FLAG_NOT_FOUND (or PROVIDER_NOT_READY) result. A disabled
   * flag without an off value resolves to `callerDefault` when given (reason DISABLED, no variant).
   */
  evaluate(key: string, ctx: EvaluationContext, ready: boolean, callerDefault?: JsonValue): Details {
    const f = this.compiled.get(key);
    if (f !== undefined) {
      const d = resolve(f, ctx);
      if (f.callerDefaultWhenDisabled && callerDefault !== undefined) {
        if (d === f.disabled) return details(key, callerDefault, "DISABLED");
        // A failed prerequisite serves the off value too: the caller's default when none is set.
        if (d.reason === "PREREQUISITE_FAILED") return prerequisiteFailed(key, callerDefault, null, d.prerequisiteKey ?? "");
      }
      return d;
    }
    const cacheKey = ready ? key : `\u0000${key}`;
    let d = this.notFound.get(cacheKey);
    if (d === undefined) {
      d = ready
        ? details(key, null, "ERROR", null, null, "FLAG_NOT_FOUND", `flag "${key}" is not defined`)
        : details(key, null, "ERROR", null, null, "PROVIDER_NOT_READY", "flags are not loaded yet");
      // Bounded: unknown keys come from code, not users, but never let a typo loop grow memory.
      if (this.notFound.size < 10_000) this.notFound.set(cacheKey, d);
    }
    return d;
  }
}
