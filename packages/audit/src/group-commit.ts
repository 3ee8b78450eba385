import { ConflictError, isRejection, rejectionReason, UnavailableError, type AuditRecord, type TenantKey } from "@ops/core";
import type { ChainableEntry } from "./chain-writer.js";

/** What happens when the queue is full. */
export type OverflowPolicy = "block" | "reject" | "drop";

export interface BufferOptions {
  /** Entries waiting across all chains (default 10,000). The bound that makes memory finite. */
  maxQueue?: number;
  /** Entries per store append (default 500: one multi-row INSERT). */
  maxBatch?: number;
  /** Wait this long for a batch to fill before committing (default 0: commit as soon as the previous commit ends). */
  lingerMs?: number;
  /**
   * Full queue: "block" (default) makes `append` wait for room; "reject" fails the new entry with
   * `UnavailableError`; "drop" discards a new `enqueue`d entry (counted, `onDrop` called). An
   * awaited `append` is never silently dropped: under "drop" it is rejected.
   */
  overflow?: OverflowPolicy;
  /** Called with each entry discarded by the "drop" policy. */
  onDrop?: (entry: ChainableEntry) => void;
  /** Called when `enqueue`d entries (no one awaiting them) could not be committed. */
  onError?: (error: unknown, entries: readonly ChainableEntry[]) => void;
}

type Head = { seq: number; hash: string };

/**
 * The steps of writing a batch. `seal` and `chain` (CPU: encryption, hashing) of batch k+1 run
 * while batch k is being written, on the head batch k will leave.
 */
export interface CommitPipeline {
  seal(tenantId: TenantKey, entries: ChainableEntry[]): Promise<ChainableEntry[]>;
  chain(tenantId: TenantKey, entries: readonly ChainableEntry[], head: Head): AuditRecord[];
  /** The head the writer last committed, if known. */
  knownHead(tenantId: TenantKey): Head | undefined;
  /** Appends; `prechained` is used when it continues the actual head, else the batch is re-chained. */
  commit(tenantId: TenantKey, entries: ChainableEntry[], prechained: AuditRecord[] | null): Promise<AuditRecord[]>;
  /**
   * Cross-chain group commit (optional): batches of many chains in one store call; per item the
   * records or that chain's error.
   */
  commitMany?(items: Array<{ tenantId: TenantKey; entries: ChainableEntry[] }>): Promise<Array<AuditRecord[] | { error: unknown }>>;
}

interface Pending {
  entry: ChainableEntry;
  resolve?: (r: AuditRecord) => void;
  reject?: (e: unknown) => void;
}

/**
 * Group commit: entries queue per chain; one drain loop commits up to `maxBatch` entries per
 * chain per store call, so concurrent appends share one round trip (and one fsync).
 */
export class GroupCommitQueue {
  private readonly chains = new Map<string, { tenantId: TenantKey; items: Pending[] }>();
  private size = 0;
  /** Slots promised to woken `add` callers that have not pushed yet. */
  private reserved = 0;
  private draining: Promise<void> | null = null;
  /** FIFO of `add` callers waiting for room; `waitHead` avoids O(n) shift(). */
  private roomWaiters: (() => void)[] = [];
  private waitHead = 0;
  readonly maxQueue: number;
  readonly maxBatch: number;
  private readonly lingerMs: number;
  readonly overflow: OverflowPolicy;
  dropped = 0;
  failed = 0;
  /** Entries the store rejected on their own (split out of their batch; the others were stored). */
  rejected = 0;

  constructor(
    private readonly options: BufferOptions,
    private readonly pipeline: CommitPipeline,
  ) {
    this.maxQueue = options.maxQueue ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.lingerMs = options.lingerMs ?? 0;
    this.overflow = options.overflow ?? "block";
  }

  private get waiting(): number {
    return this.roomWaiters.length - this.waitHead;
  }

  get queued(): number {
    return this.size;
  }

  /** Queues an entry and resolves once it is durable. */
  async add(entry: ChainableEntry): Promise<AuditRecord> {
    // Waiters are served first come, first served: a newcomer does not jump the line.
    if (this.size + this.reserved >= this.maxQueue || this.waiting > 0) {
      if (this.overflow !== "block")
        throw new UnavailableError(`[ops/audit] audit queue is full (${this.maxQueue} entries, overflow "${this.overflow}")`);
      // The waker reserves our slot (`reserved`) before waking us, so the bound holds.
      await new Promise<void>((r) => this.roomWaiters.push(r));
      return new Promise<AuditRecord>((resolve, reject) => this.push({ entry, resolve, reject }, true));
    }
    return new Promise<AuditRecord>((resolve, reject) => this.push({ entry, resolve, reject }));
  }

