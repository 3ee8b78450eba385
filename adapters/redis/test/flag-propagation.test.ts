import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { ValidationError, type FlagChange, type FlagStore } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { describeFlagStoreConformance, requireService, testRedisUrl } from "@ops/testkit";
import { redisFlagPropagation, REDIS_CAPABILITIES } from "../src/index.js";
import { RedisProcess } from "./redis-process.js";

const up = await requireService("redis");

/**
 * One "database" shared by every instance of a test, seen through a store WITHOUT pub/sub (as a
 * PostgreSQL behind a transaction pooler, where LISTEN hears nothing): whatever an instance hears
 * came through Redis or through re-reading the durable store.
 */
function durableWithoutPubsub(db: MemoryFlagStore): FlagStore {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "subscribe") return undefined;
      if (prop === "close") return async () => {};
      if (prop === "capabilities") return { ...target.capabilities, pubsub: false, durable: true, shared: true };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const opened: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

describe.skipIf(!up)("redisFlagPropagation: durable flags, Redis carries the changes", () => {
  describeFlagStoreConformance({
    name: "redisFlagPropagation(memory, redis)",
    create: () => {
      const redis = new Redis(testRedisUrl());
      const store = redisFlagPropagation(durableWithoutPubsub(new MemoryFlagStore()), redis, { prefix: `t${randomUUID().slice(0, 8)}` });
      return new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === "close")
            return async () => {
              await target.close();
              redis.disconnect();
            };
          return Reflect.get(target, prop, receiver);
        },
      });
    },
    capabilities: { ...REDIS_CAPABILITIES, transactions: false, pubsub: true, ttl: false, atomicCounters: false },
    cleanup: (s) => s.close(),
  });

  it("a change written by one instance reaches another's controller through Redis alone", async () => {
    const db = new MemoryFlagStore();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const ra = new Redis(testRedisUrl());
    const rb = new Redis(testRedisUrl());
    const a = redisFlagPropagation(durableWithoutPubsub(db), ra, { prefix });
    const b = redisFlagPropagation(durableWithoutPubsub(db), rb, { prefix });
    const ca = new FeatureFlagController(a, "prod", { pollIntervalMs: 0 });
    const cb = new FeatureFlagController(b, "prod", { pollIntervalMs: 0 });
    opened.push({ close: () => ra.quit().then(() => {}) }, { close: () => rb.quit().then(() => {}) }, a, b, ca, cb);
    await Promise.all([ca.ready(), cb.ready()]);
    // Each instance's subscriber connection is on the channel.
    await vi.waitFor(async () => expect((await rb.pubsub("NUMSUB", `${prefix}:flags:changes`))[1]).toBe(2));
    await ca.setFlag({ key: "checkout", newValue: true, actorUserId: "alice", reason: "launch" });
    await ca.setFlag({ key: "checkout", tenantId: "acme", newValue: false, actorUserId: "alice", reason: "not yet" });
    // No polling (pollIntervalMs 0) and no pub/sub in the durable store: only Redis can tell B.
    await vi.waitFor(() => expect(cb.isEnabled("checkout", { tenantId: "globex" })).toBe(true), { timeout: 3_000, interval: 10 });
    await vi.waitFor(() => expect(cb.isEnabled("checkout", { tenantId: "acme" }, true)).toBe(false), { timeout: 3_000, interval: 10 });
  });

  it("Redis restarted empty loses no flag, and a change made while it was down arrives after it returns", async () => {
    const redisProc = await RedisProcess.start();
    opened.push({ close: () => redisProc.kill() });
    const db = new MemoryFlagStore();
    const ra = new Redis(redisProc.url, { maxRetriesPerRequest: 1 });
    const rb = new Redis(redisProc.url, { maxRetriesPerRequest: 1 });
    ra.on("error", () => {});
    rb.on("error", () => {});
    const errors: string[] = [];
    const a = redisFlagPropagation(durableWithoutPubsub(db), ra, { onError: (_e, what) => errors.push(what) });
    const b = redisFlagPropagation(durableWithoutPubsub(db), rb, { pollIntervalMs: 200 });
    const heard: FlagChange[] = [];
    const ca = new FeatureFlagController(a, "prod", { pollIntervalMs: 0 });
    const cb = new FeatureFlagController(b, "prod", { pollIntervalMs: 0 });
    opened.push({ close: () => (ra.disconnect(), rb.disconnect()) }, a, b, ca, cb);
    await Promise.all([ca.ready(), cb.ready()]);
    b.subscribe!((c) => heard.push(c));
    await ca.setFlag({ key: "search", newValue: "v1", actorUserId: "alice", reason: "x" });
    await vi.waitFor(() => expect(cb.stringValue("search", {}, "none")).toBe("v1"), { timeout: 3_000, interval: 10 });

    await redisProc.kill();
    // The write succeeds with Redis down: the durable store is the truth, the publish is best-effort.
    await ca.setFlag({ key: "search", newValue: "v2", actorUserId: "alice", reason: "during the outage" });
    expect(errors).toContain("publish a flag change");
    // B polls the durable store while its subscription is down.
    await vi.waitFor(() => expect(cb.stringValue("search", {}, "none")).toBe("v2"), { timeout: 5_000, interval: 20 });

    await redisProc.start(); // empty: no persistence
    await vi.waitFor(async () => expect(await rb.ping()).toBe("PONG"), { timeout: 10_000, interval: 100 });
    // Every flag still serves (nothing lived in Redis), and propagation resumes.
    expect(cb.stringValue("search", {}, "none")).toBe("v2");
    await vi.waitFor(async () => expect((await rb.pubsub("NUMSUB", "ops:flags:changes"))[1]).toBe(2), { timeout: 10_000, interval: 100 });
    await ca.setFlag({ key: "search", newValue: "v3", actorUserId: "alice", reason: "after" });
    await vi.waitFor(() => expect(cb.stringValue("search", {}, "none")).toBe("v3"), { timeout: 3_000, interval: 10 });
    // Each version once, in order (the poll, then Redis; duplicates dropped).
    expect(heard.map((c) => c.version).filter((v) => v >= 2)).toEqual([2, 3]);
  });

  it("the subscription comes back within maxReconnectDelayMs of Redis' return, whatever the client's own slower retryStrategy", async () => {
    const redisProc = await RedisProcess.start();
    opened.push({ close: () => redisProc.kill() });
    const db = new MemoryFlagStore();
    // B's client retries every 8 s (the duplicate made for subscribing inherits its options).
    const ra = new Redis(redisProc.url, { maxRetriesPerRequest: 1 });
    const rb = new Redis(redisProc.url, { maxRetriesPerRequest: 1, retryStrategy: () => 8_000 });
    ra.on("error", () => {});
    rb.on("error", () => {});
    const a = redisFlagPropagation(durableWithoutPubsub(db), ra, { pollIntervalMs: 60_000 });
    const b = redisFlagPropagation(durableWithoutPubsub(db), rb, { pollIntervalMs: 60_000, maxReconnectDelayMs: 300 });
    const ca = new FeatureFlagController(a, "prod", { pollIntervalMs: 0 });
    const cb = new FeatureFlagController(b, "prod", { pollIntervalMs: 0 });
    opened.push({ close: () => (ra.disconnect(), rb.disconnect()) }, a, b, ca, cb);
    await Promise.all([ca.ready(), cb.ready()]);
    const probe = new Redis(redisProc.url, { retryStrategy: () => 50 });
    probe.on("error", () => {});
    opened.push({ close: () => probe.disconnect() });
    const subscribers = async () => Number((await probe.pubsub("NUMSUB", "ops:flags:changes"))[1]);
    await vi.waitFor(async () => expect(await subscribers()).toBe(2), { timeout: 5_000, interval: 20 });

    await redisProc.kill();
    await new Promise((r) => setTimeout(r, 1_500));
    await redisProc.start(); // empty
    const back = Date.now();
    // Both subscriptions are back long before the client's 8 s retry (B's capped at 300 ms, A's at the default 1 s).
    await vi.waitFor(async () => expect(await subscribers()).toBe(2), { timeout: 3_000, interval: 20 });
    expect(Date.now() - back).toBeLessThan(3_000);
    // And a change published now reaches B through Redis (its durable store has no pub/sub and the poll is 60 s).
    await ca.setFlag({ key: "search", newValue: "after", actorUserId: "alice", reason: "after the outage" });
    await vi.waitFor(() => expect(cb.stringValue("search", {}, "none")).toBe("after"), { timeout: 3_000, interval: 10 });
  });

  it("refuses bad options by field", () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    opened.push({ close: () => redis.disconnect() });
    expect(() => redisFlagPropagation(new MemoryFlagStore(), redis, { prefix: "bad prefix!" })).toThrow(ValidationError);
    expect(() => redisFlagPropagation(new MemoryFlagStore(), redis, { pollIntervalMs: 5 })).toThrow(/pollIntervalMs/);
    expect(() => redisFlagPropagation(new MemoryFlagStore(), redis, { maxReconnectDelayMs: 0 })).toThrow(/maxReconnectDelayMs/);
  });
});
