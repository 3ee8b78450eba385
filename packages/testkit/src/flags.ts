import {
  ConflictError,
  NotFoundError,
  ValidationError,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type TenantKey,
} from "@ops/core";
import {
  concurrently,
  randomKey,
  randomTenant,
  registerCases,
  withStore,
  type ConformanceCase,
  type ConformanceOptions,
} from "./conformance.js";
import { guardCases } from "./guard.js";

/** Reads what a FlagStore really stored, bypassing its API (adapters implement it over their backend). */
export interface FlagRawBackdoor {
  read(input: { env: string; key: string; tenantId: TenantKey }): Promise<{ config: JsonValue; version: number; updatedBy: string } | null>;
}

export type FlagConformanceOptions = ConformanceOptions<FlagStore, FlagRawBackdoor>;

function fail(message: string): never {
  throw new Error(`[flag conformance] ${message}`);
}
function check(cond: unknown, message: string): asserts cond {
  if (!cond) fail(message);
}
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}
async function rejectsWith(p: Promise<unknown>, type: new (...a: never[]) => Error, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    check(err instanceof type, `${what}: expected ${type.name}, got ${String(err)}`);
    return;
  }
  fail(`${what}: expected ${type.name}, but it resolved`);
}
async function rawOrGet(
  store: FlagStore,
  raw: FlagRawBackdoor | undefined,
  at: { env: string; key: string; tenantId: TenantKey },
): Promise<{ config: JsonValue; version: number } | null> {
  return raw ? raw.read(at) : store.get(at);
}
async function listAll(store: FlagStore, env: string, tenantId: TenantKey, limit: number): Promise<FlagRecord[]> {
  const out: FlagRecord[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const page: { items: FlagRecord[]; nextCursor: string | null } = await store.list({ env, tenantId, limit, cursor });
    check(page.items.length <= limit, `list returned ${page.items.length} items for limit ${limit}`);
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  fail("list never ended");
}
async function eventually(cond: () => boolean, what: string): Promise<void> {
  // Not a timing assertion: a generous bound so a missing notification fails instead of hanging.
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  fail(`${what} (waited 5 s)`);
}

/** The FlagStore contract (see `FlagStore` JSDoc in @ops/core), as runnable cases. */
export function flagStoreCases(opts: FlagConformanceOptions): ConformanceCase[] {
  const env = () => randomKey("env");
  const c = (
    name: string,
    run: (s: FlagStore, raw: FlagRawBackdoor | undefined) => Promise<void>,
    requires?: ConformanceCase["requires"],
  ): ConformanceCase => ({
    name,
    ...(requires ? { requires } : {}),
    run: () => withStore(opts, run),
  });
  const config: JsonValue = {
    type: "boolean",
    enabled: true,
    value: true,
    rules: [{ id: "r1", when: [{ attr: "plan", op: "eq", value: "é✓" }] }],
    n: 1.5,
    z: null,
  };

  return [
    c("put creates at version 1 and get/raw return what was stored", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: null };
      check((await s.get(at)) === null, "get of a missing record must return null");
      const rec = await s.put({ ...at, config, expectedVersion: null, actor: "alice" });
      check(rec.version === 1, `created version must be 1, got ${rec.version}`);
      check(rec.key === at.key && rec.env === at.env && rec.tenantId === null, "put must return the record's identity");
      check(rec.updatedBy === "alice", "updatedBy must be the actor");
      check(!Number.isNaN(Date.parse(rec.updatedAt)), "updatedAt must be an ISO time");
      check(same(rec.config, config), "put must return the config as written");
      const got = await s.get(at);
      check(got && got.version === 1 && same(got.config, config), "get must return the stored config");
      const stored = await rawOrGet(s, raw, at);
      check(stored && stored.version === 1 && same(stored.config, config), "backdoor must show the stored config");
      if (raw) check((await raw.read(at))?.updatedBy === "alice", "backdoor must show updatedBy");
    }),

    c("put with the right expectedVersion increments the version", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: randomTenant() };
      await s.put({ ...at, config: { v: 1 }, expectedVersion: null, actor: "a" });
      const r2 = await s.put({ ...at, config: { v: 2 }, expectedVersion: 1, actor: "b" });
      check(r2.version === 2 && r2.updatedBy === "b", "second write must be version 2 by b");
      const stored = await rawOrGet(s, raw, at);
      check(stored?.version === 2 && same(stored.config, { v: 2 }), "stored record must be version 2");
    }),

    c("put rejects a stale or missing version with ConflictError and changes nothing", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: null };
      await rejectsWith(s.put({ ...at, config: 1, expectedVersion: 3, actor: "a" }), ConflictError, "update of a missing record");
      check((await rawOrGet(s, raw, at)) === null, "a failed update must not create the record");
      await s.put({ ...at, config: { v: 1 }, expectedVersion: null, actor: "a" });
      await rejectsWith(
        s.put({ ...at, config: { v: 9 }, expectedVersion: null, actor: "x" }),
        ConflictError,
        "create of an existing record",
      );
      await rejectsWith(s.put({ ...at, config: { v: 9 }, expectedVersion: 2, actor: "x" }), ConflictError, "update at a future version");
      await rejectsWith(s.put({ ...at, config: { v: 9 }, expectedVersion: 0, actor: "x" }), ConflictError, "update at version 0");
      const stored = await rawOrGet(s, raw, at);
      check(stored?.version === 1 && same(stored.config, { v: 1 }), "losing writes must change nothing");
    }),

    c("compare-and-set: exactly one of 20 concurrent updaters wins", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: randomTenant() };
      await s.put({ ...at, config: { w: -1 }, expectedVersion: null, actor: "seed" });
      const { fulfilled, rejected } = await concurrently(20, (i) => s.put({ ...at, config: { w: i }, expectedVersion: 1, actor: `w${i}` }));
      check(fulfilled.length === 1, `exactly one writer must win, ${fulfilled.length} did`);
      check(rejected.length === 19 && rejected.every((e) => e instanceof ConflictError), "the 19 losers must get ConflictError");
      const winner = fulfilled[0]!;
      const stored = await rawOrGet(s, raw, at);
      check(stored?.version === 2, `final version must be 2, got ${stored?.version}`);
      check(same(stored.config, winner.config), "the stored config must be the winner's");
    }),

    c("compare-and-set: exactly one of 20 concurrent creators wins", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: null };
      const { fulfilled, rejected } = await concurrently(20, (i) =>
        s.put({ ...at, config: { w: i }, expectedVersion: null, actor: `w${i}` }),
      );
      check(fulfilled.length === 1, `exactly one creator must win, ${fulfilled.length} did`);
      check(
        rejected.every((e) => e instanceof ConflictError),
        "losers must get ConflictError",
      );
      const stored = await rawOrGet(s, raw, at);
      check(stored?.version === 1 && same(stored.config, fulfilled[0]!.config), "the stored record must be the winner's");
    }),

    c("delete is compare-and-set and reports absence", async (s, raw) => {
      const at = { env: env(), key: randomKey("f"), tenantId: randomTenant() };
      await rejectsWith(s.delete({ ...at, expectedVersion: 1 }), NotFoundError, "delete of a missing record");
      await s.put({ ...at, config: true, expectedVersion: null, actor: "a" });
      await s.put({ ...at, config: false, expectedVersion: 1, actor: "a" });
      await rejectsWith(s.delete({ ...at, expectedVersion: 1 }), ConflictError, "delete at a stale version");
      check((await rawOrGet(s, raw, at))?.version === 2, "a failed delete must change nothing");
      const { fulfilled, rejected } = await concurrently(5, () => s.delete({ ...at, expectedVersion: 2 }));
      check(fulfilled.length === 1, `exactly one concurrent delete must win, ${fulfilled.length} did`);
      check(
        rejected.every((e) => e instanceof ConflictError || e instanceof NotFoundError),
        "losing deletes must throw Conflict/NotFound",
      );
      check((await rawOrGet(s, raw, at)) === null, "deleted record must be gone");
      check((await s.get(at)) === null, "get after delete must return null");
      const again = await s.put({ ...at, config: 1, expectedVersion: null, actor: "a" });
      check(again.version === 1, "a re-created record starts again at version 1");
    }),

    c("tenant isolation on get, put, delete and list", async (s, raw) => {
      const e = env();
      const key = randomKey("f");
      const a = randomTenant("a");
      const b = randomTenant("b");
      await s.put({ env: e, key, tenantId: null, config: "global", expectedVersion: null, actor: "g" });
      await s.put({ env: e, key, tenantId: a, config: "a", expectedVersion: null, actor: "a" });
      await s.put({ env: e, key, tenantId: b, config: "b", expectedVersion: null, actor: "b" });
      check((await s.get({ env: e, key, tenantId: a }))?.config === "a", "get(a) must return a's record");
      check((await s.get({ env: e, key, tenantId: b }))?.config === "b", "get(b) must return b's record");
      check((await s.get({ env: e, key, tenantId: null }))?.config === "global", "get(null) must return the global record");
      check((await s.get({ env: e, key, tenantId: randomTenant("c") })) === null, "get(c) must not fall back to others");
      await s.put({ env: e, key, tenantId: a, config: "a2", expectedVersion: 1, actor: "a" });
      check((await rawOrGet(s, raw, { env: e, key, tenantId: b }))?.version === 1, "a's update must not touch b");
      await rejectsWith(
        s.put({ env: e, key, tenantId: b, config: "x", expectedVersion: 2, actor: "b" }),
        ConflictError,
        "versions are per tenant",
      );
      await s.delete({ env: e, key, tenantId: a, expectedVersion: 2 });
      check((await rawOrGet(s, raw, { env: e, key, tenantId: b }))?.config === "b", "a's delete must not touch b");
      check((await rawOrGet(s, raw, { env: e, key, tenantId: null }))?.config === "global", "a's delete must not touch global");
      const key2 = randomKey("f");
      await s.put({ env: e, key: key2, tenantId: b, config: 2, expectedVersion: null, actor: "b" });
      const listA = await listAll(s, e, a, 10);
      check(listA.length === 0, `list(a) must be empty after a's delete, got ${listA.length}`);
      const listB = await listAll(s, e, b, 10);
      check(listB.length === 2 && listB.every((r) => r.tenantId === b), "list(b) must return only b's two records");
      const listG = await listAll(s, e, null, 10);
      check(listG.length === 1 && listG[0]!.tenantId === null, "list(null) must return only global records");
    }),

    c("environments are isolated", async (s) => {
      const e1 = env();
      const e2 = env();
      const key = randomKey("f");
      await s.put({ env: e1, key, tenantId: null, config: 1, expectedVersion: null, actor: "a" });
      check((await s.get({ env: e2, key, tenantId: null })) === null, "get in another env must be null");
      await s.put({ env: e2, key, tenantId: null, config: 2, expectedVersion: null, actor: "a" });
      check((await s.get({ env: e1, key, tenantId: null }))?.config === 1, "envs must not share records");
      check((await listAll(s, e1, null, 10)).length === 1, "list must stay in its env");
    }),

    c("list pages are complete, ordered and without duplicates", async (s) => {
      const e = env();
      const t = randomTenant();
      const keys = Array.from({ length: 23 }, (_, i) => `k_${String(i).padStart(2, "0")}_${randomKey("x")}`);
      for (const key of [...keys].reverse()) await s.put({ env: e, key, tenantId: t, config: key, expectedVersion: null, actor: "a" });
      const first = await s.list({ env: e, tenantId: t, limit: 5 });
      check(first.items.length === 5 && first.nextCursor, "first page must be full with a cursor");
      const all = await listAll(s, e, t, 5);
      check(
        same(
          all.map((r) => r.key),
          [...keys].sort(),
        ),
        "pages must hold every key once, in key order",
      );
      const exact = await s.list({ env: e, tenantId: t, limit: 23 });
      check(exact.items.length === 23, "a page of exactly all records must hold them all");
      const big = await s.list({ env: e, tenantId: t, limit: 1000 });
      check(big.items.length === 23 && big.nextCursor === null, "the last page must have a null cursor");
      const empty = await s.list({ env: e, tenantId: randomTenant(), limit: 5 });
      check(empty.items.length === 0 && empty.nextCursor === null, "an empty scope lists nothing");
    }),

    c("list is stable under concurrent inserts and deletes", async (s) => {
      const e = env();
      const t = randomTenant();
      const base = Array.from({ length: 30 }, (_, i) => `m_${String(i).padStart(2, "0")}`);
      for (const key of base) await s.put({ env: e, key, tenantId: t, config: 0, expectedVersion: null, actor: "a" });
      const seen: string[] = [];
      let cursor: string | null = null;
      let n = 0;
      do {
        const page: { items: FlagRecord[]; nextCursor: string | null } = await s.list({ env: e, tenantId: t, limit: 4, cursor });
        seen.push(...page.items.map((r) => r.key));
        cursor = page.nextCursor;
        // Inserts before, inside and after the walked range, plus a delete of a new key.
        n += 1;
        await Promise.all([
          s.put({ env: e, key: `a_${n}`, tenantId: t, config: n, expectedVersion: null, actor: "x" }),
          s.put({ env: e, key: `m_${String(n).padStart(2, "0")}_${n}`, tenantId: t, config: n, expectedVersion: null, actor: "x" }),
          s.put({ env: e, key: `z_${n}`, tenantId: t, config: n, expectedVersion: null, actor: "x" }),
        ]);
      } while (cursor);
      check(new Set(seen).size === seen.length, "a walk must never return a key twice");
      for (const key of base) check(seen.includes(key), `record ${key} existing for the whole walk was missed`);
      check(same(seen, [...seen].sort()), "a walk must return keys in order");
    }),

    c("list rejects a bad limit or a forged cursor with ValidationError", async (s) => {
      const e = env();
      await rejectsWith(s.list({ env: e, tenantId: null, limit: 0 }), ValidationError, "limit 0");
      await rejectsWith(s.list({ env: e, tenantId: null, limit: 1.5 }), ValidationError, "limit 1.5");
      await rejectsWith(s.list({ env: e, tenantId: null, cursor: "not-a-cursor!" }), ValidationError, "forged cursor");
    }),

    c("snapshot returns every record of the environment, global and tenants'", async (s) => {
      const e = env();
      const key = randomKey("f");
      const a = randomTenant();
      await s.put({ env: e, key, tenantId: null, config: "g", expectedVersion: null, actor: "a" });
      await s.put({ env: e, key, tenantId: a, config: "a", expectedVersion: null, actor: "a" });
      await s.put({ env: e, key: randomKey("f"), tenantId: null, config: "g2", expectedVersion: null, actor: "a" });
      await s.put({ env: env(), key, tenantId: null, config: "other env", expectedVersion: null, actor: "a" });
      const snap = await s.snapshot({ env: e });
      check(snap.length === 3, `snapshot must hold 3 records, got ${snap.length}`);
      check(
        snap.every((r) => r.env === e),
        "snapshot must stay in its env",
      );
      check(
        snap.some((r) => r.tenantId === a && r.config === "a"),
        "snapshot must include tenant overrides",
      );
    }),

    c("snapshotPage streams the snapshot in pages: every record once, in its env, then a null cursor", async (s) => {
      if (typeof s.snapshotPage !== "function") return;
      const e = env();
      const keys = [randomKey("f"), randomKey("f"), randomKey("f")];
      const tenants = [randomTenant(), randomTenant(), randomTenant(), randomTenant()];
      const want = new Set<string>();
      const id = (r: { key: string; tenantId: TenantKey }) => `${r.tenantId ?? "(global)"}/${r.key}`;
      for (const key of keys) {
        await s.put({ env: e, key, tenantId: null, config: "g", expectedVersion: null, actor: "a" });
        want.add(id({ key, tenantId: null }));
        for (const tenantId of tenants) {
          await s.put({ env: e, key, tenantId, config: { value: tenantId }, expectedVersion: null, actor: "a" });
          want.add(id({ key, tenantId }));
        }
      }
      await s.put({ env: env(), key: keys[0]!, tenantId: tenants[0]!, config: "other env", expectedVersion: null, actor: "a" });
      for (const limit of [1, 4, 7, 1000]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: Awaited<ReturnType<NonNullable<FlagStore["snapshotPage"]>>> = await s.snapshotPage({ env: e, limit, cursor });
          for (const r of page.items) {
            check(r.env === e, "snapshotPage must stay in its env");
            if (r.tenantId !== null) check(same(r.config, { value: r.tenantId }), "snapshotPage must return the stored config");
            seen.push(id(r));
          }
          cursor = page.nextCursor;
          check(++pages <= want.size + 16, `snapshotPage with limit ${limit} must end`);
        } while (cursor !== null);
        check(seen.length === want.size, `snapshotPage with limit ${limit} must return ${want.size} records once each, got ${seen.length}`);
        check(
          seen.every((x) => want.has(x)),
          `snapshotPage with limit ${limit} must return exactly the snapshot's records`,
        );
      }
      await rejectsWith(s.snapshotPage({ env: e, limit: 0 }), ValidationError, "limit 0");
      await rejectsWith(s.snapshotPage({ env: e, cursor: "not-a-cursor!" }), ValidationError, "forged cursor");
    }),

    c("config round-trips as JSON (nested, unicode, numbers, null)", async (s) => {
      const at = { env: env(), key: randomKey("f"), tenantId: randomTenant() };
      const deep: JsonValue = { a: [1, -2.5, 1e21, 0, "ü→😀", null, true, { b: { c: [] } }], "key with space": "", empty: {} };
      await s.put({ ...at, config: deep, expectedVersion: null, actor: "ü" });
      check(same((await s.get(at))?.config, deep), "config must round-trip");
      for (const scalar of [false, 0, "s", null] as JsonValue[]) {
        const k = { ...at, key: randomKey("s") };
        await s.put({ ...k, config: scalar, expectedVersion: null, actor: "a" });
        check(same((await s.get(k))?.config, scalar), `scalar config ${JSON.stringify(scalar)} must round-trip`);
      }
    }),

    c("records returned are copies: mutating them changes nothing stored", async (s) => {
      const at = { env: env(), key: randomKey("f"), tenantId: null };
      const cfg = { list: [1] };
      const rec = await s.put({ ...at, config: cfg, expectedVersion: null, actor: "a" });
      cfg.list.push(2);
      (rec.config as { list: number[] }).list.push(3);
      const got = await s.get(at);
      check(same(got?.config, { list: [1] }), "stored config must not change through references");
    }),

    c(
      "subscribe delivers every committed change, in version order, and unsubscribes",
      async (s) => {
        check(typeof s.subscribe === "function", "a store declaring pubsub must implement subscribe");
        const e = env();
        const key = randomKey("f");
        const t = randomTenant();
        const got: FlagChange[] = [];
        const boom = s.subscribe!(() => {
          throw new Error("listener failure must not stop delivery");
        });
        const stop = s.subscribe!((ch) => {
          if (ch.env === e) got.push(ch);
        });
        await s.put({ env: e, key, tenantId: t, config: 1, expectedVersion: null, actor: "a" });
        await s.put({ env: e, key, tenantId: t, config: 2, expectedVersion: 1, actor: "a" });
        await rejectsWith(s.put({ env: e, key, tenantId: t, config: 3, expectedVersion: 1, actor: "a" }), ConflictError, "stale write");
        await s.delete({ env: e, key, tenantId: t, expectedVersion: 2 });
        await eventually(() => got.some((ch) => ch.version === 0), "the delete notification must arrive");
        const versions = got.filter((ch) => ch.key === key && ch.tenantId === t).map((ch) => ch.version);
        check(same([...new Set(versions)], [1, 2, 0]), `expected notifications for versions 1,2,0 in order, got ${versions.join(",")}`);
        stop();
        stop();
        boom();
        const before = got.length;
        const key2 = randomKey("g");
        await s.put({ env: e, key: key2, tenantId: null, config: 1, expectedVersion: null, actor: "a" });
        // A second subscriber proves the change was published, so silence on the first means it unsubscribed.
        const seen: FlagChange[] = [];
        const stop2 = s.subscribe!((ch) => {
          if (ch.env === e) seen.push(ch);
        });
        await s.put({ env: e, key: key2, tenantId: null, config: 2, expectedVersion: 1, actor: "a" });
        await eventually(() => seen.some((ch) => ch.key === key2 && ch.version === 2), "a new subscriber must be notified");
        stop2();
        check(got.length === before, "an unsubscribed listener must not be called");
      },
      ["pubsub"],
    ),
  ];
}

/** Registers the FlagStore conformance cases as vitest tests. */
export function describeFlagStoreConformance(opts: FlagConformanceOptions): void {
  registerCases(
    `${opts.name}: FlagStore conformance`,
    [...flagStoreCases(opts), ...guardCases("flags", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
