import { describeOutboxStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors } from "./support/harness.js";

await forEachDriver("outbox", (driver, harness) => {
  let raw: ReturnType<typeof backdoors>["outbox"] | undefined;
  describeOutboxStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = backdoors(h).outbox;
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {}).outbox;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
