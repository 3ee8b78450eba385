import { describeAuthEventStoreConformance } from "@ops/testkit";
import { DRIZZLE_CAPABILITIES } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { authEventRaw } from "./support/raw.js";

await forEachDriver("authEvents", (driver, harness) => {
  let raw: ReturnType<typeof authEventRaw> | undefined;
  describeAuthEventStoreConformance({
    name: `drizzle/${driver}`,
    create: async () => {
      const h = await harness();
      raw = authEventRaw(h);
      return h.stores.authEvents;
    },
    raw: () => raw!,
    capabilities: DRIZZLE_CAPABILITIES,
  });
});
