import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeAuthEventStoreConformance, randomTenant, requireService } from "@ops/testkit";
import { PrismaAuthEventStore } from "../src/index.js";
import { authEventRaw, type Query } from "./helpers/backdoors.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: AuthEventStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("authev");
    prisma = await db.client();
  });
  afterAll(async () => db?.drop());

  const q: Query = (text, values) => db.pool.query(text, values) as never;

  describeAuthEventStoreConformance({ name: "prisma/pg", create: () => new PrismaAuthEventStore(prisma), raw: authEventRaw(q) });

  it("the seed's AuthOpsLog model reads what the store wrote, through the generated client", async () => {
    const store = new PrismaAuthEventStore(prisma);
    const tenantId = randomTenant();
    const occurredAt = "2026-03-04T05:06:07.089Z";
    await store.append({ events: [{ id: `ev-${tenantId}`, type: "LOGIN_FAILED", occurredAt, tenantId, userId: "u1", provider: "password" }] });
    const delegate = (prisma as unknown as { authOpsLog: { findMany(a: unknown): Promise<Array<Record<string, unknown>>> } }).authOpsLog;
    const rows = await delegate.findMany({ where: { tenantId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: `ev-${tenantId}`, type: "LOGIN_FAILED", tenantId, userId: "u1", provider: "password" });
    expect((rows[0]!.occurredAt as Date).toISOString()).toBe(occurredAt);
  });
});
