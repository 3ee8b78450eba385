import { describeEffectStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";

// The transactional outbox on every Drizzle driver (node-postgres, postgres.js, PGlite).
await forEachDriver("effects", (driver, harness) => {
  describeEffectStoreConformance({
    name: `drizzle/${driver}`,
    capabilities: DRIZZLE_CAPABILITIES,
    create: async () => {
      const h = await harness();
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {});
    },
  });
});
