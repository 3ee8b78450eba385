import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { RedisKeys, redisStores, scanKeys } from "@ops/adapter-redis";
import { deletePrefix, redisTargets } from "./targets.js";

const up = await requireService("redis");
const prefix = `opstest-keys-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true });

afterAll(async () => {
  if (!up) return;
  const keys = await scanAll(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

async function scanAll(pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out.sort();
}

describe("key layout", () => {
  it("rejects a prefix that could break patterns", () => {
    expect(() => new RedisKeys("ops*")).toThrow(/prefix/);
    expect(() => new RedisKeys("")).toThrow(RangeError);
  });

  it("keeps each tenant under one hash tag, distinct from the global scope and the indexes", () => {
    const k = new RedisKeys("app");
    expect(k.flagHash("prod", "acme")).toBe("app:{t:acme}:flags:prod");
    expect(k.flagHash("prod", null)).toBe("app:{g}:flags:prod");
    expect(k.counter("acme", "x", 1000, 5000)).toMatch(/^app:\{t:acme\}:/);
    expect(k.flagChannel("acme")).toBe("app:{t:acme}:chan:flags");
    expect(k.scanPattern("acme")).toBe("app:{t:acme}:*");
  });
});

describe.skipIf(!up)("per-tenant SCAN patterns on real Redis", () => {
  it("a tenant's SCAN pattern matches exactly its keys, not a tenant whose id extends it", async () => {
    const s = redisStores(redis, { prefix });
    for (const t of ["acme", "acme2", "acme:eu"]) {
      await s.flags.put({ env: "prod", key: "k", tenantId: t, config: t, expectedVersion: null, actor: "a" });
      await s.counters.increment({ tenantId: t, key: "c", atMs: Date.now(), bucketMs: 60_000 });
      await s.authEvents.append({ events: [{ id: `e-${t}`, type: "LOGIN_FAILED", occurredAt: new Date().toISOString(), tenantId: t }] });
    }
    const acme = await scanAll(s.keys.scanPattern("acme"));
    expect(acme.length).toBeGreaterThanOrEqual(4);
    for (const key of acme) expect(key.startsWith(`${prefix}:{t:acme}:`)).toBe(true);
    const eu = await scanAll(s.keys.scanPattern("acme:eu"));
    expect(eu.every((k) => k.startsWith(`${prefix}:{t:acme:eu}:`))).toBe(true);
    expect(eu.length).toBe(acme.length);
    await s.close();
  });
});

for (const target of await redisTargets()) {
  describe.skipIf(!target.up)(`scanKeys finds one tenant's keys (${target.name})`, () => {
    it("on every run, whichever master holds them", async () => {
      const p = `${prefix}-scan`;
      const client = target.client();
      const s = redisStores(client, { prefix: p });
      try {
        const tenants = ["acme", "acme2", "zeta", "omega", "k1", "k2"];
        for (const t of tenants) {
          await s.flags.put({ env: "prod", key: "k", tenantId: t, config: t, expectedVersion: null, actor: "a" });
          await s.counters.increment({ tenantId: t, key: "c", atMs: Date.now(), bucketMs: 60_000 });
        }
        for (let run = 0; run < 6; run++)
          for (const t of tenants) {
            const found = (await scanKeys(client, s.keys.scanPattern(t))).filter((k) => !k.includes(":op:"));
            expect(found.sort(), t).toEqual(
              [
                s.keys.counter(t, "c", 60_000, Math.floor(Date.now() / 60_000) * 60_000),
                s.keys.flagHash("prod", t),
                s.keys.flagIndex("prod", t),
              ].sort(),
            );
          }
      } finally {
        await s.close();
        await deletePrefix(client, p);
        client.disconnect();
      }
    });

    it("works through a client with ioredis keyPrefix: SCAN patterns and the keys Lua scripts build get it too", async () => {
      const p = `${prefix}-kp`;
      const plain = target.client();
      const kp = target.client({ keyPrefix: `${p}-app:` });
      const s = redisStores(kp, { prefix: p });
      try {
        await s.flags.put({ env: "prod", key: "k", tenantId: "acme", config: 1, expectedVersion: null, actor: "a" });
        const found = (await scanKeys(kp, s.keys.scanPattern("acme"))).filter((k) => !k.includes(":op:"));
        expect(found.sort()).toEqual(
          [`${p}-app:${s.keys.flagHash("prod", "acme")}`, `${p}-app:${s.keys.flagIndex("prod", "acme")}`].sort(),
        );
        const now = new Date().toISOString();
        await s.outbox.enqueue({
          message: { id: "m1", tenantId: "acme", channel: "c", payload: {}, idempotencyKey: "k1", createdAt: now },
        });
        const [m] = await s.outbox.claim({ workerId: "w", limit: 5, leaseMs: 1000, now, channels: ["c"] });
        expect(m?.id).toBe("m1");
        expect((await s.outbox.complete({ id: "m1", workerId: "w", now })).status).toBe("delivered");
        // Nothing was written outside the client's keyPrefix.
        expect((await scanKeys(plain, `${p}:*`)).length).toBe(0);
        expect((await scanKeys(plain, `${p}-app:*`)).length).toBeGreaterThan(3);
      } finally {
        await s.close();
        await deletePrefix(plain, `${p}-app`);
        kp.disconnect();
        plain.disconnect();
      }
    });
  });
}
