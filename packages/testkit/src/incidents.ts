import { expect } from "vitest";
import { ConflictError, NotFoundError, ValidationError, type IncidentRecord, type IncidentStore, type TenantKey } from "@ops/core";
import { concurrently, randomTenant, registerCases, withStore, type ConformanceCase, type ConformanceOptions } from "./conformance.js";
import { guardCases } from "./guard.js";

/** Reads what an adapter really stored, bypassing its own read methods and tenant filters. */
export interface IncidentRawBackdoor {
  /** The stored incident with this id, whatever its tenant, or null. */
  readIncident(id: string): Promise<IncidentRecord | null>;
}

export type IncidentConformanceOptions = ConformanceOptions<IncidentStore, IncidentRawBackdoor>;

let seq = 0;
/** A fresh incident record for `tenantId` (unique id and fingerprint unless given). */
export function sampleIncident(tenantId: TenantKey, over: Partial<Omit<IncidentRecord, "version">> = {}): Omit<IncidentRecord, "version"> {
  seq += 1;
  const n = `${Date.now().toString(36)}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    id: `inc_${n}`,
    tenantId,
    fingerprint: `fp_${n}`,
    type: "FAILED_LOGINS_SPIKE",
    severity: "high",
    state: "open",
    title: "Failed logins spike",
    openedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq % 1000)).toISOString(),
    updatedAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    data: { n: seq, nested: { list: [1, "two", null, true] } },
    ...over,
  };
}

async function rawOrGet(store: IncidentStore, raw: IncidentRawBackdoor | undefined, tenantId: TenantKey, id: string) {
  return raw ? raw.readIncident(id) : store.get({ tenantId, id });
}

async function drainList(store: IncidentStore, tenantId: TenantKey, limit: number, between?: () => Promise<void>) {
  const seen: IncidentRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: IncidentRecord[]; nextCursor: string | null } = await store.list({ tenantId, limit, cursor });
    seen.push(...page.items);
    cursor = page.nextCursor;
    if (between) await between();
  } while (cursor);
  return seen;
}

/** The IncidentStore contract (see the JSDoc of `IncidentStore` in @ops/core). */
export function incidentStoreCases(opts: IncidentConformanceOptions): ConformanceCase[] {
  return [
    {
      name: "create stores the record at version 1, exactly as given",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const rec = sampleIncident(t);
          const created = await store.create({ record: rec });
          expect(created).toEqual({ ...rec, version: 1 });
          expect(await rawOrGet(store, raw, t, rec.id)).toEqual({ ...rec, version: 1 });
          expect(await store.get({ tenantId: t, id: rec.id })).toEqual({ ...rec, version: 1 });
        }),
    },
    {
      name: "create: exactly one of 20 concurrent creators of one id wins, the others get ConflictError",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const base = sampleIncident(t);
          const { fulfilled, rejected } = await concurrently(20, (i) => store.create({ record: { ...base, title: `writer ${i}` } }));
          expect(fulfilled).toHaveLength(1);
          expect(rejected).toHaveLength(19);
          for (const e of rejected) expect(e).toBeInstanceOf(ConflictError);
          const stored = await rawOrGet(store, raw, t, base.id);
          expect(stored?.title).toBe(fulfilled[0]!.title);
          expect(stored?.version).toBe(1);
        }),
    },
    {
      name: "create: one active incident per fingerprint; a resolved one does not block a new one",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const first = await store.create({ record: sampleIncident(t, { fingerprint: "fp-same" }) });
          const dup = sampleIncident(t, { fingerprint: "fp-same" });
          await expect(store.create({ record: dup })).rejects.toBeInstanceOf(ConflictError);
          expect(await rawOrGet(store, raw, t, dup.id)).toBeNull();
          // Another tenant's fingerprint space is its own.
          const other = randomTenant();
          await store.create({ record: sampleIncident(other, { fingerprint: "fp-same" }) });
          await store.update({
            tenantId: t,
            id: first.id,
            expectedVersion: 1,
            patch: { state: "resolved", resolvedAt: new Date().toISOString() },
          });
          expect(await store.findActive({ tenantId: t, fingerprint: "fp-same" })).toBeNull();
          const again = await store.create({ record: dup });
          expect((await store.findActive({ tenantId: t, fingerprint: "fp-same" }))?.id).toBe(again.id);
        }),
    },
    {
      name: "update: compare-and-set with exactly one winner among 20 concurrent writers",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const rec = await store.create({ record: sampleIncident(t) });
          const { fulfilled, rejected } = await concurrently(20, (i) =>
            store.update({ tenantId: t, id: rec.id, expectedVersion: 1, patch: { title: `w${i}`, data: { w: i } } }),
          );
          expect(fulfilled).toHaveLength(1);
          expect(rejected).toHaveLength(19);
          for (const e of rejected) expect(e).toBeInstanceOf(ConflictError);
          const stored = await rawOrGet(store, raw, t, rec.id);
          expect(stored?.version).toBe(2);
          expect(stored?.title).toBe(fulfilled[0]!.title);
          expect(stored?.data).toEqual(fulfilled[0]!.data);
          await expect(store.update({ tenantId: t, id: rec.id, expectedVersion: 1, patch: { title: "stale" } })).rejects.toBeInstanceOf(
            ConflictError,
          );
          expect((await rawOrGet(store, raw, t, rec.id))?.title).toBe(fulfilled[0]!.title);
        }),
    },
    {
      name: "update: patches only the given fields, replaces data whole, increments the version",
      run: () =>
        withStore(opts, async (store, raw) => {
          const t = randomTenant();
          const rec = await store.create({ record: sampleIncident(t, { data: { a: 1, b: { c: 2 } } }) });
          const at = new Date(Date.UTC(2026, 0, 2)).toISOString();
          const next = await store.update({
            tenantId: t,
            id: rec.id,
            expectedVersion: 1,
            patch: { state: "acknowledged", updatedAt: at, data: { b: { d: 3 } } },
          });
          const expected = { ...rec, state: "acknowledged", updatedAt: at, data: { b: { d: 3 } }, version: 2 };
          expect(next).toEqual(expected);
          expect(await rawOrGet(store, raw, t, rec.id)).toEqual(expected);
          await expect(
            store.update({ tenantId: t, id: "inc_missing_" + t, expectedVersion: 1, patch: { title: "x" } }),
          ).rejects.toBeInstanceOf(NotFoundError);
        }),
    },
    {
      name: "tenant isolation: get, findActive, update, list, scan scope and models never cross tenants",
      run: () =>
        withStore(opts, async (store, raw) => {
          const a = randomTenant("a");
          const b = randomTenant("b");
          const rec = await store.create({ record: sampleIncident(a, { fingerprint: "fp-iso" }) });
          expect(await store.get({ tenantId: b, id: rec.id })).toBeNull();
          expect(await store.get({ tenantId: null, id: rec.id })).toBeNull();
          expect(await store.findActive({ tenantId: b, fingerprint: "fp-iso" })).toBeNull();
          expect(await store.findActive({ tenantId: null, fingerprint: "fp-iso" })).toBeNull();
          await expect(store.update({ tenantId: b, id: rec.id, expectedVersion: 1, patch: { title: "hijack" } })).rejects.toBeInstanceOf(
            NotFoundError,
          );
          expect((await rawOrGet(store, raw, a, rec.id))?.title).toBe(rec.title);
          expect((await store.list({ tenantId: b })).items).toEqual([]);
          expect((await store.list({ tenantId: null, limit: 1000 })).items.map((r) => r.id)).not.toContain(rec.id);
          expect((await store.list({ tenantId: a })).items.map((r) => r.id)).toEqual([rec.id]);
          await store.putModel({ tenantId: a, name: "triage", model: { w: [1] }, expectedVersion: null, updatedAt: rec.updatedAt });
          expect(await store.getModel({ tenantId: b, name: "triage" })).toBeNull();
          // b's own model does not collide with a's.
          const mb = await store.putModel({
            tenantId: b,
            name: "triage",
            model: { w: [2] },
            expectedVersion: null,
            updatedAt: rec.updatedAt,
          });
          expect(mb.version).toBe(1);
          expect((await store.getModel({ tenantId: a, name: "triage" }))?.model).toEqual({ w: [1] });
        }),
    },
    {
      name: "list: newest first by openedAt then id, filtered by states and types",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
          const r1 = await store.create({ record: sampleIncident(t, { openedAt: at(1), id: `inc_${t}_1` }) });
          const r2 = await store.create({
            record: sampleIncident(t, { openedAt: at(2), id: `inc_${t}_2`, type: "JWT_VALIDATION_ERRORS" }),
          });
          const r3 = await store.create({ record: sampleIncident(t, { openedAt: at(2), id: `inc_${t}_3`, state: "acknowledged" }) });
          expect((await store.list({ tenantId: t })).items.map((r) => r.id)).toEqual([r3.id, r2.id, r1.id]);
          expect((await store.list({ tenantId: t, states: ["open"] })).items.map((r) => r.id)).toEqual([r2.id, r1.id]);
          expect((await store.list({ tenantId: t, types: ["JWT_VALIDATION_ERRORS"] })).items.map((r) => r.id)).toEqual([r2.id]);
          expect((await store.list({ tenantId: t, states: ["resolved"] })).items).toEqual([]);
        }),
    },
    {
      name: "list: pagination is complete, without duplicates, stable under concurrent inserts",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const originals = new Set<string>();
          for (let i = 0; i < 23; i++)
            originals.add(
              (await store.create({ record: sampleIncident(t, { openedAt: new Date(Date.UTC(2026, 0, 1, 0, i % 5)).toISOString() }) })).id,
            );
          let inserted = 0;
          const seen = await drainList(store, t, 4, async () => {
            // New incidents land both before and after the cursor position while we page.
            await store.create({ record: sampleIncident(t, { openedAt: new Date(Date.UTC(2026, 0, 1, 0, inserted % 7)).toISOString() }) });
            inserted++;
          });
          const ids = seen.map((r) => r.id);
          expect(new Set(ids).size).toBe(ids.length);
          for (const id of originals) expect(ids).toContain(id);
          expect(inserted).toBeGreaterThan(4);
        }),
    },
    {
      name: "scan: every tenant's incidents (global too) by id, paged completely, filtered by state",
      run: () =>
        withStore(opts, async (store) => {
          const tenants: TenantKey[] = [randomTenant("s1"), randomTenant("s2"), null];
          const mine = new Set<string>();
          for (const t of tenants)
            for (let i = 0; i < 3; i++)
              mine.add((await store.create({ record: sampleIncident(t, { state: i === 2 ? "resolved" : "open" }) })).id);
          const seen: IncidentRecord[] = [];
          let cursor: string | null = null;
          do {
            const page: { items: IncidentRecord[]; nextCursor: string | null } = await store.scan({ states: ["open"], limit: 2, cursor });
            seen.push(...page.items);
            cursor = page.nextCursor;
          } while (cursor);
          const ids = seen.map((r) => r.id);
          expect(new Set(ids).size).toBe(ids.length);
          const sorted = [...ids].sort();
          expect(ids).toEqual(sorted);
          const ours = seen.filter((r) => mine.has(r.id));
          expect(ours).toHaveLength(6);
          expect(ours.every((r) => r.state === "open")).toBe(true);
        }),
    },
    {
      name: "models: compare-and-set put with one winner, versions increment",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const now = new Date().toISOString();
          const v1 = await store.putModel({ tenantId: t, name: "triage", model: { a: 1 }, expectedVersion: null, updatedAt: now });
          expect(v1.version).toBe(1);
          await expect(
            store.putModel({ tenantId: t, name: "triage", model: { a: 9 }, expectedVersion: null, updatedAt: now }),
          ).rejects.toBeInstanceOf(ConflictError);
          const { fulfilled, rejected } = await concurrently(10, (i) =>
            store.putModel({ tenantId: t, name: "triage", model: { a: i }, expectedVersion: 1, updatedAt: now }),
          );
          expect(fulfilled).toHaveLength(1);
          for (const e of rejected) expect(e).toBeInstanceOf(ConflictError);
          const got = await store.getModel({ tenantId: t, name: "triage" });
          expect(got?.version).toBe(2);
          expect(got?.model).toEqual(fulfilled[0]!.model);
          expect(await store.getModel({ tenantId: t, name: "other" })).toBeNull();
        }),
    },
    {
      name: "a cursor that was not returned by the store is a ValidationError",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          await expect(store.list({ tenantId: t, cursor: "not-a-cursor" })).rejects.toBeInstanceOf(ValidationError);
          await expect(store.scan({ cursor: "%%%" })).rejects.toBeInstanceOf(ValidationError);
        }),
    },
    {
      name: "records are copies: mutating a returned record changes nothing stored",
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant();
          const rec = await store.create({ record: sampleIncident(t, { data: { k: 1 } }) });
          rec.data.k = 2;
          rec.title = "mutated";
          const got = await store.get({ tenantId: t, id: rec.id });
          expect(got?.data).toEqual({ k: 1 });
          expect(got?.title).not.toBe("mutated");
        }),
    },
    {
      name: "forgetSubject scrubs the subject from titles and data snapshots, bumping the version; other tenants untouched",
      requires: ["erasure"],
      run: () =>
        withStore(opts, async (store) => {
          const t = randomTenant("f");
          const other = randomTenant("o");
          const hit = await store.create({
            record: sampleIncident(t, {
              title: "Brute force from 203.0.113.99",
              data: { offenders: [{ userId: "user_forget_me", ip: "203.0.113.99" }], note: "mail ada@example.org" },
            }),
          });
          const clean = await store.create({ record: sampleIncident(t, { data: { offenders: [{ userId: "u2", ip: "198.51.100.1" }] } }) });
          const elsewhere = await store.create({
            record: sampleIncident(other, { title: "from 203.0.113.99", data: { userId: "user_forget_me" } }),
          });
          expect(typeof store.forgetSubject).toBe("function");
          expect(
            await store.forgetSubject!({
              tenantId: t,
              subjectId: "user_forget_me",
              identifiers: ["203.0.113.99", "ada@example.org"],
              pseudonym: "forgotten_x1",
            }),
          ).toEqual({ records: 1 });
          const after = await store.get({ tenantId: t, id: hit.id });
          expect(after).toMatchObject({
            title: "Brute force from [ERASED]",
            data: { offenders: [{ userId: "forgotten_x1", ip: "[ERASED]" }], note: "mail [ERASED]" },
            version: hit.version + 1,
          });
          expect(await store.get({ tenantId: t, id: clean.id })).toEqual(clean);
          expect(await store.get({ tenantId: other, id: elsewhere.id })).toEqual(elsewhere);
        }),
    },
  ];
}

/** Registers the IncidentStore conformance suite with vitest. */
export function describeIncidentStoreConformance(opts: IncidentConformanceOptions): void {
  registerCases(
    `${opts.name}: IncidentStore conformance`,
    [...incidentStoreCases(opts), ...guardCases("incidents", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
