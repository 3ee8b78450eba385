import * as z from "zod";
import {
  ActorRefSchema,
  TenantIdSchema,
  UnavailableError,
  ValidationError,
  parseInput,
  sortableId,
  systemClock,
  type ActorRef,
  type AuditQuery,
  type AuditRecord,
  type AuditSink,
  type AuditSinkEntry,
  type AuditStore,
  type Clock,
  type Page,
  type SubjectKey,
  type SubjectKeyStore,
  type TenantKey,
} from "@ops/core";
import { isUniversalAuditAction, type AuditAction, type AuditActionSet } from "./actions.js";
import { ChainWriter, chainOn, type ChainableEntry } from "./chain-writer.js";
import { checkpointAnchors, privateKeyOf, publicKeyOf, signCheckpoint, type CheckpointHead, type KeyInput, type SignedCheckpoint } from "./checkpoint.js";
import { DEFAULT_MAX_META_BYTES, makeAuditEntry, type AuditEntry, type AuditEntryInput } from "./entry.js";
import { GroupCommitQueue, type BufferOptions, type CommitPipeline } from "./group-commit.js";
import { auditMetaSafe, type RedactOptions } from "./redact.js";
import { DEFAULT_PERSONAL_FIELDS, sealEntry, unsealRecord, type AuditEntryView } from "./shred.js";
import type { CheckpointSink } from "./sinks/types.js";
import { verifyStoreChain, type VerifyResult } from "./verify.js";
import { parseQuery, type AuditQueryInput } from "./query.js";
import { checkLogOptions } from "./options.js";

export interface CheckpointOptions {
  /** Ed25519 private key (PEM or KeyObject). Keep it out of the audit database. */
  privateKey: KeyInput;
  sinks: readonly CheckpointSink[];
  /** Sign every chain head on this schedule (ms); off when absent. */
  everyMs?: number;
  /** Scheduled checkpoints report failures here (on-demand ones throw). */
  onError?: (error: unknown) => void;
}

export interface AuditLogOptions<A extends string = never> {
  store: AuditStore;
  clock?: Clock;
  /**
   * Environment of entries that do not name one (e.g. `record` calls from @ops/flags and
   * @ops/incidents, whose port has no env). Default: from `NODE_ENV` at creation — "production"
   * -> "prod", "staging" -> "staging", "test" -> "test", anything else -> "dev".
   */
  env?: string;
  /** App-defined actions (from `defineAuditActions`); when given, other non-universal actions are rejected. */
  actions?: AuditActionSet<A>;
  /** Default 16 KiB. */
  maxMetaBytes?: number;
  /** Pass meta through `auditMetaSafe` on append (default true; false when you redact yourself). */
  redact?: boolean | RedactOptions;
  /** Group-commit settings (queue bound, batch size, overflow policy). */
  buffer?: BufferOptions;
  /** Attempts per batch when other writers win the race (default 50). */
  maxAttempts?: number;
  /** Enables crypto-shredding: personal fields are sealed with per-subject keys kept here. */
  keys?: SubjectKeyStore;
  /** Which fields are personal (default `DEFAULT_PERSONAL_FIELDS`). */
  personalFields?: readonly string[];
  checkpoints?: CheckpointOptions;
  /** Public key for `verify` with checkpoints (default: derived from `checkpoints.privateKey`). */
  publicKey?: KeyInput;
}

/** Filters plus an optional reader: when `auditedAs` is given the read itself is audited (AUDIT_EXPORT). */
export type AuditReadOptions = { auditedAs?: ActorRef };

