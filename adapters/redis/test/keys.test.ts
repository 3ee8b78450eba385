import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { RedisKeys, redisStores } from "@ops/adapter-redis";

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
