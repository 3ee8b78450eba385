import { FeatureFlagController } from "@ops/flags";
import { createSignalRecorder, IncidentManager, runAuthOpsSpine } from "@ops/incidents";
import { describeLibraryHostileValues } from "@ops/testkit";
import { drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";

// The library (recorder, FeatureFlagController, IncidentManager) on every Drizzle driver
// (node-postgres, postgres.js, PGlite; the PostgreSQL ones through PgBouncer too).
await forEachDriver("hostile", (driver, harness) => {
  describeLibraryHostileValues({
    name: `drizzle/${driver}`,
    stores: async () => {
      const h = await harness();
      return drizzleStores(h.db, { ...(h.schema ? { schema: h.schema } : {}), listener: h.listener });
    },
    signals: { createSignalRecorder },
    flags: { FeatureFlagController },
    incidents: { IncidentManager, runAuthOpsSpine },
  });
});