  /**
   * Queues an entry without waiting. Returns false when it was dropped (policy "drop").
   * @throws UnavailableError when the queue is full and the policy is "reject" or "block".
   */
  offer(entry: ChainableEntry): boolean {
    if (this.size + this.reserved >= this.maxQueue || this.waiting > 0) {
      if (this.overflow === "drop") {
        this.dropped++;
        this.options.onDrop?.(entry);
        return false;
      }
      throw new UnavailableError(`[ops/audit] audit queue is full (${this.maxQueue} entries); enqueue cannot wait`);
    }
    this.push({ entry });
    return true;
  }

  /** Resolves when everything queued before the call is committed (or failed). */
  async flush(): Promise<void> {
    while (this.size > 0 || this.reserved > 0 || this.waiting > 0 || this.draining !== null) {
      if (this.size === 0 && !this.draining) await new Promise((r) => setImmediate(r));
      else await (this.draining ?? this.start());
    }
  }

  private push(p: Pending, reserved = false): void {
    const key = p.entry.tenantId ?? "\u0000";
    let c = this.chains.get(key);
    if (!c) {
      c = { tenantId: p.entry.tenantId, items: [] };
      this.chains.set(key, c);
    }
    c.items.push(p);
    if (reserved) this.reserved--;
    this.size++;
    if (!this.draining) void this.start();
  }

