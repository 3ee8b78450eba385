import { describeOutboxStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { outboxRaw } from "./support/raw.js";

await forEachDriver("outbox", (driver, harness) => {
  let raw: ReturnType<typeof outboxRaw> | undefined;
  describeOutboxStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = outboxRaw(h);
      return h.stores.outbox;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
