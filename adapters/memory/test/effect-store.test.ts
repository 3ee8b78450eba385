import { describeEffectStoreConformance } from "@ops/testkit";
import { MEMORY_CAPABILITIES, memoryStores } from "../src/index.js";

describeEffectStoreConformance({
  name: "memory",
  capabilities: MEMORY_CAPABILITIES,
  create: () => memoryStores(),
  cleanup: (s) => (s as ReturnType<typeof memoryStores>).close(),
});