  private start(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drain().finally(() => {
        this.draining = null;
        if (this.size > 0) void this.start();
      });
    }
    return this.draining;
  }

  private async drain(): Promise<void> {
    if (this.lingerMs > 0) await new Promise((r) => setTimeout(r, this.lingerMs));
    else await new Promise((r) => setImmediate(r));
    while (this.size > 0) {
      // Many chains waiting: one store call carries a batch of each (cross-chain group commit).
      if (this.pipeline.commitMany && this.chains.size > 1) await this.crossRound();
      // One worker per chain: chains commit in parallel, each chain strictly in order.
      else await Promise.all([...this.chains.entries()].map(([key, c]) => this.drainChain(key, c)));
    }
  }

  /**
   * One cross-chain statement: up to `maxBatch` entries taken from the waiting chains (an equal
   * share each, chains with entries left move to the back), each chain's batch chained on its own
   * head. A chain's batch is never in flight twice: rounds run one after another.
   */
  private async crossRound(): Promise<void> {
    const share = Math.max(1, Math.ceil(this.maxBatch / this.chains.size));
    let room = this.maxBatch;
    const picked: Array<{ tenantId: TenantKey; batch: Pending[] }> = [];
    const requeue: Array<[string, { tenantId: TenantKey; items: Pending[] }]> = [];
    for (const [key, c] of this.chains) {
      if (room <= 0) break;
      const batch = c.items.splice(0, Math.min(share, room));
      if (batch.length === 0) continue;
      room -= batch.length;
      this.size -= batch.length;
      picked.push({ tenantId: c.tenantId, batch });
      this.chains.delete(key);
      if (c.items.length > 0) requeue.push([key, c]);
    }
    for (const [key, c] of requeue) {
      const now = this.chains.get(key);
      if (now) c.items.push(...now.items.splice(0));
      this.chains.set(key, c);
    }
    this.wakeWaiters();
    const sealed = await Promise.all(picked.map((p) => this.seal(p.tenantId, p.batch)));
    const items: Array<{ tenantId: TenantKey; batch: Pending[]; entries: ChainableEntry[] }> = [];
    picked.forEach((p, i) => {
      if (sealed[i]) items.push({ ...p, entries: sealed[i]! });
    });
    if (items.length === 0) return;
    let results: Array<AuditRecord[] | { error: unknown }>;
    try {
      results = await this.pipeline.commitMany!(items.map((it) => ({ tenantId: it.tenantId, entries: it.entries })));
    } catch (err) {
      results = items.map(() => ({ error: err }));
    }
    for (let i = 0; i < items.length; i++) {
      const r = results[i]!;
      const it = items[i]!;
      if (Array.isArray(r)) it.batch.forEach((p, j) => p.resolve?.(r[j]!));
      else if (rejectedByStore(r.error) && it.batch.length > 1) await this.isolate(it.tenantId, it.batch, it.entries);
      else if (rejectedByStore(r.error)) this.reject(it.tenantId, it.batch, r.error);
      else this.fail(it.batch, r.error);
    }
  }

  /**
   * A batch the store rejected (a value it cannot store; not a lost race, not an outage): split in
   * halves and committed half after half, each re-chained on the head the previous one left, down
   * to the entry the store refuses, which alone fails (counted in `rejected`, logged with the
   * reason). Every other entry is stored, in order.
   */
  private async isolate(tenantId: TenantKey, batch: Pending[], entries: ChainableEntry[]): Promise<void> {
    const mid = batch.length >> 1;
    for (const [b, e] of [
      [batch.slice(0, mid), entries.slice(0, mid)],
      [batch.slice(mid), entries.slice(mid)],
    ] as const) {
      try {
        const records = await this.pipeline.commit(tenantId, e, null);
        b.forEach((p, i) => p.resolve?.(records[i]!));
      } catch (err) {
        if (rejectedByStore(err) && b.length > 1) await this.isolate(tenantId, b, e);
        else {
          if (rejectedByStore(err)) this.reject(tenantId, b, err);
          else this.fail(b, err);
        }
      }
    }
  }

  /** Entries the store refused on their own: failed, counted and logged (reason only, no values). */
  private reject(tenantId: TenantKey, batch: Pending[], err: unknown): void {
    this.rejected += batch.length;
    console.warn(
      JSON.stringify({
        level: "warn",
        event: "audit.append.rejected",
        chain: tenantId ?? "(global)",
        entries: batch.length,
        reason: rejectionReason(err),
      }),
    );
    this.fail(batch, err);
  }

  private take(c: { items: Pending[] }): Pending[] | null {
    const batch = c.items.splice(0, this.maxBatch);
    if (batch.length === 0) return null;
    this.size -= batch.length;
    this.wakeWaiters();
    return batch;
  }

  /**
   * Commits a chain's queue batch after batch, sealing and hashing batch k+1 on the head batch k
   * will leave while batch k is being written: CPU work overlaps the round trip. A wrong guess
   * (batch k lost a race and was re-chained) is corrected before batch k+1 is sent.
   */
  private async drainChain(key: string, c: { tenantId: TenantKey; items: Pending[] }): Promise<void> {
    const { tenantId } = c;
    const continues = (records: AuditRecord[] | null, head: Head | undefined) =>
      records !== null && head !== undefined && records[0]!.seq === head.seq + 1 && records[0]!.prevHash === head.hash;
    let batch = this.take(c);
    let entries = batch ? await this.seal(tenantId, batch) : null;
    let records: AuditRecord[] | null = null;
    if (entries) {
      const h = this.pipeline.knownHead(tenantId);
      records = h ? this.pipeline.chain(tenantId, entries, h) : null;
    }
    while (batch) {
      const writing = entries ? this.commitBatch(tenantId, batch, entries, records) : Promise.resolve();
      const nextBatch = this.take(c);
      const nextEntries = nextBatch ? await this.seal(tenantId, nextBatch) : null;
      const last = records?.[records.length - 1];
      let nextRecords = nextEntries && last ? this.pipeline.chain(tenantId, nextEntries, last) : null;
      await writing;
      if (nextEntries) {
        const h = this.pipeline.knownHead(tenantId);
        if (!continues(nextRecords, h)) nextRecords = h ? this.pipeline.chain(tenantId, nextEntries, h) : null;
      }
      batch = nextBatch;
      entries = nextEntries;
      records = nextRecords;
    }
    if (c.items.length === 0 && this.chains.get(key) === c) this.chains.delete(key);
  }

  /** Seals a batch; on failure its entries are failed and null is returned. */
  private async seal(tenantId: TenantKey, batch: Pending[]): Promise<ChainableEntry[] | null> {
    try {
      return await this.pipeline.seal(
        tenantId,
        batch.map((p) => p.entry),
      );
    } catch (err) {
      this.fail(batch, err);
      return null;
    }
  }

  private async commitBatch(
    tenantId: TenantKey,
    batch: Pending[],
    entries: ChainableEntry[],
    prechained: AuditRecord[] | null,
  ): Promise<void> {
    try {
      const records = await this.pipeline.commit(tenantId, entries, prechained);
      batch.forEach((p, i) => p.resolve?.(records[i]!));
    } catch (err) {
      if (rejectedByStore(err) && batch.length > 1) await this.isolate(tenantId, batch, entries);
      else if (rejectedByStore(err)) this.reject(tenantId, batch, err);
      else this.fail(batch, err);
    }
  }

  private wakeWaiters(): void {
    while (this.waiting > 0 && this.size + this.reserved < this.maxQueue) {
      this.reserved++;
      const wake = this.roomWaiters[this.waitHead]!;
      this.waitHead++;
      wake();
    }
    if (this.waitHead > 1024 && this.waitHead * 2 > this.roomWaiters.length) {
      this.roomWaiters = this.roomWaiters.slice(this.waitHead);
      this.waitHead = 0;
    }
  }

  private fail(batch: Pending[], err: unknown): void {
    const orphans = batch.filter((p) => !p.reject).map((p) => p.entry);
    for (const p of batch) p.reject?.(err);
    if (orphans.length > 0) {
      this.failed += orphans.length;
      this.options.onError?.(err, orphans);
    }
  }
}

/** A store's refusal of what a batch holds (retrying the same batch cannot succeed; a lost race can). */
function rejectedByStore(err: unknown): boolean {
  return isRejection(err) && !(err instanceof ConflictError);
}
