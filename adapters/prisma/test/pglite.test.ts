import { pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe } from "vitest";
import {
  auditStoreCases,
  describeAuditStoreConformance,
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeEffectStoreConformance,
  describeOutboxStoreConformance,
} from "@ops/testkit";
import {
  OPS_MIGRATIONS,
  PRISMA_CAPABILITIES,
  prismaStores,
  PrismaAuditStore,
  PrismaAuthEventStore,
  PrismaCounterStore,
  PrismaFlagStore,
  PrismaIncidentStore,
  PrismaOutboxStore,
  PrismaSubjectKeyStore,
  type PrismaClientLike,
} from "../src/index.js";
import { rawOnPglite } from "./helpers/raw.js";
import { loadPrismaClientPath } from "./helpers/db.js";

/**
 * The same stores and suites in process, on PGlite (PostgreSQL compiled to WASM) through the
 * community Prisma driver adapter `pglite-prisma-adapter`: no server needed.
 */
describe("prisma: every store on PGlite (in process)", () => {
  const lite = new PGlite();
  let prisma: PrismaClientLike & { $disconnect(): Promise<void> };
  const raw = rawOnPglite(lite);

  beforeAll(async () => {
    for (const m of OPS_MIGRATIONS) await lite.exec(m.sql);
    const { PrismaClient } = (await import(pathToFileURL(await loadPrismaClientPath()).href)) as {
      PrismaClient: new (o: { adapter: PrismaPGlite }) => typeof prisma;
    };
    prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await lite.close();
  });

  const name = "prisma/pglite";
  describeFlagStoreConformance({ name, create: () => new PrismaFlagStore(prisma), raw: raw.flag });
  describeIncidentStoreConformance({ name, create: () => new PrismaIncidentStore(prisma), raw: raw.incident });
  describeOutboxStoreConformance({ name, create: () => new PrismaOutboxStore(prisma), raw: raw.outbox });
  describeEffectStoreConformance({ name, capabilities: PRISMA_CAPABILITIES, create: () => prismaStores(prisma) });
  describeAuthEventStoreConformance({ name, create: () => new PrismaAuthEventStore(prisma), raw: raw.authEvent });
  describeCounterStoreConformance({ name, create: () => new PrismaCounterStore(prisma), raw: raw.counter });
  const audit = {
    name,
    create: () => new PrismaAuditStore(prisma),
    createKeys: () => new PrismaSubjectKeyStore(prisma),
    raw: () => raw.audit,
  };
  if (auditStoreCases(audit).length > 0) describeAuditStoreConformance(audit);
});
