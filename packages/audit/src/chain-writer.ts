import { ConflictError, mapLimit, OpsError, TenantIsolationError, type AuditRecord, type AuditStore, type TenantKey } from "@ops/core";
import { GENESIS_HASH, computeAuditHash } from "./encoding.js";
import type { AuditEntry } from "./entry.js";

/** An entry ready to chain: id assigned, personal fields already sealed. */
export type ChainableEntry = AuditEntry & { id: string; sealed?: AuditRecord["sealed"] };

export interface ChainWriterStats {
  committedEntries: number;
  commits: number;
  conflicts: number;
  /** Cross-chain statements (`AuditStore.appendMany`) and the chains they carried. */
  crossCommits: number;
  crossChains: number;
}

/**
 * Appends batches to one store with the "unique (chain, seq) + retry" protocol: read the head
 * (cached after our own commits), chain the batch on it, append; on `ConflictError` another
 * writer took the seq, so drop the cached head, re-read it and re-chain. A batch is written
 * whole or not at all, so no fork, no gap and no lost entry, however many writers race.
 */
export class ChainWriter {
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  readonly stats: ChainWriterStats = { committedEntries: 0, commits: 0, conflicts: 0, crossCommits: 0, crossChains: 0 };
  /** Off once the store refused a cross-chain statement for isolation (row-level security). */
  private crossChain = true;

  constructor(
    private readonly store: AuditStore,
    private readonly maxAttempts: number,
    /** SHA-256 by default; an HMAC for keyed entries. */
    private readonly hasher: (r: AuditRecord) => string = computeAuditHash,
  ) {}

  /** The head this writer last committed on the chain, when it knows it (a cache, may be stale). */
  cachedHead(tenantId: TenantKey): { seq: number; hash: string } | undefined {
    return this.heads.get(tenantId ?? "\u0000");
  }

  /**
   * Appends `entries` as the next records of the chain. `prechained` (records chained ahead of
   * time on a predicted head, while the previous batch was in flight) is used when it continues
   * the actual head; otherwise the batch is chained again.
   */
  async commit(
    tenantId: TenantKey,
    entries: readonly ChainableEntry[],
    prechained: readonly AuditRecord[] | null = null,
    sentBefore: AuditRecord[] | null = null,
  ): Promise<AuditRecord[]> {
    const key = tenantId ?? "\u0000";
    let transientFailures = 0;
    // Records of an attempt whose outcome is unknown (the connection failed after sending).
    let uncertain: AuditRecord[] | null = sentBefore;
    for (let attempt = 1; ; attempt++) {
      const head = this.heads.get(key) ?? (await this.store.head({ tenantId }));
      if (uncertain && head && head.seq >= uncertain[0]!.seq) {
        // It may have committed after all: appending again would duplicate the entries.
        const first = uncertain[0]!.seq;
        const stored = await this.store.range({ tenantId, fromSeq: first, toSeq: first + uncertain.length - 1, limit: uncertain.length });
        if (stored.length === uncertain.length && stored.every((r, i) => r.id === uncertain![i]!.id && r.hash === uncertain![i]!.hash)) {
          this.remember(key, stored);
          return stored;
        }
      }
      uncertain = null;
      const p0 = prechained?.[0];
      const records =
        prechained && p0 && p0.seq === (head?.seq ?? 0) + 1 && p0.prevHash === (head?.hash ?? GENESIS_HASH)
          ? (prechained as AuditRecord[])
          : chainOn(head, tenantId, entries, this.hasher);
      prechained = null;
      try {
        await this.store.append({ tenantId, records });
      } catch (err) {
        this.heads.delete(key);
        if (!(err instanceof ConflictError)) uncertain = records;
        const conflict = err instanceof ConflictError;
        if (conflict) this.stats.conflicts++;
        const retryable = conflict || (err instanceof OpsError && err.retryable && ++transientFailures <= 3);
        if (!retryable) throw err;
        if (attempt >= this.maxAttempts)
          throw new ConflictError(`[ops/audit] append to chain ${tenantId ?? "(global)"} lost the race ${attempt} times; giving up`, {
            cause: err,
          });
        // Jittered exponential backoff spreads racing writers out.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** Math.min(attempt, 7))));
        continue;
      }
      this.remember(key, records);
      return records;
    }
  }

