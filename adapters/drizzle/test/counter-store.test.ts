import { describeCounterStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors } from "./support/harness.js";

await forEachDriver("counters", (driver, harness) => {
  let raw: ReturnType<typeof backdoors>["counter"] | undefined;
  describeCounterStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = backdoors(h).counter;
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {}).counters;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
