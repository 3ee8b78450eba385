import {
  describeAuditStoreConformance,
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeEffectStoreConformance,
  describeOutboxStoreConformance,
  pgBackdoors,
  testPgUrl,
} from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { POSTGRES_CAPABILITIES, nodePgExecutor, nodePgListener, postgresStores, type PostgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();

// The executor straight on node-postgres (the Drizzle and Prisma shims run the same suites on
// their drivers: postgres.js and PGlite through Drizzle, adapter-pg and PGlite through Prisma).
describe.skipIf(!up)("adapter-postgres: every conformance suite over nodePgExecutor(pool)", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let listenClient: pg.Client;
  let raw: ReturnType<typeof pgBackdoors>;
  const stores = (): PostgresStores =>
    postgresStores(nodePgExecutor(db.pool), { schema: db.schema, listener: nodePgListener(listenClient) });
  beforeAll(async () => {
    db = await createSchema("conf");
    listenClient = new pg.Client({ connectionString: testPgUrl() });
    await listenClient.connect();
    raw = pgBackdoors(db.admin, db.schema);
  });
  afterAll(async () => {
    await listenClient?.end();
    await db?.drop();
  });

  const name = "postgres/node-postgres";
  describeFlagStoreConformance({
    name,
    create: () => stores().flags,
    raw: () => raw.flag,
    capabilities: { ...POSTGRES_CAPABILITIES, pubsub: true },
    cleanup: (s) => s.close(),
  });
  describeIncidentStoreConformance({
    name,
    capabilities: POSTGRES_CAPABILITIES,
    create: () => stores().incidents,
    raw: () => raw.incident,
  });
  describeOutboxStoreConformance({ name, capabilities: POSTGRES_CAPABILITIES, create: () => stores().outbox, raw: () => raw.outbox });
  describeEffectStoreConformance({ name, capabilities: POSTGRES_CAPABILITIES, create: () => stores() });
  describeAuthEventStoreConformance({
    name,
    capabilities: POSTGRES_CAPABILITIES,
    create: () => stores().authEvents,
    raw: () => raw.authEvent,
  });
  describeCounterStoreConformance({ name, create: () => stores().counters, raw: () => raw.counter });
  describeAuditStoreConformance({
    name,
    create: () => stores().audit,
    createKeys: () => stores().auditKeys,
    raw: () => raw.audit,
    timeout: 120_000,
  });
});
