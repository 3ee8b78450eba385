import { requireService, testPgUrl } from "@ops/testkit";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealth, drizzleCheck, pgCheck, prismaCheck, runHealthChecks } from "@ops/health";
import { blackhole, closedPort } from "./helpers.js";
import { createTestPrisma } from "./prisma-client.js";

const up = await requireService("postgres");

describe.skipIf(!up)("PostgreSQL checks (real server)", () => {
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 2 });
  afterAll(() => pool.end());

  it("pgCheck passes on a pg Pool with latency and pool counters", async () => {
    const report = await runHealthChecks("test", [pgCheck(pool)]);
    const r = report.checks[0]!;
    expect(r).toMatchObject({
      name: "postgres",
      key: "postgres:responseTime",
      status: "pass",
      observedUnit: "ms",
      componentType: "datastore",
    });
    expect(typeof r.observedValue).toBe("number");
    expect(r.message).toMatch(/^SELECT 1 in \d+(\.\d+)? ms$/);
    expect(r.details).toMatchObject({ totalCount: expect.any(Number), idleCount: expect.any(Number), waitingCount: 0 });
    // The checked-out client went back to the pool.
    expect(pool.idleCount).toBe(pool.totalCount);
  });

  it("pgCheck passes on a single pg Client", async () => {
    const client = new pg.Client({ connectionString: testPgUrl() });
    await client.connect();
    try {
      const report = await runHealthChecks("test", [pgCheck(client, { name: "primary" })]);
      expect(report.checks[0]).toMatchObject({ name: "primary", status: "pass" });
    } finally {
      await client.end();
    }
  });

  it("warns when slower than warnAboveMs", async () => {
    // pg_sleep makes the query deterministically slower than the threshold.
    const slowPool = { query: (sql: string) => pool.query(`SELECT pg_sleep(0.05); ${sql}`) };
    const report = await runHealthChecks("test", [pgCheck(slowPool, { warnAboveMs: 1 })]);
    expect(report.status).toBe("warn");
    expect(report.checks[0]!.message).toMatch(/^SELECT 1 in [\d.]+ ms \(slow: above 1 ms\)$/);
  });

  it("drizzleCheck passes on a real Drizzle database over pg", async () => {
    const db = drizzle({ client: pool });
    const report = await runHealthChecks("test", [drizzleCheck(db)]);
    expect(report.checks[0]).toMatchObject({ name: "postgres", status: "pass", observedUnit: "ms" });
  });

  it("prismaCheck passes on a real Prisma client ($queryRawUnsafe and the $queryRaw tag)", async () => {
    const prisma = await createTestPrisma(testPgUrl());
    try {
      const tagOnly = { $queryRaw: prisma.$queryRaw.bind(prisma) };
      const report = await runHealthChecks("test", [prismaCheck(prisma, { name: "prisma" }), prismaCheck(tagOnly, { name: "prisma-tag" })]);
      expect(report.checks.map((c) => [c.name, c.status])).toEqual([
        ["prisma", "pass"],
        ["prisma-tag", "pass"],
      ]);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("prismaCheck fails on a real Prisma client whose database is unreachable", async () => {
    const prisma = await createTestPrisma(`postgres://app:prisma-secret-pw@127.0.0.1:${await closedPort()}/x`);
    try {
      const report = await runHealthChecks("test", [prismaCheck(prisma)]);
      expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: false });
      expect(JSON.stringify(report)).not.toContain("prisma-secret-pw");
    } finally {
      await prisma.$disconnect();
    }
  });

  it("rejects clients without the needed method", () => {
    expect(() => pgCheck({} as never)).toThrow(/\[ops\/health\] invalid pgCheck input: pool/);
    expect(() => prismaCheck({} as never)).toThrow(/prisma: expected a Prisma client/);
    expect(() => drizzleCheck({} as never)).toThrow(/db: expected a Drizzle database/);
    expect(() => pgCheck(pool, { warnAboveMs: -1 })).toThrow(/warnAboveMs/);
  });
});

describe("PostgreSQL checks (unreachable)", () => {
  let port: number;
  beforeAll(async () => {
    port = await closedPort();
  });

  it("fails fast with a secret-free message on a closed port", async () => {
    const url = `postgres://app:pg-secret-pw@127.0.0.1:${port}/nope`;
    const pool = new pg.Pool({ connectionString: url });
    try {
      const drizzleDb = drizzle({ client: pool });
      const report = await runHealthChecks("test", [pgCheck(pool), drizzleCheck(drizzleDb, { name: "drizzle" })]);
      expect(report.status).toBe("fail");
      for (const c of report.checks) {
        expect(c).toMatchObject({ status: "fail", timedOut: false });
        expect(c.message).toMatch(/ECONNREFUSED/);
      }
      expect(JSON.stringify(report)).not.toContain("pg-secret-pw");
    } finally {
      await pool.end();
    }
  });

  it("a server that accepts and never answers fails at the timeout, and the stuck client is not kept", async () => {
    const hole = await blackhole();
    const pool = new pg.Pool({ connectionString: `postgres://app@127.0.0.1:${hole.port}/x`, max: 1 });
    pool.on("error", () => undefined);
    try {
      const health = createHealth({ checks: [pgCheck(pool, { timeoutMs: 200 })], cacheTtlMs: 0, liveness: [] });
      const report = await health.readiness();
      expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: true, message: "timed out after 200 ms" });
      health.close();
    } finally {
      await hole.close();
      await pool.end().catch(() => undefined);
    }
  });
});
