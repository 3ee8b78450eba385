import type { SubjectKey, SubjectKeyStore, TenantKey } from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

function scope(tenantId: TenantKey, id: string): string {
  return `${tenantId === null ? "\u0000" : tenantId}\u0001${id}`;
}

/**
 * In-memory `SubjectKeyStore` for crypto-shredding. `destroy` drops the key bytes from the map;
 * nothing else holds them (reads hand out copies).
 */
export class MemorySubjectKeyStore extends MemoryStoreBase implements SubjectKeyStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "auditKeys" as const;
  /** Live key id per (tenant, subject). */
  private readonly live = new Map<string, string>();
  private readonly byId = new Map<string, SubjectKey>();

  async getOrCreate(input: { candidate: SubjectKey }): Promise<SubjectKey> {
    this.assertOpen();
    await tick();
    const c = input.candidate;
    const liveKey = scope(c.tenantId, c.subjectId);
    const existing = this.live.get(liveKey);
    if (existing !== undefined) {
      const found = this.byId.get(scope(c.tenantId, existing));
      if (found) return this.copyKey(found);
    }
    this.live.set(liveKey, c.keyId);
    this.byId.set(scope(c.tenantId, c.keyId), this.copyKey(c));
    return this.copyKey(c);
  }

  async get(input: { tenantId: TenantKey; keyId: string }): Promise<SubjectKey | null> {
    this.assertOpen();
    const found = this.byId.get(scope(input.tenantId, input.keyId));
    return found ? this.copyKey(found) : null;
  }

  async destroy(input: { tenantId: TenantKey; subjectId: string }): Promise<number> {
    this.assertOpen();
    let n = 0;
    for (const [k, key] of this.byId) {
      if (key.tenantId === input.tenantId && key.subjectId === input.subjectId) {
        key.key.fill(0);
        this.byId.delete(k);
        n++;
      }
    }
    this.live.delete(scope(input.tenantId, input.subjectId));
    return n;
  }

  private copyKey(k: SubjectKey): SubjectKey {
    return { ...k, key: new Uint8Array(k.key) };
  }
}
