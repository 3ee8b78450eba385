// Keyed entries (createAuditLog({ mac })): append and verify rate with and without the per-entry
// HMAC, on the in-memory store (so the figure is the CPU cost, not a database round trip).
import { randomBytes } from "node:crypto";
import { MemoryAuditStore } from "@ops/adapter-memory";
import { createAuditLog, type MacKey } from "@ops/audit";
import type { BenchCase, BenchRow } from "../types.js";
import { benchAuditEntry } from "./audit.js";

async function appendRate(n: number, mac: MacKey | undefined): Promise<{ append: number; verify: number }> {
  const store = new MemoryAuditStore();
  const log = createAuditLog({ store, env: "prod", buffer: { maxBatch: 500, maxQueue: n }, ...(mac ? { mac } : {}) });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) log.enqueue(benchAuditEntry("bench", i));
  await log.flush();
  const append = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  const t1 = process.hrtime.bigint();
  const r = await log.verify({ tenantId: "bench" });
  if (!r.ok) throw new Error(`bench chain does not verify: ${r.problem?.kind}`);
  const verify = n / (Number(process.hrtime.bigint() - t1) / 1e9);
  await log.close();
  return { append, verify };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Rows: append and verify entries/s, plain SHA-256 chain vs keyed (HMAC-SHA256) chain. */
export async function benchAuditMac(n: number, runs: number): Promise<BenchRow[]> {
  const mac = { keyId: "bench", key: randomBytes(32) };
  const plain: { append: number; verify: number }[] = [];
  const keyed: { append: number; verify: number }[] = [];
  for (let r = 0; r < runs; r++) {
    plain.push(await appendRate(n, undefined));
    keyed.push(await appendRate(n, mac));
  }
  const row = (subject: string, xs: { append: number; verify: number }[], ours: boolean): BenchRow[] => [
    {
      group: "audit: append with and without MAC (memory)",
      subject,
      opsPerSec: median(xs.map((x) => x.append)),
      ...(ours ? { ours: true } : {}),
      note: `${n} entries, group commit 500`,
    },
    {
      group: "audit: verify with and without MAC (memory)",
      subject,
      opsPerSec: median(xs.map((x) => x.verify)),
      ...(ours ? { ours: true } : {}),
      note: `${n} entries`,
    },
  ];
  return [...row("keyed (HMAC-SHA256)", keyed, true), ...row("plain (SHA-256)", plain, false)];
}

const auditMacCase: BenchCase = {
  name: "audit: keyed entries (MAC)",
  run: ({ quick }) => benchAuditMac(quick ? 5_000 : 50_000, quick ? 3 : 5),
};

export default auditMacCase;
