import * as z from "zod";
import {
  ConflictError,
  NotFoundError,
  OUTBOX_STATUSES,
  TenantIdSchema,
  UnavailableError,
  UnsupportedError,
  checkOutboxCancel,
  checkOutboxEnqueue,
  decodeCursor,
  encodeCursor,
  forgetReplacements,
  pageLimit,
  parseInput,
  scrubJson,
  scrubText,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
  type JsonObject,
  type OutboxEnqueueMessage,
  type OutboxFinalStatus,
  type OutboxMessage,
  type OutboxStatus,
  type OutboxStore,
  type Page,
  type PageRequest,
  type StoreCapabilities,
  type TenantKey,
  guardStore,
} from "@ops/core";
import { clientKeyPrefix, groupByNode, mapLimit, pipelinePerSlot, type RedisClient } from "./client.js";
import { mapRedisError } from "./errors.js";
import { scopeToken, shardOf, tokenToScope } from "./keys.js";
import { CANCEL, CLAIM, CLAIM_SHARDS, COMPLETE, ENQUEUE, FAIL, REQUEUE, SCRUB, SCRUB_DEAD } from "./outbox-scripts.js";
import { opKey, runMany } from "./script.js";

/**
 * Where a message's idempotency key lives (after `ik:`): keys are unique per tenant. A tenant
 * token never contains `|`, so the pair is unambiguous. The shard still follows the key alone.
 */
const ikOf = (tenantId: TenantKey, key: string): string => `${scopeToken(tenantId)}|${key}`;

export interface RedisOutboxOptions {
  /** How long delivered messages (and their idempotency keys) are kept, ms. Default 7 days; 0 = forever. */
  retainDeliveredMs?: number;
  /**
   * Shards of the outbox (default 16), each its own hash tag `{ob:<n>}`: on a Cluster they spread
   * over the masters, so delivery throughput grows with them. A message's shard is a hash of its
   * idempotency key modulo this count, so it is part of the key layout: set it once; changing it
   * on a live deployment strands queued messages and lets a retried enqueue slip past its
   * idempotency key. 1 puts all outbox traffic on one slot.
   */
  outboxShards?: number;
}

/** Message locations remembered per process (id -> shard), so complete/fail skip a lookup. */
const LOCATION_CACHE = 10_000;

/**
 * OutboxStore on Redis Streams, sharded. Each shard (`<prefix>:{ob:<n>}:`, n from a hash of the
 * idempotency key) has, per channel, a stream with one consumer group; a message enters its
 * channel's stream when it becomes due, a `claim` reads it through the group (the stream's pending
 * list is the lease), `complete`/`fail` acknowledge it, and a lease that expired by the caller's
 * clock is taken over with XCLAIM. Backoff waits in a per-shard sorted set; permanent failures are
 * also appended to the shard's dead-letter stream (`<prefix>:{ob:<n>}:dead`). Message state lives
 * in one hash per message, changed only by Lua scripts; the idempotency key lives in the message's
 * shard, so an enqueue retried after an ambiguous failure (lost reply, failover) is checked inside
 * the same script and stores the message once. `<prefix>:obid:<id>` (no hash tag, so spread over
 * every slot) says which shard holds a message id.
 */
