import { createHash } from "node:crypto";
import type { AuditRecord, TenantKey } from "@ops/core";

let n = 0;
/** A chain of `count` records continuing `(seq, hash)`; the hash is any stable digest (the store never checks it). */
export function chainRecords(
  tenantId: TenantKey,
  count: number,
  after: { seq: number; hash: string } | null = null,
  over: (i: number) => Partial<AuditRecord> = () => ({}),
): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = after?.hash ?? "";
  let seq = after?.seq ?? 0;
  for (let i = 0; i < count; i++) {
    seq += 1;
    n += 1;
    const base: AuditRecord = {
      id: `ae_${process.pid}_${Date.now().toString(36)}_${n}`,
      tenantId,
      seq,
      prevHash: prev,
      hash: "",
      ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq)).toISOString(),
      env: "test",
      action: "DATA_ACCESS",
      actor: { id: `user-${i % 3}`, type: "user" },
      outcome: "success",
      meta: { i, nested: { list: [1, 2.5, "x"], ok: true, none: null } },
      ...over(i),
    };
    base.hash = createHash("sha256").update(`${prev}|${base.id}|${seq}`).digest("hex");
    prev = base.hash;
    out.push(base);
  }
  return out;
}
