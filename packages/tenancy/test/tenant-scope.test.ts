import { describe, expect, it } from "vitest";
import { TenantIsolationError, ValidationError } from "@ops/core";
import { TenantScope, currentScope, currentTenant, requireScopeKey, requireTenant, runUnscoped } from "@ops/tenancy";

describe("TenantScope (the seed's API)", () => {
  it("makes the tenant current for everything run calls, across awaits and timers", async () => {
    const tenantId = "tenant_abc";
    // Ensure operations are scoped to a tenant
    const scope = new TenantScope(tenantId);
    const seen = await scope.run(async () => {
      const first = currentTenant();
      await new Promise((r) => setTimeout(r, 1));
      const afterTimer = requireTenant();
      const inMicrotask = await Promise.resolve().then(() => currentTenant());
      return [first, afterTimer, inMicrotask];
    });
    expect(seen).toEqual(["tenant_abc", "tenant_abc", "tenant_abc"]);
    expect(currentTenant()).toBeUndefined();
  });

  it("requireTenant throws TenantIsolationError outside a scope and in the global scope", () => {
    expect(() => requireTenant()).toThrow(TenantIsolationError);
    expect(() => TenantScope.global().run(() => requireTenant())).toThrow(TenantIsolationError);
    expect(TenantScope.global().run(() => requireScopeKey())).toBeNull();
    expect(() => requireScopeKey()).toThrow(/no tenant scope is current/);
  });

  it("validates tenant ids with TenantIdSchema", () => {
    for (const bad of ["", "a b", "x".repeat(129), "(global)", "t/1"]) {
      expect(() => new TenantScope(bad)).toThrow(ValidationError);
      expect(() => new TenantScope(bad)).toThrow(/^\[ops\/tenancy\] invalid tenantId/);
    }
    expect(new TenantScope("acme.eu-1:prod_2").tenantId).toBe("acme.eu-1:prod_2");
  });

  it("keeps concurrent scopes apart", async () => {
    const tenants = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const results = await Promise.all(
      tenants.map((t, i) =>
        new TenantScope(t).run(async () => {
          await new Promise((r) => setTimeout(r, (i * 7) % 5));
          return currentTenant();
        }),
      ),
    );
    expect(results).toEqual(tenants);
  });

  it("refuses switching to another tenant inside a tenant, allows same tenant and global -> tenant", () => {
    const a = new TenantScope("a");
    expect(() => a.run(() => new TenantScope("b").run(() => 1))).toThrow(TenantIsolationError);
    expect(a.run(() => new TenantScope("a").run(() => currentTenant()))).toBe("a");
    expect(TenantScope.global().run(() => a.run(() => currentTenant()))).toBe("a");
    expect(a.run(() => runUnscoped(() => currentScope()))).toBeUndefined();
  });

  it("starts a lazy thenable (a Prisma-style query) inside the scope even when awaited outside", async () => {
    // Like PrismaPromise: nothing runs until `then` is called, and it reads the tenant then.
    const lazyQuery = () => ({
      then<R>(resolve: (v: string | undefined) => R, reject?: (e: unknown) => R) {
        try {
          return Promise.resolve(resolve(currentTenant()));
        } catch (e) {
          return Promise.resolve(reject?.(e) as R);
        }
      },
    });
    // Without the guard, awaiting outside loses the tenant:
    const unguarded = lazyQuery();
    expect(await unguarded).toBeUndefined();
    // Through run, the query starts inside the scope.
    const pending = new TenantScope("acme").run(() => lazyQuery());
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe("acme");
  });

  it("bind runs a callback in the scope wherever it is called", async () => {
    const cb = new TenantScope("acme").bind((x: number) => `${currentTenant()}:${x}`);
    expect(cb(1)).toBe("acme:1");
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(cb(2)).toBe("acme:2");
        resolve();
      }),
    );
  });
});