export interface AuditLog<A extends string = never> extends AuditSink {
  /** Validates, chains and stores an entry; resolves once it is durable. @throws ValidationError */
  append(input: AuditEntryInput<AuditAction<A>>): Promise<AuditRecord>;
  /** Appends an entry built by `makeAuditEntry(...)`: `await log.save(makeAuditEntry({...}))`. @throws ValidationError */
  save(entry: AuditEntry<AuditAction<A>> | AuditEntryInput<AuditAction<A>>): Promise<AuditRecord>;
  /** The `AuditSink` port used by @ops/flags and @ops/incidents. @throws ValidationError */
  record(entry: AuditSinkEntry): Promise<void>;
  /** Fire-and-forget append through the bounded queue. Returns false when dropped. @throws ValidationError, UnavailableError */
  enqueue(input: AuditEntryInput<AuditAction<A>>): boolean;
  /** Waits until every queued entry is committed. */
  flush(): Promise<void>;
  /** Stops the checkpoint schedule, flushes, then refuses new entries. Idempotent. Does not close the store. */
  close(): Promise<void>;
  /** Streams one chain and reports the first bad position. Never throws for tampering. @throws IntegrityError for a forged checkpoint */
  verify(input: { tenantId: TenantKey; from?: number; to?: number; checkpoints?: readonly SignedCheckpoint[] }): Promise<VerifyResult>;
  /** Verifies every chain in the store (global first, then tenants); returns one result per chain. @throws IntegrityError for a forged checkpoint */
  verifyAll(input?: { checkpoints?: readonly SignedCheckpoint[] }): Promise<VerifyResult[]>;
  /** Filtered, keyset-paged read; personal fields decrypted or shown as erased. @throws ValidationError */
  query(input: AuditQueryInput & AuditReadOptions): Promise<Page<AuditEntryView>>;
  /** Signs every chain head now and writes the checkpoint to every sink. @throws UnsupportedError, UnavailableError */
  checkpoint(): Promise<SignedCheckpoint>;
  /** The checkpoint made last by this log, if any. */
  readonly lastCheckpoint: SignedCheckpoint | null;
  /** Destroys the subject's key (crypto-shredding) and records SUBJECT_FORGOTTEN. @throws ValidationError */
  forgetSubject(input: { tenantId?: TenantKey; subjectId: string; actor: ActorRef; reason?: string }): Promise<{ keysDestroyed: number }>;
  /** Records the read as an AUDIT_EXPORT entry (used by exports). @internal */
  auditRead(actor: ActorRef, tenantId: TenantKey, kind: string, filters: Record<string, unknown>): Promise<void>;
  readonly store: AuditStore;
  readonly keys: SubjectKeyStore | undefined;
  stats(): { queued: number; dropped: number; failed: number; committed: number; commits: number; conflicts: number };
}

/**
 * Creates a tamper-evident audit log over an `AuditStore`: hash chain per tenant, group commit,
 * verification, signed checkpoints, crypto-shredding.
 * @throws ConfigError naming each bad option (and for a checkpoint key that is not Ed25519).
 */
