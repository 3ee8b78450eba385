import { describeIncidentStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { incidentRaw } from "./support/raw.js";

await forEachDriver("incidents", (driver, harness) => {
  let raw: ReturnType<typeof incidentRaw> | undefined;
  describeIncidentStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = incidentRaw(h);
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {}).incidents;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
