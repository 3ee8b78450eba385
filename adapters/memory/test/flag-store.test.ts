import { MEMORY_CAPABILITIES, MemoryFlagStore } from "@ops/adapter-memory";
import { describeFlagStoreConformance } from "@ops/testkit";

describeFlagStoreConformance({
  name: "memory",
  create: () => new MemoryFlagStore(),
  raw: (store) => ({
    read: async (at) => (store as MemoryFlagStore).peek(at),
  }),
  capabilities: MEMORY_CAPABILITIES,
  cleanup: (store) => store.close(),
});
