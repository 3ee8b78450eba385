import { FeatureFlagController } from "@ops/flags";
import { createSignalRecorder, IncidentManager, runAuthOpsSpine } from "@ops/incidents";
import { describeLibraryHostileValues, pgTargets, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { nodePgExecutor, nodePgListener, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();
const targets = up ? await pgTargets() : [];

// The library (recorder, FeatureFlagController, IncidentManager) over node-postgres as the
// non-superuser, on a direct connection and through PgBouncer (transaction mode).
describe.skipIf(!up).each(targets)("adapter-postgres: library hostile values over nodePgExecutor(pool), $target", ({ target, url }) => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let pool: pg.Pool;
  let listenClient: pg.Client;
  beforeAll(async () => {
    db = await createSchema("hostile");
    pool = target === "direct" ? db.pool : new pg.Pool({ connectionString: url, max: 10 });
    listenClient = new pg.Client({ connectionString: testPgUrl() });
    await listenClient.connect();
  });
  afterAll(async () => {
    await listenClient?.end();
    if (pool && pool !== db?.pool) await pool.end();
    await db?.drop();
  });
  describeLibraryHostileValues({
    name: `postgres/node-postgres (${target})`,
    stores: () => postgresStores(nodePgExecutor(pool), { schema: db.schema, listener: nodePgListener(listenClient) }),
    signals: { createSignalRecorder },
    flags: { FeatureFlagController },
    incidents: { IncidentManager, runAuthOpsSpine },
  });
});
