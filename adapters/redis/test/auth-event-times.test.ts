import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { randomTenant, requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-aetimes-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });

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

describe.skipIf(!up)("adapter-redis auth events: ISO times compare as times, whatever their fraction digits", () => {
  it("from/to/before without milliseconds (2026-01-01T00:00:00Z) bound by time, as PostgreSQL does", async () => {
    const { authEvents } = redisStores(redis, { prefix });
    const t = randomTenant();
    await authEvents.append({
      events: [
        { id: "e1", type: "LOGIN_FAILED", occurredAt: "2026-01-01T00:00:00.500Z", tenantId: t },
        { id: "e2", type: "LOGIN_FAILED", occurredAt: "2026-01-01T00:00:01Z", tenantId: t },
        { id: "e3", type: "LOGIN_FAILED", occurredAt: "2026-01-01T00:00:01.250Z", tenantId: t },
      ],
    });
    const page = await authEvents.list({ tenantId: t, from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:01.1Z" });
    expect(page.items.map((e) => e.id)).toEqual(["e2", "e1"]);
    expect(page.items[0]!.occurredAt).toBe("2026-01-01T00:00:01.000Z");
    expect((await authEvents.list({ tenantId: t })).items.map((e) => e.id)).toEqual(["e3", "e2", "e1"]);
    expect(await authEvents.countByType({ tenantId: t, from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:01Z" })).toEqual({
      LOGIN_FAILED: 1,
    });
    expect(await authEvents.prune({ before: "2026-01-01T00:00:01Z" })).toBe(1);
    expect((await authEvents.list({ tenantId: t })).items.map((e) => e.id)).toEqual(["e3", "e2"]);
  });
});
