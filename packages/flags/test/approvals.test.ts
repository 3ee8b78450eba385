import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { redisStores } from "@ops/adapter-redis";
import { OPS_MIGRATIONS, migrationStatements, opsRoleSetupStatements, nodePgExecutor, postgresStores } from "@ops/adapter-postgres";
import pg from "pg";
import { ConflictError, type AuditSinkEntry, type ChangeRequestStore, type FlagStore } from "@ops/core";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import { ApprovalRequiredError, FeatureFlagController, FlagChangeRequests } from "@ops/flags";

const redisUp = await requireService("redis");
const pgUp = await requireService("postgres");
// This file's own schema with the @ops migrations applied.
const schema = `opstest_flagsx_cr_${process.pid}_${Date.now().toString(36)}`;
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
const prefix = `opstest-flagsx-cr-${process.pid}-${Date.now().toString(36)}`;
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

const backends: {
  name: string;
  up: boolean;
  make: () => { flags: FlagStore; changeRequests: ChangeRequestStore; close: () => Promise<void> };
}[] = [
  { name: "memory", up: true, make: () => memoryStores() },
  { name: "redis", up: redisUp, make: () => redisStores(redis, { prefix }) },
  { name: "postgres", up: pgUp, make: () => postgresStores(nodePgExecutor(pool), { schema }) },
];

