import type { AuditStore, TenantKey } from "@ops/core";
import { MEMORY_CAPABILITIES, MemoryAuditStore, MemorySubjectKeyStore } from "@ops/adapter-memory";
import { describeAuditStoreConformance, type AuditRawBackdoor } from "@ops/testkit";

function backdoor(store: AuditStore): AuditRawBackdoor {
  const s = store as MemoryAuditStore;
  return {
    rows: async (t) => s.rawRows(t).sort((a, b) => a.seq - b.seq),
    update: async (t, seq, patch) => void s.rawUpdate(t, seq, patch),
    delete: async (t, seq) => void s.rawDelete(t, seq),
    insert: async (r) => s.rawInsert(r),
    swap: async (t: TenantKey, a, b) => {
      s.rawUpdate(t, a, { seq: -1 });
      s.rawUpdate(t, b, { seq: a });
      s.rawUpdate(t, -1, { seq: b });
    },
  };
}

describeAuditStoreConformance({
  name: "memory",
  create: () => new MemoryAuditStore(),
  createKeys: () => new MemorySubjectKeyStore(),
  raw: backdoor,
  capabilities: MEMORY_CAPABILITIES,
  cleanup: (store) => store.close(),
});
