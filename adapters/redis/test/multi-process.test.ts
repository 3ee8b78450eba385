import { Redis } from "ioredis";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FeatureFlagController } from "@ops/flags";
import { breachKey } from "@ops/incidents";
import { randomTenant, requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";
import { Child } from "./child.js";

const up = await requireService("redis");
const url = testRedisUrl();
const prefix = `opstest-mp-${process.pid}-${Date.now().toString(36)}`;
const fixtures = join(import.meta.dirname, "fixtures");
const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });

afterAll(async () => {
  if (!up) return;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

describe.skipIf(!up)("many processes over one Redis", () => {
  it("a flag flipped in process A is evaluated in processes B, C and D", async () => {
    const stores = redisStores(redis, { prefix });
    const a = new FeatureFlagController(stores.flags, "prod");
    await a.ready();
    await a.setFlag({ key: "new_checkout_flow", newValue: false, actorUserId: "admin_1", reason: "create" });
    const readers = ["B", "C", "D"].map(() => new Child(join(fixtures, "flag-reader.ts"), [url, prefix, "new_checkout_flow"]));
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

  it("4 processes record failed logins for one account: the shared counter crosses once, one incident", async () => {
    const tenant = randomTenant("mp");
    // 4 x 4 = 16 failures for alice from one IP: over the default threshold of 10 per user+IP.
    const apps = [1, 2, 3, 4].map(() => new Child(join(fixtures, "login-spiker.ts"), [url, prefix, tenant, "4"]));
    try {
      for (const app of apps) await app.waitFor((l) => l.ready === true);
      for (const app of apps) app.send("record");
      for (const app of apps) await app.waitFor((l) => l.recorded === true);
      for (const app of apps) app.send("tick");
      const reports = await Promise.all(apps.map((app) => app.waitFor((l) => typeof l.raised === "number")));
      for (const r of reports) expect(r.errors).toEqual([]);
      expect(reports.reduce((n, r) => n + (r.raised as number), 0)).toBe(1);

      const stores = redisStores(redis, { prefix });
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
      await stores.close();
    } finally {
      for (const app of apps) app.send("exit");
      await Promise.all(apps.map((a) => a.stop()));
    }
  }, 120_000);
});
