import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { IncidentRecord } from "@ops/core";
import { randomTenant, requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-inctimes-${process.pid}-${Date.now().toString(36)}`;
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

const rec = (id: string, tenantId: string, openedAt: string): Omit<IncidentRecord, "version"> => ({
  id,
  tenantId,
  fingerprint: `fp-${id}`,
  type: "brute_force",
  severity: "high",
  state: "open",
  title: "t",
  openedAt,
  updatedAt: openedAt,
  data: {},
});

describe.skipIf(!up)("adapter-redis incidents: openedAt orders as a time, whatever its fraction digits", () => {
  it("an incident opened at 00:00:00.500Z lists before one opened at 00:00:00Z (newest first)", async () => {
    const { incidents } = redisStores(redis, { prefix });
    const t = randomTenant();
    const id = (s: string) => `${t}-${s}`;
    const a = await incidents.create({ record: rec(id("a"), t, "2026-01-01T00:00:00Z") });
    await incidents.create({ record: rec(id("b"), t, "2026-01-01T00:00:00.500Z") });
    expect(a.openedAt).toBe("2026-01-01T00:00:00.000Z");
    expect((await incidents.list({ tenantId: t })).items.map((r) => r.id)).toEqual([id("b"), id("a")]);
  });
});
