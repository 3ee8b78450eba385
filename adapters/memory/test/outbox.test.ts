import { describeOutboxStoreConformance } from "@ops/testkit";
import { MemoryOutboxStore } from "../src/index.js";

// The memory store keeps nothing else to read: its own reads are what it stored.
describeOutboxStoreConformance({
  name: "memory",
  create: () => new MemoryOutboxStore(),
  raw: (store) => ({
    read: (id) => store.get({ id }),
    // Keys are per tenant: count across every tenant's messages.
    countByIdempotencyKey: async (key) => {
      let n = 0;
      let cursor: string | null = null;
      do {
        const page = await store.list({ limit: 500, cursor });
        n += page.items.filter((m) => m.idempotencyKey === key).length;
        cursor = page.nextCursor;
      } while (cursor);
      return n;
    },
  }),
  cleanup: (store) => store.close(),
});