export class RedisOutboxStore implements OutboxStore {
  private closed = false;
  private readonly prefix: string;
  private readonly retainDeliveredMs: number;
  private readonly shards: number;
  /** The client's keyPrefix: keys our Lua scripts build themselves need it, ioredis adds it to KEYS only. */
  private readonly clientPrefix: string;
  private readonly located = new Map<string, number>();

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly capabilities: StoreCapabilities,
    options: RedisOutboxOptions = {},
  ) {
    this.prefix = prefix;
    this.retainDeliveredMs = options.retainDeliveredMs ?? 7 * 24 * 3600_000;
    const shards = options.outboxShards ?? 16;
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024)
      throw new RangeError(`[ops/adapter-redis] invalid outboxShards ${shards}: expected an integer from 1 to 1024`);
    this.shards = shards;
    this.clientPrefix = clientKeyPrefix(redis);
    guardStore("outbox", this); // the contract's input checks, one table in @ops/core
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] outbox store is closed");
  }

  /** Key prefix of shard `n` (as given to ioredis, which adds the client's keyPrefix). */
  private sp(n: number): string {
    return `${this.prefix}:{ob:${n}}:`;
  }

  /** Key prefix of shard `n` as a Lua script must build keys itself. */
  private fullSp(n: number): string {
    return this.clientPrefix + this.sp(n);
  }

  private locKey(id: string): string {
    return `${this.prefix}:obid:${id}`;
  }

  private remember(id: string, n: number): void {
    if (this.located.size >= LOCATION_CACHE) this.located.delete(this.located.keys().next().value!);
    this.located.set(id, n);
  }

  /** The shard holding message `id`, or null when no message has that id. */
  private async locate(id: string): Promise<number | null> {
    const known = this.located.get(id);
    if (known !== undefined) return known;
    const v = await this.redis.get(this.locKey(id));
    if (v === null) return null;
    const n = Number(v);
    this.remember(id, n);
    return n;
  }

  async enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage> {
    this.assertOpen();
    if (input.tx !== undefined)
      throw new UnsupportedError(
        "[ops/adapter-redis] outbox enqueue cannot join a transaction: Redis has none to join (capabilities.transactions is false)",
      );
    const m = input.message;
    const { createdAt, nextAttemptAt: na } = checkOutboxEnqueue("adapter-redis", m);
    const n = shardOf(m.idempotencyKey, this.shards);
    const sp = this.sp(n);
    try {
      // 1. Where the id lives (another slot than the message: written first, idempotently).
      const loc = this.locKey(m.id);
      if ((await this.redis.set(loc, String(n), "NX")) === null) {
        const cur = await this.redis.get(loc);
        if (cur !== null && cur !== String(n)) {
          if ((await this.redis.exists(`${this.sp(Number(cur))}m:${m.id}`)) === 1)
            throw new ConflictError(`[ops/adapter-redis] outbox message id "${m.id}" already exists under another idempotency key`);
          // A location left by an enqueue whose message was never stored: take it over.
          await this.redis.set(loc, String(n));
        }
      }
      // 2. The message, its idempotency key (checked inside the script), schedule and indexes.
      const [kind, id, ...flat] = (await ENQUEUE.run(
        this.redis,
        [
          `${sp}ik:${ikOf(m.tenantId, m.idempotencyKey)}`,
          `${sp}m:${m.id}`,
          `${sp}sched`,
          `${sp}list`,
          `${sp}channels`,
          `${sp}s:${m.channel}`,
        ],
        [
          m.id,
          scopeToken(m.tenantId),
          m.channel,
          JSON.stringify(m.payload),
          m.idempotencyKey,
          createdAt,
          na,
          Date.parse(na),
          this.fullSp(n),
        ],
      )) as [string, string, ...string[]];
      // A duplicate under another id: that id's location was never needed (best effort).
      if (kind === "dup" && id !== m.id) await this.redis.del(loc).catch(() => undefined);
      this.remember(id, n);
      const stored = flat.length ? decodeMessage(fromPairs(flat)) : null;
      if (!stored) throw new ConflictError(`[ops/adapter-redis] outbox message "${id}" vanished after enqueue (${kind})`);
      return stored;
    } catch (err) {
      throw mapRedisError(err, "enqueue outbox message");
    }
  }

  async claim(input: {
    workerId: string;
    limit: number;
    leaseMs: number;
    now: string;
    channels?: readonly string[];
  }): Promise<OutboxMessage[]> {
    this.assertOpen();
    const c = input; // checked (times normalised) by the contract guard (@ops/core)
    if (c.channels && c.channels.length === 0) return [];
    const nowMs = Date.parse(c.now);
    const leaseUntil = new Date(nowMs + c.leaseMs).toISOString();
    // Deduplicated: the script builds one queue per listed channel, and a channel listed twice
    // would hand its first message out twice and strand the next one in the group's PEL.
    const filter = c.channels ? ["1", Date.parse(leaseUntil), ...new Set(c.channels)] : ["0", Date.parse(leaseUntil)];
    const common = [c.now, nowMs, c.workerId, leaseUntil];
    try {
      const all = Array.from({ length: this.shards }, (_, n) => n);
      const leased: OutboxMessage[] = [];
      // Concurrent claims peek at the same oldest messages; a shard whose messages another claim
      // took meanwhile leases fewer than asked, so what is missing is asked for again: each round
      // sees only what is still unleased, and ends when nothing due is left (or after 8 rounds).
      for (let round = 0; round < 8 && leased.length < c.limit; round++) {
        const want = c.limit - leased.length;
        // One script run per master: the shards a node serves are peeked in one call.
        // Each shard shows only its first few (not `want`): a shard whose few were all taken may
        // hold more that rank in, so the merge stops at the first such shard's last item, and the
        // next round asks again.
        const k = Math.min(want, Math.max(2, Math.ceil((2 * want) / this.shards)));
        const take =
          this.shards === 1
            ? new Map([[0, want]])
            : mergePeeks(
                (await this.claimShards(
                  all.map((n) => [n, k]),
                  "peek",
                  common,
                  filter,
                )) as string[][],
                k,
                want,
              );
        if (take.size === 0) break;
        // Lease from each shard what the merge gave it (each shard's script is atomic, so a
        // message goes to exactly one worker even when another claim took some meanwhile); the
        // scripts answer with the leased messages themselves.
        const got = (await this.claimShards([...take], "lease", common, filter)) as string[][][];
        for (const list of got) for (const flat of list) leased.push(decodeMessage(fromPairs(flat)));
      }
      for (const m of leased) this.remember(m.id, shardOf(m.idempotencyKey, this.shards));
      return leased.sort((a, b) =>
        a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
    } catch (err) {
      throw mapRedisError(err, "claim outbox messages");
    }
  }

  /**
   * Runs the claim script on `shards` ([shard, limit] pairs), one call per node that serves more
   * than one of them (CLAIM_SHARDS), in parallel over the nodes. A node that answers that a shard
   * is not local (its slot moved: resharding, failover) gets one CLAIM per shard instead, which
   * ioredis routes and redirects. Results in `shards` order.
   */
  private async claimShards(
    shards: ReadonlyArray<readonly [number, number]>,
    mode: "peek" | "lease",
    common: ReadonlyArray<string | number>,
    filter: ReadonlyArray<string | number>,
  ): Promise<unknown[]> {
    const tail = [...common, "", "", mode, ...filter];
    const single = (n: number, limit: number) => ({
      keys: [`${this.sp(n)}sched`, `${this.sp(n)}channels`],
      args: [common[0]!, common[1]!, common[2]!, common[3]!, limit, this.fullSp(n), mode, ...filter],
    });
    const out = new Array<unknown>(shards.length);
    const groups = groupByNode(
      this.redis,
      shards.map(([n]) => `${this.sp(n)}sched`),
    );
    await mapLimit(groups, 8, async (idx) => {
      if (idx.length > 1) {
        const pairs = idx.flatMap((i) => [this.fullSp(shards[i]![0]), shards[i]![1]]);
        try {
          const res = (await CLAIM_SHARDS.run(
            this.redis,
            [`${this.sp(shards[idx[0]!]![0])}sched`],
            [idx.length, ...pairs, ...tail],
          )) as unknown[];
          idx.forEach((i, j) => {
            out[i] = res[j];
          });
          return;
        } catch (err) {
          if (!/non local key|MOVED|ASK|CROSSSLOT/i.test((err as Error).message ?? "")) throw err;
        }
      }
      const res = await runMany(
        this.redis,
        CLAIM,
        idx.map((i) => single(shards[i]![0], shards[i]![1])),
      );
      idx.forEach((i, j) => {
        out[i] = res[j];
      });
    });
    return out;
  }

  /** The shard of `id`, or NotFoundError. */
  private async shardOfId(id: string): Promise<number> {
    const n = await this.locate(id);
    if (n === null) throw new NotFoundError(`[ops/adapter-redis] no outbox message "${id}"`);
    return n;
  }

  /** Best effort, not awaited: a location key follows its delivered message's retention (a failure leaves a tiny key). */
  private expireLocation(id: string): void {
    if (this.retainDeliveredMs > 0) this.redis.pexpire(this.locKey(id), this.retainDeliveredMs).catch(() => undefined);
    this.located.delete(id);
  }

  async complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    try {
      const n = await this.shardOfId(input.id);
      const flat = (await COMPLETE.run(
        this.redis,
        [`${this.sp(n)}m:${input.id}`, opKey(this.sp(n))],
        [input.workerId, input.now, this.fullSp(n), input.id, this.retainDeliveredMs],
      )) as string[];
      this.expireLocation(input.id);
      return decodeMessage(fromPairs(flat));
    } catch (err) {
      throw mapRedisError(err, `complete outbox message "${input.id}"`);
    }
  }

  async fail(input: {
    id: string;
    workerId: string;
    error: string;
    now: string;
    retryAt?: string;
    final?: OutboxFinalStatus;
  }): Promise<OutboxMessage> {
    this.assertOpen();
    const f = input; // checked (times normalised) by the contract guard (@ops/core)
    const retryAt = f.retryAt ?? f.now;
    try {
      const n = await this.shardOfId(f.id);
      const sp = this.sp(n);
      await FAIL.run(
        this.redis,
        [`${sp}m:${f.id}`, `${sp}sched`, `${sp}dead`, opKey(sp)],
        [f.workerId, f.now, this.fullSp(n), f.id, f.error, retryAt, Date.parse(retryAt), f.final ?? "", this.retainDeliveredMs],
      );
      return (await this.readMessages([{ id: f.id, n }]))[0]!;
    } catch (err) {
      throw mapRedisError(err, `fail outbox message "${f.id}"`);
    }
  }

  async requeue(input: { id: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    try {
      const n = await this.shardOfId(input.id);
      await REQUEUE.run(
        this.redis,
        [`${this.sp(n)}m:${input.id}`, `${this.sp(n)}sched`, opKey(this.sp(n))],
        [input.now, Date.parse(input.now), input.id, this.fullSp(n)],
      );
      await this.redis.persist(this.locKey(input.id));
      return (await this.readMessages([{ id: input.id, n }]))[0]!;
    } catch (err) {
      throw mapRedisError(err, `requeue outbox message "${input.id}"`);
    }
  }

  async cancel(input: { id: string; now: string; reason?: string }): Promise<OutboxMessage> {
    this.assertOpen();
    const { reason } = checkOutboxCancel("adapter-redis", input);
    try {
      const n = await this.shardOfId(input.id);
      const sp = this.sp(n);
      // One script in the message's slot: the check, the stream ack, the status change.
      const flat = (await CANCEL.run(
        this.redis,
        [`${sp}m:${input.id}`, `${sp}sched`, opKey(sp)],
        [input.now, this.fullSp(n), input.id, reason ?? ""],
      )) as string[];
      return decodeMessage(fromPairs(flat));
    } catch (err) {
      throw mapRedisError(err, `cancel outbox message "${input.id}"`);
    }
  }

  /**
   * See `OutboxStore.forgetSubject`. Messages are not indexed by tenant, so every shard's message
   * list is walked (pages of 500, one pipeline each): cost follows the whole outbox, not the
   * tenant. A changed message is rewritten by a compare-and-set on its version (read again, up to
   * 5 times, when it changed meanwhile); the dead-letter stream's copies of its last error are
   * replaced by scrubbed ones (appended anew: a stream entry cannot be edited in place).
   */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    parseInput(
      z.object({
        tenantId: TenantIdSchema.nullable(),
        subjectId: z.string().min(1),
        identifiers: z.array(z.string()),
        pseudonym: z.string().min(1),
      }),
      input,
      { pkg: "adapter-redis", what: "OutboxStore.forgetSubject input" },
    );
    const ids = forgetReplacements(input);
    const token = scopeToken(input.tenantId);
    let records = 0;
    try {
      for (let n = 0; n < this.shards; n++) {
        const sp = this.sp(n);
        const mine = new Set<string>();
        let after = "-";
        for (;;) {
          const page = await this.redis.zrangebylex(`${sp}list`, after, "+", "LIMIT", 0, 500);
          if (page.length === 0) break;
          after = `(${page[page.length - 1]!}`;
          const keys = page.map((mb) => `${sp}m:${mb.slice(mb.indexOf("|") + 1)}`);
          const rows = (await pipelinePerSlot(this.redis, keys, (p, k) => p.hmget(k, "t", "p", "le", "v"))) as Array<Array<string | null>>;
          for (let i = 0; i < keys.length; i++) {
            let [t, p, le, v] = rows[i]!;
            if (t !== token) continue;
            mine.add(keys[i]!.slice(sp.length + 2));
            for (let attempt = 0; p != null && v != null; attempt++) {
              const payload = JSON.parse(p) as JsonObject;
              const scrubbed = scrubJson(payload, ids);
              const lastError = le ? scrubText(le, ids) : (le ?? "");
              if (scrubbed === payload && lastError === (le ?? "")) break;
              if (Number(await SCRUB.run(this.redis, [keys[i]!], [v, p, le ?? "", JSON.stringify(scrubbed), lastError])) === 1) {
                records++;
                break;
              }
              if (attempt === 4) throw new ConflictError(`[ops/adapter-redis] outbox message kept changing during forgetSubject, retry`);
              [t, p, le, v] = await this.redis.hmget(keys[i]!, "t", "p", "le", "v");
            }
          }
          if (page.length < 500) break;
        }
        if (mine.size > 0) await this.scrubDeadLetters(sp, mine, ids);
      }
      return { records };
    } catch (err) {
      throw mapRedisError(err, "forget a subject in the outbox");
    }
  }

  /** Replaces dead-letter entries of `mine` (message ids) whose error names the subject. */
  private async scrubDeadLetters(sp: string, mine: ReadonlySet<string>, ids: ReturnType<typeof forgetReplacements>): Promise<void> {
    const dead = `${sp}dead`;
    let start = "-";
    for (;;) {
      const entries = await this.redis.xrange(dead, start, "+", "COUNT", 500);
      if (entries.length === 0) return;
      for (const [entryId, flat] of entries) {
        const f = fromPairs(flat);
        if (!f.id || !mine.has(f.id) || f.error === undefined) continue;
        const error = scrubText(f.error, ids);
        if (error !== f.error) await SCRUB_DEAD.run(this.redis, [dead], [entryId, f.id, error, f.at ?? ""]);
      }
      if (entries.length < 500) return;
      start = `(${entries[entries.length - 1]![0]}`;
    }
  }

  async get(input: { id: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    try {
      const n = await this.locate(input.id);
      if (n === null) return null;
      const [m] = await this.readMessages([{ id: input.id, n }]);
      return m ?? null;
    } catch (err) {
      throw mapRedisError(err, `get outbox message "${input.id}"`);
    }
  }

  async findByIdempotencyKey(input: { tenantId: TenantKey; idempotencyKey: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    try {
      const n = shardOf(input.idempotencyKey, this.shards);
      const id = await this.redis.get(`${this.sp(n)}ik:${ikOf(input.tenantId ?? null, input.idempotencyKey)}`);
      return id === null ? null : ((await this.readMessages([{ id, n }]))[0] ?? null);
    } catch (err) {
      throw mapRedisError(err, "find outbox message by idempotency key");
    }
  }

  async list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest): Promise<Page<OutboxMessage>> {
    this.assertOpen();
    parseInput(
      z.object({
        status: z.enum(OUTBOX_STATUSES).optional(),
        tenantId: TenantIdSchema.nullable().optional(),
        channel: z.string().optional(),
      }),
      input,
      { pkg: "adapter-redis", what: "outbox list" },
    );
    const limit = pageLimit(input.limit, "adapter-redis");
    let after = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    const items: OutboxMessage[] = [];
    const lists = Array.from({ length: this.shards }, (_, n) => `${this.sp(n)}list`);
    const batchSize = Math.max(limit * 2, 64);
    try {
      // Keyset walk over "<createdAt>|<id>" members of every shard, merged (each shard gives its
      // first `batchSize` after the cursor, so the merge's first `batchSize` are the outbox's),
      // filtering as we go, until the page is full.
      for (;;) {
        const perShard = (await pipelinePerSlot(this.redis, lists, (p, k) =>
          p.zrangebylex(k, after === null ? "-" : `(${after}`, "+", "LIMIT", 0, batchSize),
        )) as string[][];
        const shardOfMember = new Map<string, number>();
        perShard.forEach((members, n) => members.forEach((mb) => shardOfMember.set(mb, n)));
        const merged = [...shardOfMember.keys()].sort();
        const batch = merged.slice(0, batchSize);
        if (batch.length === 0) return { items, nextCursor: null };
        const msgs = await this.readMessages(batch.map((mb) => ({ id: mb.slice(mb.indexOf("|") + 1), n: shardOfMember.get(mb)! })));
        for (let i = 0; i < batch.length; i++) {
          after = batch[i]!;
          const m = msgs[i];
          if (!m) {
            // Expired by retention. Best effort: a failure here must not be an unhandled rejection.
            this.redis.zrem(lists[shardOfMember.get(after)!]!, after).catch(() => undefined);
            continue;
          }
          if (input.status !== undefined && m.status !== input.status) continue;
          if (input.channel !== undefined && m.channel !== input.channel) continue;
          if (input.tenantId !== undefined && m.tenantId !== input.tenantId) continue;
          items.push(m);
          if (items.length === limit) {
            let more = i < batch.length - 1 || merged.length > batch.length;
            if (!more) {
              const next = (await pipelinePerSlot(this.redis, lists, (p, k) =>
                p.zrangebylex(k, `(${after}`, "+", "LIMIT", 0, 1),
              )) as string[][];
              more = next.some((l) => l.length > 0);
            }
            return { items, nextCursor: more ? encodeCursor([after]) : null };
          }
        }
      }
    } catch (err) {
      throw mapRedisError(err, "list outbox messages");
    }
  }

  /** Reads messages whose shard is known, grouped per slot. */
  private async readMessages(refs: ReadonlyArray<{ id: string; n: number }>): Promise<Array<OutboxMessage | null>> {
    if (refs.length === 0) return [];
    try {
      const res = (await pipelinePerSlot(
        this.redis,
        refs.map((r) => `${this.sp(r.n)}m:${r.id}`),
        (p, k) => p.hgetall(k),
      )) as Array<Record<string, string>>;
      return res.map((f) => (f.id ? decodeMessage(f) : null));
    } catch (err) {
      throw mapRedisError(err, "read outbox messages");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Merges the shards' peeks ({nextAttemptAt, id, ...}, each in the order its shard would lease, at
 * most `k` items each) by their heads, oldest first: how many of the first `limit` each shard
 * holds. A shard that showed `k` items may hold more: once all its shown items are taken, nothing
 * after its last one is taken (the caller asks again).
 */
function mergePeeks(peeks: readonly string[][], k: number, limit: number): Map<number, number> {
  const take = new Map<number, number>();
  const pos = peeks.map(() => 0);
  for (let t = 0; t < limit; t++) {
    if (peeks.some((p, n) => p.length >= 2 * k && pos[n]! >= p.length)) break;
    let best = -1;
    for (let n = 0; n < peeks.length; n++) {
      const p = peeks[n]!;
      const i = pos[n]!;
      if (i >= p.length) continue;
      if (best < 0) {
        best = n;
        continue;
      }
      const b = peeks[best]!;
      const bi = pos[best]!;
      if (p[i]! < b[bi]! || (p[i] === b[bi] && p[i + 1]! < b[bi + 1]!)) best = n;
    }
    if (best < 0) break;
    pos[best]! += 2;
    take.set(best, (take.get(best) ?? 0) + 1);
  }
  return take;
}

function fromPairs(flat: readonly string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return f;
}

function decodeMessage(f: Record<string, string>): OutboxMessage {
  const orNull = (v: string | undefined) => (v === undefined || v === "" ? null : v);
  return {
    id: f.id!,
    tenantId: tokenToScope(f.t!),
    channel: f.ch!,
    payload: JSON.parse(f.p!) as JsonObject,
    idempotencyKey: f.ik!,
    status: f.st as OutboxStatus,
    attempts: Number(f.at),
    createdAt: f.ca!,
    nextAttemptAt: f.na!,
    leaseOwner: orNull(f.lo),
    leaseUntil: orNull(f.lu),
    lastError: orNull(f.le),
    deliveredAt: orNull(f.da),
    finishedAt: orNull(f.fa),
    version: Number(f.v),
  };
}
