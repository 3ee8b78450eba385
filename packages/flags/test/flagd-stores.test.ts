import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FlagdCore } from "@openfeature/flagd-core";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, postgresStores } from "@ops/adapter-postgres";
import { redisStores } from "@ops/adapter-redis";
import type { FlagStore } from "@ops/core";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { FeatureFlagController, applyImport, importFlagd } from "@ops/flags";

// Imported flagd flags (with `bucketing.mode: "flagd"`) survive a round trip through every store:
// a controller on PostgreSQL or Redis evaluates them exactly like the memory-backed one and like
// @openfeature/flagd-core, and a second controller on the same store sees the imported flags.
const redisUp = await requireService("redis");
const pgUp = await requireService("postgres");
const schema = `opstest_flagsbk_flagd_${process.pid}_${Date.now().toString(36)}`;
const pool = new pg.Pool({ connectionString: testPgUrl(), max: 4 });
if (pgUp) {
  const c = await pool.connect();
  try {
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.query(`SET search_path TO "${schema}"`);
    for (const m of OPS_MIGRATIONS) for (const st of migrationStatements(m.sql)) await c.query(st);
    // The migrating role (CI: the non-superuser ops_test, owner under FORCE RLS) gets the service policy.
    const me = String((await c.query("SELECT current_user AS me")).rows[0]?.me);
    for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await c.query(st);
  } finally {
    await c.query("RESET search_path").catch(() => {});
    c.release();
  }
}
const prefix = `opstest-flagsbk-flagd-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  if (pgUp) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  if (!redisUp) return redis.disconnect();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

const backends: { name: string; up: boolean; make: () => { flags: FlagStore; close: () => Promise<void> } }[] = [
  { name: "redis", up: redisUp, make: () => redisStores(redis, { prefix }) },
  { name: "postgres", up: pgUp, make: () => postgresStores(nodePgExecutor(pool), { schema }) },
];

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures/import", name), "utf8");
const fractionalText = fixture("flagd-fractional.json");
const flagsText = fixture("flagd-flags.json");
const who = { actorUserId: "migrator", reason: "flagd import" };
const N = 10_000;
/** ASCII ids and, every 5th, non-ASCII ones (accents, CJK, surrogate pairs). */
const id = (i: number) => (i % 5 !== 0 ? `user-${i}` : [`ユーザー${i}`, `é${i}ñ`, `😀${i}`, `𝔘${i}`][(i / 5) % 4]!);
const ctxOf = (i: number) => {
  const targetingKey = id(i);
  return {
    targetingKey,
    email: i % 3 === 0 ? `${targetingKey}@corp.example` : i % 7 === 0 ? `${targetingKey}@faas.com` : `${targetingKey}@x.io`,
    tier: i % 10 === 0 ? "vip" : i % 4 === 0 ? "gold" : "std",
    locale: ["de", "fr", "en"][i % 3]!,
    version: `${i % 4}.${i % 10}.0`,
  };
};

/** Imports both flagd fixtures (`hash: "js"`, as flagd-core hashes) into a controller on `store`. */
async function importedInto(store: FlagStore, env: string) {
  const c = new FeatureFlagController(store, env, { pollIntervalMs: 0, usageFlushMs: 0 });
  await c.ready();
  closers.push(() => c.close());
  for (const text of [fractionalText, flagsText]) {
    const r = importFlagd(JSON.parse(text), { hash: "js" });
    expect((await applyImport(c, r, who)).failed).toEqual([]);
  }
  return c;
}

/** Every flag's value, variant and reason for every id, one string per decision. */
function decisions(c: FeatureFlagController, keys: string[]) {
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const ctx = ctxOf(i);
    for (const key of keys) {
      const d = c.evaluate(key, ctx);
      out.push(`${key}|${ctx.targetingKey}|${JSON.stringify(d.value)}|${d.variant ?? ""}|${d.reason}`);
    }
  }
  return out;
}

const keysOf = (text: string) => Object.keys((JSON.parse(text) as { flags: Record<string, unknown> }).flags);
const KEYS = [...keysOf(fractionalText), ...keysOf(flagsText)];

let reference: string[] | undefined;
async function memoryReference() {
  if (reference) return reference;
  const m = memoryStores();
  closers.push(() => m.close());
  const c = await importedInto(m.flags, "prod");
  reference = decisions(c, KEYS);
  return reference;
}

describe("memory reference", () => {
  it(`the memory-backed import equals @openfeature/flagd-core on the fractional flags for ${N.toLocaleString("en")} ids`, async () => {
    const m = memoryStores();
    closers.push(() => m.close());
    const c = await importedInto(m.flags, "prod");
    const core = new FlagdCore();
    core.setConfigurations(fractionalText);
    let mismatches = 0;
    for (let i = 0; i < N; i++) {
      const ctx = ctxOf(i);
      const theirs = core.resolveAll({ targetingKey: ctx.targetingKey, email: ctx.email, tier: ctx.tier });
      for (const key of keysOf(fractionalText)) {
        const ours = c.evaluate(key, { targetingKey: ctx.targetingKey, email: ctx.email, tier: ctx.tier });
        if (theirs.find((d) => d.flagKey === key)?.value !== ours.value) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  }, 300_000);
});

for (const b of backends)
  describe.skipIf(!b.up)(`flagd import on ${b.name}`, () => {
    it(`evaluates ${N.toLocaleString("en")} ids × ${KEYS.length} flags exactly like the memory-backed import, and flagd-core`, async () => {
      const want = await memoryReference();
      const stores = b.make();
      closers.push(() => stores.close());
      const env = `flagd${Date.now().toString(36)}`;
      const c = await importedInto(stores.flags, env);
      // What was stored keeps the flagd bucketing mode (not just the in-process copy).
      const stored = await stores.flags.get({ env, key: "rollout-30", tenantId: null });
      expect(JSON.stringify(stored?.config)).toContain('"mode":"flagd"');
      const got = decisions(c, KEYS);
      expect(got.length).toBe(want.length);
      const diff = got.filter((d, i) => d !== want[i]);
      expect(diff.slice(0, 5)).toEqual([]);
      expect(diff.length).toBe(0);

      // flagd-core agrees with this backend too (fractional flags).
      const core = new FlagdCore();
      core.setConfigurations(fractionalText);
      let mismatches = 0;
      for (let i = 0; i < N; i++) {
        const { targetingKey, email, tier } = ctxOf(i);
        const theirs = core.resolveAll({ targetingKey, email, tier });
        for (const key of keysOf(fractionalText))
          if (theirs.find((d) => d.flagKey === key)?.value !== c.evaluate(key, { targetingKey, email, tier }).value) mismatches++;
      }
      expect(mismatches).toBe(0);

      // A second controller on the same backend (its own store instance) loads the imported flags
      // from the store and decides the same for every id.
      const other = b.make();
      closers.push(() => other.close());
      const second = new FeatureFlagController(other.flags, env, { pollIntervalMs: 0, usageFlushMs: 0 });
      await second.ready();
      closers.push(() => second.close());
      expect(second.getFlag("rollout-30")?.version).toBe(c.getFlag("rollout-30")?.version);
      const again = decisions(second, KEYS);
      expect(again.filter((d, i) => d !== want[i]).length).toBe(0);
    }, 600_000);
  });
