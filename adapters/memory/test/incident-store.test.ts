import { describeIncidentStoreConformance } from "@ops/testkit";
import { MemoryIncidentStore } from "../src/index.js";

describeIncidentStoreConformance({
  name: "memory",
  create: () => new MemoryIncidentStore(),
  raw: (store) => ({ readIncident: async (id) => (store as MemoryIncidentStore).rawIncident(id) }),
  capabilities: new MemoryIncidentStore().capabilities,
});
