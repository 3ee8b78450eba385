import type { ConflictError } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { ActorType, Outcome } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/**
 * Personal fields of an entry, encrypted with its subject's key (crypto-shredding). `fields`
 * names what was taken out of the plaintext (`"actor.ip"`, `"meta.email"`); `data` is
 * AES-256-GCM ciphertext + 16-byte tag (base64) of their JSON, `iv` the 12-byte nonce (base64).
 * Destroying the key (`SubjectKeyStore.destroy`) makes them unreadable; the record, and so its
 * hash, is never changed.
 */
export interface SealedFields {
  /** `SubjectKey.keyId` of the key used. */
  keyId: string;
  alg: "A256GCM";
  iv: string;
  data: string;
  fields: string[];
  /**
   * Further parts sealed under other subjects' keys, same shape (e.g. the actor's own IP and
   * user agent on an entry about someone else), so forgetting either person erases their part.
   */
  more?: SealedFields[];
}

/**
 * One audit entry as stored: the entry itself plus its place in its tenant's hash chain.
 * Field names follow CADF/OCSF/ECS (actor, action, target, outcome).
 *
 * Storage rules for adapters (the hash is recomputed from what you give back, so every field
 * must read back with the same value):
 * - optional fields may read back as `undefined` or `null` (the hash treats them alike);
 * - `ts` must read back as the same ISO string (`toISOString()` form: milliseconds and `Z`);
 *   a `timestamptz` column is fine, read it back with `new Date(v).toISOString()`;
 * - `meta` and `sealed` may be stored as JSONB: key order and number spelling may change, the
 *   hash does not depend on them. Strings are kept exactly (no trimming, no normalisation);
 * - `seq` must read back as a JS number.
 */
export interface AuditRecord {
  /** Sortable unique id. */
  id: string;
  /** The chain this entry belongs to: one chain per tenant, `null` for the global chain. */
  tenantId: TenantKey;
  /** 1-based position in the chain; gap-free. Not hashed: order is fixed by `prevHash`. */
  seq: number;
  /** `hash` of the previous entry ("" for seq 1). */
  prevHash: string;
  /** SHA-256 (lower-case hex) over the canonical encoding of this entry and `prevHash`. */
  hash: string;
  /** When it happened, ISO 8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`). */
  ts: string;
  env: string;
  action: string;
  actor: { id: string; type: ActorType; ip?: string | null; userAgent?: string | null };
  subject?: { id: string; type?: string | null } | null;
  target?: { id: string; type?: string | null; name?: string | null } | null;
  outcome: Outcome;
  reason?: string | null;
  surface?: string | null;
  requestId?: string | null;
  correlationId?: string | null;
  meta: JsonObject;
  /** Personal fields encrypted with the subject's key; absent when nothing was sealed. */
  sealed?: SealedFields | null;
}

/**
 * Filters of `AuditStore.query`; every given filter must match (AND). Results are ordered by
 * `seq` and keyset-paged on it: complete, no duplicates, stable while entries are appended.
 */
export interface AuditQuery extends PageRequest {
  tenantId: TenantKey;
  actorId?: string;
  subjectId?: string;
  targetId?: string;
  /** Any of these actions (OR within the list). An empty list matches nothing. */
  actions?: readonly string[];
  outcome?: Outcome;
  correlationId?: string;
  /** Inclusive lower bound on `ts` (ISO). */
  from?: string;
  /** Exclusive upper bound on `ts` (ISO). */
  to?: string;
  /** By `seq`; default "asc". */
  order?: "asc" | "desc";
}

