// The tamper battery of @ops/audit (test/support/tamper-battery.ts) on the PostgreSQL store over
// node-postgres. The Drizzle and Prisma shims run the same battery in their own packages.
import { pgAuditBackdoor, type PgRawConnection } from "@ops/testkit";
import { nodePgExecutor, postgresStores } from "../src/index.js";
import { createSchema } from "./support/db.js";
import { describeTamperBattery } from "./support/tamper-battery.js";

await describeTamperBattery("adapter-postgres", async (mode) => {
  const db = await createSchema(`tamper_${mode === "keyed" ? "k" : "c"}`);
  const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
  return { audit: stores.audit!, raw: pgAuditBackdoor(nodePgExecutor(db.pool) as PgRawConnection, db.schema), close: db.drop };
});
