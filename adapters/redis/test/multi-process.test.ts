import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FeatureFlagController } from "@ops/flags";
import { breachKey } from "@ops/incidents";
import { randomTenant } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";
import { Child } from "./child.js";
import { deletePrefix, redisTargets, tenantsOnEveryMaster } from "./targets.js";

const fixtures = join(import.meta.dirname, "fixtures");

for (const target of await redisTargets()) {
  const prefix = `opstest-mp-${process.pid}-${Date.now().toString(36)}`;
  const redis = target.up ? target.client() : null!;

  afterAll(async () => {
    if (!target.up) return;
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  describe.skipIf(!target.up)(`many processes over one Redis (${target.name})`, () => {
    it("a flag flipped in process A is evaluated in processes B, C and D", async () => {
      const stores = redisStores(redis, { prefix });
      const a = new FeatureFlagController(stores.flags, "prod");
      await a.ready();
      await a.setFlag({ key: "new_checkout_flow", newValue: false, actorUserId: "admin_1", reason: "create" });
      const readers = ["B", "C", "D"].map(() => new Child(join(fixtures, "flag-reader.ts"), [target.address, prefix, "new_checkout_flow"]));
      try {
        for (const r of readers) expect((await r.waitFor((l) => l.ready === true)).value).toBe(false);
        await a.setFlag({ key: "new_checkout_flow", newValue: true, actorUserId: "admin_1", reason: "launch" });
        for (const r of readers) await r.waitFor((l) => l.value === true, 10_000);
        await a.setFlag({ key: "new_checkout_flow", newValue: false, actorUserId: "admin_1", reason: "kill switch" });
        for (const r of readers) {
          const at = r.lines.findIndex((l) => l.value === true);
          await r.waitFor((l) => l.value === false && l.ready === undefined, 10_000, at + 1);
        }
      } finally {
        await Promise.all(readers.map((r) => r.stop()));
        await a.close();
        await stores.close();
      }
    }, 120_000);

    it("a reader started after a kill switch, with tenant overrides on every master, serves the change (loaded)", async () => {
      const env = "prod";
      const stores = redisStores(redis, { prefix });
      const tenants = await tenantsOnEveryMaster(redis, randomTenant("ov"), (t) => stores.keys.flagHash(env, t));
      const writer = new FeatureFlagController(stores.flags, env);
      await writer.ready();
      await writer.setFlag({ key: "checkout", newValue: true, actorUserId: "admin", reason: "launch" });
      for (const [i, t] of tenants.entries())
        await writer.setFlag({ key: "checkout", newValue: i % 2 === 0, actorUserId: "admin", reason: "override", tenantId: t });
      await writer.setFlag({ key: "kill_switch", newValue: true, actorUserId: "admin", reason: "incident" });
      await writer.close();

      // In another process: started after the change.
      const reader = new Child(join(fixtures, "flag-reader.ts"), [target.address, prefix, "kill_switch"]);
      try {
        expect(await reader.waitFor((l) => l.ready === true)).toMatchObject({ value: true });
      } finally {
        await reader.stop();
      }
      // And in this process, with the overrides of every tenant.
      const late = new FeatureFlagController(redisStores(redis, { prefix }).flags, env);
      await late.ready();
      expect(late.isLoaded).toBe(true);
      expect(late.isEnabled("kill_switch")).toBe(true);
      tenants.forEach((t, i) => expect(late.isEnabled("checkout", { tenantId: t })).toBe(i % 2 === 0));
      // Deleting a flag that has overrides on every master works too.
      await late.deleteFlag({ key: "checkout", actorUserId: "admin", reason: "cleanup" });
      expect((await stores.flags.snapshot({ env })).filter((r) => r.key === "checkout")).toEqual([]);
      await late.close();
      await stores.close();
    }, 60_000);

    it("4 processes record failed logins for one account, other tenants' incidents open on every master: one incident, no tick error", async () => {
      const tenant = randomTenant("mp");
      const stores = redisStores(redis, { prefix });
      const now = new Date().toISOString();
      const others = await tenantsOnEveryMaster(redis, randomTenant("open"), (t) => `${stores.keys.scope(t)}:inc:byopened`);
      for (const t of others)
        await stores.incidents.create({
          record: {
            id: `inc-${t}`,
            tenantId: t,
            fingerprint: `fp-${t}`,
            type: "OTHER",
            severity: "low",
            state: "open",
            title: "open elsewhere",
            openedAt: now,
            updatedAt: now,
            data: {},
          },
        });
      // 4 x 4 = 16 failures for alice from one IP: over the default threshold of 10 per user+IP.
      const apps = [1, 2, 3, 4].map(() => new Child(join(fixtures, "login-spiker.ts"), [target.address, prefix, tenant, "4"]));
      try {
        for (const app of apps) await app.waitFor((l) => l.ready === true);
        for (const app of apps) app.send("record");
        for (const app of apps) await app.waitFor((l) => l.recorded === true);
        for (const app of apps) app.send("tick");
        const reports = await Promise.all(apps.map((app) => app.waitFor((l) => typeof l.raised === "number")));
        for (const r of reports) expect(r.errors).toEqual([]);
        expect(reports.reduce((n, r) => n + (r.raised as number), 0)).toBe(1);

        const minute = 60_000;
        const breaches = await stores.counters.sum({
          tenantId: tenant,
          key: breachKey("FAILED_LOGINS_SPIKE"),
          bucketMs: minute,
          fromMs: Date.now() - 10 * minute,
          toMs: Date.now() + minute,
        });
        expect(breaches).toBe(1);
        const page = await stores.incidents.list({ tenantId: tenant });
        expect(page.items.map((i) => i.type)).toEqual(["FAILED_LOGINS_SPIKE"]);
        // The cross-tenant sweep sees every master's incidents.
        const scanned: string[] = [];
        let cursor: string | null = null;
        do {
          const p: { items: Array<{ id: string }>; nextCursor: string | null } = await stores.incidents.scan({ limit: 100, cursor });
          scanned.push(...p.items.map((i) => i.id));
          cursor = p.nextCursor;
        } while (cursor);
        for (const t of others) expect(scanned).toContain(`inc-${t}`);
        await stores.close();
      } finally {
        for (const app of apps) app.send("exit");
        await Promise.all(apps.map((a) => a.stop()));
      }
    }, 120_000);
  });
}
