import { describeChangeRequestStoreConformance, testPgUrl } from "@ops/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { POSTGRES_CAPABILITIES, nodePgExecutor, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();

describe.skipIf(!up)("adapter-postgres: ChangeRequestStore over nodePgExecutor(pool)", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  beforeAll(async () => {
    db = await createSchema("cr");
  });
  afterAll(async () => {
    await db?.drop();
  });
  describeChangeRequestStoreConformance({
    name: "postgres/node-postgres",
    capabilities: POSTGRES_CAPABILITIES,
    create: () => postgresStores(nodePgExecutor(db.pool), { schema: db.schema }).changeRequests,
    raw: {
      async read({ env, id }) {
        const c = new pg.Client({ connectionString: testPgUrl() });
        await c.connect();
        try {
          const r = await c.query(
            `SELECT "status", "version", "config", "reviewer" FROM "${db.schema}"."ops_flag_change_requests" WHERE "env" = $1 AND "id" = $2`,
            [env, id],
          );
          return r.rows[0] ?? null;
        } finally {
          await c.end();
        }
      },
    },
  });
});
