import { describeAuthEventStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors } from "./support/harness.js";

await forEachDriver("authEvents", (driver, harness) => {
  let raw: ReturnType<typeof backdoors>["authEvent"] | undefined;
  describeAuthEventStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = backdoors(h).authEvent;
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {}).authEvents;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
