import { afterAll, beforeAll, describe } from "vitest";
import { describeCounterStoreConformance, requireService, type CounterRawBackdoor } from "@ops/testkit";
import { PrismaCounterStore } from "../src/index.js";
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

  const raw: CounterRawBackdoor = {
    async readBucket({ tenantId, key, bucketMs, startMs }) {
      const { rows } = await db.pool.query(
        `SELECT count::text AS n FROM ops_counters
         WHERE tenant_id IS NOT DISTINCT FROM $1 AND key = $2 AND bucket_ms = $3 AND start_ms = $4`,
        [tenantId, key, bucketMs, startMs],
      );
      return rows[0] ? Number(rows[0].n) : null;
    },
  };

  describeCounterStoreConformance({ name: "prisma/pg", create: () => new PrismaCounterStore(prisma), raw });
});
