import { randomUUID, sign } from "node:crypto";
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
  type AuthEventStore,
  type IncidentStore,
  type OutboxStore,
  scrubText,
  UNSTORABLE_MESSAGE,
  UNSTORABLE_TEXT,
  type StorableIssue,
} from "@ops/core";
import { isUniversalAuditAction, type AuditAction, type AuditActionSet } from "./actions.js";
import { ChainWriter, chainOn, type ChainableEntry } from "./chain-writer.js";
import {
  checkpointAnchors,
  checkpointKeyId,
  privateKeyOf,
  publicKeyOf,
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointHead,
  type KeyInput,
  type SignedCheckpoint,
} from "./checkpoint.js";
import { DEFAULT_MAX_META_BYTES, makeAuditEntry, type AuditEntry, type AuditEntryInput } from "./entry.js";
import { GroupCommitQueue, type BufferOptions, type CommitPipeline } from "./group-commit.js";
import { auditMetaSafe, redactedSizeAtLeast, redactString, unstorableTextIssue, type RedactOptions } from "./redact.js";
import { DEFAULT_PERSONAL_FIELDS, ERASED, sealEntry, sealedParts, unsealRecord, type AuditEntryView } from "./shred.js";
import type { CheckpointSink } from "./sinks/types.js";
import { verifyStoreChain, type VerifyResult } from "./verify.js";
import { parseQuery, type AuditQueryInput } from "./query.js";
import { checkLogOptions } from "./options.js";
import { computeAuditHash } from "./encoding.js";
import { macHasher, macKeyMap, type MacKey } from "./mac.js";