export function createAuditLog<A extends string = never>(options: AuditLogOptions<A>): AuditLog<A> {
  checkLogOptions(options);
  const defaultEnv = options.env ?? envFromNodeEnv(process.env.NODE_ENV);
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const maxMetaBytes = options.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  const redactOptions = options.redact === false ? null : options.redact === true || options.redact === undefined ? {} : options.redact;
  const personal = options.personalFields ?? DEFAULT_PERSONAL_FIELDS;
  const writer = new ChainWriter(store, options.maxAttempts ?? 50);
  const publicKey = options.publicKey ? publicKeyOf(options.publicKey) : options.checkpoints ? publicKeyOf(privateKeyOf(options.checkpoints.privateKey)) : null;
  let closed = false;
  let lastCheckpoint: SignedCheckpoint | null = null;

  const pipeline: CommitPipeline = {
    async seal(_tenantId, entries) {
      if (!options.keys) return entries;
      const cache = new Map<string, SubjectKey>();
      const nowIso = clock.date().toISOString();
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        const { entry, sealed } = await sealEntry({ entry: e, id: e.id, fields: personal, keys: options.keys, nowIso, cache });
        if (sealed) entries[i] = { ...(entry as ChainableEntry), sealed };
      }
      return entries;
    },
    chain: (tenantId, entries, head) => chainOn(head, tenantId, entries),
    knownHead: (tenantId) => writer.cachedHead(tenantId),
    commit: (tenantId, entries, prechained) => writer.commit(tenantId, entries, prechained),
  };
  const queue = new GroupCommitQueue(options.buffer ?? {}, pipeline);

  const prepare = (input: AuditEntryInput<string>): ChainableEntry => {
    if (closed) throw new UnavailableError("[ops/audit] audit log is closed");
    const withMeta = redactOptions && input && input.meta !== undefined ? { ...input, meta: auditMetaSafe(input.meta, redactOptions) } : input;
    // auditMetaSafe output needs no second walk (acyclic, plain, storable) unless it may be deep.
    const metaIsSafe = withMeta !== input && (redactOptions?.maxDepth ?? 16) <= 32;
    const entry = makeAuditEntry<string>(withMeta, { now: clock.date(), maxMetaBytes, metaIsSafe, defaultEnv });
    if (options.actions && !options.actions.has(entry.action) && !isUniversalAuditAction(entry.action))
      throw new ValidationError(`[ops/audit] invalid audit entry: action: "${entry.action}" is neither universal nor declared in actions`, [
        { path: "action", message: "expected a universal or declared action" },
      ]);
    const id = (input as { id?: unknown }).id;
    const chainable = entry as ChainableEntry;
    chainable.id = typeof id === "string" && id.length > 0 && id.length <= 64 ? id : `aud_${sortableId(clock.now())}`;
    return chainable;
  };

  // async: validation errors reject the promise instead of throwing synchronously.
  const append = async (input: AuditEntryInput<string>) => queue.add(prepare(input));

  const auditRead = async (actor: ActorRef, tenantId: TenantKey, kind: string, filters: Record<string, unknown>) => {
    await append({ action: "AUDIT_EXPORT", actor, tenantId, surface: "audit", meta: { kind, filters: auditMetaSafe(filters) } });
  };

  const checkpoint = async (): Promise<SignedCheckpoint> => {
    if (!options.checkpoints) throw new ValidationError("[ops/audit] checkpoint: no checkpoints option (privateKey and sinks) was given", [{ path: "checkpoints", message: "required" }]);
    await queue.flush();
    const heads: CheckpointHead[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.chains({ limit: 1000, cursor });
      for (const tenantId of page.items) {
        const head = await store.head({ tenantId });
        if (head) heads.push({ tenantId, seq: head.seq, hash: head.hash });
      }
      cursor = page.nextCursor;
    } while (cursor);
    const cp = signCheckpoint({ heads, privateKey: options.checkpoints.privateKey, createdAt: clock.date().toISOString(), prevSignature: lastCheckpoint?.signature ?? null });
    const results = await Promise.allSettled(options.checkpoints.sinks.map((s) => s.write(cp)));
    lastCheckpoint = cp;
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [options.checkpoints!.sinks[i]!.name] : []));
    if (failed.length > 0) {
      const first = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      throw new UnavailableError(`[ops/audit] checkpoint signed but not stored by sink(s): ${failed.join(", ")}`, { cause: first.reason });
    }
    return cp;
  };

  const timer = options.checkpoints?.everyMs
    ? setInterval(() => {
        checkpoint().catch((err: unknown) => options.checkpoints?.onError?.(err));
      }, options.checkpoints.everyMs)
    : null;
  timer?.unref();

  const log: AuditLog<A> = {
    store,
    keys: options.keys,
    get lastCheckpoint() {
      return lastCheckpoint;
    },
    append,
    save: (entry) => append(entry as AuditEntryInput<string>),
    async record(entry) {
      await append({ ...entry, tenantId: entry.tenantId ?? null } as AuditEntryInput<string>);
    },
    enqueue: (input) => queue.offer(prepare(input)),
    flush: () => queue.flush(),
    async close() {
      if (timer) clearInterval(timer);
      closed = true;
      await queue.flush();
    },
    async verify(input) {
      parseInput(VerifyInputSchema, input, { pkg: "audit", what: "verify input" });
      const anchors = input.checkpoints && input.checkpoints.length > 0
        ? checkpointAnchors(input.checkpoints, input.tenantId, publicKey ?? missingPublicKey())
        : [];
      return verifyStoreChain({ store, tenantId: input.tenantId, anchors, ...(input.from !== undefined ? { from: input.from } : {}), ...(input.to !== undefined ? { to: input.to } : {}) });
    },
    async verifyAll(input = {}) {
      const out: VerifyResult[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.chains({ limit: 1000, cursor });
        for (const tenantId of page.items) out.push(await log.verify({ tenantId, ...(input.checkpoints ? { checkpoints: input.checkpoints } : {}) }));
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    },
    async query(input) {
      const { auditedAs, ...rest } = input;
      const q: AuditQuery = parseQuery(rest);
      const reader = auditedAs ? parseInput(ActorRefSchema, auditedAs, { pkg: "audit", what: "auditedAs" }) : null;
      const page = await store.query(q);
      const items = await unsealAll(page.items, options.keys);
      if (reader) await auditRead(reader, q.tenantId, "query", { ...rest, cursor: undefined });
      return { items, nextCursor: page.nextCursor };
    },
    checkpoint,
    async forgetSubject(input) {
      const subjectId = input.subjectId;
      if (typeof subjectId !== "string" || subjectId.length === 0 || subjectId.length > 256)
        throw new ValidationError("[ops/audit] invalid forgetSubject input: subjectId: expected a non-empty string", [{ path: "subjectId", message: "expected a non-empty string" }]);
      if (!options.keys)
        throw new ValidationError("[ops/audit] forgetSubject: no keys option (SubjectKeyStore) was given, nothing is sealed", [{ path: "keys", message: "required" }]);
      const tenantId = parseInput(TenantIdSchema.nullable(), input.tenantId ?? null, { pkg: "audit", what: "forgetSubject tenantId" });
      const actor = parseInput(ActorRefSchema, input.actor, { pkg: "audit", what: "forgetSubject actor" });
      await queue.flush();
      const keysDestroyed = await options.keys.destroy({ tenantId, subjectId });
      await append({ action: "SUBJECT_FORGOTTEN", actor, tenantId, target: { id: subjectId, type: "subject" }, ...(input.reason ? { reason: input.reason } : {}), meta: { keysDestroyed } });
      return { keysDestroyed };
    },
    auditRead,
    stats: () => ({
      queued: queue.queued,
      dropped: queue.dropped,
      failed: queue.failed,
      committed: writer.stats.committedEntries,
      commits: writer.stats.commits,
      conflicts: writer.stats.conflicts,
    }),
  };
  return log;
}

