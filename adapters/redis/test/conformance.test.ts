import { Redis } from "ioredis";
import { afterAll, describe } from "vitest";
import type { AuthEventRecord, IncidentRecord, OutboxMessage } from "@ops/core";
import {
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeOutboxStoreConformance,
  requireService,
  testRedisUrl,
} from "@ops/testkit";
import { REDIS_CAPABILITIES, redisStores, type RedisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
// Each test file owns a key prefix, so files (and other projects on this server) never meet.
const prefix = `opstest-conf-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
const opened: RedisStores[] = [];
const create = () => {
  const s = redisStores(redis, { prefix });
  opened.push(s);
  return s;
};

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

describe.skipIf(!up)("@ops/adapter-redis on real Redis", () => {
  const keysOf = () => create().keys;

  describeFlagStoreConformance({
    name: "redis",
    capabilities: REDIS_CAPABILITIES,
    create: () => create().flags,
    raw: {
      async read({ env, key, tenantId }) {
        const raw = await redis.hget(keysOf().flagHash(env, tenantId), key);
        if (raw === null) return null;
        const [version, , actor, ...config] = raw.split("\n");
        return { version: Number(version), updatedBy: JSON.parse(actor!) as string, config: JSON.parse(config.join("\n")) };
      },
    },
  });

  describeCounterStoreConformance({
    name: "redis",
    capabilities: REDIS_CAPABILITIES,
    create: () => create().counters,
    raw: {
      async readBucket({ tenantId, key, bucketMs, startMs }) {
        const v = await redis.get(keysOf().counter(tenantId, key, bucketMs, startMs));
        return v === null ? null : Number(v);
      },
    },
  });

  describeIncidentStoreConformance({
    name: "redis",
    capabilities: REDIS_CAPABILITIES,
    create: () => create().incidents,
    raw: {
      async readIncident(id) {
        const keys = keysOf();
        const owner = await redis.hget(keys.index("inc:owners"), id);
        if (owner === null) return null;
        const j = await redis.hget(`${keys.scope(owner === "~g" ? null : owner)}:inc:r:${id}`, "j");
        return j === null ? null : (JSON.parse(j) as IncidentRecord);
      },
    },
  });

  describeAuthEventStoreConformance({
    name: "redis",
    // The auth event store implements the erasure method (incidents and outbox do not yet).
    capabilities: { ...REDIS_CAPABILITIES, erasure: true },
    create: () => create().authEvents,
    raw: {
      async readEvent(id) {
        const keys = keysOf();
        for (const token of await redis.smembers(keys.index("authev:scopes"))) {
          const raw = await redis.hget(`${keys.scope(token === "~g" ? null : token)}:authev:data`, id);
          if (raw !== null) return JSON.parse(raw) as AuthEventRecord;
        }
        return null;
      },
      async countId(id) {
        const keys = keysOf();
        let n = 0;
        for (const token of await redis.smembers(keys.index("authev:scopes"))) {
          const scope = keys.scope(token === "~g" ? null : token);
          n += await redis.hexists(`${scope}:authev:data`, id);
        }
        return n;
      },
    },
  });

  describeOutboxStoreConformance({
    name: "redis",
    capabilities: REDIS_CAPABILITIES,
    create: () => create().outbox,
    raw: {
      async read(id) {
        const f = await redis.hgetall(`${prefix}:{outbox}:m:${id}`);
        if (!f.id) return null;
        const orNull = (v: string | undefined) => (v ? v : null);
        return {
          id: f.id,
          tenantId: f.t === "~g" ? null : f.t!,
          channel: f.ch!,
          payload: JSON.parse(f.p!),
          idempotencyKey: f.ik!,
          status: f.st as OutboxMessage["status"],
          attempts: Number(f.at),
          createdAt: f.ca!,
          nextAttemptAt: f.na!,
          leaseOwner: orNull(f.lo),
          leaseUntil: orNull(f.lu),
          lastError: orNull(f.le),
          deliveredAt: orNull(f.da),
          finishedAt: orNull(f.fa),
          version: Number(f.v),
        };
      },
      async countByIdempotencyKey(key) {
        return (await redis.exists(`${prefix}:{outbox}:ik:${key}`)) ? 1 : 0;
      },
    },
  });
});
