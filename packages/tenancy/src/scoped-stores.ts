import { TenantIsolationError, type OpsStores, type TenantKey } from "@ops/core";
import { reportLeak, type LeakGuardOptions } from "./leak-guard.js";
import { currentScope, type TenantScope } from "./tenant-scope.js";
import { CROSS_TENANT_METHODS, type CallContext } from "./cross-tenant-methods.js";

/** The store slots of `OpsStores` that `scopeStores` wraps. */
export const SCOPED_STORE_NAMES = ["audit", "auditKeys", "flags", "incidents", "authEvents", "outbox", "counters"] as const;
export type ScopedStoreName = (typeof SCOPED_STORE_NAMES)[number];

type RecordKey = "record" | "records" | "event" | "events" | "message" | "messages" | "candidate";
type TenantOptional<T> = T extends { tenantId: infer X } ? Omit<T, "tenantId"> & { tenantId?: X } : T;
type OptionalTenant<I> = I extends (...args: never[]) => unknown
  ? I
  : I extends object
    ? TenantOptional<{
        [K in keyof I]: K extends RecordKey
          ? I[K] extends readonly (infer E)[]
            ? readonly TenantOptional<E>[]
            : TenantOptional<I[K]>
          : I[K];
      }>
    : I;
type ScopedArgs<A extends unknown[]> = A extends [infer I]
  ? [input: OptionalTenant<I>]
  : A extends [(infer I)?]
    ? [input?: OptionalTenant<I>]
    : A;

/** A store whose methods take `tenantId` optionally: it defaults to the current tenant. */
export type TenantScopedStore<S> = {
  [K in keyof S]: S[K] extends (...args: infer A) => infer R ? (...args: ScopedArgs<A>) => R : S[K];
};

/** What `scopeStores` returns: the same bundle, every store bound to the current scope. */
export type ScopedStores<S extends OpsStores> = {
  [K in keyof S]: K extends ScopedStoreName ? TenantScopedStore<S[K]> : S[K];
};

export interface ScopeStoresOptions extends LeakGuardOptions {
  /**
   * Where the scope comes from at each call. Default: `currentScope()` (the `TenantScope.run` in
   * progress). Pass `() => scope` to bind a view to one fixed tenant.
   */
  scope?: () => TenantScope | undefined;
  /**
   * Methods that take no tenant and are safe to pass through (their results are still checked and
   * refused when they hold another tenant's records), e.g. `{ outbox: ["stats"] }`. Any other
   * method without a tenant in its input is refused: a method added to a store later must be
   * classified before a scoped view lets it through.
   */
  unscopedMethods?: Partial<Record<ScopedStoreName | (string & {}), readonly string[]>>;
}

// Keys under which a store input nests whole records that carry their own tenantId.
const RECORD_KEYS = new Set(["record", "records", "event", "events", "message", "messages", "candidate"]);
// Opaque app data: a `tenantId` key inside them is the app's business, not a scope.
const OPAQUE_KEYS = new Set(["config", "payload", "data", "meta", "details", "value"]);
// Methods whose input is keyed by a top-level tenantId (filled in when omitted).
const TENANT_KEYED: Record<string, ReadonlySet<string>> = {
  audit: new Set(["append", "head", "range", "query"]),
  auditKeys: new Set(["get", "destroy"]),
  flags: new Set(["get", "put", "delete", "list"]),
  incidents: new Set(["get", "findActive", "update", "list", "getModel", "putModel"]),
  authEvents: new Set(["list", "countByType"]),
  counters: new Set(["increment", "read", "sum"]),
  outbox: new Set(["list", "findByIdempotencyKey"]),
};
// Reads that may see the global records from inside a tenant (flag definitions).
const SHARED_READ: Record<string, ReadonlySet<string>> = { flags: new Set(["get", "list", "snapshot", "snapshotPage"]) };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** A shallow copy with one property set. (Object spread is several times slower on Node 20 here.) */
function copyWith(src: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) out[k] = src[k];
  out[key] = value;
  return out;
}

/**
 * Collects every tenant an input names, filling in the scope where the input (for a tenant-keyed
 * method) or a nested record omits `tenantId`. Copy-on-write: the caller's objects are never
 * mutated, and an input that needs no filling is passed on as is (this runs on every store call).
 */
function normalizeInput(input: Record<string, unknown>, key: TenantKey, found: unknown[], keyed: boolean): Record<string, unknown> {
  let out = input;
  if (keyed || "tenantId" in input) {
    if (input.tenantId === undefined) {
      out = copyWith(input, "tenantId", key);
      found.push(key);
    } else found.push(input.tenantId);
  }
  for (const k of Object.keys(input)) {
    if (k === "tenantId" || OPAQUE_KEYS.has(k)) continue;
    const v = input[k];
    if (!isObject(v)) continue;
    const isRecord = RECORD_KEYS.has(k);
    if (Array.isArray(v)) {
      let filled: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (!isObject(item)) continue;
        if (isRecord && item.tenantId === undefined) {
          (filled ??= v.slice())[i] = copyWith(item, "tenantId", key);
          found.push(key);
        } else if ("tenantId" in item) found.push(item.tenantId);
      }
      if (filled) out = copyWith(out, k, filled);
    } else if (isRecord && v.tenantId === undefined) {
      out = copyWith(out, k, copyWith(v, "tenantId", key));
      found.push(key);
    } else if ("tenantId" in v) found.push(v.tenantId);
  }
  return out;
}

