import { describeOutboxStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES, drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { outboxRaw } from "./support/raw.js";

await forEachDriver("outbox", (driver, harness) => {
  let raw: ReturnType<typeof outboxRaw> | undefined;
  describeOutboxStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = outboxRaw(h);
      // Fresh store objects per case (a case may close its store), over the file's one database.
      return drizzleStores(h.db, h.schema ? { schema: h.schema } : {}).outbox;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