for (const b of backends)
  describe.skipIf(!b.up)(`change requests (four-eyes) on ${b.name}`, () => {
    let n = 0;
    async function setup() {
      const stores = b.make();
      closers.push(() => stores.close());
      const entries: AuditSinkEntry[] = [];
      const audit = { record: async (e: AuditSinkEntry) => void entries.push(structuredClone(e)) };
      const env = `prod${++n}${Date.now().toString(36)}`;
      // Seed the flag before the policy is on (the environment was open before).
      const open = new FeatureFlagController(stores.flags, env, { pollIntervalMs: 0 });
      await open.setFlag({ key: "checkout", newValue: false, actorUserId: "alice", reason: "create" });
      await open.close();
      const c = new FeatureFlagController(stores.flags, env, { pollIntervalMs: 0, audit, requireApproval: true });
      await c.ready();
      closers.push(() => c.close());
      const cr = new FlagChangeRequests({ controller: c, store: stores.changeRequests, audit });
      return { c, cr, entries };
    }

    it("refuses direct writes, applies a change only after another principal approves it, all audited", async () => {
      const { c, cr, entries } = await setup();
      const who = { actorUserId: "alice", reason: "launch" };
      await expect(c.setFlag({ key: "checkout", newValue: true, ...who })).rejects.toBeInstanceOf(ApprovalRequiredError);
      await expect(c.setEnabled({ key: "checkout", enabled: false, ...who })).rejects.toMatchObject({ code: "APPROVAL_REQUIRED" });
      await expect(c.setRollout({ key: "checkout", rollout: { percentage: 5 }, ...who })).rejects.toBeInstanceOf(ApprovalRequiredError);
      await expect(c.setFlag({ key: "checkout", newValue: true, tenantId: "acme", ...who })).rejects.toBeInstanceOf(ApprovalRequiredError);
      await expect(c.deleteFlag({ key: "checkout", ...who })).rejects.toBeInstanceOf(ApprovalRequiredError);
      expect(c.getFlag("checkout")?.version).toBe(1);

      const req = await cr.propose({ key: "checkout", change: { kind: "rollout", rollout: { percentage: 30 } }, ...who });
      expect(req).toMatchObject({ status: "pending", author: "alice", baseVersion: 1, kind: "rollout", reason: "launch" });
      expect((req.config as { rollout: { percentage: number } }).rollout.percentage).toBe(30);
      expect(c.getFlag("checkout")?.config.rollout).toBeUndefined(); // nothing applied yet

      await expect(cr.approve({ id: req.id, actorUserId: "alice" })).rejects.toBeInstanceOf(ApprovalRequiredError);
      const done = await cr.approve({ id: req.id, actorUserId: "bob", note: "lgtm" });
      expect(done).toMatchObject({ status: "applied", reviewer: "bob", reviewNote: "lgtm", appliedVersion: 2 });
      expect(c.getFlag("checkout")?.config.rollout).toMatchObject({ percentage: 30 });
      await expect(cr.approve({ id: req.id, actorUserId: "carol" })).rejects.toBeInstanceOf(ConflictError);

      expect(entries.map((e) => [e.action, e.actor.id])).toEqual([
        ["FLAG_CHANGE_REQUESTED", "alice"],
        ["FLAG_CHANGE", "bob"],
        ["FLAG_CHANGE_REQUEST_APPROVED", "bob"],
      ]);
      expect(entries[1]!.meta).toMatchObject({
        operation: "rollout",
        changeRequestId: req.id,
        author: "alice",
        approvedBy: "bob",
        version: 2,
      });
    });

    it("approval is compare-and-set against the proposed version: a flag that moved makes it a conflict", async () => {
      const { c, cr, entries } = await setup();
      const a = await cr.propose({ key: "checkout", change: { kind: "set", value: true }, actorUserId: "alice", reason: "on" });
      const b = await cr.propose({ key: "checkout", change: { kind: "enable", enabled: false }, actorUserId: "dave", reason: "off" });
      await cr.approve({ id: b.id, actorUserId: "bob" });
      await expect(cr.approve({ id: a.id, actorUserId: "bob" })).rejects.toBeInstanceOf(ConflictError);
      expect((await cr.get(a.id))?.status).toBe("conflict");
      expect(c.getFlag("checkout")?.config).toMatchObject({ enabled: false, value: false });
      expect(entries.some((e) => e.action === "FLAG_CHANGE_REQUEST_CONFLICT" && e.outcome === "failure")).toBe(true);
    });

    it("two approvers at once: exactly one applies it", async () => {
      const { c, cr } = await setup();
      const req = await cr.propose({ key: "checkout", change: { kind: "set", value: true }, actorUserId: "alice", reason: "on" });
      const results = await Promise.allSettled(["bob", "carol", "erin"].map((r) => cr.approve({ id: req.id, actorUserId: r })));
      expect(
        results.filter((r) => r.status === "fulfilled"),
        JSON.stringify(results.map((r) => (r.status === "rejected" ? String((r as PromiseRejectedResult).reason) : "ok"))),
      ).toHaveLength(1);
      expect(
        results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError),
      ).toBe(true);
      expect(c.getFlag("checkout")).toMatchObject({ version: 2, config: { value: true } });
    });

    it("tenant overrides and deletes go through requests; reject and cancel close them without writing", async () => {
      const { c, cr } = await setup();
      const o = await cr.propose({
        key: "checkout",
        change: { kind: "set", value: true, tenantId: "acme" },
        actorUserId: "alice",
        reason: "beta for acme",
      });
      expect(o).toMatchObject({ tenantId: "acme", baseVersion: null, config: { value: true } });
      await expect(
        cr.propose({ key: "checkout", change: { kind: "set", value: "yes", tenantId: "acme" }, actorUserId: "alice", reason: "x" }),
      ).rejects.toMatchObject({ code: "VALIDATION" });
      await cr.approve({ id: o.id, actorUserId: "bob" });
      expect(c.evaluate("checkout", { tenantId: "acme" })).toMatchObject({ value: true, reason: "TENANT_OVERRIDE" });
      const r = await cr.propose({ key: "checkout", change: { kind: "delete" }, actorUserId: "alice", reason: "cleanup" });
      await expect(cr.reject({ id: r.id, actorUserId: "alice", note: "x" })).rejects.toBeInstanceOf(ApprovalRequiredError);
      expect(await cr.reject({ id: r.id, actorUserId: "bob", note: "still used" })).toMatchObject({ status: "rejected", reviewer: "bob" });
      await expect(cr.approve({ id: r.id, actorUserId: "carol" })).rejects.toBeInstanceOf(ConflictError);
      const d = await cr.propose({ key: "checkout", change: { kind: "delete" }, actorUserId: "alice", reason: "cleanup" });
      await expect(cr.cancel({ id: d.id, actorUserId: "bob" })).rejects.toBeInstanceOf(ApprovalRequiredError);
      expect(await cr.cancel({ id: d.id, actorUserId: "alice" })).toMatchObject({ status: "cancelled" });
      const d2 = await cr.propose({ key: "checkout", change: { kind: "delete" }, actorUserId: "alice", reason: "cleanup" });
      await cr.approve({ id: d2.id, actorUserId: "bob" });
      expect(c.getFlag("checkout")).toBeNull();
      expect(c.evaluate("checkout", { tenantId: "acme" }).reason).toBe("ERROR"); // the override went with it
      const pending = await cr.list({ statuses: ["pending"] });
      expect(pending.items).toHaveLength(0);
      expect((await cr.list()).items.map((x) => x.status).sort()).toEqual(["applied", "applied", "cancelled", "rejected"]);
    });

    it("the emergency kill switch bypasses approval and is audited as a bypass", async () => {
      const { c, cr, entries } = await setup();
      const rec = await cr.emergencyDisable({ key: "checkout", actorUserId: "oncall", reason: "INC-7 checkout errors" });
      expect(rec.version).toBe(2);
      expect(c.evaluate("checkout", {}).reason).toBe("DISABLED");
      expect(entries.map((e) => e.action)).toEqual(["FLAG_CHANGE", "FLAG_APPROVAL_BYPASSED"]);
      expect(entries[0]!.meta).toMatchObject({ operation: "disable", approvalBypass: "emergency" });
      // Turning it back on is a normal change: it needs approval.
      await expect(c.setEnabled({ key: "checkout", enabled: true, actorUserId: "oncall", reason: "fixed" })).rejects.toBeInstanceOf(
        ApprovalRequiredError,
      );
    });
  });
