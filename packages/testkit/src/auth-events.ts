import { expect } from "vitest";
import { ValidationError, type AuthEventRecord, type AuthEventStore, type TenantKey } from "@ops/core";
import { concurrently, randomTenant, registerCases, withStore, type ConformanceCase, type ConformanceOptions } from "./conformance.js";
import { guardCases } from "./guard.js";

/** Reads what an adapter really stored, bypassing its own read methods and tenant filters. */
export interface AuthEventRawBackdoor {
  /** The stored event with this id, whatever its tenant, or null. */
  readEvent(id: string): Promise<AuthEventRecord | null>;
  /** How many stored rows carry this id (0 or 1 for a correct store). */
  countId(id: string): Promise<number>;
}

export type AuthEventConformanceOptions = ConformanceOptions<AuthEventStore, AuthEventRawBackdoor>;

let seq = 0;
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** A fresh auth event for `tenantId` with a unique id. */
export function sampleAuthEvent(tenantId: TenantKey, over: Partial<AuthEventRecord> = {}): AuthEventRecord {
  seq += 1;
  return {
    id: `ae_${Date.now().toString(36)}_${seq}_${Math.random().toString(36).slice(2, 8)}`,
    type: "LOGIN_FAILED",
    occurredAt: at(seq % 50),
    tenantId,
    userId: "u1",
    ip: "203.0.113.7",
    provider: "password",
    meta: { ua: "test", attempt: seq },
    ...over,
  };
}