/** Tenants of the records a result holds: a record, an array of records, or a page. */
function resultTenants(result: unknown): unknown[] {
  if (!isObject(result)) return [];
  const list = Array.isArray(result) ? result : Array.isArray(result.items) ? result.items : [result];
  const out: unknown[] = [];
  for (const r of list) if (isObject(r) && "tenantId" in r) out.push(r.tenantId);
  return out;
}

function scopeStore<T extends object>(name: string, store: T, options: ScopeStoresOptions): T {
  const getScope = options.scope ?? currentScope;
  const unscoped = new Set(options.unscopedMethods?.[name] ?? []);
  const special = CROSS_TENANT_METHODS[name] ?? {};
  const sharedRead = SHARED_READ[name];
  const keyed = TENANT_KEYED[name];
  const cache = new Map<PropertyKey, unknown>();

  const refuse = async (scope: TenantScope, method: string, attempted: TenantKey | undefined, reason: string) => {
    throw await reportLeak(options, {
      currentTenant: scope.tenantId,
      ...(attempted === undefined ? {} : { attemptedTenant: attempted }),
      operation: `${name}.${method}`,
      reason,
    });
  };

  const requireScope = (method: string): TenantScope => {
    const scope = getScope();
    if (!scope)
      throw new TenantIsolationError(
        `[ops/tenancy] ${name}.${method} called outside any tenant scope: run it inside new TenantScope(tenantId).run(...)`,
      );
    return scope;
  };

  /** The first tenant in `result` the scope may not see, or undefined. */
  const foreignIn = (scope: TenantScope, shared: boolean, tenants: readonly unknown[]): TenantKey | undefined => {
    for (const t of tenants) if (t !== scope.tenantId && !(shared && t === null)) return t as TenantKey;
    return undefined;
  };

  // Plain functions with one `.then` rather than async functions: with AsyncLocalStorage active
  // every promise costs a hook call, and this wrapper sits on every store call.
  const checked = (scope: TenantScope, method: string, pending: unknown): Promise<unknown> =>
    Promise.resolve(pending).then((result) => {
      const bad = foreignIn(scope, sharedRead?.has(method) ?? false, resultTenants(result));
      return bad === undefined ? result : refuse(scope, method, bad, "the store returned a record of another tenant");
    });

  const wrap = (method: string, fn: (...args: unknown[]) => unknown): unknown => {
    const handler = special[method];
    if (handler?.sync) {
      return (...args: unknown[]) => {
        const scope = requireScope(method);
        return handler.sync!({ scope, store, args, method, refuse: (a, r) => refuse(scope, method, a, r) });
      };
    }
    const isKeyed = keyed?.has(method) ?? false;
    const shared = sharedRead?.has(method) ?? false;
    const isUnscoped = unscoped.has(method);
    return (...args: unknown[]): Promise<unknown> => {
      let scope: TenantScope;
      try {
        scope = requireScope(method);
      } catch (err) {
        return Promise.reject(err);
      }
      if (handler?.call) {
        const ctx: CallContext = { scope, store, args, method, refuse: (a, r) => refuse(scope, method, a, r) };
        return checked(scope, method, handler.call(ctx));
      }
      const found: unknown[] = [];
      const input =
        isObject(args[0]) || (args[0] === undefined && isKeyed)
          ? normalizeInput(isObject(args[0]) ? args[0] : {}, scope.tenantId, found, isKeyed)
          : args[0];
      if (found.length === 0 && !isUnscoped)
        return refuse(scope, method, undefined, "the method takes no tenant and is not classified as safe for a scoped store");
      const bad = foreignIn(scope, shared, found);
      if (bad !== undefined) return refuse(scope, method, bad, "the input names a tenant other than the current one");
      try {
        return checked(scope, method, fn.apply(store, args.length > 1 ? [input, ...args.slice(1)] : [input]));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  };

  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string" || prop === "close" || prop === "constructor")
        return typeof value === "function" ? value.bind(target) : value;
      let wrapped = cache.get(prop);
      if (!wrapped) {
        wrapped = wrap(prop, value as (...args: unknown[]) => unknown);
        cache.set(prop, wrapped);
      }
      return wrapped;
    },
  });
}

/**
 * Binds every store of a bundle to the current tenant scope: a call names the current tenant (or
 * omits it and gets it filled in), results are checked, and methods that read across tenants are
 * narrowed (`flags.snapshot`, `flags.subscribe`, `audit.chains`, `incidents.scan`) or refused
 * (`outbox.claim`, `authEvents.prune`). A cross-tenant attempt is reported (signal + audit entry)
 * and rejected with `TenantIsolationError`; the underlying store is never called for it.
 *
 * Inside a tenant, global flag records (`tenantId: null`) can be read (never written); every other
 * global record is reachable only from `TenantScope.global()`.
 * @throws TenantIsolationError from every method called outside a scope or across tenants.
 */
export function scopeStores<S extends OpsStores>(stores: S, options: ScopeStoresOptions = {}): ScopedStores<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(stores)) {
    const value = (stores as unknown as Record<string, unknown>)[key];
    out[key] = (SCOPED_STORE_NAMES as readonly string[]).includes(key) && isObject(value) ? scopeStore(key, value, options) : value;
  }
  if (typeof stores.close === "function") out.close = () => stores.close();
  return out as ScopedStores<S>;
}
