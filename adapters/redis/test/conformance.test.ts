import { afterAll, describe } from "vitest";
import type { AuthEventRecord, IncidentRecord, OutboxMessage } from "@ops/core";
import {
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeOutboxStoreConformance,
} from "@ops/testkit";
import { REDIS_CAPABILITIES, redisStores, type RedisStores } from "@ops/adapter-redis";
import { pipelinePerSlot, scanKeys } from "../src/client.js";
import { deletePrefix, redisTargets } from "./targets.js";

// Every suite runs on a single server and on a Redis Cluster.
for (const target of await redisTargets()) {
  // Each test file owns a key prefix, so files (and other projects on this server) never meet.
  const prefix = `opstest-conf-${process.pid}-${Date.now().toString(36)}`;
  const redis = target.up ? target.client() : null!;
  const opened: RedisStores[] = [];
  const create = () => {
    const s = redisStores(redis, { prefix });
    opened.push(s);
    return s;
  };

  afterAll(async () => {
    if (!target.up) return;
    await Promise.all(opened.map((s) => s.close()));
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const scopeTokens = async (name: string): Promise<string[]> => {
    const keys = create().keys;
    return [...new Set(((await pipelinePerSlot(redis, keys.indexShards(name), (p, k) => p.smembers(k))) as string[][]).flat())];
  };

  describe.skipIf(!target.up)(`@ops/adapter-redis on real Redis (${target.name})`, () => {
    const keysOf = () => create().keys;

    describeFlagStoreConformance({
      name: `redis ${target.name}`,
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
      name: `redis ${target.name}`,
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
      name: `redis ${target.name}`,
      capabilities: REDIS_CAPABILITIES,
      create: () => create().incidents,
      raw: {
        async readIncident(id) {
          const keys = keysOf();
          const owner = await redis.hget(`${keys.indexShard("inc", id)}:owners`, id);
          if (owner === null) return null;
          const j = await redis.hget(`${keys.scope(owner === "~g" ? null : owner)}:inc:r:${id}`, "j");
          return j === null ? null : (JSON.parse(j) as IncidentRecord);
        },
      },
    });

    describeAuthEventStoreConformance({
      name: `redis ${target.name}`,
      capabilities: REDIS_CAPABILITIES,
      create: () => create().authEvents,
      raw: {
        async readEvent(id) {
          const keys = keysOf();
          for (const token of await scopeTokens("authev:scopes")) {
            const raw = await redis.hget(`${keys.scope(token === "~g" ? null : token)}:authev:data`, id);
            if (raw !== null) return JSON.parse(raw) as AuthEventRecord;
          }
          return null;
        },
        async countId(id) {
          const keys = keysOf();
          let n = 0;
          for (const token of await scopeTokens("authev:scopes")) {
            n += await redis.hexists(`${keys.scope(token === "~g" ? null : token)}:authev:data`, id);
          }
          return n;
        },
      },
    });

    describeOutboxStoreConformance({
      name: `redis ${target.name}`,
      capabilities: REDIS_CAPABILITIES,
      create: () => create().outbox,
      raw: {
        async read(id) {
          const shard = await redis.get(`${prefix}:obid:${id}`);
          if (shard === null) return null;
          const f = await redis.hgetall(`${prefix}:{ob:${shard}}:m:${id}`);
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
          // Every shard and tenant (`ik:<tenant>|<key>`), not only where the key belongs: a key stored
          // twice would show here.
          return (await scanKeys(redis, `${prefix}:{ob:*}:ik:*`)).filter((k) => k.endsWith(`|${key}`)).length;
        },
      },
    });
  });
}
