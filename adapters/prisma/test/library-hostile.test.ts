import { pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { FeatureFlagController } from "@ops/flags";
import { createSignalRecorder, IncidentManager, runAuthOpsSpine } from "@ops/incidents";
import { describeLibraryHostileValues, pgTargets, requireService, testPgUrl } from "@ops/testkit";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe } from "vitest";
import {
  OPS_MIGRATIONS,
  PrismaAuditStore,
  PrismaAuthEventStore,
  PrismaCounterStore,
  type PrismaClientLike,
  PrismaFlagStore,
  PrismaIncidentStore,
} from "../src/index.js";
import { createTestDatabase, loadPrismaClientPath, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

// The library (recorder, FeatureFlagController, IncidentManager) over the Prisma stores: on
// PostgreSQL through @prisma/adapter-pg (direct, and through PgBouncer in transaction mode), and on
// PGlite in process.
const lib = {
  signals: { createSignalRecorder },
  flags: { FeatureFlagController },
  incidents: { IncidentManager, runAuthOpsSpine },
};
const up = await requireService("postgres");
const targets = up ? await pgTargets() : [];

describe.skipIf(!up).each(targets)("prisma: library hostile values on PostgreSQL (@prisma/adapter-pg), $target", ({ target, url }) => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("hostile");
    prisma = target === "direct" ? await db.client() : await db.client({ url, pooler: true });
  });
  afterAll(async () => db?.drop());
  const pooled = target === "pgbouncer";
  const o = () => (pooled ? { schema: db.schema } : {});
  describeLibraryHostileValues({
    name: `prisma/pg (${target})`,
    stores: () => ({
      flags: new PrismaFlagStore(prisma, pooled ? { ...o(), listenUrl: testPgUrl() } : {}),
      incidents: new PrismaIncidentStore(prisma, o()),
      authEvents: new PrismaAuthEventStore(prisma, o()),
      counters: new PrismaCounterStore(prisma, o()),
      audit: new PrismaAuditStore(prisma, o()),
    }),
    cleanup: (s) => s.flags?.close(),
    ...lib,
  });
});

describe("prisma: library hostile values on PGlite (in process)", () => {
  const lite = new PGlite();
  let prisma: PrismaClientLike & { $disconnect(): Promise<void> };
  beforeAll(async () => {
    for (const m of OPS_MIGRATIONS) await lite.exec(m.sql);
    const { PrismaClient } = (await import(pathToFileURL(await loadPrismaClientPath()).href)) as {
      PrismaClient: new (o: { adapter: PrismaPGlite }) => typeof prisma;
    };
    prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  }, 120_000);
  afterAll(async () => {
    await prisma?.$disconnect();
    await lite.close();
  });
  describeLibraryHostileValues({
    name: "prisma/pglite",
    stores: () => ({
      flags: new PrismaFlagStore(prisma),
      incidents: new PrismaIncidentStore(prisma),
      authEvents: new PrismaAuthEventStore(prisma),
      counters: new PrismaCounterStore(prisma),
      audit: new PrismaAuditStore(prisma),
    }),
    cleanup: (s) => s.flags?.close(),
    ...lib,
  });
});
