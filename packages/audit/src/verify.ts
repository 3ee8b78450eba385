import type { AuditRecord, AuditStore, TenantKey } from "@ops/core";
import { GENESIS_HASH } from "./encoding.js";
import { checkEntryHash, isKeyedHash } from "./mac.js";

/**
 * What went wrong at the first bad position:
 * - `modified`: an entry's content no longer matches its hash;
 * - `removed`: an entry is missing (a gap in seq, or a link to an entry that is gone);
 * - `inserted`: an entry that was never appended sits in the chain (or a seq repeats);
 * - `reordered`: entries are present but out of order;
 * - `truncated`: the chain ends before a signed checkpoint's head;
 * - `rewritten`: the chain is self-consistent but disagrees with a signed checkpoint: someone
 *   recomputed every hash after changing history at or before `seq`.
 */
export type TamperKind = "modified" | "removed" | "inserted" | "reordered" | "truncated" | "rewritten";

export interface ChainProblem {
  kind: TamperKind;
  /** The first bad position (for `rewritten`, the checkpoint position at or before which history changed). */
  seq: number;
  /** Id of the entry found at `seq`, when there is one. */
  id?: string;
  message: string;
}

/** A trusted (signature-checked) position of a chain: from a checkpoint. */
export interface ChainAnchor {
  seq: number;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  tenantId: TenantKey;
  /** Entries checked. */
  checked: number;
  /** Last good position reached (seq and hash), null when none. */
  lastSeq: number | null;
  lastHash: string | null;
  /** Checkpoint anchors that were compared (and matched, when ok). */
  anchorsChecked: number;
  /** Keyed entries whose MAC was checked, and keyed entries whose key was not given (content unchecked). */
  macsChecked: number;
  macsUnverifiable: number;
  problem: ChainProblem | null;
}

/** How many entries verify keeps ahead of the one it checks, to tell reordering from loss. */
const LOOKAHEAD = 64;
const RECENT = 1024;
/** The most `AuditStore.range` honours per call. */
const MAX_PAGE = 10_000;
/** Pages requested ahead of the one being checked (each on its own connection where the store pools them). */
const READ_AHEAD = 2;

/**
 * Incremental, synchronous chain checker: feed pages in seq order with `push`, then `end`.
 * Streams any length in bounded memory. The first problem stops it.
 */
export class ChainVerifier {
  private readonly tenantId: TenantKey;
  private readonly anchors: Map<number, string>;
  private readonly maxAnchor: number;
  private buf: AuditRecord[] = [];
  private expectedSeq: number;
  private prevHash: string;
  private prevPrevHash: string | null = null;
  private readonly recent = new Set<string>();
  private readonly recentRing: (string | undefined)[] = new Array(RECENT);
  private ringAt = 0;
  private checked = 0;
  private anchorsChecked = 0;
  private problem: ChainProblem | null = null;
  private lastSeq: number | null = null;
  private lastHash: string | null = null;
  private readonly macKeys: ReadonlyMap<string, Buffer> | null;
  private keyedSeen: boolean;
  private macsChecked = 0;
  private macsUnverifiable = 0;

  /**
   * @param fromSeq first seq expected (default 1)
   * @param prevHash hash of entry `fromSeq - 1` (default: the genesis "" for seq 1)
   * @param anchors trusted positions from verified checkpoints
   */
  constructor(opts: {
    tenantId: TenantKey;
    fromSeq?: number;
    prevHash?: string;
    anchors?: readonly ChainAnchor[];
    /** MAC keys by id: keyed entries are checked with them; once one keyed entry is seen, an unkeyed one after it is a forgery. */
    macKeys?: ReadonlyMap<string, Buffer> | null;
    /** Every entry must be keyed (a chain written in keyed mode from its start). */
    requireMac?: boolean;
  }) {
    this.tenantId = opts.tenantId;
    this.macKeys = opts.macKeys ?? null;
    this.keyedSeen = opts.requireMac === true;
    this.expectedSeq = opts.fromSeq ?? 1;
    this.prevHash = opts.prevHash ?? GENESIS_HASH;
    this.anchors = new Map((opts.anchors ?? []).filter((a) => a.seq >= this.expectedSeq).map((a) => [a.seq, a.hash]));
    this.maxAnchor = Math.max(0, ...this.anchors.keys());
  }

  /** True while no problem was found; false means stop feeding. */
  get intact(): boolean {
    return this.problem === null;
  }

