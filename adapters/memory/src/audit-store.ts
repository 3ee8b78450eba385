import {
  ConflictError,
  ValidationError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type Page,
  type PageRequest,
  type TenantKey,
} from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

const PKG = "adapter-memory";
const MAX_APPEND = 10_000;
const MAX_RANGE = 10_000;

/** Map key of a chain: the global chain (null) cannot collide with any tenant id. */
function chainKey(tenantId: TenantKey): string {
  return tenantId === null ? "\u0000global" : `t:${tenantId}`;
}

/**
 * Rows are copied in once and handed out deep-frozen: as safe as copying out (nobody can change
 * what the store holds) without a clone per read, which would dominate verify throughput.
 */
function frozenCopy(record: AuditRecord): AuditRecord {
  // Records are plain JSON by contract; a JSON round trip is a cheaper deep copy than structuredClone.
  return deepFreeze(JSON.parse(JSON.stringify(record)) as AuditRecord);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/**
 * In-memory `AuditStore`. One array per chain, indexed by seq - 1 while the chain is intact;
 * `raw*` methods let tests tamper with rows the way someone with database access would.
 */
export class MemoryAuditStore extends MemoryStoreBase implements AuditStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "audit" as const;
  private readonly chainsByKey = new Map<string, { tenantId: TenantKey; rows: AuditRecord[]; dirty: boolean }>();

  async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
    this.assertOpen();
    const { tenantId, records } = input;
    if (records.length === 0 || records.length > MAX_APPEND)
      throw new ValidationError(`[ops/${PKG}] invalid records: expected 1..${MAX_APPEND} records`, [
        { path: "records", message: `expected 1..${MAX_APPEND} records` },
      ]);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.tenantId !== tenantId)
        throw new ValidationError(`[ops/${PKG}] invalid records[${i}].tenantId: expected the input's tenantId`, [
          { path: `records[${i}].tenantId`, message: "expected the input's tenantId" },
        ]);
      if (i > 0 && r.seq !== records[i - 1]!.seq + 1)
        throw new ValidationError(`[ops/${PKG}] invalid records[${i}].seq: expected consecutive seqs`, [
          { path: `records[${i}].seq`, message: "expected consecutive seqs" },
        ]);
    }
    // A database round trip: concurrent appenders interleave here, as they would on a server.
    await tick();
    this.assertOpen();
    const chain = this.chain(tenantId, true)!;
    const rows = this.sorted(tenantId);
    const last = rows[rows.length - 1];
    const headSeq = last?.seq ?? 0;
    const first = records[0]!;
    if (first.seq <= headSeq) throw new ConflictError(`[ops/${PKG}] audit seq ${first.seq} is already taken in this chain`);
    if (first.seq !== headSeq + 1 || first.prevHash !== (last?.hash ?? ""))
      throw new ConflictError(`[ops/${PKG}] audit records do not continue the chain head (seq ${headSeq})`);
    for (const r of records) chain.rows.push(frozenCopy(r));
  }

  async head(input: { tenantId: TenantKey }): Promise<{ seq: number; hash: string } | null> {
    this.assertOpen();
    const rows = this.sorted(input.tenantId);
    const last = rows[rows.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : null;
  }

  async range(input: { tenantId: TenantKey; fromSeq: number; toSeq?: number; limit?: number }): Promise<AuditRecord[]> {
    this.assertOpen();
    const limit = Math.min(input.limit ?? 1000, MAX_RANGE);
    const toSeq = input.toSeq ?? Number.POSITIVE_INFINITY;
    const rows = this.sorted(input.tenantId);
    const out: AuditRecord[] = [];
    // Fast path for an intact chain: rows[i].seq === i + 1.
    let i = Math.max(0, Math.min(rows.length, input.fromSeq - 1));
    while (i > 0 && rows[i - 1]!.seq >= input.fromSeq) i--;
    while (i < rows.length && rows[i]!.seq < input.fromSeq) i++;
    for (; i < rows.length && out.length < limit; i++) {
      const r = rows[i]!;
      if (r.seq > toSeq) break;
      out.push(r);
    }
    return out;
  }

  async query(input: AuditQuery): Promise<Page<AuditRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, PKG);
    const desc = input.order === "desc";
    const after = input.cursor ? decodeCursor(input.cursor, 1, PKG)[0] : null;
    if (after !== null && typeof after !== "number")
      throw new ValidationError(`[ops/${PKG}] invalid cursor: expected a cursor returned by a previous page`, [
        { path: "cursor", message: "expected a cursor returned by a previous page" },
      ]);
    const actions = input.actions ? new Set(input.actions) : null;
    const rows = this.sorted(input.tenantId);
    const items: AuditRecord[] = [];
    let more = false;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[desc ? rows.length - 1 - k : k]!;
      if (after !== null && (desc ? r.seq >= after : r.seq <= after)) continue;
      if (input.actorId !== undefined && r.actor.id !== input.actorId) continue;
      if (input.subjectId !== undefined && r.subject?.id !== input.subjectId) continue;
      if (input.targetId !== undefined && r.target?.id !== input.targetId) continue;
      if (actions && !actions.has(r.action)) continue;
      if (input.outcome !== undefined && r.outcome !== input.outcome) continue;
      if (input.correlationId !== undefined && r.correlationId !== input.correlationId) continue;
      if (input.from !== undefined && Date.parse(r.ts) < Date.parse(input.from)) continue;
      if (input.to !== undefined && Date.parse(r.ts) >= Date.parse(input.to)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(r);
    }
    const lastItem = items[items.length - 1];
    return { items, nextCursor: more && lastItem ? encodeCursor([lastItem.seq]) : null };
  }

  async chains(input: PageRequest = {}): Promise<Page<TenantKey>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, PKG);
    const after = input.cursor ? decodeCursor(input.cursor, 1, PKG)[0] : undefined;
    const keys = [...this.chainsByKey.entries()]
      .filter(([, c]) => c.rows.length > 0)
      .map(([k, c]) => ({ k, tenantId: c.tenantId }))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const start = after === undefined ? 0 : keys.findIndex((x) => x.k > String(after));
    const slice = start < 0 ? [] : keys.slice(start, start + limit);
    const more = start >= 0 && start + limit < keys.length;
    const lastKey = slice[slice.length - 1];
    return { items: slice.map((x) => x.tenantId), nextCursor: more && lastKey ? encodeCursor([lastKey.k]) : null };
  }

  /** Raw rows of a chain as stored, in storage order (tests' backdoor). */
  rawRows(tenantId: TenantKey): AuditRecord[] {
    return [...(this.chain(tenantId, false)?.rows ?? [])];
  }

  /** Overwrites fields of the stored row at `seq`, bypassing every rule (tests' backdoor). */
  rawUpdate(tenantId: TenantKey, seq: number, patch: Partial<AuditRecord>): boolean {
    const rows = this.chain(tenantId, false)?.rows;
    const i = rows?.findIndex((r) => r.seq === seq) ?? -1;
    if (!rows || i < 0) return false;
    rows[i] = frozenCopy({ ...rows[i]!, ...patch });
    this.chain(tenantId, false)!.dirty = true;
    return true;
  }

  /** Deletes the stored row at `seq` (tests' backdoor). */
  rawDelete(tenantId: TenantKey, seq: number): boolean {
    const rows = this.chain(tenantId, false)?.rows;
    const i = rows?.findIndex((r) => r.seq === seq) ?? -1;
    if (!rows || i < 0) return false;
    rows.splice(i, 1);
    return true;
  }

  /** Inserts a row as given, ignoring uniqueness and chaining (tests' backdoor). */
  rawInsert(record: AuditRecord): void {
    const chain = this.chain(record.tenantId, true)!;
    chain.rows.push(frozenCopy(record));
    chain.dirty = true;
  }

  private chain(tenantId: TenantKey, create: boolean) {
    const key = chainKey(tenantId);
    let c = this.chainsByKey.get(key);
    if (!c && create) {
      c = { tenantId, rows: [], dirty: false };
      this.chainsByKey.set(key, c);
    }
    return c;
  }

  /** Rows by seq. Appends keep them sorted; only the raw backdoor can disorder them (`dirty`). */
  private sorted(tenantId: TenantKey): AuditRecord[] {
    const c = this.chain(tenantId, false);
    if (!c) return [];
    if (c.dirty) {
      c.rows.sort((a, b) => a.seq - b.seq);
      c.dirty = false;
    }
    return c.rows;
  }
}
