// The tamper battery of @ops/audit on chains the Drizzle shim wrote (drizzle-orm over
// node-postgres): the battery lives beside the PostgreSQL store's own test and runs here unchanged.
// The tampering goes through plain SQL on the same schema, as an attacker with the table owner's
// access would, never through the store.
import { pgAuditBackdoor, testPgUrl } from "@ops/testkit";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { describeTamperBattery } from "../../postgres/test/support/tamper-battery.js";
import { drizzleStores, drizzleToExecutor } from "../src/index.js";
import { createPgSchema } from "./support/harness.js";

await describeTamperBattery("adapter-drizzle (node-postgres)", async (mode) => {
  const { schema, drop } = await createPgSchema(`tamper_${mode === "keyed" ? "k" : "c"}`);
  const pool = new pg.Pool({ connectionString: testPgUrl(), max: 10 });
  const db = drizzle(pool);
  const stores = drizzleStores(db, { schema });
  return {
    audit: stores.audit,
    raw: pgAuditBackdoor(drizzleToExecutor(db), schema),
    close: async () => {
      await stores.close();
      await pool.end();
      await drop();
    },
  };
});
