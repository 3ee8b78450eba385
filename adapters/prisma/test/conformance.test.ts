import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeEffectStoreConformance,
  describeOutboxStoreConformance,
  pgTargets,
  randomTenant,
  requireService,
  testPgUrl,
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

const targets = up ? await pgTargets() : [];

// Direct, and through PgBouncer in transaction mode (OPS_TEST_PGBOUNCER_URL): there the client
// goes through the pooler, the stores name their schema (no search_path from startup options) and
// flag changes are heard on a direct connection (listenUrl), as the README recommends.
describe.skipIf(!up).each(targets)(
  "prisma: every store's conformance suite on PostgreSQL (@prisma/adapter-pg), $target",
  ({ target, url }) => {
    let db: TestDatabase;
    let prisma: TestPrismaClient;
    let raw: ReturnType<typeof rawOnPool>;
    beforeAll(async () => {
      db = await createTestDatabase("conf");
      prisma = target === "direct" ? await db.client() : await db.client({ url, pooler: true });
      raw = rawOnPool(db.pool);
    });
    afterAll(async () => db?.drop());

    const pooled = target === "pgbouncer";
    const o = () => (pooled ? { schema: db.schema } : {});
    const name = `prisma/pg (${target})`;
    describeFlagStoreConformance({
      name,
      create: () => new PrismaFlagStore(prisma, pooled ? { ...o(), listenUrl: testPgUrl() } : {}),
      raw: () => raw.flag,
      capabilities: { ...PRISMA_CAPABILITIES, pubsub: pooled },
      cleanup: (s) => s.close(),
    });
    describeIncidentStoreConformance({ name, create: () => new PrismaIncidentStore(prisma, o()), raw: () => raw.incident });
    describeOutboxStoreConformance({ name, create: () => new PrismaOutboxStore(prisma, o()), raw: () => raw.outbox });
    describeAuthEventStoreConformance({ name, create: () => new PrismaAuthEventStore(prisma, o()), raw: () => raw.authEvent });
    describeEffectStoreConformance({ name, capabilities: PRISMA_CAPABILITIES, create: () => prismaStores(prisma, o()) });
    describeCounterStoreConformance({ name, create: () => new PrismaCounterStore(prisma, o()), raw: () => raw.counter });

    it("the seed's AuthOpsLog model reads what the store wrote, through the generated client", async () => {
      const store = new PrismaAuthEventStore(prisma, o());
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
  },
);