/** What `forgetSubject` erased where (also recorded, as counts, in the SUBJECT_FORGOTTEN entry). */
export interface ForgetReport {
  keysDestroyed: number;
  /** What the person's id became in the other stores. */
  pseudonym: string;
  /** Per store: records changed (audit: entries whose sealed fields are now unreadable), and the fields erased. */
  erased: { store: string; records: number; fields?: string[]; unsupported?: boolean }[];
}

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
  /** Which fields are personal (default `DEFAULT_PERSONAL_FIELDS`; nested `meta.a.b` and `meta.**.key` paths). */
  personalFields?: readonly string[];
  /** Stores outside the audit log that `forgetSubject` purges too (through their `forgetSubject` method). */
  erasure?: { authEvents?: AuthEventStore; incidents?: IncidentStore; outbox?: OutboxStore };
  checkpoints?: CheckpointOptions;
  /** Public key for `verify` with checkpoints (default: derived from `checkpoints.privateKey`). */
  publicKey?: KeyInput;
  /**
   * Keyed entries: each entry's chain hash is an HMAC-SHA256 under this key (held outside the
   * database), so a row forged without it is caught by the next `verify`. Costs one HMAC instead
   * of one SHA-256 per entry (see the README and bench/).
   */
  mac?: MacKey;
  /** Older MAC keys still accepted by `verify` (after a rotation). */
  macKeys?: readonly MacKey[];
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
  /**
   * Erases a person: reads the identifiers in their sealed fields (plus `identifiers`), purges or
   * pseudonymises them in the `erasure` stores (auth events, incident snapshots, notification
   * bodies), destroys their key (crypto-shredding: their fields in every entry become unreadable,
   * the chain still verifies) and records SUBJECT_FORGOTTEN with the report, free of their data.
   * @throws ValidationError
   */
  forgetSubject(input: {
    tenantId?: TenantKey;
    subjectId: string;
    actor: ActorRef;
    reason?: string;
    identifiers?: readonly string[];
  }): Promise<ForgetReport>;
  /** Signs an export trailer with the checkpoint key, when the log has one (used by exports). @internal */
  signExport?(input: string): { keyId: string; signature: string } | null;
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
  const hasher = options.mac ? macHasher(options.mac) : computeAuditHash;
  const macKeys = macKeyMap([...(options.mac ? [options.mac] : []), ...(options.macKeys ?? [])]);
  const writer = new ChainWriter(store, options.maxAttempts ?? 50, hasher);
  const publicKey = options.publicKey
    ? publicKeyOf(options.publicKey)
    : options.checkpoints
      ? publicKeyOf(privateKeyOf(options.checkpoints.privateKey))
      : null;
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
    chain: (tenantId, entries, head) => chainOn(head, tenantId, entries, hasher),
    knownHead: (tenantId) => writer.cachedHead(tenantId),
    commit: (tenantId, entries, prechained) => writer.commit(tenantId, entries, prechained),
    // Cross-chain group commit where the store has it (one statement for many tenants' chains).
    ...(store.appendMany ? { commitMany: (items: Parameters<ChainWriter["commitMany"]>[0]) => writer.commitMany(items) } : {}),
  };
  const queue = new GroupCommitQueue(options.buffer ?? {}, pipeline);

  const prepare = (input: AuditEntryInput<string>): ChainableEntry => {
    if (closed) throw new UnavailableError("[ops/audit] audit log is closed");
    const withMeta = redactOptions && input ? redactInput(input, redactOptions, maxMetaBytes) : input;
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
    if (!options.checkpoints)
      throw new ValidationError("[ops/audit] checkpoint: no checkpoints option (privateKey and sinks) was given", [
        { path: "checkpoints", message: "required" },
      ]);
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
    // The log continues where the published one ends (after a restart too): same link, next number.
    lastCheckpoint ??= await latestPublished(options.checkpoints);
    const cp = signCheckpoint({
      heads,
      privateKey: options.checkpoints.privateKey,
      createdAt: clock.date().toISOString(),
      prevSignature: lastCheckpoint?.signature ?? null,
      seq: (lastCheckpoint?.payload.seq ?? 0) + 1,
    });
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
      const anchors =
        input.checkpoints && input.checkpoints.length > 0
          ? checkpointAnchors(input.checkpoints, input.tenantId, publicKey ?? missingPublicKey())
          : [];
      return verifyStoreChain({
        store,
        tenantId: input.tenantId,
        anchors,
        macKeys,
        requireMac: false,
        ...(input.from !== undefined ? { from: input.from } : {}),
        ...(input.to !== undefined ? { to: input.to } : {}),
      });
    },
    async verifyAll(input = {}) {
      const out: VerifyResult[] = [];
      // Every chain a checkpoint names must still exist: a chain deleted whole is tampering too.
      const named = new Set<TenantKey>();
      for (const cp of input.checkpoints ?? []) for (const h of (cp as SignedCheckpoint).payload?.heads ?? []) named.add(h.tenantId);
      let cursor: string | null = null;
      do {
        const page = await store.chains({ limit: 1000, cursor });
        for (const tenantId of page.items) {
          named.delete(tenantId);
          out.push(await log.verify({ tenantId, ...(input.checkpoints ? { checkpoints: input.checkpoints } : {}) }));
        }
        cursor = page.nextCursor;
      } while (cursor);
      for (const tenantId of named) out.push(await log.verify({ tenantId, checkpoints: input.checkpoints! }));
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
        throw new ValidationError("[ops/audit] invalid forgetSubject input: subjectId: expected a non-empty string", [
          { path: "subjectId", message: "expected a non-empty string" },
        ]);
      if (!options.keys)
        throw new ValidationError("[ops/audit] forgetSubject: no keys option (SubjectKeyStore) was given, nothing is sealed", [
          { path: "keys", message: "required" },
        ]);
      const tenantId = parseInput(TenantIdSchema.nullable(), input.tenantId ?? null, { pkg: "audit", what: "forgetSubject tenantId" });
      const actor = parseInput(ActorRefSchema, input.actor, { pkg: "audit", what: "forgetSubject actor" });
      const extra = parseInput(IdentifiersSchema, input.identifiers ?? [], { pkg: "audit", what: "forgetSubject identifiers" });
      await queue.flush();
      // What identifies the person, read from their own sealed fields before the key goes.
      const found = await subjectIdentifiers(store, options.keys, tenantId, subjectId);
      const identifiers = [...new Set([...extra, ...found.identifiers])];
      const pseudonym = `forgotten_${randomUUID().replace(/-/g, "").slice(0, 20)}`;
      const forget = { tenantId, subjectId, identifiers, pseudonym };
      const elsewhere = async (name: string, s: { forgetSubject?: (i: typeof forget) => Promise<{ records: number }> } | undefined) =>
        !s
          ? null
          : typeof s.forgetSubject === "function"
            ? { store: name, records: (await s.forgetSubject(forget)).records }
            : { store: name, records: 0, unsupported: true };
      const others = [
        await elsewhere("authEvents", options.erasure?.authEvents),
        await elsewhere("incidents", options.erasure?.incidents),
        await elsewhere("notifications", options.erasure?.outbox),
      ].filter((x): x is { store: string; records: number; unsupported?: boolean } => x !== null);
      const keysDestroyed = await options.keys.destroy({ tenantId, subjectId });
      const report: ForgetReport = {
        keysDestroyed,
        pseudonym,
        erased: [{ store: "audit", records: found.entries, fields: [...found.fields].sort() }, ...others],
      };
      // The entry says who asked and what was erased where, never what the person's data was:
      // the reason is scrubbed of every identifier found, then redacted like any free text.
      const reason = input.reason
        ? scrubText(
            input.reason,
            identifiers.map((text) => ({ text, replacement: ERASED })).sort((a, b) => b.text.length - a.text.length),
          )
        : undefined;
      await append({
        action: "SUBJECT_FORGOTTEN",
        actor,
        tenantId,
        target: { id: subjectId, type: "subject" },
        ...(reason ? { reason } : {}),
        meta: {
          keysDestroyed,
          pseudonym,
          erased: report.erased.map((e) => ({ store: e.store, records: e.records, ...(e.unsupported ? { unsupported: true } : {}) })),
        },
      });
      return report;
    },
    auditRead,
    signExport(input) {
      if (!options.checkpoints) return null;
      const key = privateKeyOf(options.checkpoints.privateKey);
      return { keyId: checkpointKeyId(key), signature: sign(null, Buffer.from(input, "utf8"), key).toString("base64") };
    },
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

