import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { redisStores } from "@ops/adapter-redis";
import { OPS_MIGRATIONS, migrationStatements, nodePgExecutor, opsRoleSetupStatements, postgresStores } from "@ops/adapter-postgres";
import pg from "pg";
import type { FlagStore } from "@ops/core";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { FeatureFlagController, PrerequisiteCycleError } from "@ops/flags";

const redisUp = await requireService("redis");
const pgUp = await requireService("postgres");
const schema = `opstest_flagsx_prereq_${process.pid}_${Date.now().toString(36)}`;
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
const prefix = `opstest-flagsx-prereq-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
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
  { name: "memory", up: true, make: () => memoryStores() },
  { name: "redis", up: redisUp, make: () => redisStores(redis, { prefix }) },
  { name: "postgres", up: pgUp, make: () => postgresStores(nodePgExecutor(pool), { schema }) },
];

const who = { actorUserId: "alice", reason: "prerequisites" };
const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
};

for (const b of backends)
  describe.skipIf(!b.up)(`prerequisites on ${b.name}`, () => {
    let n = 0;
    async function setup() {
      const stores = b.make();
      closers.push(() => stores.close());
      const env = `pre${++n}${Date.now().toString(36)}`;
      const c = new FeatureFlagController(stores.flags, env, { pollIntervalMs: 0 });
      await c.ready();
      closers.push(() => c.close());
      // `checkout` (variants) gates `new-pricing`, which gates `pricing-banner`.
      await c.setFlag({ key: "checkout", newValue: "v1", ...who });
      await c.updateFlag({
        key: "checkout",
        patch: {
          variants: { old: "v1", new: "v2" },
          defaultVariant: "old",
          rules: [{ id: "beta", when: [{ attr: "plan", op: "eq", value: "beta" }], segments: [], serve: { variant: "new" } }],
        },
        ...who,
      });
      await c.setFlag({ key: "new-pricing", newValue: true, ...who });
      await c.updateFlag({
        key: "new-pricing",
        patch: { prerequisites: [{ key: "checkout", variants: ["new"] }], offValue: false },
        ...who,
      });
      await c.setFlag({ key: "pricing-banner", newValue: "shown", ...who });
      await c.updateFlag({ key: "pricing-banner", patch: { prerequisites: [{ key: "new-pricing" }] }, ...who });
      return { c, stores, env };
    }

    it("serves the flag only when the prerequisite serves the required variant, else PREREQUISITE_FAILED naming it", async () => {
      const { c } = await setup();
      expect(c.evaluate("new-pricing", { userId: "u1", plan: "beta" })).toMatchObject({ value: true, reason: "STATIC" });
      expect(c.evaluate("new-pricing", { userId: "u1", plan: "free" })).toMatchObject({
        value: false,
        reason: "PREREQUISITE_FAILED",
        prerequisiteKey: "checkout",
      });
      // Transitive: the banner needs new-pricing, which needs checkout's "new" variant.
      expect(c.evaluate("pricing-banner", { userId: "u1", plan: "beta" })).toMatchObject({ value: "shown" });
      expect(c.evaluate("pricing-banner", { userId: "u1", plan: "free" }, "hidden")).toMatchObject({
        value: "hidden",
        reason: "PREREQUISITE_FAILED",
        prerequisiteKey: "new-pricing",
        variant: null,
      });
      // The prerequisite's kill switch fails its dependents even when its off value is the required one.
      await c.updateFlag({ key: "checkout", patch: { offVariant: "new" }, ...who });
      await c.setEnabled({ key: "checkout", enabled: false, ...who });
      expect(c.evaluate("checkout", { plan: "free" })).toMatchObject({ value: "v2", variant: "new", reason: "DISABLED" });
      expect(c.evaluate("new-pricing", { userId: "u1", plan: "beta" }).reason).toBe("PREREQUISITE_FAILED");
      // A prerequisite gates tenant overrides too (LaunchDarkly checks prerequisites before targets).
      await c.setEnabled({ key: "checkout", enabled: true, ...who });
      await c.setFlag({ key: "new-pricing", newValue: true, tenantId: "acme", ...who });
      expect(c.evaluate("new-pricing", { tenantId: "acme", plan: "free" }).reason).toBe("PREREQUISITE_FAILED");
      expect(c.evaluate("new-pricing", { tenantId: "acme", plan: "beta" }).reason).toBe("TENANT_OVERRIDE");
    });

    it("negated and value prerequisites; a missing prerequisite flag fails", async () => {
      const { c } = await setup();
      await c.setFlag({ key: "maintenance", newValue: false, ...who });
      await c.setFlag({ key: "signup", newValue: true, ...who });
      await c.updateFlag({
        key: "signup",
        patch: {
          prerequisites: [
            { key: "maintenance", value: true, negate: true },
            { key: "checkout", value: "v1" },
          ],
          offValue: false,
        },
        ...who,
      });
      expect(c.evaluate("signup", { plan: "free" }).value).toBe(true);
      expect(c.evaluate("signup", { plan: "beta" })).toMatchObject({ value: false, prerequisiteKey: "checkout" });
      await c.setFlag({ key: "maintenance", newValue: true, ...who });
      expect(c.evaluate("signup", { plan: "free" })).toMatchObject({ value: false, prerequisiteKey: "maintenance" });
      await c.updateFlag({ key: "signup", patch: { prerequisites: [{ key: "not-there" }] }, ...who });
      expect(c.evaluate("signup", {})).toMatchObject({ reason: "PREREQUISITE_FAILED", prerequisiteKey: "not-there" });
    });

    it("refuses a cycle at write with a typed error naming the flag path; nothing is written", async () => {
      const { c, stores, env } = await setup();
      const before = await stores.flags.get({ env, key: "checkout", tenantId: null });
      const err = await c
        .updateFlag({ key: "checkout", patch: { prerequisites: [{ key: "pricing-banner" }] }, ...who })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrerequisiteCycleError);
      expect(err).toMatchObject({
        code: "VALIDATION",
        cycle: ["checkout", "pricing-banner", "new-pricing", "checkout"],
        issues: [{ path: "prerequisites[0]" }],
      });
      expect((err as Error).message).toContain("checkout -> pricing-banner -> new-pricing -> checkout");
      await expect(c.updateFlag({ key: "checkout", patch: { prerequisites: [{ key: "checkout" }] }, ...who })).rejects.toMatchObject({
        cycle: ["checkout", "checkout"],
      });
      const after = await stores.flags.get({ env, key: "checkout", tenantId: null });
      expect(after?.version).toBe(before?.version);
      expect((after!.config as { prerequisites?: unknown }).prerequisites).toBeUndefined();
    });

    it("another process sees a prerequisite change and re-evaluates its dependents", async () => {
      const { c, stores, env } = await setup();
      const other = new FeatureFlagController(stores.flags, env, { pollIntervalMs: b.name === "memory" ? 0 : 50 });
      closers.push(() => other.close());
      await other.ready();
      expect(other.evaluate("new-pricing", { plan: "free" }).reason).toBe("PREREQUISITE_FAILED");
      await c.updateFlag({ key: "checkout", patch: { defaultVariant: "new" }, ...who });
      if (b.name === "memory") await other.refresh();
      expect(await until(() => other.evaluate("new-pricing", { plan: "free" }).value === true)).toBe(true);
      expect(other.evaluate("pricing-banner", { plan: "free" }).value).toBe("shown");
    });
  });
