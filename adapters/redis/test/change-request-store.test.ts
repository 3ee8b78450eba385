import { Redis } from "ioredis";
import { afterAll, describe } from "vitest";
import { describeChangeRequestStoreConformance, requireService, testRedisUrl } from "@ops/testkit";
import { REDIS_CAPABILITIES, redisStores, type RedisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-cr-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
const opened: RedisStores[] = [];

afterAll(async () => {
  if (!up) return;
  await Promise.all(opened.map((s) => s.close()));
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

describe.skipIf(!up)("@ops/adapter-redis change requests on real Redis", () => {
  describeChangeRequestStoreConformance({
    name: "redis",
    capabilities: REDIS_CAPABILITIES,
    create: () => {
      const s = redisStores(redis, { prefix });
      opened.push(s);
      return s.changeRequests;
    },
    raw: {
      async read({ env, id }) {
        const raw = await redis.hget(`${prefix}:{cr:${env}}:reqs`, id);
        if (raw === null) return null;
        const r = JSON.parse(raw.slice(raw.indexOf("\n") + 1));
        return { status: r.status, version: Number(raw.slice(0, raw.indexOf("\n"))), config: r.config, reviewer: r.reviewer };
      },
    },
  });
});
