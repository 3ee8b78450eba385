import { UnavailableError } from "@ops/core";
import { randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleStores, type DrizzleDatabase } from "../src/index.js";
import { chainRecords } from "./support/audit-records.js";
import { createPgSchema } from "./support/harness.js";

const up = await requireService("postgres");
const SECRET = "secret-meta-value-7f3a";

/**
 * A statement the server cancels (statement_timeout) in the middle of a 500-entry append: the
 * error says what failed and the SQLSTATE, never the values of the rows it carried.
 */
describe.skipIf(!up)("drizzle: a cancelled 500-entry audit append is a short, scrubbed UnavailableError", () => {
  let schema: Awaited<ReturnType<typeof createPgSchema>>;
  const closers: Array<() => Promise<unknown>> = [];
  beforeAll(async () => void (schema = await createPgSchema("scrub")));
  afterAll(async () => {
    for (const c of closers) await c();
    await schema?.drop();
  });

  const drivers: Array<[string, () => DrizzleDatabase]> = [
    [
      "node-postgres",
      () => {
        const pool = new pg.Pool({ connectionString: testPgUrl(), max: 2, options: "-c statement_timeout=1" });
        closers.push(() => pool.end());
        return drizzleNodePg(pool) as unknown as DrizzleDatabase;
      },
    ],
    [
      "postgres.js",
      () => {
        const sql = postgres(testPgUrl(), { max: 2, connection: { statement_timeout: 1 }, fetch_types: false, onnotice: () => {} });
        closers.push(() => sql.end());
        return drizzlePostgresJs(sql) as unknown as DrizzleDatabase;
      },
    ],
  ];
  for (const [driver, open] of drivers)
    it(`${driver}: SQLSTATE 57014, no parameter value in the message`, async () => {
      // roleCheck off: a 1 ms statement_timeout would cancel the start-up role check before the append.
      const stores = drizzleStores(open(), { schema: schema.schema, roleCheck: false });
      const t = randomTenant();
      // Big enough that 1 ms is never enough to insert it.
      const records = chainRecords(t, 500, null, (i) => ({ meta: { secret: SECRET, pad: "x".repeat(2000), i } }));
      const err = (await stores.audit.append({ tenantId: t, records }).catch((e: unknown) => e)) as UnavailableError;
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.message).toMatch(/^\[ops\/adapter-drizzle\] audit\.append \S+ seq 1\.\.500: .*\(57014: statement timeout\)$/);
      expect(err.message.length).toBeLessThan(200);
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(records[0]!.id);
    });
});
