import { createHash } from "node:crypto";
import type { AuditRecord, TenantKey } from "@ops/core";

/** JSON with object keys sorted: jsonb does not keep key order, the hash must not depend on it. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** A test-only chain: SHA-256 over the entry's fields and prevHash (@ops/audit owns the real encoding). */
export function chainHash(r: Omit<AuditRecord, "hash">): string {
  const body = canonical([r.id, r.tenantId, r.ts, r.env, r.action, r.actor, r.subject ?? null, r.target ?? null, r.outcome, r.meta]);
  return createHash("sha256").update(r.prevHash).update("\n").update(body).digest("hex");
}

let n = 0;
/** Consecutive records continuing `head`, correctly chained. */
export function chainRecords(
  tenantId: TenantKey,
  head: { seq: number; hash: string } | null,
  count: number,
  over: (i: number) => Partial<AuditRecord> = () => ({}),
): AuditRecord[] {
  const out: AuditRecord[] = [];
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? "";
  for (let i = 0; i < count; i++) {
    n += 1;
    seq += 1;
    const base: Omit<AuditRecord, "hash"> = {
      id: `aud_${process.pid}_${Date.now().toString(36)}_${n}`,
      tenantId,
      seq,
      prevHash,
      ts: new Date(Date.UTC(2026, 0, 1) + seq * 1000 + (n % 1000)).toISOString(),
      env: "test",
      action: "DATA_ACCESS",
      actor: { id: "u1", type: "user" },
      outcome: "success",
      meta: { i, n },
      ...over(i),
    };
    const record = { ...base, hash: chainHash(base) };
    out.push(record);
    prevHash = record.hash;
  }
  return out;
}

/** Checks a whole chain as read back: seqs 1..N with no gap, links intact, hashes recomputed. */
export function verifyChain(records: readonly AuditRecord[]): { ok: true } | { ok: false; at: number; why: string } {
  let prev = "";
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.seq !== i + 1) return { ok: false, at: i + 1, why: `seq ${r.seq}` };
    if (r.prevHash !== prev) return { ok: false, at: r.seq, why: "prevHash does not link" };
    const { hash, ...rest } = r;
    if (chainHash(rest) !== hash) return { ok: false, at: r.seq, why: "hash mismatch" };
    prev = hash;
  }
  return { ok: true };
}