const VerifyInputSchema = z
  .object({
    tenantId: TenantIdSchema.nullable(),
    from: z.number().int().min(1, "expected a seq >= 1").optional(),
    to: z.number().int().min(1, "expected a seq >= 1").optional(),
    checkpoints: z.array(z.object({}).loose()).optional(),
  })
  .refine((v) => v.from === undefined || v.to === undefined || v.to >= v.from, { path: ["to"], message: "expected to >= from" });

function missingPublicKey(): never {
  throw new ValidationError("[ops/audit] verify with checkpoints needs publicKey (or checkpoints.privateKey) in createAuditLog", [{ path: "publicKey", message: "required" }]);
}

/** Decrypts sealed fields, fetching each key once per call. */
export async function unsealAll(records: readonly AuditRecord[], keys: SubjectKeyStore | undefined): Promise<AuditEntryView[]> {
  const cache = new Map<string, SubjectKey | null>();
  const out: AuditEntryView[] = [];
  for (const r of records) {
    let key: SubjectKey | null = null;
    if (r.sealed && keys) {
      const k = `${r.tenantId ?? ""}\u0000${r.sealed.keyId}`;
      if (!cache.has(k)) cache.set(k, await keys.get({ tenantId: r.tenantId, keyId: r.sealed.keyId }));
      key = cache.get(k) ?? null;
    }
    out.push(unsealRecord(r, key));
  }
  return out;
}

/** The default environment of a log created without `env`. */
export function envFromNodeEnv(nodeEnv: string | undefined): string {
  switch (nodeEnv) {
    case "production":
      return "prod";
    case "staging":
      return "staging";
    case "test":
      return "test";
    default:
      return "dev";
  }
}
