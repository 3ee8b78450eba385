import { describeChangeRequestStoreConformance } from "@ops/testkit";
import { MemoryChangeRequestStore } from "../src/index.js";

describeChangeRequestStoreConformance({
  name: "memory",
  create: () => new MemoryChangeRequestStore(),
  raw: (store) => ({ read: async ({ env, id }) => (store as MemoryChangeRequestStore).rawChangeRequest(env, id) }),
  capabilities: new MemoryChangeRequestStore().capabilities,
});
