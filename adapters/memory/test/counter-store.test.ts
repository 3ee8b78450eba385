import { describeCounterStoreConformance } from "@ops/testkit";
import { MemoryCounterStore } from "../src/index.js";

describeCounterStoreConformance({
  name: "memory",
  create: () => new MemoryCounterStore(),
  raw: (store) => ({ readBucket: async (q) => (store as MemoryCounterStore).rawBucket(q) }),
  capabilities: new MemoryCounterStore().capabilities,
});