  /** Feeds the next records (ascending seq, as the store returns them). Returns `intact`. */
  push(records: readonly AuditRecord[]): boolean {
    if (this.problem) return false;
    for (const r of records) this.buf.push(r);
    if (this.buf.length > LOOKAHEAD) this.drain(this.buf.length - LOOKAHEAD);
    return this.problem === null;
  }

  /** Checks what is left and the anchors beyond the end; returns the result. */
  end(): VerifyResult {
    if (!this.problem) this.drain(this.buf.length);
    if (!this.problem && this.maxAnchor > (this.lastSeq ?? this.expectedSeq - 1)) {
      const at = (this.lastSeq ?? this.expectedSeq - 1) + 1;
      this.problem = {
        kind: "truncated",
        seq: at,
        message:
          at === 1 && this.checked === 0
            ? `the chain has no entry at all but a signed checkpoint covers seq ${this.maxAnchor}: the whole chain was deleted`
            : `chain ends at seq ${at - 1} but a signed checkpoint covers seq ${this.maxAnchor}: entries from seq ${at} were removed`,
      };
    }
    return {
      ok: this.problem === null,
      tenantId: this.tenantId,
      checked: this.checked,
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
      anchorsChecked: this.anchorsChecked,
      macsChecked: this.macsChecked,
      macsUnverifiable: this.macsUnverifiable,
      problem: this.problem,
    };
  }

  private drain(count: number): void {
    const buf = this.buf;
    let i = 0;
    for (; i < count && this.problem === null; i++) this.check(buf, i);
    this.buf = i === buf.length ? [] : buf.slice(i);
  }

  private fail(kind: TamperKind, seq: number, message: string, id?: string): void {
    this.problem = id === undefined ? { kind, seq, message } : { kind, seq, id, message };
  }

  private check(buf: readonly AuditRecord[], i: number): void {
    const r = buf[i]!;
    const seq = Number(r.seq);
    if (seq !== this.expectedSeq) {
      if (seq < this.expectedSeq) return this.fail("inserted", seq, `seq ${seq} appears again after seq ${this.expectedSeq - 1}`, r.id);
      for (let j = i + 1; j < buf.length; j++)
        if (Number(buf[j]!.seq) === this.expectedSeq)
          return this.fail("reordered", this.expectedSeq, `seq ${this.expectedSeq} comes after seq ${seq}: entries were reordered`);
      return this.fail(
        "removed",
        this.expectedSeq,
        `seq ${this.expectedSeq}${seq - 1 > this.expectedSeq ? `..${seq - 1}` : ""} missing (next present is ${seq})`,
      );
    }
    const next = buf[i + 1];
    const keyed = isKeyedHash(r.hash);
    if (!keyed && this.keyedSeen && this.macKeys)
      return this.fail("inserted", seq, `entry at seq ${seq} has no MAC after keyed entries: it was written without the key`, r.id);
    const own = checkEntryHash(r, this.macKeys);
    if (keyed) {
      this.keyedSeen = true;
      if (own === "ok") this.macsChecked++;
      else if (own === "unverifiable") this.macsUnverifiable++;
    }
    if (own === "bad") {
      if (next && next.prevHash === this.prevHash)
        return this.fail("inserted", seq, `entry at seq ${seq} was never part of the chain (the next entry links past it)`, r.id);
      return this.fail("modified", seq, `entry at seq ${seq} does not match its hash: content was changed`, r.id);
    }
    if (r.prevHash !== this.prevHash) {
      if (this.recent.has(r.hash)) return this.fail("inserted", seq, `entry at seq ${seq} is a copy of an earlier entry`, r.id);
      for (let j = i + 1; j < buf.length; j++)
        if (buf[j]!.hash === r.prevHash)
          return this.fail("reordered", seq, `entry at seq ${seq} belongs after seq ${Number(buf[j]!.seq)}: entries were reordered`, r.id);
      if (next && next.prevHash === this.prevHash)
        return this.fail("inserted", seq, `entry at seq ${seq} was never part of the chain (the next entry links past it)`, r.id);
      if (this.prevPrevHash !== null && r.prevHash === this.prevPrevHash)
        return this.fail("inserted", seq - 1, `entry at seq ${seq - 1} was never part of the chain (seq ${seq} links past it)`);
      return this.fail(
        "removed",
        seq,
        `entry at seq ${seq} does not link to seq ${seq - 1}: an entry before it was removed or rewritten`,
        r.id,
      );
    }
    const anchor = this.anchors.get(seq);
    if (anchor !== undefined) {
      if (anchor !== r.hash)
        return this.fail(
          "rewritten",
          seq,
          `hash at seq ${seq} differs from the signed checkpoint: history at or before seq ${seq} was rewritten`,
          r.id,
        );
      this.anchorsChecked++;
    }
    this.prevPrevHash = this.prevHash;
    this.prevHash = r.hash;
    this.lastSeq = seq;
    this.lastHash = r.hash;
    this.expectedSeq = seq + 1;
    this.checked++;
    const evicted = this.recentRing[this.ringAt];
    if (evicted !== undefined) this.recent.delete(evicted);
    this.recentRing[this.ringAt] = r.hash;
    this.ringAt = (this.ringAt + 1) % RECENT;
    this.recent.add(r.hash);
  }
}

