import { describeOutboxStoreConformance } from "@ops/testkit";
import { MemoryOutboxStore } from "../src/index.js";

// The memory store keeps nothing else to read: its own reads are what it stored.
describeOutboxStoreConformance({
  name: "memory",
  create: () => new MemoryOutboxStore(),
  raw: (store) => ({
    read: (id) => store.get({ id }),
    countByIdempotencyKey: async (key) => ((await store.findByIdempotencyKey({ idempotencyKey: key })) ? 1 : 0),
  }),
  cleanup: (store) => store.close(),
});
