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
  describeOutboxStoreConformance,
} from "@ops/testkit";
import type pg from "pg";
import {
  OPS_MIGRATIONS,
  PrismaAuditStore,
  PrismaAuthEventStore,
  PrismaCounterStore,
  PrismaFlagStore,
  PrismaIncidentStore,
  PrismaOutboxStore,
  PrismaSubjectKeyStore,
  type PrismaClientLike,
} from "../src/index.js";
import { auditBackdoor } from "./helpers/audit-backdoor.js";
import { authEventRaw, counterRaw, flagRaw, incidentRaw, outboxRaw, type Query } from "./helpers/backdoors.js";
import { loadPrismaClientPath } from "./helpers/db.js";

/**
 * The same stores and suites in process, on PGlite (PostgreSQL compiled to WASM) through the
 * community Prisma driver adapter `pglite-prisma-adapter`: no server needed.
 */
describe("prisma: every store on PGlite (in process)", () => {
  const lite = new PGlite();
  let prisma: PrismaClientLike & { $disconnect(): Promise<void> };
  const q: Query = async (text, values) => lite.query(text, values as unknown[]) as never;

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

  // The audit tamper backdoor wants a pool: PGlite is one connection, and the cases await it alone.
  const litePool = {
    query: (text: string, values?: unknown[]) => lite.query(text, values),
    connect: async () => ({ query: (text: string, values?: unknown[]) => lite.query(text, values), release() {} }),
  } as unknown as pg.Pool;

  const name = "prisma/pglite";
  describeFlagStoreConformance({ name, create: () => new PrismaFlagStore(prisma), raw: flagRaw(q) });
  describeIncidentStoreConformance({ name, create: () => new PrismaIncidentStore(prisma), raw: incidentRaw(q) });
  describeOutboxStoreConformance({ name, create: () => new PrismaOutboxStore(prisma), raw: outboxRaw(q) });
  describeAuthEventStoreConformance({ name, create: () => new PrismaAuthEventStore(prisma), raw: authEventRaw(q) });
  describeCounterStoreConformance({ name, create: () => new PrismaCounterStore(prisma), raw: counterRaw(q) });
  const audit = {
    name,
    create: () => new PrismaAuditStore(prisma),
    createKeys: () => new PrismaSubjectKeyStore(prisma),
    raw: () => auditBackdoor(litePool),
  };
  if (auditStoreCases(audit).length > 0) describeAuditStoreConformance(audit);
});
