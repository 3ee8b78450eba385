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
const NO_OVERRIDES: ReadonlyMap<string, Details> = new Map();

/** Override values that are interned per flag (one shared result object per distinct value). */
const INTERN_LIMIT = 1024;

/**
 * One flag's tenant overrides, kept compact for a million records: the evaluation result per
 * tenant (shared among tenants with the same value) and the version per tenant. `results` IS the
 * compiled flag's override map, so changing one tenant's override is one map write, never a
 * recompile of the flag.
 */
class OverrideTable {
  readonly results = new Map<string, Details>();
  readonly versions = new Map<string, number>();
  private readonly interned = new Map<string, Details>();

  constructor(private readonly key: string) {}

  set(tenant: string, value: JsonValue, version: number): void {
    this.results.set(tenant, this.result(value));
    this.versions.set(tenant, version);
  }

  delete(tenant: string): void {
    this.results.delete(tenant);
    this.versions.delete(tenant);
  }

  get size(): number {
    return this.results.size;
  }

  private result(value: JsonValue): Details {
    const t = typeof value;
    const id =
      value === null
        ? "n"
        : t === "boolean" || t === "number" || (t === "string" && (value as string).length <= 64)
          ? `${t[0]}${String(value)}`
          : null;
    if (id === null) return details(this.key, value, "TENANT_OVERRIDE");
    let d = this.interned.get(id);
    if (d === undefined) {
      d = details(this.key, value, "TENANT_OVERRIDE");
      if (this.interned.size < INTERN_LIMIT) this.interned.set(id, d);
    }
    return d;
  }
}

/** The value of an override record, or a reason it is malformed. Fast for `{ value: <primitive> }`. */
function overrideValue(config: JsonValue): { ok: true; value: JsonValue } | { ok: false; error: unknown } {
  if (typeof config === "object" && config !== null && !Array.isArray(config)) {
    const v = (config as { value?: JsonValue }).value;
    let n = 0;
    for (const _ in config) n++;
    if (n === 1 && (v === null || typeof v === "boolean" || typeof v === "string" || (typeof v === "number" && Number.isFinite(v))))
      return { ok: true, value: v };
  }
  const o = TenantOverrideSchema.safeParse(config);
  return o.success ? { ok: true, value: o.data.value } : { ok: false, error: o.error };
}

/** Records read by a streamed load, applied to the state only when the load finishes (`FlagState.load`). */
export class FlagLoad {
  readonly globals = new Map<string, FlagRecord>();
  readonly overrides = new Map<string, OverrideTable>();
  readonly segments = new Map<string, FlagRecord>();
  readonly stats = { record: null as FlagRecord | null };
  /** One copy of each tenant id, shared by that tenant's overrides of every flag. */
  readonly tenants = new Map<string, string>();
  /** Records written locally (or heard of) while this load ran: newer than what the load may have read. */
  readonly touched: Array<{ key: string; tenantId: string | null }> = [];

  constructor(private readonly onCompileError: (key: string, err: unknown) => void) {}

  /** Adds one page of records. Synchronous and proportional to the page. */
  add(records: readonly FlagRecord[]): void {
    for (const r of records) this.put(r);
  }

  put(r: FlagRecord): void {
    if (r.tenantId !== null) {
      const o = overrideValue(r.config);
      if (!o.ok) {
        this.onCompileError(r.key, o.error);
        return;
      }
      let tenant = this.tenants.get(r.tenantId);
      if (tenant === undefined) this.tenants.set(r.tenantId, (tenant = r.tenantId));
      let t = this.overrides.get(r.key);
      if (!t) this.overrides.set(r.key, (t = new OverrideTable(r.key)));
      t.set(tenant, o.value, r.version);
    } else if (r.key.startsWith(SEGMENT_PREFIX)) this.segments.set(r.key.slice(SEGMENT_PREFIX.length), r);
    else if (r.key === "$stats") this.stats.record = r;
    else this.globals.set(r.key, r);
  }

  /** Records held. */
  get size(): number {
    let n = this.globals.size + this.segments.size + (this.stats.record ? 1 : 0);
    for (const t of this.overrides.values()) n += t.size;
    return n;
  }

  remove(at: { key: string; tenantId: string | null }): void {
    if (at.tenantId !== null) this.overrides.get(at.key)?.delete(at.tenantId);
    else if (at.key.startsWith(SEGMENT_PREFIX)) this.segments.delete(at.key.slice(SEGMENT_PREFIX.length));
    else if (at.key === "$stats") this.stats.record = null;
    else this.globals.delete(at.key);
  }

  /** The version held at `at`, or undefined. */
  version(at: { key: string; tenantId: string | null }): number | undefined {
    if (at.tenantId !== null) return this.overrides.get(at.key)?.versions.get(at.tenantId);
    if (at.key.startsWith(SEGMENT_PREFIX)) return this.segments.get(at.key.slice(SEGMENT_PREFIX.length))?.version;
    if (at.key === "$stats") return this.stats.record?.version;
    return this.globals.get(at.key)?.version;
  }
}

/**
 * The local copy of one environment's flags: the global records, compact tenant overrides, and
 * each flag compiled for the hot path. Only this class touches compiled flags; recompiling swaps
 * one map entry, so an evaluation running concurrently sees either the old or the new flag, never
 * a mix. A tenant override change is one map write into the flag's override table (no recompile).
 */