/**
 * Redacts every free-text field of an entry with the rules of `meta`: `reason`, `actor.userAgent`,
 * `target.name` and `meta`. The size limit of meta is applied first (to meta as given, strings
 * counted up to `maxStringLength`), so an oversized meta costs no scan.
 */
function redactInput(input: AuditEntryInput<string>, options: RedactOptions, maxMetaBytes: number): AuditEntryInput<string> {
  // Redaction masks secrets; it does not rewrite what cannot be stored. A NUL or an unpaired
  // surrogate in free text or meta is refused here, naming the caller's field, as with redaction
  // off: the entry is stored as given or not at all.
  const issue =
    freeTextIssue(input.reason, "reason") ??
    (input.actor && typeof input.actor === "object" ? freeTextIssue(input.actor.userAgent, "actor.userAgent") : null) ??
    (input.target && typeof input.target === "object" ? freeTextIssue(input.target.name, "target.name") : null) ??
    (input.meta !== undefined ? unstorableTextIssue(input.meta, "meta", options) : null);
  if (issue) throw new ValidationError(`[ops/audit] invalid audit entry: ${issue.path}: ${issue.message}`, [issue]);
  const out: AuditEntryInput<string> = { ...input };
  if (input.meta !== undefined) {
    const atLeast = redactedSizeAtLeast(input.meta, maxMetaBytes, options);
    if (atLeast > maxMetaBytes)
      throw new ValidationError(
        `[ops/audit] invalid audit entry: meta: expected at most ${maxMetaBytes} bytes of JSON, got more than ${maxMetaBytes}`,
        [{ path: "meta", message: `expected at most ${maxMetaBytes} bytes of JSON` }],
      );
    out.meta = auditMetaSafe(input.meta, options);
  }
  // Free text is short (zod caps it at 1 KiB or less); non-strings are left for validation to refuse.
  const text = (v: unknown, max: number) => {
    if (typeof v !== "string" || v.length > max) return v as string;
    const r = redactString(v, { ...options, maxStringLength: max + 64 });
    return r.length > max ? r.slice(0, max) : r;
  };
  if (input.reason !== undefined) out.reason = text(input.reason, 1024);
  if (input.actor && typeof input.actor === "object" && input.actor.userAgent !== undefined)
    out.actor = { ...input.actor, userAgent: text(input.actor.userAgent, 512) };
  if (input.target && typeof input.target === "object" && input.target.name !== undefined)
    out.target = { ...input.target, name: text(input.target.name, 256) };
  return out;
}

