import { describeFlagStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors } from "./support/harness.js";

await forEachDriver("flags", (driver, harness) => {
  let raw: ReturnType<typeof backdoors>["flag"] | undefined;
  describeFlagStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = backdoors(h).flag;
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, { ...(h.schema ? { schema: h.schema } : {}), listener: h.listener }).flags;
    },
    raw: () => raw!,
    capabilities: { ...DRIZZLE_CAPABILITIES, pubsub: true },
    // Closing unsubscribes the store's LISTEN from the shared listening connection.
    cleanup: (store) => store.close(),
  });
});
