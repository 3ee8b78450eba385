import { afterAll, beforeAll, describe } from "vitest";
import { describeCounterStoreConformance, requireService } from "@ops/testkit";
import { PrismaCounterStore } from "../src/index.js";
import { counterRaw, type Query } from "./helpers/backdoors.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: CounterStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("counters");
    prisma = await db.client();
  });
  afterAll(async () => db?.drop());

  const q: Query = (text, values) => db.pool.query(text, values) as never;
  describeCounterStoreConformance({ name: "prisma/pg", create: () => new PrismaCounterStore(prisma), raw: counterRaw(q) });
});
