import { describeFlagStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { flagRaw } from "./support/raw.js";

await forEachDriver("flags", (driver, harness) => {
  let raw: ReturnType<typeof flagRaw> | undefined;
  describeFlagStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = flagRaw(h);
      return h.stores.flags;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
