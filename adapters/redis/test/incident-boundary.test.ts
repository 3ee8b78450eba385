import { Redis } from "ioredis";
import { afterAll, describe, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
// The scenario of @ops/incidents' boundary-fields test, run on this adapter (no transactional outbox here).
import { incidentBoundaryScenario } from "../../../packages/incidents/test/boundary-scenario.js";
import { redisStores } from "../src/index.js";

const up = await requireService("redis");
const prefix = `opstest-relay-incb-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });

afterAll(async () => {
  if (!up) return redis.disconnect();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

describe.skipIf(!up)("redis: IncidentManager writes refuse bad caller input naming the caller's field", () => {
  it("acknowledge, resolve, transition, raise, record and rollback: field named, incident unchanged, no audit entry", async () => {
    await incidentBoundaryScenario({ incidents: redisStores(redis, { prefix }).incidents });
  });
});
