import { AsyncLocalStorage } from "node:async_hooks";
import { TenantIdSchema, TenantIsolationError, parseInput, type TenantKey } from "@ops/core";

// One storage per process even when both the ESM and the CJS build are loaded (the dual-package
// hazard): two storages would make a scope set by one invisible to the other.
const KEY = Symbol.for("@ops/tenancy/scope-storage");
const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<TenantScope> | undefined>;
const storage: AsyncLocalStorage<TenantScope> = (holder[KEY] ??= new AsyncLocalStorage<TenantScope>());

function isLazyThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function" &&
    !(value instanceof Promise)
  );
}

/**
 * A tenant made current for everything `run` calls, synchronously or asynchronously
 * (AsyncLocalStorage). `TenantScope.global()` is the scope of records that belong to no tenant.
 */
export class TenantScope {
  /** The tenant, or `null` for the global scope. */
  readonly tenantId: TenantKey;

  /**
   * @throws ValidationError when `tenantId` is not a valid tenant id (`TenantIdSchema`).
   */
  constructor(tenantId: string) {
    this.tenantId = parseInput(TenantIdSchema, tenantId, { pkg: "tenancy", what: "tenantId" });
  }

  /** The scope of global records (`tenantId: null`): operators and app-wide jobs, never a request. */
  static global(): TenantScope {
    const scope = Object.create(TenantScope.prototype) as { tenantId: TenantKey };
    scope.tenantId = null;
    return Object.freeze(scope) as TenantScope;
  }

  get isGlobal(): boolean {
    return this.tenantId === null;
  }

  /**
   * Runs `fn` with this tenant current and returns what it returns.
   *
   * A lazy thenable returned by `fn` (a Prisma query, which starts only when awaited) is started
   * here, inside the scope, and a native promise returned in its place: awaited later, outside
   * `run`, it would otherwise execute with no tenant.
   *
   * Nesting: the same tenant, or any tenant inside the global scope, is allowed; switching from one
   * tenant to another is refused, because code running for tenant A should never act as B.
   * @throws TenantIsolationError when called inside a scope of another tenant.
   */
  run<T>(fn: () => T): T {
    const outer = storage.getStore();
    if (outer && !outer.isGlobal && outer.tenantId !== this.tenantId)
      throw new TenantIsolationError(
        `[ops/tenancy] cannot enter tenant "${this.tenantId ?? "(global)"}" from inside tenant "${outer.tenantId}": nested scopes must keep the tenant`,
      );
    return storage.run(this, () => {
      const result = fn();
      if (isLazyThenable(result))
        return new Promise((resolve, reject) => {
          result.then(resolve, reject);
        }) as T;
      return result;
    });
  }

  /**
   * Wraps `fn` so that it always runs in this scope, wherever it is called from (a callback
   * registered now and called later by a library that does not propagate async context).
   */
  bind<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => this.run(() => fn(...args));
  }
}

/** The current scope, or undefined outside any `run`. */
export function currentScope(): TenantScope | undefined {
  return storage.getStore();
}

/** The current tenant id; undefined outside any scope and in the global scope. */
export function currentTenant(): string | undefined {
  return storage.getStore()?.tenantId ?? undefined;
}

/**
 * The current tenant id.
 * @throws TenantIsolationError when no tenant is current (outside `run`, or in the global scope).
 */
export function requireTenant(): string {
  const tenantId = storage.getStore()?.tenantId;
  if (typeof tenantId !== "string")
    throw new TenantIsolationError(
      "[ops/tenancy] no tenant is current: run this inside new TenantScope(tenantId).run(...) (a query built inside run but awaited outside it loses the tenant)",
    );
  return tenantId;
}

/**
 * The current scope's key: the tenant id, or `null` in the global scope.
 * @throws TenantIsolationError outside any scope.
 */
export function requireScopeKey(): TenantKey {
  const scope = storage.getStore();
  if (!scope)
    throw new TenantIsolationError(
      "[ops/tenancy] no tenant scope is current: run this inside new TenantScope(tenantId).run(...) or TenantScope.global().run(...)",
    );
  return scope.tenantId;
}

/** Runs `fn` with no scope at all (an unscoped worker started from inside a request). */
export function runUnscoped<T>(fn: () => T): T {
  return storage.exit(fn);
}
