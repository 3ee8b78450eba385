// The tamper battery of @ops/audit on chains the Prisma shim wrote (Prisma 7 with
// @prisma/adapter-pg): the battery lives beside the PostgreSQL store's own test and runs here
// unchanged. The tampering goes through plain SQL (node-postgres) on the same schema, as an
// attacker with the table owner's access would, never through the Prisma client.
import { nodePgExecutor } from "@ops/adapter-postgres";
import { pgAuditBackdoor, type PgRawConnection } from "@ops/testkit";
import { describeTamperBattery } from "../../postgres/test/support/tamper-battery.js";
import { prismaStores } from "../src/index.js";
import { createTestDatabase } from "./helpers/db.js";

await describeTamperBattery("adapter-prisma (@prisma/adapter-pg)", async (mode) => {
  const db = await createTestDatabase(`tamper_${mode === "keyed" ? "k" : "c"}`);
  const stores = prismaStores(await db.client());
  return {
    audit: stores.audit,
    raw: pgAuditBackdoor(nodePgExecutor(db.pool) as PgRawConnection, db.schema),
    close: async () => {
      await stores.close();
      await db.drop();
    },
  };
});
