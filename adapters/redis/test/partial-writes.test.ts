import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { UnavailableError, type IncidentRecord } from "@ops/core";
import { requireService, testRedisUrl } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";

const up = await requireService("redis");
const prefix = `opstest-partial-${process.pid}-${Date.now().toString(36)}`;
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

const now = new Date().toISOString();
const incident = (id: string, tenantId: string | null): Omit<IncidentRecord, "version"> => ({
  id,
  tenantId,
  fingerprint: `fp-${id}`,
  type: "brute_force",
  severity: "high",
  state: "open",
  title: "t",
  openedAt: now,
  updatedAt: now,
  data: {},
});

/** A client whose connection drops right before its `n`-th script call reaches Redis. */
function droppingBeforeScript(n: number): Redis {
  const c = new Redis(testRedisUrl(), { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  const evalsha = c.evalsha.bind(c) as (...args: unknown[]) => Promise<unknown>;
  let calls = 0;
  (c as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args) => {
    if (++calls === n) c.disconnect();
    return evalsha(...args);
  };
  return c;
}

describe.skipIf(!up)("adapter-redis: connection failures in the middle of an operation", () => {
  it("an incident create cut after the id was registered can be retried (no phantom ConflictError)", async () => {
    const id = `inc-${Date.now().toString(36)}`;
    const flaky = droppingBeforeScript(2);
    await new Promise((r) => flaky.once("ready", r));
    await expect(redisStores(flaky, { prefix }).incidents.create({ record: incident(id, "acme") })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    flaky.disconnect();

    const stores = redisStores(redis, { prefix });
    const created = await stores.incidents.create({ record: incident(id, "acme") });
    expect(created.version).toBe(1);
    expect((await stores.incidents.get({ tenantId: "acme", id }))?.id).toBe(id);
    const scanned = await stores.incidents.scan({ limit: 1000 });
    expect(scanned.items.filter((r) => r.id === id)).toHaveLength(1);
    // Still unique store-wide: another tenant cannot take the id.
    await expect(stores.incidents.create({ record: incident(id, "other") })).rejects.toMatchObject({ code: "CONFLICT" });
    await stores.close();
  });

  it("racing creators of one id, one of them taking over a cut create: exactly one wins, the id stays registered", async () => {
    const id = `inc-race-${Date.now().toString(36)}`;
    const flaky = droppingBeforeScript(2);
    await new Promise((r) => flaky.once("ready", r));
    await redisStores(flaky, { prefix })
      .incidents.create({ record: incident(id, "acme") })
      .catch(() => undefined);
    flaky.disconnect();

    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => redisStores(redis, { prefix }).incidents.create({ record: incident(id, "acme") })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const scanned = await redisStores(redis, { prefix }).incidents.scan({ limit: 1000 });
    expect(scanned.items.filter((r) => r.id === id)).toHaveLength(1);
  });

  it("outbox list: a failing clean-up of an expired member is not an unhandled rejection (which would kill the process)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const c = new Redis(testRedisUrl(), { maxRetriesPerRequest: 0 });
    try {
      const stores = redisStores(c, { prefix, retainDeliveredMs: 1 });
      const ch = `ch-${Date.now().toString(36)}`;
      const now = new Date().toISOString();
      await stores.outbox.enqueue({
        message: { id: `m-${ch}`, tenantId: null, channel: ch, payload: {}, idempotencyKey: `k-${ch}`, createdAt: now },
      });
      const [m] = await stores.outbox.claim({ workerId: "w", limit: 1, leaseMs: 1000, now, channels: [ch] });
      await stores.outbox.complete({ id: m!.id, workerId: "w", now });
      while ((await c.exists(`${prefix}:{ob:${await c.get(`${prefix}:obid:${m!.id}`)}}:m:${m!.id}`)) === 1)
        await new Promise((r) => setTimeout(r, 5));
      // The connection fails exactly when list cleans up the member whose message expired.
      (c as unknown as { zrem: () => Promise<number> }).zrem = () => Promise.reject(new Error("Connection is closed."));
      const page = await stores.outbox.list({ channel: ch });
      expect(page.items).toEqual([]);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      c.disconnect();
    }
  });
});
