import { describeAuditStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, DrizzleAuditStore, DrizzleSubjectKeyStore, createOpsTables } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors, type Harness } from "./support/harness.js";

await forEachDriver("audit_conf", (driver, harness) => {
  let h: Harness | undefined;
  // A fresh store object per case (the suite closes some), over the file's one database.
  const ctx = async () => {
    h = await harness();
    return { db: h.db, tables: createOpsTables(h.schema) };
  };
  describeAuditStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => new DrizzleAuditStore(await ctx()),
    createKeys: async () => new DrizzleSubjectKeyStore(await ctx()),
    raw: () => backdoors(h!).audit,
    capabilities: DRIZZLE_CAPABILITIES,
    timeout: 120_000,
  });
});
