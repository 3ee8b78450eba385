import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { createAuditLog } from "@ops/audit";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { expect, it } from "vitest";
import { drizzleStores } from "../src/index.js";
import * as opsSchema from "../src/schema.js";

it("the README example runs as written (Drizzle's migrator applies the shipped migrations)", async () => {
  const client = new PGlite();
  const db = drizzle(client, { schema: opsSchema });
  await migrate(db, { migrationsFolder: fileURLToPath(new URL("../migrations", import.meta.url)) });
  const stores = drizzleStores(db);
  const audit = createAuditLog({ store: stores.audit, keys: stores.auditKeys, env: "prod" });
  const record = await audit.append({ action: "DATA_EXPORT", actor: { id: "u1" }, tenantId: "acme" });
  expect(record.seq).toBe(1);
  expect((await audit.verify({ tenantId: "acme" })).ok).toBe(true);
  // The tables are usable from the app's own Drizzle schema too.
  const rows = await db.select().from(opsSchema.opsAuditEntries);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.action).toBe("DATA_EXPORT");
  await audit.close();
  await client.close();
  // Booting PGlite (WASM) and migrating takes long on a loaded machine.
}, 120_000);
