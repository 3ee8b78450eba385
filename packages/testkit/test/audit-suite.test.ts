import { describe, expect, it } from "vitest";
import { MEMORY_CAPABILITIES, MemoryAuditStore, MemorySubjectKeyStore } from "@ops/adapter-memory";
import type { AuditRecord, AuditStore, SubjectKey, SubjectKeyStore, TenantKey } from "@ops/core";
import { auditStoreCases, type AuditConformanceOptions, type AuditRawBackdoor } from "@ops/testkit";

type Flaw =
  | "seqTakenTwice" // no unique (chain, seq): every racer "wins"
  | "dropsEntries" // silently keeps only the first record of a batch
  | "leaksTenants" // query ignores tenantId
  | "cachedReads" // serves reads from a write-through cache: tampering is invisible to verify
  | "secondsTimestamps" // stores ts with second precision
  | "partialBatch" // writes the records before the conflicting one
  | "racyKeys" // getOrCreate is last-writer-wins
  | "softDestroy"; // destroy keeps the key bytes

/** A memory store with one deliberate contract violation. */
class BrokenAuditStore extends MemoryAuditStore {
  private readonly cache = new Map<string, AuditRecord[]>();
  constructor(private readonly flaw: Flaw) {
    super();
  }

  override async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
    const { tenantId, records } = input;
    if (this.flaw === "seqTakenTwice") {
      await super.append(input).catch(() => records.forEach((r) => this.rawInsert(r)));
      return;
    }
    if (this.flaw === "dropsEntries") return super.append({ tenantId, records: records.slice(0, 1) });
    if (this.flaw === "secondsTimestamps")
      return super.append({ tenantId, records: records.map((r) => ({ ...r, ts: `${r.ts.slice(0, 19)}Z` })) });
    if (this.flaw === "partialBatch") {
      const head = (await this.head({ tenantId }))?.seq ?? 0;
      const fresh = records.filter((r) => r.seq > head);
      // Writes what does not collide, then reports the conflict: a non-atomic multi-row insert.
      if (fresh.length > 0 && fresh.length < records.length) fresh.forEach((r) => this.rawInsert(r));
      return super.append(input);
    }
    await super.append(input);
    if (this.flaw === "cachedReads")
      this.cache.set(String(tenantId), [...(this.cache.get(String(tenantId)) ?? []), ...records.map((r) => structuredClone(r))]);
  }

  override async range(input: { tenantId: TenantKey; fromSeq: number; toSeq?: number; limit?: number }): Promise<AuditRecord[]> {
    if (this.flaw !== "cachedReads") return super.range(input);
    const rows = this.cache.get(String(input.tenantId)) ?? [];
    return rows.filter((r) => r.seq >= input.fromSeq && r.seq <= (input.toSeq ?? Infinity)).slice(0, input.limit ?? 1000);
  }

  override async query(input: Parameters<AuditStore["query"]>[0]) {
    if (this.flaw !== "leaksTenants") return super.query(input);
    const a = await super.query(input);
    const other = this.rawRows(null).filter((r) => r.tenantId !== input.tenantId);
    return { items: [...a.items, ...other].slice(0, input.limit ?? 100), nextCursor: a.nextCursor };
  }
}

class BrokenKeyStore extends MemorySubjectKeyStore {
  private readonly racy = new Map<string, SubjectKey>();
  constructor(private readonly flaw: Flaw) {
    super();
  }
  override async getOrCreate(input: { candidate: SubjectKey }): Promise<SubjectKey> {
    if (this.flaw !== "racyKeys") return super.getOrCreate(input);
    await new Promise((r) => setImmediate(r));
    this.racy.set(input.candidate.subjectId, input.candidate);
    return input.candidate;
  }
  override async destroy(input: { tenantId: TenantKey; subjectId: string }): Promise<number> {
    if (this.flaw !== "softDestroy") return super.destroy(input);
    return 1;
  }
}

function backdoor(store: AuditStore): AuditRawBackdoor {
  const s = store as MemoryAuditStore;
  return {
    rows: async (t) => s.rawRows(t).sort((a, b) => a.seq - b.seq),
    update: async (t, seq, patch) => void s.rawUpdate(t, seq, patch),
    delete: async (t, seq) => void s.rawDelete(t, seq),
    insert: async (r) => s.rawInsert(r),
    swap: async (t, a, b) => {
      s.rawUpdate(t, a, { seq: -1 });
      s.rawUpdate(t, b, { seq: a });
      s.rawUpdate(t, -1, { seq: b });
    },
  };
}

function opts(flaw: Flaw | null): AuditConformanceOptions {
  const keyFlaw = flaw === "racyKeys" || flaw === "softDestroy";
  return {
    name: flaw ?? "memory",
    create: () => (flaw && !keyFlaw ? new BrokenAuditStore(flaw) : new MemoryAuditStore()),
    createKeys: (): SubjectKeyStore => (flaw && keyFlaw ? new BrokenKeyStore(flaw) : new MemorySubjectKeyStore()),
    raw: backdoor,
    capabilities: MEMORY_CAPABILITIES,
  };
}

async function outcome(flaw: Flaw | null, caseName: string): Promise<"pass" | "fail"> {
  const c = auditStoreCases(opts(flaw)).find((x) => x.name.startsWith(caseName));
  if (!c) throw new Error(`no case ${caseName}`);
  try {
    await c.run();
    return "pass";
  } catch {
    return "fail";
  }
}

describe("AuditStore conformance can fail", () => {
  const expectations: [Flaw, string][] = [
    ["seqTakenTwice", "a taken seq throws ConflictError"],
    ["seqTakenTwice", "racing appends for the same seq"],
    ["dropsEntries", "append stores exactly what was given"],
    ["dropsEntries", "many audit logs over one store"],
    ["partialBatch", "a taken seq throws ConflictError"],
    ["leaksTenants", "chains are per tenant"],
    ["secondsTimestamps", "append stores exactly what was given"],
    ["cachedReads", "verify detects a modified entry"],
    ["cachedReads", "verify detects a removed entry"],
    ["cachedReads", "verify detects an inserted"],
    ["cachedReads", "verify detects reordered entries"],
    ["cachedReads", "verify detects truncation after a signed checkpoint"],
    ["racyKeys", "SubjectKeyStore: concurrent getOrCreate"],
    ["softDestroy", "SubjectKeyStore: concurrent getOrCreate"],
    ["softDestroy", "crypto-shredding: forgetSubject erases personal fields"],
  ];
  for (const [flaw, name] of expectations) {
    it(`a store that has flaw "${flaw}" fails "${name}" (and the memory store passes it)`, async () => {
      expect(await outcome(flaw, name)).toBe("fail");
      expect(await outcome(null, name)).toBe("pass");
    });
  }

  it("every case is named uniquely; the shredding cases exist only with createKeys", () => {
    const all = auditStoreCases(opts(null));
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    const { createKeys: _omit, ...noKeys } = opts(null);
    expect(auditStoreCases(noKeys).length).toBe(all.length - 2);
  });

  it("tamper cases refuse to run without the raw backdoor", async () => {
    const { raw: _omit, ...noRaw } = opts(null);
    const c = auditStoreCases(noRaw).find((x) => x.name.startsWith("verify detects a modified entry"))!;
    await expect(c.run()).rejects.toThrow(/raw backdoor/);
  });
});
