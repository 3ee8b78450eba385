import { describe, expect, it } from "vitest";
import { TenantIsolationError, type AuditSinkEntry, type FlagChange, type SignalSink } from "@ops/core";
import { memoryStores } from "@ops/adapter-memory";
import { randomTenant } from "@ops/testkit";
import { TenantScope, scopeStores, type ScopeStoresOptions } from "@ops/tenancy";

const NOW = "2026-01-01T00:00:00.000Z";

function setup(extra: Partial<ScopeStoresOptions> = {}) {
  const raw = memoryStores();
  const auditEntries: AuditSinkEntry[] = [];
  // Leak signals land in the real auth-event store, where @ops/incidents' detection reads them.
  let n = 0;
  const signals: SignalSink = {
    recordAuthEvent: async (e) => {
      await raw.authEvents.append({
        events: [{ id: `sig-${++n}`, type: e.type, occurredAt: NOW, tenantId: e.tenantId ?? null, ...(e.meta ? { meta: e.meta } : {}) }],
      });
    },
  };
  const scoped = scopeStores(raw, { signals, audit: { record: async (e) => void auditEntries.push(e) }, ...extra });
  const signalsOf = async (tenantId: string | null) => (await raw.authEvents.list({ tenantId, types: ["CROSS_TENANT_ACCESS"] })).items;
  return { raw, scoped, auditEntries, signalsOf };
}

async function expectLeak(p: Promise<unknown>, op: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TenantIsolationError);
  expect((err as Error).message).toMatch(/^\[ops\/tenancy\] /);
  expect((err as Error).message).toMatch(op);
}

