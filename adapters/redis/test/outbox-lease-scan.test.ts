// Expired leases are found however many there are: a claim reads a channel's lease index in pages
// until it has what it takes, so leases past the first 1,000 expired ones (of its own channel or
// of others) are reclaimed, and the index that held every channel's leases before it was split per
// channel is still drained.
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-cluster-lease-${process.pid}-${Date.now().toString(36)}`;
const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 2 });
const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

afterAll(async () => {
  if (!up) return;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

/** Enqueues `n` messages on `channel` (due at T0) with bounded concurrency. */
async function fill(outbox: ReturnType<typeof redisStores>["outbox"], channel: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        await outbox.enqueue({
          message: {
            id: `${channel}-${i}`,
            tenantId: "acme",
            channel,
            payload: { i },
            idempotencyKey: `${channel}-k${i}`,
            createdAt: iso(T0),
            nextAttemptAt: iso(T0),
          },
        });
      }
    }),
  );
}

describe.skipIf(!up)("redis outbox: expired leases beyond the first 1,000", () => {
  it("a claim for one channel reclaims its expired leases behind 1,100 other expired ones, and all 1,100 come back too", async () => {
    const { outbox } = redisStores(redis, { prefix: `${prefix}-a`, outboxShards: 1 });
    await fill(outbox, "bulk", 1100);
    await fill(outbox, "page", 5);
    // 1,100 leases of "bulk" expire first (T0 + 1 s), the 5 of "page" a little later (T0 + 2 s).
    const bulk = [
      ...(await outbox.claim({ workerId: "w1", limit: 1000, leaseMs: 1000, now: iso(T0), channels: ["bulk"] })),
      ...(await outbox.claim({ workerId: "w1", limit: 1000, leaseMs: 1000, now: iso(T0), channels: ["bulk"] })),
    ];
    expect(bulk).toHaveLength(1100);
    expect(await outbox.claim({ workerId: "w1", limit: 10, leaseMs: 2000, now: iso(T0), channels: ["page"] })).toHaveLength(5);

    const later = iso(T0 + 10_000);
    const paged = await outbox.claim({ workerId: "w2", limit: 10, leaseMs: 60_000, now: later, channels: ["page"] });
    expect(paged.map((m) => m.id).sort()).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
    expect(paged.every((m) => m.attempts === 2 && m.leaseOwner === "w2")).toBe(true);

    const back = new Set<string>();
    for (let round = 0; round < 4; round++)
      for (const m of await outbox.claim({ workerId: "w3", limit: 500, leaseMs: 60_000, now: later })) back.add(m.id);
    expect(back.size).toBe(1100);
    expect([...back].every((id) => id.startsWith("bulk-"))).toBe(true);
    // Nothing is left to reclaim, and the first worker's late completion loses.
    expect(await outbox.claim({ workerId: "w4", limit: 10, leaseMs: 60_000, now: later })).toEqual([]);
    await expect(outbox.complete({ id: "bulk-0", workerId: "w1", now: later })).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("leases recorded in the former all-channel index are still reclaimed", async () => {
    const p = `${prefix}-b`;
    const { outbox } = redisStores(redis, { prefix: p, outboxShards: 1 });
    await fill(outbox, "old", 3);
    expect(await outbox.claim({ workerId: "w1", limit: 10, leaseMs: 1000, now: iso(T0), channels: ["old"] })).toHaveLength(3);
    // As a store before the per-channel index left them: every lease in `{ob:0}:leases`.
    const perChannel = `${p}:{ob:0}:leases:old`;
    const entries = await redis.zrange(perChannel, 0, -1, "WITHSCORES");
    expect(entries).toHaveLength(6);
    await redis.del(perChannel);
    await redis.zadd(`${p}:{ob:0}:leases`, ...entries.flatMap((v, i) => (i % 2 === 0 ? [entries[i + 1]!, v] : [])));
    const again = await outbox.claim({ workerId: "w2", limit: 10, leaseMs: 60_000, now: iso(T0 + 5000), channels: ["old"] });
    expect(again.map((m) => m.id).sort()).toEqual(["old-0", "old-1", "old-2"]);
    expect(await redis.exists(`${p}:{ob:0}:leases`)).toBe(0);
  });
});
