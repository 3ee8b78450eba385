import {
  describeAuditStoreConformance,
  describeAuthEventStoreConformance,
  describeCounterStoreConformance,
  describeFlagStoreConformance,
  describeIncidentStoreConformance,
  describeEffectStoreConformance,
  describeOutboxStoreConformance,
  pgBackdoors,
  pgTargets,
  testPgUrl,
} from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { POSTGRES_CAPABILITIES, nodePgExecutor, nodePgListener, postgresStores, type PostgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();

const targets = up ? await pgTargets() : [];

// The executor straight on node-postgres (the Drizzle and Prisma shims run the same suites on
// their drivers: postgres.js and PGlite through Drizzle, adapter-pg and PGlite through Prisma).
// Each suite runs on a direct connection and through PgBouncer in transaction mode
// (OPS_TEST_PGBOUNCER_URL): there the stores' statements go through the pooler and LISTEN uses a
// direct connection, as the README recommends.
describe.skipIf(!up).each(targets)("adapter-postgres: every conformance suite over nodePgExecutor(pool), $target", ({ target, url }) => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let pool: pg.Pool;
  let listenClient: pg.Client;
  let raw: ReturnType<typeof pgBackdoors>;
  const stores = (): PostgresStores => postgresStores(nodePgExecutor(pool), { schema: db.schema, listener: nodePgListener(listenClient) });
  beforeAll(async () => {
    db = await createSchema("conf");
    // Through the pooler: no startup `options` (PgBouncer refuses them), the schema is named instead.
    pool = target === "direct" ? db.pool : new pg.Pool({ connectionString: url, max: 10 });
    listenClient = new pg.Client({ connectionString: testPgUrl() });
    await listenClient.connect();
    raw = pgBackdoors(db.admin, db.schema);
  });
  afterAll(async () => {
    await listenClient?.end();
    if (pool && pool !== db?.pool) await pool.end();
    await db?.drop();
  });

  const name = `postgres/node-postgres (${target})`;
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
