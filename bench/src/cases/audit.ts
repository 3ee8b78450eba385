// @ops/audit on the in-memory adapter: buffered (group-commit) append throughput and chain
// verification throughput. The functions take any AuditStore, so a database case can reuse them
// (`benchAuditAppend(drizzleStores(db).audit, ...)`).
import { MemoryAuditStore } from "@ops/adapter-memory";
import { createAuditLog, verifyStoreChain } from "@ops/audit";
import type { AuditStore } from "@ops/core";
import type { BenchCase, BenchRow } from "../types.js";

/** ~200 bytes of meta, as in the figures of ANCHORS.md. */
export function benchAuditEntry(tenantId: string, i: number) {
  return {
    action: "DATA_ACCESS" as const,
    tenantId,
    actor: { id: `user_${i % 1000}`, type: "user" as const, ip: `10.0.${(i >> 8) & 255}.${i & 255}` },
    target: { id: `doc_${i}`, type: "document" },
    requestId: `req_${i}`,
    meta: {
      route: "/api/documents/:id",
      method: "GET",
      status: 200,
      durationMs: i % 97,
      region: "eu-west-1",
      plan: "enterprise",
      flags: ["a", "b"],
    },
  };
}

/**
 * Enqueues `n` entries into a fresh chain of `store` through a buffered log and flushes.
 * Returns entries per second (validation, redaction, hashing, store writes included).
 */
export async function benchAuditAppend(store: AuditStore, opts: { n: number; tenantId: string; batch?: number }): Promise<number> {
  const log = createAuditLog({ store, env: "prod", buffer: { maxBatch: opts.batch ?? 500, maxQueue: opts.n } });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < opts.n; i++) log.enqueue(benchAuditEntry(opts.tenantId, i));
  await log.flush();
  const rate = opts.n / (Number(process.hrtime.bigint() - t0) / 1e9);
  await log.close();
  return rate;
}

/** Verifies the whole chain of `tenantId` in `store`; returns entries per second. @throws Error when the chain is broken */
export async function benchAuditVerify(store: AuditStore, opts: { tenantId: string; pageSize?: number }): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await verifyStoreChain({ store, tenantId: opts.tenantId, pageSize: opts.pageSize ?? 5000 });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!r.ok) throw new Error(`bench chain does not verify: ${r.problem?.kind} at ${r.problem?.seq}`);
  return r.checked / dt;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const auditCase: BenchCase = {
  name: "audit: buffered append and verify (memory adapter)",
  async run({ quick }) {
    const n = quick ? 20_000 : 100_000;
    const runs = quick ? 1 : 3;
    const appends: number[] = [];
    const verifies: number[] = [];
    for (let run = 0; run < runs; run++) {
      const store = new MemoryAuditStore();
      appends.push(await benchAuditAppend(store, { n, tenantId: `bench-${run}` }));
      verifies.push(await benchAuditVerify(store, { tenantId: `bench-${run}` }));
      await store.close();
    }
    const rows: BenchRow[] = [
      {
        group: "audit: buffered append (memory adapter)",
        subject: "@ops/audit createAuditLog + MemoryAuditStore",
        opsPerSec: median(appends),
        ours: true,
        note: `${n.toLocaleString("en-US")} entries, ~200 B meta, validation + redaction + SHA-256 chain, 500 per batch, median of ${runs}`,
      },
      {
        group: "audit: chain verification (memory adapter)",
        subject: "@ops/audit verifyStoreChain",
        opsPerSec: median(verifies),
        ours: true,
        note: `${n.toLocaleString("en-US")} entries, pages of 5,000; target >= 100,000/s`,
      },
    ];
    return rows;
  },
};

export default auditCase;
