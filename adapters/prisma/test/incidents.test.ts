import { afterAll, beforeAll, describe } from "vitest";
import { describeIncidentStoreConformance, requireService } from "@ops/testkit";
import { PrismaIncidentStore } from "../src/index.js";
import { incidentRaw, type Query } from "./helpers/backdoors.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: IncidentStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("incidents");
    prisma = await db.client();
  });
  afterAll(async () => db?.drop());

  // Straight from the table over the file's own pg pool, whatever the tenant.
  const q: Query = (text, values) => db.pool.query(text, values) as never;
  describeIncidentStoreConformance({ name: "prisma/pg", create: () => new PrismaIncidentStore(prisma), raw: incidentRaw(q) });
});