/** The AuthEventStore contract (see the JSDoc of `AuthEventStore` in @ops/core). */
export function authEventStoreCases(opts: AuthEventConformanceOptions): ConformanceCase[] {
  return [
    {
      name: "append stores every field; a repeated id is skipped and not double counted",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const e = sampleAuthEvent(t);
          expect(await store.append({ events: [e] })).toEqual({ inserted: 1 });
          if (raw) expect(await raw.readEvent(e.id)).toEqual(e);
          expect((await store.list({ tenantId: t })).items).toEqual([e]);
          expect(await store.append({ events: [{ ...e, type: "LOGIN_SUCCEEDED" }] })).toEqual({ inserted: 0 });
          expect((await store.list({ tenantId: t })).items).toEqual([e]);
          expect(await store.countByType({ tenantId: t, from: at(0), to: at(60) })).toEqual({ LOGIN_FAILED: 1 });
        }),
    },
    {
      name: "20 concurrent appends of one id store it once",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const e = sampleAuthEvent(t);
          const { fulfilled, rejected } = await concurrently(20, () => store.append({ events: [e] }));
          expect(rejected).toEqual([]);
          expect(fulfilled.reduce((s, r) => s + r.inserted, 0)).toBe(1);
          if (raw) expect(await raw.countId(e.id)).toBe(1);
          expect((await store.list({ tenantId: t })).items).toHaveLength(1);
        }),
    },
    {
      name: "ids are per tenant: the same id in two tenants and the global scope is three events, kept apart",
      run: () =>
        withStore(opts, async (store, raw) => {
          const a = randomTenant("a");
          const b = randomTenant("b");
          const ea = sampleAuthEvent(a, { occurredAt: at(7), userId: "alice" });
          const eb = { ...sampleAuthEvent(b, { occurredAt: at(8), userId: "bob" }), id: ea.id };
          const eg = { ...sampleAuthEvent(null, { occurredAt: at(9), userId: `g-${a}` }), id: ea.id };
          expect(await store.append({ events: [ea] })).toEqual({ inserted: 1 });
          // Another tenant's id is neither a collision (dropped) nor revealed: it is stored.
          expect(await store.append({ events: [eb] })).toEqual({ inserted: 1 });
          expect(await store.append({ events: [eg] })).toEqual({ inserted: 1 });
          if (raw) expect(await raw.countId(ea.id)).toBe(3);
          expect((await store.list({ tenantId: a })).items).toEqual([ea]);
          expect((await store.list({ tenantId: b })).items).toEqual([eb]);
          expect((await store.list({ tenantId: null, userId: `g-${a}` })).items).toEqual([eg]);
          // Still idempotent within each tenant.
          expect(await store.append({ events: [ea, eb, eg] })).toEqual({ inserted: 0 });
          if (raw) expect(await raw.countId(ea.id)).toBe(3);
        }),
    },
    {
      name: "list: newest first, filtered by types, user, ip and [from, to)",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const e1 = sampleAuthEvent(t, { occurredAt: at(1), type: "LOGIN_FAILED", userId: "alice", ip: "198.51.100.1" });
          const e2 = sampleAuthEvent(t, { occurredAt: at(2), type: "LOGIN_SUCCEEDED", userId: "alice", ip: "198.51.100.2" });
          const e3 = sampleAuthEvent(t, { occurredAt: at(3), type: "LOGIN_FAILED", userId: "bob", ip: "198.51.100.1" });
          await store.append({ events: [e2, e3, e1] });
          const ids = async (q: Parameters<AuthEventStore["list"]>[0]) => (await store.list(q)).items.map((e) => e.id);
          expect(await ids({ tenantId: t })).toEqual([e3.id, e2.id, e1.id]);
          expect(await ids({ tenantId: t, types: ["LOGIN_FAILED"] })).toEqual([e3.id, e1.id]);
          expect(await ids({ tenantId: t, userId: "alice" })).toEqual([e2.id, e1.id]);
          expect(await ids({ tenantId: t, ip: "198.51.100.1" })).toEqual([e3.id, e1.id]);
          expect(await ids({ tenantId: t, from: at(2), to: at(3) })).toEqual([e2.id]);
        }),
    },
    {
      name: "tenant isolation: list and countByType only see the given tenant (null is its own scope)",
      run: () =>
        withStore(opts, async (store) => {
          const a = randomTenant("a");
          const b = randomTenant("b");
          const ea = sampleAuthEvent(a, { occurredAt: at(5) });
          const eg = sampleAuthEvent(null, { occurredAt: at(5), userId: `g-${a}` });
          await store.append({ events: [ea, eg] });
          expect((await store.list({ tenantId: b })).items).toEqual([]);
          expect(await store.countByType({ tenantId: b, from: at(0), to: at(60) })).toEqual({});
          const globalIds = (await store.list({ tenantId: null, userId: `g-${a}` })).items.map((e) => e.id);
          expect(globalIds).toEqual([eg.id]);
          expect((await store.list({ tenantId: null, limit: 1000 })).items.map((e) => e.id)).not.toContain(ea.id);
          expect((await store.list({ tenantId: a })).items.map((e) => e.id)).toEqual([ea.id]);
        }),
    },
    {
      name: "countByType counts per type in [from, to)",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await store.append({
            events: [
              sampleAuthEvent(t, { occurredAt: at(10), type: "LOGIN_FAILED" }),
              sampleAuthEvent(t, { occurredAt: at(11), type: "LOGIN_FAILED" }),
              sampleAuthEvent(t, { occurredAt: at(12), type: "JWT_VALIDATION_ERROR" }),
              sampleAuthEvent(t, { occurredAt: at(20), type: "LOGIN_FAILED" }),
              sampleAuthEvent(t, { occurredAt: at(9), type: "LOGIN_FAILED" }),
            ],
          });
          expect(await store.countByType({ tenantId: t, from: at(10), to: at(20) })).toEqual({
            LOGIN_FAILED: 2,
            JWT_VALIDATION_ERROR: 1,
          });
        }),
    },
    {
      name: "list: pagination is complete, without duplicates, stable under concurrent appends",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const originals = Array.from({ length: 25 }, (_, i) => sampleAuthEvent(t, { occurredAt: at(i % 6) }));
          await store.append({ events: originals });
          const seen: string[] = [];
          let cursor: string | null = null;
          let n = 0;
          do {
            const page: { items: AuthEventRecord[]; nextCursor: string | null } = await store.list({ tenantId: t, limit: 4, cursor });
            seen.push(...page.items.map((e) => e.id));
            cursor = page.nextCursor;
            await store.append({ events: [sampleAuthEvent(t, { occurredAt: at(n++ % 8) })] });
          } while (cursor);
          expect(new Set(seen).size).toBe(seen.length);
          for (const e of originals) expect(seen).toContain(e.id);
        }),
    },
    {
      name: "a cursor that was not returned by the store is a ValidationError",
      run: () =>
        withStore(opts, async (store) => {
          await expect(store.list({ tenantId: randomTenant(), cursor: "not-a-cursor" })).rejects.toBeInstanceOf(ValidationError);
        }),
    },
    {
      name: "prune removes events older than `before` in every tenant and reports how many",
      run: () =>
        withStore(opts, async (store, raw) => {
          const a = randomTenant("a");
          const b = randomTenant("b");
          // Far in the past, so other tests' events sharing the database are never in range.
          const old = new Date(Date.UTC(1990, 0, 1)).toISOString();
          const keep = sampleAuthEvent(a, { occurredAt: new Date(Date.UTC(1990, 0, 3)).toISOString() });
          const gone = [sampleAuthEvent(a, { occurredAt: old }), sampleAuthEvent(b, { occurredAt: old })];
          await store.append({ events: [keep, ...gone] });
          expect(await store.prune({ before: new Date(Date.UTC(1990, 0, 2)).toISOString() })).toBe(2);
          expect((await store.list({ tenantId: a })).items.map((e) => e.id)).toEqual([keep.id]);
          expect((await store.list({ tenantId: b })).items).toEqual([]);
          if (raw) for (const e of gone) expect(await raw.readEvent(e.id)).toBeNull();
        }),
    },
    {
      name: "forgetSubject pseudonymises the subject's events, drops their IP, scrubs identifiers from meta; others untouched",
      requires: ["erasure"],
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant("f");
          const other = randomTenant("o");
          const mine = sampleAuthEvent(t, {
            userId: "user_forget_me",
            ip: "203.0.113.99",
            meta: { email: "ada@example.org", ua: "AdaBrowser/1.0" },
          });
          const sameIp = sampleAuthEvent(t, { userId: "someone_else", ip: "203.0.113.99", meta: { note: "ok" } });
          const untouched = sampleAuthEvent(t, { userId: "someone_else", ip: "198.51.100.1", meta: { note: "keep" } });
          const otherTenant = sampleAuthEvent(other, { userId: "user_forget_me", ip: "203.0.113.99", meta: { email: "ada@example.org" } });
          await store.append({ events: [mine, sameIp, untouched, otherTenant] });
          expect(typeof store.forgetSubject).toBe("function");
          const res = await store.forgetSubject!({
            tenantId: t,
            subjectId: "user_forget_me",
            identifiers: ["ada@example.org", "203.0.113.99", "AdaBrowser/1.0"],
            pseudonym: "forgotten_x1",
          });
          expect(res).toEqual({ records: 2 });
          const read = async (id: string) =>
            raw
              ? await raw.readEvent(id)
              : ((await store.list({ tenantId: id === otherTenant.id ? other : t, limit: 100 })).items.find((e) => e.id === id) ?? null);
          const a = await read(mine.id);
          expect(a).toMatchObject({
            id: mine.id,
            type: mine.type,
            occurredAt: mine.occurredAt,
            userId: "forgotten_x1",
            meta: { email: "[ERASED]", ua: "[ERASED]" },
          });
          expect(a!.ip ?? undefined).toBeUndefined();
          const b = await read(sameIp.id);
          expect(b!.ip ?? undefined).toBeUndefined();
          expect(b).toMatchObject({ userId: "someone_else" });
          expect(await read(untouched.id)).toMatchObject({ userId: "someone_else", ip: "198.51.100.1", meta: { note: "keep" } });
          expect(await read(otherTenant.id)).toMatchObject({
            userId: "user_forget_me",
            ip: "203.0.113.99",
            meta: { email: "ada@example.org" },
          });
          expect(JSON.stringify((await store.list({ tenantId: t, limit: 100 })).items)).not.toMatch(
            /ada@example|203\.0\.113\.99|AdaBrowser|user_forget_me/,
          );
        }),
    },
  ];
}

/** Registers the AuthEventStore conformance suite with vitest. */
export function describeAuthEventStoreConformance(opts: AuthEventConformanceOptions): void {
  registerCases(
    `${opts.name}: AuthEventStore conformance`,
    [...authEventStoreCases(opts), ...guardCases("authEvents", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
