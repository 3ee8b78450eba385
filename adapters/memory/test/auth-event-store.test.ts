import { describeAuthEventStoreConformance } from "@ops/testkit";
import { MemoryAuthEventStore } from "../src/index.js";

describeAuthEventStoreConformance({
  name: "memory",
  create: () => new MemoryAuthEventStore(),
  raw: (store) => ({
    readEvent: async (id) => (store as MemoryAuthEventStore).rawEvent(id),
    countId: async (id) => (store as MemoryAuthEventStore).rawCount(id),
  }),
  capabilities: new MemoryAuthEventStore().capabilities,
});
