import { afterAll, describe } from "vitest";
import { describeChangeRequestStoreConformance } from "@ops/testkit";
import { REDIS_CAPABILITIES, redisStores, type RedisStores } from "@ops/adapter-redis";
import { deletePrefix, redisTargets } from "./targets.js";

// On a single server and on a Redis Cluster.
for (const target of await redisTargets()) {
  const prefix = `opstest-cr-${process.pid}-${Date.now().toString(36)}`;
  const redis = target.up ? target.client() : null!;
  const opened: RedisStores[] = [];

  afterAll(async () => {
    if (!target.up) return;
    await Promise.all(opened.map((s) => s.close()));
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  describe.skipIf(!target.up)(`@ops/adapter-redis change requests on real Redis (${target.name})`, () => {
    describeChangeRequestStoreConformance({
      name: `redis ${target.name}`,
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
}