function freeTextIssue(v: unknown, path: string): StorableIssue | null {
  return typeof v === "string" && UNSTORABLE_TEXT.test(v) ? { path, message: UNSTORABLE_MESSAGE } : null;
}

/** The newest checkpoint a sink that can read back (`latest()`) holds, signed by this log's key. */
async function latestPublished(options: CheckpointOptions): Promise<SignedCheckpoint | null> {
  const key = publicKeyOf(privateKeyOf(options.privateKey));
  let best: SignedCheckpoint | null = null;
  for (const sink of options.sinks) {
    const latest = (sink as { latest?: () => Promise<SignedCheckpoint | null> }).latest;
    if (typeof latest !== "function") continue;
    const cp = await latest.call(sink);
    if (cp && verifyCheckpoint(cp, key) && (best === null || (cp.payload.seq ?? 0) > (best.payload.seq ?? 0))) best = cp;
  }
  return best;
}

const IdentifiersSchema = z.array(z.string().min(1).max(1024)).max(1000);

/** The strings in the person's own sealed fields (name, e-mail, phone, IP, user agent...), and how many entries hold them. */
async function subjectIdentifiers(
  store: AuditStore,
  keys: SubjectKeyStore,
  tenantId: TenantKey,
  subjectId: string,
): Promise<{ identifiers: string[]; entries: number; fields: Set<string> }> {
  const identifiers = new Set<string>();
  const fields = new Set<string>();
  let entries = 0;
  const cache = new Map<string, SubjectKey | null>();
  const collect = (v: unknown) => {
    if (typeof v === "string") {
      if (v.length >= 3 && identifiers.size < 1000) identifiers.add(v);
    } else if (v && typeof v === "object") for (const x of Object.values(v)) collect(x);
  };
  for (const filter of [{ subjectId }, { actorId: subjectId }]) {
    let cursor: string | null = null;
    do {
      const page = await store.query({ tenantId, ...filter, limit: 1000, cursor });
      for (const r of page.items) {
        let mine = false;
        for (const part of sealedParts(r.sealed)) {
          if (!cache.has(part.keyId)) cache.set(part.keyId, await keys.get({ tenantId, keyId: part.keyId }));
          const key = cache.get(part.keyId);
          if (!key || key.subjectId !== subjectId) continue;
          mine = true;
          for (const f of part.fields) fields.add(f.replace(/^meta\..*\./, "meta.**."));
          const view = unsealRecord({ ...r, sealed: { ...part, more: [] } }, key);
          for (const f of part.fields) collect(pathValue(view, f));
        }
        // Entries they acted in without a subject: their sealed part counts once.
        if (mine && !(filter.actorId && r.subject?.id === subjectId)) entries++;
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  return { identifiers: [...identifiers], entries, fields };
}

function pathValue(view: object, path: string): unknown {
  let v: unknown = view;
  for (const p of path.split("."))
    v = v && typeof v === "object" ? (v as Record<string, unknown>)[p.replace(/%2E/g, ".").replace(/%25/g, "%")] : undefined;
  return v;
}

function missingPublicKey(): never {
  throw new ValidationError("[ops/audit] verify with checkpoints needs publicKey (or checkpoints.privateKey) in createAuditLog", [
    { path: "publicKey", message: "required" },
  ]);
}

/** Decrypts sealed fields, fetching each key once per call. */
export async function unsealAll(records: readonly AuditRecord[], keys: SubjectKeyStore | undefined): Promise<AuditEntryView[]> {
  const cache = new Map<string, SubjectKey | null>();
  const out: AuditEntryView[] = [];
  for (const r of records) {
    const found = new Map<string, SubjectKey | null>();
    if (keys)
      for (const part of sealedParts(r.sealed)) {
        const k = `${r.tenantId ?? ""}\u0000${part.keyId}`;
        if (!cache.has(k)) cache.set(k, await keys.get({ tenantId: r.tenantId, keyId: part.keyId }));
        found.set(part.keyId, cache.get(k) ?? null);
      }
    out.push(unsealRecord(r, (keyId) => found.get(keyId) ?? null));
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