describe("scopeStores on the memory adapter", () => {
  it("fills in the current tenant and keeps each tenant's flags to itself", async () => {
    const { raw, scoped } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    await new TenantScope(a).run(() =>
      scoped.flags.put({ env: "prod", key: "f", config: { on: true }, expectedVersion: null, actor: "u" }),
    );
    await new TenantScope(b).run(() =>
      scoped.flags.put({ env: "prod", key: "f", config: { on: false }, expectedVersion: null, actor: "u" }),
    );
    expect((await raw.flags.get({ env: "prod", key: "f", tenantId: a }))?.config).toEqual({ on: true });
    const seen = await new TenantScope(b).run(() => scoped.flags.get({ env: "prod", key: "f" }));
    expect(seen?.config).toEqual({ on: false });
    expect(seen?.tenantId).toBe(b);
  });

  it("refuses a cross-tenant read: throws, records a signal and an audit entry, never calls the store", async () => {
    const { raw, scoped, auditEntries, signalsOf } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    await raw.flags.put({ env: "prod", key: "secret", tenantId: b, config: 1, expectedVersion: null, actor: "u" });
    await new TenantScope(a).run(() =>
      expectLeak(scoped.flags.get({ env: "prod", key: "secret", tenantId: b }), /flags\.get refused in scope ".*" for tenant/),
    );
    const sig = await signalsOf(a);
    expect(sig).toHaveLength(1);
    expect(sig[0]?.meta).toMatchObject({ incidentType: "TENANT_LEAK_RISK", operation: "flags.get", attemptedTenant: b });
    expect(auditEntries).toHaveLength(1);
    expect(auditEntries[0]).toMatchObject({
      action: "TENANT_ISOLATION_VIOLATION",
      tenantId: a,
      outcome: "failure",
      target: { id: b, type: "tenant" },
    });
  });

  it("refuses cross-tenant writes on every store and leaves state unchanged", async () => {
    const { raw, scoped, auditEntries } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    const inA = <T>(fn: () => Promise<T>) => new TenantScope(a).run(fn);
    await inA(() =>
      expectLeak(scoped.flags.put({ env: "e", key: "k", tenantId: b, config: 1, expectedVersion: null, actor: "x" }), /flags\.put/),
    );
    await inA(() =>
      expectLeak(
        scoped.incidents.create({
          record: {
            id: "i1",
            tenantId: b,
            fingerprint: "fp",
            type: "T",
            severity: "low",
            state: "open",
            title: "t",
            openedAt: NOW,
            updatedAt: NOW,
            data: {},
          },
        }),
        /incidents\.create/,
      ),
    );
    await inA(() =>
      expectLeak(
        scoped.authEvents.append({
          events: [
            { id: "e1", type: "LOGIN_FAILED", occurredAt: NOW, tenantId: a },
            { id: "e2", type: "LOGIN_FAILED", occurredAt: NOW, tenantId: b },
          ],
        }),
        /authEvents\.append/,
      ),
    );
    await inA(() => expectLeak(scoped.counters.increment({ tenantId: b, key: "c", atMs: 0, bucketMs: 1000 }), /counters\.increment/));
    await inA(() =>
      expectLeak(
        scoped.outbox.enqueue({ message: { id: "m1", tenantId: b, channel: "log", payload: {}, idempotencyKey: "k1", createdAt: NOW } }),
        /outbox\.enqueue/,
      ),
    );
    await inA(() =>
      expectLeak(
        scoped.auditKeys.getOrCreate({ candidate: { keyId: "k", tenantId: b, subjectId: "s", key: new Uint8Array(32), createdAt: NOW } }),
        /auditKeys\.getOrCreate/,
      ),
    );
    await inA(() => expectLeak(scoped.audit.head({ tenantId: b }), /audit\.head/));
    expect(raw.flags.peek({ env: "e", key: "k", tenantId: b })).toBeNull();
    expect(await raw.incidents.get({ tenantId: b, id: "i1" })).toBeNull();
    expect((await raw.authEvents.list({ tenantId: a })).items.filter((e) => e.type === "LOGIN_FAILED")).toHaveLength(0);
    expect(await raw.counters.sum({ tenantId: b, key: "c", bucketMs: 1000, fromMs: 0, toMs: 1000 })).toBe(0);
    expect(await raw.outbox.get({ id: "m1" })).toBeNull();
    expect(await raw.auditKeys.get({ tenantId: b, keyId: "k" })).toBeNull();
    expect(auditEntries).toHaveLength(7);
  });

  it("lets a tenant read global flag definitions but not write them", async () => {
    const { raw, scoped } = setup();
    const a = randomTenant();
    await raw.flags.put({ env: "prod", key: "g", tenantId: null, config: "def", expectedVersion: null, actor: "ops" });
    const inA = <T>(fn: () => Promise<T>) => new TenantScope(a).run(fn);
    expect((await inA(() => scoped.flags.get({ env: "prod", key: "g", tenantId: null })))?.config).toBe("def");
    await inA(() =>
      expectLeak(scoped.flags.put({ env: "prod", key: "g", tenantId: null, config: "evil", expectedVersion: 1, actor: "x" }), /flags\.put/),
    );
    expect(raw.flags.peek({ env: "prod", key: "g", tenantId: null })?.config).toBe("def");
    // Global scope writes global records only.
    await TenantScope.global().run(() => scoped.flags.put({ env: "prod", key: "g", config: "v2", expectedVersion: 1, actor: "ops" }));
    expect(raw.flags.peek({ env: "prod", key: "g", tenantId: null })?.config).toBe("v2");
    await TenantScope.global().run(() => expectLeak(scoped.flags.get({ env: "prod", key: "g", tenantId: a }), /flags\.get/));
  });

  it("narrows flags.snapshot to global + own records and filters flags.subscribe", async () => {
    const { raw, scoped } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    for (const t of [null, a, b]) await raw.flags.put({ env: "s", key: "k", tenantId: t, config: t, expectedVersion: null, actor: "u" });
    const snap = await new TenantScope(a).run(() => scoped.flags.snapshot({ env: "s" }));
    expect(snap.map((r) => r.tenantId).sort()).toEqual([a, null].sort());

    const seen: Array<[FlagChange, string | undefined]> = [];
    const { currentTenant } = await import("@ops/tenancy");
    const off = new TenantScope(a).run(() => scoped.flags.subscribe!((c) => seen.push([c, currentTenant()])));
    // A change made by tenant b's request must not reach tenant a's listener.
    await new TenantScope(b).run(() => scoped.flags.put({ env: "s", key: "k2", config: 1, expectedVersion: null, actor: "u" }));
    await raw.flags.put({ env: "s", key: "k2", tenantId: a, config: 1, expectedVersion: null, actor: "u" });
    await raw.flags.put({ env: "s", key: "k2", tenantId: null, config: 1, expectedVersion: null, actor: "u" });
    await new Promise((r) => setTimeout(r, 5));
    off();
    expect(seen.map(([c, t]) => [c.tenantId, t])).toEqual([
      [a, a],
      [null, a],
    ]);
  });

  it("audit.chains reveals only the scope's own chain", async () => {
    const { raw, scoped } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    const rec = (t: string) => ({
      id: `r-${t}`,
      tenantId: t,
      seq: 1,
      prevHash: "",
      hash: "h",
      ts: NOW,
      env: "prod",
      action: "X",
      actor: { id: "u", type: "user" as const },
      outcome: "success" as const,
      meta: {},
    });
    await raw.audit.append({ tenantId: b, records: [rec(b)] });
    expect(await new TenantScope(a).run(() => scoped.audit.chains())).toEqual({ items: [], nextCursor: null });
    await new TenantScope(a).run(() => scoped.audit.append({ records: [rec(a)] }));
    expect(await new TenantScope(a).run(() => scoped.audit.chains())).toEqual({ items: [a], nextCursor: null });
    expect((await raw.audit.chains()).items).toEqual(expect.arrayContaining([a, b]));
  });

  it("narrows incidents.scan to the scope's tenant", async () => {
    const { raw, scoped } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    for (const t of [a, b])
      await raw.incidents.create({
        record: {
          id: `i-${t}`,
          tenantId: t,
          fingerprint: "fp",
          type: "T",
          severity: "low",
          state: "open",
          title: "t",
          openedAt: NOW,
          updatedAt: NOW,
          data: {},
        },
      });
    const page = await new TenantScope(a).run(() => scoped.incidents.scan({ states: ["open"] }));
    expect(page.items.map((i) => i.tenantId)).toEqual([a]);
  });

  it("outbox: refuses claim and prune, guards by-id calls, scopes list", async () => {
    const { raw, scoped } = setup();
    const [a, b] = [randomTenant(), randomTenant()];
    await raw.outbox.enqueue({
      message: { id: `m-${b}`, tenantId: b, channel: "log", payload: {}, idempotencyKey: `k-${b}`, createdAt: NOW },
    });
    const inA = <T>(fn: () => Promise<T>) => new TenantScope(a).run(fn);
    await inA(() =>
      scoped.outbox.enqueue({ message: { id: `m-${a}`, channel: "log", payload: {}, idempotencyKey: `k-${a}`, createdAt: NOW } }),
    );
    await inA(() => expectLeak(scoped.outbox.claim({ workerId: "w", limit: 10, leaseMs: 1000, now: NOW }), /outbox\.claim/));
    await inA(() => expectLeak(scoped.outbox.get({ id: `m-${b}` }), /outbox\.get/));
    // Idempotency keys are per tenant: the lookup runs in the current tenant and finds nothing of b's.
    expect(await inA(() => scoped.outbox.findByIdempotencyKey({ idempotencyKey: `k-${b}` }))).toBeNull();
    await inA(() => expectLeak(scoped.outbox.findByIdempotencyKey({ tenantId: b, idempotencyKey: `k-${b}` }), /findByIdempotencyKey/));
    await inA(() => expectLeak(scoped.outbox.fail({ id: `m-${b}`, workerId: "w", error: "x", now: NOW, final: "dead" }), /outbox\.fail/));
    await inA(() => expectLeak(scoped.outbox.cancel({ id: `m-${b}`, now: NOW, reason: "x" }), /outbox\.cancel/));
    await inA(() => expectLeak(scoped.authEvents.prune({ before: NOW }), /authEvents\.prune/));
    expect((await raw.outbox.get({ id: `m-${b}` }))?.status).toBe("pending");
    expect((await raw.outbox.get({ id: `m-${b}` }))?.leaseOwner).toBeNull();
    const listed = await inA(() => scoped.outbox.list({}));
    expect(listed.items.map((m) => m.id)).toEqual([`m-${a}`]);
    expect((await inA(() => scoped.outbox.get({ id: `m-${a}` })))?.tenantId).toBe(a);
    // Its own message: cancelled through the scoped store.
    expect(await inA(() => scoped.outbox.cancel({ id: `m-${a}`, now: NOW, reason: "not needed" }))).toMatchObject({
      status: "cancelled",
      lastError: "not needed",
    });
  });

  it("refuses calls outside any scope and methods it does not know", async () => {
    const { raw, scoped } = setup();
    await expect(scoped.flags.get({ env: "e", key: "k" })).rejects.toThrow(TenantIsolationError);
    const extended = Object.assign(raw, {
      flags: Object.assign(raw.flags, { purgeAll: async (_: { env: string }) => "purged" }),
    });
    const view = scopeStores(extended);
    const purge = (view.flags as unknown as { purgeAll: (i: { env: string }) => Promise<string> }).purgeAll;
    await new TenantScope("a").run(() => expectLeak(purge({ env: "e" }), /not classified as safe/));
    const allowed = scopeStores(extended, { unscopedMethods: { flags: ["purgeAll"] } });
    const purge2 = (allowed.flags as unknown as { purgeAll: (i: { env: string }) => Promise<string> }).purgeAll;
    expect(await new TenantScope("a").run(() => purge2({ env: "e" }))).toBe("purged");
  });

  it("refuses a foreign record returned by a broken store", async () => {
    const { raw, auditEntries } = setup();
    const b = randomTenant();
    await raw.flags.put({ env: "e", key: "k", tenantId: b, config: 1, expectedVersion: null, actor: "u" });
    // A store that ignores the tenant in its WHERE clause.
    const broken = Object.assign(Object.create(raw.flags) as typeof raw.flags, {
      get: (i: { env: string; key: string }) => raw.flags.get({ ...i, tenantId: b }),
    });
    const view = scopeStores({ ...raw, flags: broken }, { audit: { record: async (e) => void auditEntries.push(e) } });
    await new TenantScope("a").run(() => expectLeak(view.flags.get({ env: "e", key: "k" }), /returned a record of another tenant/));
    expect(auditEntries).toHaveLength(1);
  });

  it("never mutates the caller's input and keeps interleaved tenants apart", async () => {
    const { raw, scoped } = setup();
    const input = { env: "e", key: "k", config: 1, expectedVersion: null, actor: "u" };
    const tenants = Array.from({ length: 12 }, () => randomTenant());
    await Promise.all(tenants.map((t) => new TenantScope(t).run(() => scoped.flags.put(input))));
    expect(input).not.toHaveProperty("tenantId");
    const seen = await Promise.all(tenants.map((t) => new TenantScope(t).run(() => scoped.flags.list({ env: "e" }))));
    seen.forEach((page, i) => expect(page.items.map((r) => r.tenantId)).toEqual([tenants[i]]));
    expect((await raw.flags.snapshot({ env: "e" })).length).toBe(12);
  });

  it("a failing sink does not turn the refusal into another error", async () => {
    const errors: unknown[] = [];
    const { scoped } = setup({
      audit: { record: async () => Promise.reject(new Error("audit down")) },
      onReportError: (e) => errors.push(e),
    });
    await new TenantScope("a").run(() =>
      expectLeak(scoped.counters.sum({ tenantId: "b", key: "k", bucketMs: 1, fromMs: 0, toMs: 1 }), /counters\.sum/),
    );
    expect(errors).toHaveLength(1);
  });
});