/**
 * Streams one chain from a store and checks it. Reads pages of `pageSize` (default and at most
 * 10,000), the next one while the current one is checked; memory stays bounded (two pages).
 * Never throws for a broken chain (that is the result); store errors propagate.
 */
export async function verifyStoreChain(input: {
  store: AuditStore;
  tenantId: TenantKey;
  from?: number;
  to?: number;
  anchors?: readonly ChainAnchor[];
  pageSize?: number;
  macKeys?: ReadonlyMap<string, Buffer> | null;
  requireMac?: boolean;
}): Promise<VerifyResult> {
  const { store, tenantId } = input;
  const from = Math.max(1, input.from ?? 1);
  const pageSize = Math.max(1, Math.min(input.pageSize ?? MAX_PAGE, MAX_PAGE));
  let prevHash = GENESIS_HASH;
  if (from > 1) {
    const before = await store.range({ tenantId, fromSeq: from - 1, toSeq: from - 1, limit: 1 });
    // Without the entry before `from` there is nothing to link to: start one earlier to report it.
    if (before[0] && Number(before[0].seq) === from - 1) prevHash = before[0].hash;
    else return verifyStoreChain({ ...input, from: from - 1 });
  }
  const v = new ChainVerifier({
    tenantId,
    fromSeq: from,
    prevHash,
    anchors: (input.anchors ?? []).filter((a) => input.to === undefined || a.seq <= input.to),
    macKeys: input.macKeys ?? null,
    requireMac: input.requireMac === true,
  });
  // Pages are windows of seqs ([k, k + pageSize - 1]) so that the next ones can be requested before
  // the current one is back: `READ_AHEAD` reads run on the store's connections while this one is
  // hashed (the server's encoding and the hashing overlap instead of taking turns). A full window
  // holds exactly its seqs (unique per chain); a short one means a gap or the chain's end, and the
  // rest is read as before, from the next seq on, so entries past a gap are still seen.
  const to = input.to;
  const window = (fromSeq: number) => (to === undefined ? fromSeq + pageSize - 1 : Math.min(to, fromSeq + pageSize - 1));
  const ahead: Array<{ start: number; end: number; page: Promise<AuditRecord[]> }> = [];
  let next = from;
  const requestWindow = () => {
    const end = window(next);
    const page = store.range({ tenantId, fromSeq: next, toSeq: end, limit: pageSize });
    // Settled by a later turn, or abandoned when the chain breaks: never an unhandled rejection.
    page.catch(() => undefined);
    ahead.push({ start: next, end, page });
    next = end + 1;
  };
  const more = () => to === undefined || next <= to;
  while (ahead.length < READ_AHEAD && more()) requestWindow();
  let restFrom: number | null = null;
  while (ahead.length > 0) {
    const { start, end, page: pending } = ahead.shift()!;
    const page = await pending;
    if (page.length === end - start + 1) {
      if (more()) requestWindow();
      if (!v.push(page)) return v.end();
      continue;
    }
    ahead.length = 0;
    if (!v.push(page)) return v.end();
    restFrom = to === undefined || end < to ? end + 1 : null;
  }
  // After a short window: read on from its end (pages of seq >= fromSeq), as far as there are rows.
  while (restFrom !== null) {
    const page = await store.range({ tenantId, fromSeq: restFrom, ...(to !== undefined ? { toSeq: to } : {}), limit: pageSize });
    if (page.length === 0 || !v.push(page)) break;
    const last = Number(page[page.length - 1]!.seq);
    restFrom = page.length >= pageSize && (to === undefined || last < to) ? last + 1 : null;
  }
  return v.end();
}
