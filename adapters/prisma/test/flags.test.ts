import { afterAll, beforeAll, describe } from "vitest";
import { describeFlagStoreConformance, requireService } from "@ops/testkit";
import { PrismaFlagStore } from "../src/index.js";
import { flagRaw, type Query } from "./helpers/backdoors.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: FlagStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("flags");
    prisma = await db.client();
  });
  afterAll(async () => db?.drop());

  // Straight from the table over the file's own pg pool.
  const q: Query = (text, values) => db.pool.query(text, values) as never;
  describeFlagStoreConformance({ name: "prisma/pg", create: () => new PrismaFlagStore(prisma), raw: flagRaw(q) });
});
