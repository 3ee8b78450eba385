import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeAuthEventStoreConformance, randomTenant, requireService, type AuthEventRawBackdoor } from "@ops/testkit";
import { PrismaAuthEventStore } from "../src/index.js";
import { AUTH_EVENT_COLUMNS, toRecord, type AuthEventRow } from "../src/stores/auth-event-store.js";
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

  const raw: AuthEventRawBackdoor = {
    async readEvent(id) {
      const { rows } = await db.pool.query<AuthEventRow>(`SELECT ${AUTH_EVENT_COLUMNS} FROM ops_auth_events WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async countId(id) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ops_auth_events WHERE id = $1`, [id]);
      return rows[0].n;
    },
  };

  describeAuthEventStoreConformance({ name: "prisma/pg", create: () => new PrismaAuthEventStore(prisma), raw });

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
