import { afterAll, beforeAll, describe } from "vitest";
import { requireService } from "@ops/testkit";
import { describeFlagStoreConformance, type FlagRawBackdoor } from "@ops/testkit";
import { PrismaFlagStore } from "../src/index.js";
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

  const raw: FlagRawBackdoor = {
    async read({ env, key, tenantId }) {
      const { rows } = await db.pool.query(
        `SELECT config, version, updated_by FROM ops_flags WHERE env = $1 AND key = $2 AND tenant_id IS NOT DISTINCT FROM $3`,
        [env, key, tenantId],
      );
      const row = rows[0];
      return row ? { config: row.config, version: row.version, updatedBy: row.updated_by } : null;
    },
  };

  describeFlagStoreConformance({ name: "prisma/pg", create: () => new PrismaFlagStore(prisma), raw });
});