/**
 * Append-only storage of hash-chained audit entries. There is deliberately no update or delete.
 * The store never computes or checks hashes: `@ops/audit` builds the chain and verifies it from
 * what `range` returns, so a store must return exactly what was stored (including rows tampered
 * with behind its back; never "repair" or skip them).
 *
 * Concurrency: `(tenantId, seq)` is unique. `append` writes all its records or none; when any
 * record's seq is taken (another writer won the race) it throws `ConflictError` and writes nothing,
 * and the caller re-reads `head` and re-chains. Many processes appending to one chain therefore
 * never fork it, and since every writer continues the head it read, never leave a gap.
 * (SQL: a unique index on (tenant_id, seq) — with NULL tenant mapped to a sentinel or
 * `NULLS NOT DISTINCT` — and one multi-row INSERT in one transaction; map the unique violation
 * to `ConflictError`.)
 */
export interface AuditStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Atomically appends consecutive records of one chain (1..10,000 per call). Resolves once the
   * records are durable (committed). Continuity with the head (`records[0].seq === head.seq + 1`,
   * `records[0].prevHash === head.hash`) is the caller's job, done by reading `head` first; a
   * store may check it too, and then throws `ConflictError`.
   * @throws ConflictError when a seq is already taken (nothing written).
   * @throws ValidationError when `records` is empty, a record's `tenantId` differs from the input's,
   *   or seqs are not consecutive (nothing written).
   */
  append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void>;
  /**
   * Cross-chain group commit: appends batches of many chains in one round trip (SQL: one INSERT),
   * each batch on the terms of `append` (consecutive records of one chain, continuing its head).
   * Resolves with one entry per batch: null when written, or the `ConflictError` of a batch that
   * does not continue its chain's stored head (nothing of that batch written; the others are).
   * Rejects as a whole (nothing written) on any other error, including a seq taken by a
   * concurrent writer: the caller then appends chain by chain. Optional.
   * @throws ValidationError on a malformed batch (nothing written).
   */
  appendMany?(input: {
    batches: ReadonlyArray<{ tenantId: TenantKey; records: readonly AuditRecord[] }>;
  }): Promise<Array<ConflictError | null>>;
  /** The last record's position (highest seq), or null for an empty chain. */
  head(input: { tenantId: TenantKey }): Promise<{ seq: number; hash: string } | null>;
  /**
   * Records of one chain with `fromSeq <= seq <= toSeq`, ascending by seq, at most `limit`
   * (default 1000, up to 10,000 honoured). Missing seqs are simply absent (that is how verify
   * sees a removed row). Used to stream a chain page by page.
   */
  range(input: { tenantId: TenantKey; fromSeq: number; toSeq?: number; limit?: number }): Promise<AuditRecord[]>;
  /** Filtered, keyset-paged reads of one tenant's entries, ordered by seq. */
  query(input: AuditQuery): Promise<Page<AuditRecord>>;
  /**
   * Every chain that has entries (tenant ids, `null` for the global chain), for checkpoints.
   * Ordered with `null` first then tenant ids ascending; keyset-paged.
   */
  chains(input?: PageRequest): Promise<Page<TenantKey>>;
}

/** A per-subject data key for crypto-shredding. */
export interface SubjectKey {
  /** Unique id of this key; a new key after `destroy` gets a new id. */
  keyId: string;
  tenantId: TenantKey;
  subjectId: string;
  /** 32 random bytes (AES-256). */
  key: Uint8Array;
  createdAt: string;
}

/**
 * Keys of crypto-shredding: one live key per (tenant, subject). Keys live apart from the audit
 * rows (their own table) so that destroying one erases a subject's personal fields without
 * touching a hashed row. `destroy` is a real delete, not a soft delete.
 */
export interface SubjectKeyStore extends Closeable {
  /**
   * The live key of the subject; when there is none, stores `candidate` and returns it. Under
   * concurrent calls for one subject exactly one candidate is stored and every caller gets it.
   */
  getOrCreate(input: { candidate: SubjectKey }): Promise<SubjectKey>;
  /** A key by id, or null when it never existed or was destroyed. */
  get(input: { tenantId: TenantKey; keyId: string }): Promise<SubjectKey | null>;
  /** Deletes every key of the subject (all generations). Returns how many were deleted; idempotent. */
  destroy(input: { tenantId: TenantKey; subjectId: string }): Promise<number>;
}
