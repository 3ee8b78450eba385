import { requireService, testRedisUrl } from "@ops/testkit";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisCheck, runHealthChecks } from "@ops/health";
import { blackhole, closedPort } from "./helpers.js";

const up = await requireService("redis");

describe.skipIf(!up)("Redis check (real server)", () => {
  const redis = new Redis(testRedisUrl(), { keyPrefix: "ops-health-test:" });
  afterAll(() => redis.quit());

  it("passes on PING with latency", async () => {
    const report = await runHealthChecks("test", [redisCheck(redis)]);
    expect(report.checks[0]).toMatchObject({ name: "redis", key: "redis:responseTime", status: "pass", observedUnit: "ms" });
    expect(typeof report.checks[0]!.observedValue).toBe("number");
    expect(report.checks[0]!.message).toMatch(/^PONG in [\d.]+ ms$/);
  });

  it("is a warn, not a fail, when non-critical and down", async () => {
    const port = await closedPort();
    const down = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on("error", () => undefined);
    try {
      const report = await runHealthChecks("test", [redisCheck(redis), redisCheck(down, { name: "cache", critical: false })]);
      expect(report).toMatchObject({ ok: true, status: "warn" });
      expect(report.checks[1]).toMatchObject({ name: "cache", status: "fail", critical: false });
    } finally {
      down.disconnect();
    }
  });
});

describe("Redis check (unreachable)", () => {
  it("fails on a closed port without waiting for the timeout", async () => {
    const port = await closedPort();
    const redis = new Redis({
      host: "127.0.0.1",
      port,
      password: "redis-secret-pw",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on("error", () => undefined);
    try {
      const report = await runHealthChecks("test", [redisCheck(redis, { timeoutMs: 10_000 })]);
      expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: false });
      expect(JSON.stringify(report)).not.toContain("redis-secret-pw");
    } finally {
      redis.disconnect();
    }
  });

  it("reports a reconnecting client as down at once", async () => {
    const port = await closedPort();
    // Default ioredis: retries forever and queues commands; the check must not wait on the queue.
    const redis = new Redis({ host: "127.0.0.1", port });
    redis.on("error", () => undefined);
    try {
      await new Promise<void>((resolve) => redis.once("reconnecting", () => resolve()));
      const report = await runHealthChecks("test", [redisCheck(redis, { timeoutMs: 10_000 })]);
      expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: false, message: "redis connection is reconnecting" });
    } finally {
      redis.disconnect();
    }
  });

  it("a server that never answers fails at the timeout", async () => {
    const hole = await blackhole();
    const redis = new Redis({ host: "127.0.0.1", port: hole.port, lazyConnect: true, retryStrategy: () => null });
    redis.on("error", () => undefined);
    try {
      const report = await runHealthChecks("test", [redisCheck(redis, { timeoutMs: 150 })]);
      expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: true, message: "timed out after 150 ms" });
    } finally {
      redis.disconnect();
      await hole.close();
    }
  });
});
