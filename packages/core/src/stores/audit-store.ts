import type { JsonObject } from "../json.js";
import type { ActorType, Outcome } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/**
 * One audit entry as stored: the entry itself plus its place in its tenant's hash chain.
 * Field names follow CADF/OCSF/ECS (actor, action, target, outcome).
 */
export interface AuditRecord {
  /** Sortable unique id. */
  id: string;
  /** The chain this entry belongs to: one chain per tenant, `null` for the global chain. */
  tenantId: TenantKey;
  /** 1-based position in the chain; gap-free. */
  seq: number;
  /** `hash` of the previous entry ("" for seq 1). */
  prevHash: string;
  /** SHA-256 (hex) over the canonical encoding of this entry and `prevHash`. */
  hash: string;
  /** When it happened, ISO 8601 UTC with milliseconds. */
  ts: string;
  env: string;
  action: string;
  actor: { id: string; type: ActorType; ip?: string; userAgent?: string };
  subject?: { id: string; type?: string };
  target?: { id: string; type?: string; name?: string };
  outcome: Outcome;
  reason?: string;
  surface?: string;
  requestId?: string;
  correlationId?: string;
  meta: JsonObject;
}

export interface AuditQuery extends PageRequest {
  tenantId: TenantKey;
  actorId?: string;
  subjectId?: string;
  actions?: readonly string[];
  outcome?: Outcome;
  /** Inclusive lower bound on `ts` (ISO). */
  from?: string;
  /** Exclusive upper bound on `ts` (ISO). */
  to?: string;
  /** By `seq`; default "asc". */
  order?: "asc" | "desc";
}

/**
 * Append-only storage of hash-chained audit entries. There is deliberately no update or delete.
 *
 * Concurrency: `(tenantId, seq)` is unique. `append` writes all its records or none; when any
 * record's seq is taken (another writer won the race) it throws `ConflictError` and writes nothing,
 * and the caller re-reads `head` and re-chains. Many processes appending to one chain therefore
 * never fork it and never leave a gap.
 */
export interface AuditStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Atomically appends consecutive records of one chain. `records[0].seq` must be head.seq + 1 and
   * `records[0].prevHash` head's hash.
   * @throws ConflictError when a seq is already taken or the records do not continue the chain.
   * @throws ValidationError when records span several tenants or are not consecutive.
   */
  append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void>;
  /** The last record's position, or null for an empty chain. */
  head(input: { tenantId: TenantKey }): Promise<{ seq: number; hash: string } | null>;
  /** Records of one chain with `fromSeq <= seq <= toSeq`, ascending by seq. */
  range(input: {
    tenantId: TenantKey;
    fromSeq: number;
    toSeq?: number;
    limit?: number;
  }): Promise<AuditRecord[]>;
  /** Filtered, keyset-paged reads of one tenant's entries, ordered by seq. */
  query(input: AuditQuery): Promise<Page<AuditRecord>>;
  /** Every chain that has entries (tenant ids, `null` for the global chain), for checkpoints. */
  chains(input?: PageRequest): Promise<Page<TenantKey>>;
}
