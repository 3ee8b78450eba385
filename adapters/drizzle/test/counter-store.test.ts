import { describeCounterStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { counterRaw } from "./support/raw.js";

await forEachDriver("counters", (driver, harness) => {
  let raw: ReturnType<typeof counterRaw> | undefined;
  describeCounterStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = counterRaw(h);
      return h.stores.counters;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