export class FlagState {
  private data: FlagLoad;
  /** Loads in progress (a write applied meanwhile is replayed over what they read). */
  private readonly loads = new Set<FlagLoad>();
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
    this.data = new FlagLoad(onCompileError);
    this.recompileAll();
  }

  /** The global records (flag definitions) by key. */
  get globals(): ReadonlyMap<string, FlagRecord> {
    return this.data.globals;
  }

  /** Segment records by name. */
  get segments(): ReadonlyMap<string, FlagRecord> {
    return this.data.segments;
  }

  get stats(): { readonly record: FlagRecord | null } {
    return this.data.stats;
  }

  /** Records held (globals, segments, `$stats` and tenant overrides). */
  get size(): number {
    return this.data.size;
  }

  /** Starts a streamed load: add pages to it, then `finishLoad` swaps it in (or drop it). */
  startLoad(): FlagLoad {
    const load = new FlagLoad(this.onCompileError);
    this.loads.add(load);
    return load;
  }

  /** Ends a load without applying it (the read failed). */
  abandonLoad(load: FlagLoad): void {
    this.loads.delete(load);
  }

  /**
   * Replaces the local copy with a finished load. A record written here while the load ran, at a
   * higher version than the load read, is kept: a snapshot read before a write we already applied
   * must not roll that write back. Costs O(flags + writes during the load), not O(records).
   */
  finishLoad(load: FlagLoad): void {
    this.loads.delete(load);
    for (const at of load.touched) {
      const mine = this.data.version(at);
      const read = load.version(at);
      if (mine !== undefined && (read === undefined || mine > read)) load.put(this.recordAt(at)!);
    }
    this.data = load;
    this.recompileAll();
  }

  /** Static values used while the store is unreachable (bootstrap); they never override the store. */
  setBootstrap(values: Record<string, JsonValue>): void {
    for (const [key, v] of Object.entries(values)) this.fallbackValues.set(key, v);
    this.recompileAll();
  }

  replaceAll(records: readonly FlagRecord[]): void {
    const load = this.startLoad();
    load.add(records);
    this.finishLoad(load);
  }

  /** Applies one record (or its deletion) unless we already hold a newer version. Returns true if applied. */
  apply(at: { key: string; tenantId: string | null }, rec: FlagRecord | null): boolean {
    const held = this.data.version(at);
    if (rec && held !== undefined && held >= rec.version) return false;
    for (const load of this.loads) load.touched.push({ key: at.key, tenantId: at.tenantId });
    if (rec) this.data.put(rec);
    else if (held !== undefined) this.data.remove(at);
    if (at.key.startsWith(SEGMENT_PREFIX)) this.recompileAll();
    else if (at.key.startsWith("$")) return true;
    else if (at.tenantId === null) this.recompile(at.key);
    else {
      // One tenant's override: written into the table the compiled flag already reads, unless
      // the flag has no compiled form over that table yet (first override, last one removed).
      const table = this.data.overrides.get(at.key);
      const f = this.compiled.get(at.key);
      if (f === undefined || table === undefined || f.overrides !== table.results || table.size === 0) this.recompile(at.key);
    }
    return true;
  }

  /** The version held at `(key, tenantId)`, or undefined when none is held. */
  held(at: { key: string; tenantId: string | null }): { version: number } | undefined {
    const v = this.data.version(at);
    return v === undefined ? undefined : { version: v };
  }

  /** A held record rebuilt (override records keep only their value and version). */
  private recordAt(at: { key: string; tenantId: string | null }): FlagRecord | undefined {
    if (at.tenantId === null) {
      if (at.key.startsWith(SEGMENT_PREFIX)) return this.data.segments.get(at.key.slice(SEGMENT_PREFIX.length));
      if (at.key === "$stats") return this.data.stats.record ?? undefined;
      return this.data.globals.get(at.key);
    }
    const t = this.data.overrides.get(at.key);
    const version = t?.versions.get(at.tenantId);
    const d = t?.results.get(at.tenantId);
    if (version === undefined || d === undefined) return undefined;
    return { env: "", key: at.key, tenantId: at.tenantId, config: { value: d.value }, version, updatedAt: "", updatedBy: "" };
  }

  /** The parsed config of a global record, or null (absent or malformed). */
  configOf(key: string): FlagConfig | null {
    const r = this.data.globals.get(key);
    if (!r) return null;
    const parsed = FlagConfigSchema.safeParse(r.config);
    return parsed.success ? parsed.data : null;
  }

  segmentConfigs(): Map<string, SegmentConfig> {
    const out = new Map<string, SegmentConfig>();
    for (const [name, r] of this.data.segments) {
      const parsed = SegmentConfigSchema.safeParse(r.config);
      if (parsed.success) out.set(name, parsed.data);
      else this.onCompileError(`${SEGMENT_PREFIX}${name}`, parsed.error);
    }
    return out;
  }

  private recompileAll(): void {
    const keys = new Set<string>([...this.fallbackValues.keys(), ...this.data.globals.keys(), ...this.data.overrides.keys()]);
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
    const rec = this.data.globals.get(key);
    const table = this.data.overrides.get(key);
    const overrides: ReadonlyMap<string, Details> = table?.results ?? NO_OVERRIDES;
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
      const t = inferType(overrides.values().next().value?.value ?? null);
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
