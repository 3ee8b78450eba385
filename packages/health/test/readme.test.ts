// The README's opening examples, run against the real PostgreSQL and Redis.
import type { AddressInfo } from "node:net";
import { requireService, testPgUrl, testRedisUrl } from "@ops/testkit";
import express from "express";
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { bearerToken, createHealth, gracefulShutdown, healthMiddleware, healthRoute, pgCheck, prismaCheck, redisCheck } from "@ops/health";
import { createTestPrisma } from "./prisma-client.js";

const up = (await requireService("postgres")) && (await requireService("redis"));

describe.skipIf(!up)("README examples", () => {
  it("Express: probes, token-gated details, graceful shutdown", async () => {
    const HEALTH_TOKEN = "readme-example-token-123456";
    const pool = new pg.Pool({ connectionString: testPgUrl() });
    const redis = new Redis(testRedisUrl());
    const health = createHealth({
      checks: [pgCheck(pool), redisCheck(redis, { critical: false })],
      details: bearerToken(HEALTH_TOKEN),
    });

    const app = express();
    app.use(healthMiddleware(health));
    app.get("/", (_req, res) => void res.send("hello"));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const exits: number[] = [];
    const shutdown = gracefulShutdown(health, {
      servers: [server],
      closers: [() => pool.end(), () => redis.quit()],
      signals: [],
      drainDelayMs: 0,
      exit: (c) => exits.push(c),
      log: () => undefined,
    });

    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/`)).text()).toBe("hello");
    const detailed = (await (await fetch(`${base}/health`, { headers: { authorization: `Bearer ${HEALTH_TOKEN}` } })).json()) as {
      status: string;
      checks: Record<string, unknown>;
    };
    expect(detailed.status).toBe("pass");
    expect(Object.keys(detailed.checks)).toEqual(["postgres:responseTime", "redis:responseTime"]);

    expect(await shutdown.shutdown("test")).toBe(0);
    expect(exits).toEqual([0]);
    expect(pool.ended).toBe(true);
    // quit() resolves on the OK reply; the socket closes right after.
    await vi.waitFor(() => expect(redis.status).toBe("end"));
  });

  it("Next.js: a route handler with prismaCheck", async () => {
    const prisma = await createTestPrisma(testPgUrl());
    try {
      const health = createHealth({ checks: [prismaCheck(prisma)] });
      const GET = healthRoute(health, "readiness");
      const res = await GET(new Request("http://localhost:3000/api/health"));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/health+json");
      expect(await res.json()).toEqual({ status: "pass" });
      health.close();
    } finally {
      await prisma.$disconnect();
    }
  });
});