describe("leak reports with a malformed attempted tenant (review)", () => {
  it("a refusal is audited even when the input's tenantId is a number, an object, empty or too long", async () => {
    // A sink that holds the AuditSinkEntry contract the way @ops/audit does (target.id: 1..256 chars).
    const recorded: AuditSinkEntry[] = [];
    const raw = memoryStores();
    const strictAudit = {
      record: async (e: AuditSinkEntry) => {
        const id: unknown = e.target?.id;
        if (typeof id !== "string" || id.length < 1 || id.length > 256) throw new Error("invalid audit entry: target.id");
        JSON.stringify(e.meta);
        recorded.push(e);
      },
    };
    const failures: unknown[] = [];
    const scoped = scopeStores(raw, { audit: strictAudit, onReportError: (err) => failures.push(err) });
    const a = randomTenant();
    for (const bad of [42, { id: "b" }, "", "x".repeat(300)])
      await new TenantScope(a).run(() =>
        expectLeak(scoped.flags.get({ env: "prod", key: "k", tenantId: bad as never }), /flags\.get refused/),
      );
    expect(failures).toEqual([]);
    expect(recorded.map((e) => e.target?.id)).toEqual(["(invalid)", "(invalid)", "(invalid)", "(invalid)"]);
    expect(recorded.map((e) => (e.meta as { attemptedTenantRaw?: string }).attemptedTenantRaw)).toEqual([
      "42",
      '{"id":"b"}',
      '""',
      `"${"x".repeat(127)}…`,
    ]);
  });
});
