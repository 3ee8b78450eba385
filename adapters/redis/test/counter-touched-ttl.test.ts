import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-touchttl-${process.pid}-${Date.now().toString(36)}`;
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

describe.skipIf(!up)("counter index lifetime", () => {
  it("readActive still finds a series whose bucket a later increment kept alive longer than the first one asked", async () => {
    const counters = redisStores(redis, { prefix }).counters;
    const bucketMs = 1000;
    const start = Math.floor(Date.now() / bucketMs) * bucketMs;
    const key = "ev:touch-ttl";
    // The first increment of the bucket asks for a short life, the second for a minute.
    await counters.increment({ tenantId: "acme", key, atMs: start + 999, bucketMs, windowBuckets: 1 });
    await counters.increment({ tenantId: "acme", key, atMs: start + 999, bucketMs, windowBuckets: 1, ttlMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const range = { bucketMs, fromMs: start, toMs: start + bucketMs };
    expect(await counters.read({ tenantId: "acme", key, ...range })).toEqual([{ startMs: start, count: 2 }]);
    expect(await counters.readActive!({ keys: [key], ...range })).toEqual([
      { tenantId: "acme", key, buckets: [{ startMs: start, count: 2 }] },
    ]);
  });
});
