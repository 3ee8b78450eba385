import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, ValidationError, type AuditRecord } from "@ops/core";
import { auditStoreCases, concurrently, describeAuditStoreConformance, pgAuditBackdoor, randomTenant, requireService } from "@ops/testkit";
import { PrismaAuditStore, PrismaSubjectKeyStore } from "../src/index.js";
import { nodePgExecutor } from "@ops/adapter-postgres";
import { chainRecords, verifyChain } from "./helpers/chain.js";
import { createTestDatabase, loadPrismaClientPath, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: AuditStore on PostgreSQL", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  let store: PrismaAuditStore;
  beforeAll(async () => {
    db = await createTestDatabase("audit");
    prisma = await db.client();
    store = new PrismaAuditStore(prisma);
  });
  afterAll(async () => db?.drop());

  const rawRows = (tenantId: string | null): Promise<AuditRecord[]> => pgAuditBackdoor(nodePgExecutor(db.pool)).rows(tenantId);

  const conformance = {
    name: "prisma/pg",
    create: () => new PrismaAuditStore(prisma),
    createKeys: () => new PrismaSubjectKeyStore(prisma),
    raw: () => pgAuditBackdoor(nodePgExecutor(db.pool)),
  };
  // The suite registers its cases once @ops/testkit ships them (an empty describe fails vitest).
  if (auditStoreCases(conformance).length > 0) describeAuditStoreConformance(conformance);

  it("round-trips every field exactly: ts with ms and Z, meta and sealed as jsonb, optional fields", async () => {
    const t = randomTenant();
    const [full, bare] = chainRecords(
      t,
      null,
      2,
      (i): Partial<AuditRecord> =>
        i === 0
          ? {
              ts: "2026-02-03T04:05:06.007Z",
              actor: { id: "u 1", type: "user", ip: "203.0.113.9", userAgent: "Mozilla/5.0 ü" },
              subject: { id: "s1", type: "user" },
              target: { id: "doc-1", type: "document", name: "  spaced name  " },
              reason: "because",
              surface: "api",
              requestId: "req-1",
              correlationId: "corr-1",
              meta: { nested: { a: [1, 2.5, "x", null, true] }, big: 12345678901234, emoji: "🔐", empty: {} },
              sealed: { keyId: "k1", alg: "A256GCM", iv: "aXY=", data: "ZGF0YQ==", fields: ["actor.ip"] },
            }
          : { meta: {} },
    );
    await store.append({ tenantId: t, records: [full!, bare!] });
    const back = await store.range({ tenantId: t, fromSeq: 1 });
    expect(back).toEqual([full, bare]);
    expect(back[0]!.ts).toBe("2026-02-03T04:05:06.007Z");
    expect(await rawRows(t)).toEqual([full, bare]);
    expect(verifyChain(back)).toEqual({ ok: true });
    expect(await store.head({ tenantId: t })).toEqual({ seq: 2, hash: bare!.hash });
  });

  it("the global chain (null tenant) is one chain of its own", async () => {
    const before = await store.head({ tenantId: null });
    const recs = chainRecords(null, before, 3);
    await store.append({ tenantId: null, records: recs });
    expect(await store.head({ tenantId: null })).toEqual({ seq: recs[2]!.seq, hash: recs[2]!.hash });
    const chains = await store.chains({ limit: 1 });
    expect(chains.items).toEqual([null]);
  });

  it("append is all or nothing: a taken seq or a broken link writes nothing", async () => {
    const t = randomTenant();
    const first = chainRecords(t, null, 3);
    await store.append({ tenantId: t, records: first });
    // Starts at a taken seq.
    await expect(store.append({ tenantId: t, records: chainRecords(t, { seq: 2, hash: first[1]!.hash }, 3) })).rejects.toBeInstanceOf(
      ConflictError,
    );
    // Continues the seq but not the hash.
    await expect(store.append({ tenantId: t, records: chainRecords(t, { seq: 3, hash: "forged" }, 2) })).rejects.toBeInstanceOf(
      ConflictError,
    );
    // Leaves a gap.
    await expect(store.append({ tenantId: t, records: chainRecords(t, { seq: 5, hash: first[2]!.hash }, 1) })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await rawRows(t)).toEqual(first);
  });

  it("rejects bad batches with ValidationError and writes nothing", async () => {
    const t = randomTenant();
    await expect(store.append({ tenantId: t, records: [] })).rejects.toBeInstanceOf(ValidationError);
    const other = chainRecords(randomTenant(), null, 1);
    await expect(store.append({ tenantId: t, records: other })).rejects.toBeInstanceOf(ValidationError);
    const gap = chainRecords(t, null, 3);
    await expect(store.append({ tenantId: t, records: [gap[0]!, gap[2]!] })).rejects.toBeInstanceOf(ValidationError);
    expect(await rawRows(t)).toEqual([]);
  });

  it("20 concurrent appenders of the same seq: exactly one wins, the chain does not fork", async () => {
    const t = randomTenant();
    const { fulfilled, rejected } = await concurrently(20, () => store.append({ tenantId: t, records: chainRecords(t, null, 5) }));
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(19);
    for (const e of rejected) expect(e).toBeInstanceOf(ConflictError);
    const rows = await rawRows(t);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(verifyChain(rows)).toEqual({ ok: true });
  });

  it("query filters and pages by seq in both orders; range honours bounds and limit", async () => {
    const t = randomTenant();
    const recs = chainRecords(t, null, 25, (i) => ({
      action: i % 2 === 0 ? "DATA_ACCESS" : "DATA_EXPORT",
      actor: { id: i % 3 === 0 ? "alice" : "bob", type: "user" },
      correlationId: i < 5 ? "c-1" : null,
    }));
    await store.append({ tenantId: t, records: recs });
    const walk = async (order: "asc" | "desc") => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.query({ tenantId: t, actorId: "alice", limit: 2, cursor, order });
        seen.push(...page.items.map((r) => r.seq));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    const alice = recs.filter((r) => r.actor.id === "alice").map((r) => r.seq);
    expect(await walk("asc")).toEqual(alice);
    expect(await walk("desc")).toEqual([...alice].reverse());
    const exports = await store.query({ tenantId: t, actions: ["DATA_EXPORT"], limit: 1000 });
    expect(exports.items.map((r) => r.seq)).toEqual(recs.filter((r) => r.action === "DATA_EXPORT").map((r) => r.seq));
    expect((await store.query({ tenantId: t, actions: [] })).items).toEqual([]);
    expect((await store.query({ tenantId: t, correlationId: "c-1" })).items).toHaveLength(5);
    const from = recs[10]!.ts;
    const to = recs[15]!.ts;
    expect((await store.query({ tenantId: t, from, to })).items.map((r) => r.seq)).toEqual([11, 12, 13, 14, 15]);
    expect((await store.range({ tenantId: t, fromSeq: 20, toSeq: 22 })).map((r) => r.seq)).toEqual([20, 21, 22]);
    expect((await store.range({ tenantId: t, fromSeq: 3, limit: 2 })).map((r) => r.seq)).toEqual([3, 4]);
    // Another tenant sees nothing of it.
    expect((await store.query({ tenantId: randomTenant() })).items).toEqual([]);
  });

  it("the table is append-only: UPDATE and DELETE are rejected by the migration's trigger", async () => {
    const t = randomTenant();
    await store.append({ tenantId: t, records: chainRecords(t, null, 1) });
    await expect(db.pool.query(`UPDATE ops_audit_entries SET action = 'X' WHERE tenant_id = $1`, [t])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM ops_audit_entries WHERE tenant_id = $1`, [t])).rejects.toThrow(/append-only/);
    expect(await rawRows(t)).toHaveLength(1);
  });

  it("4 processes append 2,500 entries each to one chain: 10,000 entries, no gap, no fork, none lost", async () => {
    const t = randomTenant("multi");
    const clientPath = await loadPrismaClientPath();
    const script = join(import.meta.dirname, "fixtures", "audit-writer.ts");
    const run = promisify(execFile);
    const results = await Promise.all(
      ["w1", "w2", "w3", "w4"].map((w) =>
        run(process.execPath, ["--conditions", "@ops/source", "--import", "tsx", script, db.schema, t, "2500", w, clientPath], {
          cwd: join(import.meta.dirname, ".."),
          timeout: 240_000,
        }),
      ),
    );
    const reports = results.map((r) => JSON.parse(r.stdout) as { writer: string; written: number; conflicts: number });
    console.info(`[ops/adapter-prisma] multi-process chain: ${JSON.stringify(reports)}`);
    expect(reports.map((r) => r.written)).toEqual([2500, 2500, 2500, 2500]);
    // Real contention happened: some appends lost the race and re-chained.
    expect(reports.reduce((n, r) => n + r.conflicts, 0)).toBeGreaterThan(0);
    const all: AuditRecord[] = [];
    for (let from = 1; ; from += 10_000) {
      const page = await store.range({ tenantId: t, fromSeq: from, limit: 10_000 });
      all.push(...page);
      if (page.length < 10_000) break;
    }
    expect(all).toHaveLength(10_000);
    expect(verifyChain(all)).toEqual({ ok: true });
    expect(new Set(all.map((r) => r.id)).size).toBe(10_000);
    for (const w of ["w1", "w2", "w3", "w4"]) expect(all.filter((r) => r.actor.id === w)).toHaveLength(2500);
  }, 300_000);
});