  /**
   * Cross-chain group commit: the batches of many chains in one store call (`appendMany`), each
   * chained on its own head (cached, or read once). A chain whose batch did not continue its head
   * (another writer appended) and every chain of a statement that failed as a whole are committed
   * again on their own with `commit` (re-read head, re-chain, retry). Results per item, in order:
   * the records, or the error of that chain alone.
   */
  async commitMany(
    items: ReadonlyArray<{ tenantId: TenantKey; entries: readonly ChainableEntry[] }>,
  ): Promise<Array<AuditRecord[] | { error: unknown }>> {
    const one = (it: { tenantId: TenantKey; entries: readonly ChainableEntry[] }, sent: AuditRecord[] | null = null) =>
      this.commit(it.tenantId, it.entries, null, sent).then(
        (r) => r as AuditRecord[] | { error: unknown },
        (error: unknown) => ({ error }),
      );
    if (!this.store.appendMany || !this.crossChain || items.length < 2) return mapLimit(items, 16, (it) => one(it));
    const heads = new Map<string, { seq: number; hash: string } | null>();
    try {
      await mapLimit(items, 16, async (it) => {
        const key = it.tenantId ?? "\u0000";
        heads.set(key, this.heads.get(key) ?? (await this.store.head({ tenantId: it.tenantId })));
      });
    } catch {
      return mapLimit(items, 16, (it) => one(it));
    }
    const batches = items.map((it) => ({
      tenantId: it.tenantId,
      records: chainOn(heads.get(it.tenantId ?? "\u0000") ?? null, it.tenantId, it.entries, this.hasher),
    }));
    let res: Array<ConflictError | null>;
    try {
      res = await this.store.appendMany({ batches });
      this.stats.crossCommits++;
      this.stats.crossChains += batches.length;
    } catch (err) {
      for (const b of batches) this.heads.delete(b.tenantId ?? "\u0000");
      if (err instanceof TenantIsolationError) this.crossChain = false;
      // Whole statement failed: nothing written, unless the outcome is unknown (connection lost
      // after sending): then each chain first checks whether its records landed.
      const unknown = !(err instanceof OpsError) || err.retryable;
      return mapLimit(items, 16, (it, i) => one(it, unknown ? batches[i]!.records : null));
    }
    return mapLimit(items, 16, async (it, i) => {
      const key = it.tenantId ?? "\u0000";
      if (res[i] === null) {
        this.remember(key, batches[i]!.records);
        return batches[i]!.records;
      }
      this.heads.delete(key);
      this.stats.conflicts++;
      return one(it);
    });
  }

  private remember(key: string, records: readonly AuditRecord[]): void {
    const last = records[records.length - 1]!;
    // A cache, not state: with very many tenants drop it wholesale rather than grow forever.
    if (this.heads.size >= 10_000 && !this.heads.has(key)) this.heads.clear();
    this.heads.set(key, { seq: last.seq, hash: last.hash });
    this.stats.commits++;
    this.stats.committedEntries += records.length;
  }
}

/** Builds the records of `entries` continuing `head`. */
export function chainOn(
  head: { seq: number; hash: string } | null,
  tenantId: TenantKey,
  entries: readonly ChainableEntry[],
  hasher: (r: AuditRecord) => string = computeAuditHash,
): AuditRecord[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const out: AuditRecord[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const r: AuditRecord = {
      id: e.id,
      tenantId,
      seq: ++seq,
      prevHash,
      hash: "",
      ts: e.ts,
      env: e.env,
      action: e.action,
      actor: e.actor,
      outcome: e.outcome,
      meta: e.meta,
    };
    if (e.subject) r.subject = e.subject;
    if (e.target) r.target = e.target;
    if (e.reason !== undefined) r.reason = e.reason;
    if (e.surface !== undefined) r.surface = e.surface;
    if (e.requestId !== undefined) r.requestId = e.requestId;
    if (e.correlationId !== undefined) r.correlationId = e.correlationId;
    if (e.sealed) r.sealed = e.sealed;
    r.hash = hasher(r);
    prevHash = r.hash;
    out[i] = r;
  }
  return out;
}
