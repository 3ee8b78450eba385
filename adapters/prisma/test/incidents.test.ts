import { afterAll, beforeAll, describe } from "vitest";
import { describeIncidentStoreConformance, requireService, type IncidentRawBackdoor } from "@ops/testkit";
import { PrismaIncidentStore } from "../src/index.js";
import { INCIDENT_COLUMNS, toRecord, type IncidentRow } from "../src/stores/incident-store.js";
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

  // Straight from the table over its own pg connection, whatever the tenant.
  const raw: IncidentRawBackdoor = {
    async readIncident(id) {
      const { rows } = await db.pool.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM ops_incidents WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
  };

  describeIncidentStoreConformance({ name: "prisma/pg", create: () => new PrismaIncidentStore(prisma), raw });
});
