import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeEffectStoreConformance,
  describeOutboxStoreConformance,
  randomTenant,
  requireService,
} from "@ops/testkit";
import {
  PRISMA_CAPABILITIES,
  PrismaAuthEventStore,
  PrismaCounterStore,
  PrismaFlagStore,
  PrismaIncidentStore,
  PrismaOutboxStore,
  prismaStores,
} from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";
import { rawOnPool } from "./helpers/raw.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: every store's conformance suite on PostgreSQL (@prisma/adapter-pg)", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  let raw: ReturnType<typeof rawOnPool>;
  beforeAll(async () => {
    db = await createTestDatabase("conf");
    prisma = await db.client();
    raw = rawOnPool(db.pool);
  });
  afterAll(async () => db?.drop());

  const name = "prisma/pg";
  describeFlagStoreConformance({ name, create: () => new PrismaFlagStore(prisma), raw: () => raw.flag });
  describeIncidentStoreConformance({ name, create: () => new PrismaIncidentStore(prisma), raw: () => raw.incident });
  describeOutboxStoreConformance({ name, create: () => new PrismaOutboxStore(prisma), raw: () => raw.outbox });
  describeEffectStoreConformance({ name, capabilities: PRISMA_CAPABILITIES, create: () => prismaStores(prisma) });
  describeAuthEventStoreConformance({ name, create: () => new PrismaAuthEventStore(prisma), raw: () => raw.authEvent });
  describeCounterStoreConformance({ name, create: () => new PrismaCounterStore(prisma), raw: () => raw.counter });

  it("the seed's AuthOpsLog model reads what the store wrote, through the generated client", async () => {
    const store = new PrismaAuthEventStore(prisma);
    const tenantId = randomTenant();
    const occurredAt = "2026-03-04T05:06:07.089Z";
    await store.append({
      events: [{ id: `ev-${tenantId}`, type: "LOGIN_FAILED", occurredAt, tenantId, userId: "u1", provider: "password" }],
    });
    const delegate = (prisma as unknown as { authOpsLog: { findMany(a: unknown): Promise<Array<Record<string, unknown>>> } }).authOpsLog;
    const rows = await delegate.findMany({ where: { tenantId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: `ev-${tenantId}`, type: "LOGIN_FAILED", tenantId, userId: "u1", provider: "password" });
    expect((rows[0]!.occurredAt as Date).toISOString()).toBe(occurredAt);
  });
});
