import { describeIncidentStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { incidentRaw } from "./support/raw.js";

await forEachDriver("incidents", (driver, harness) => {
  let raw: ReturnType<typeof incidentRaw> | undefined;
  describeIncidentStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = incidentRaw(h);
      return h.stores.incidents;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
