import type { Redis } from "ioredis";
import * as z from "zod";
import {
  ConflictError,
  OUTBOX_STATUSES,
  TenantIdSchema,
  UnavailableError,
  UnsupportedError,
  checkOutboxEnqueue,
  decodeCursor,
  encodeCursor,
  pageLimit,
  parseInput,
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
} from "@ops/core";
import { mapRedisError } from "./errors.js";
import { scopeToken, tokenToScope } from "./keys.js";
import { CLAIM, COMPLETE, ENQUEUE, FAIL, REQUEUE } from "./outbox-scripts.js";

const Iso = z.iso.datetime({ offset: false, precision: 3, message: "expected an ISO 8601 UTC time with milliseconds (Date#toISOString)" });
const NonEmpty = z.string().min(1).max(512);
// Beyond the contract's checks (`checkOutboxEnqueue`): what Redis keys and members need.
const RedisKeySafeMessage = z.object({
  id: z.string().max(200).regex(/^[^|\s]+$/, "expected an id without spaces or |"),
  tenantId: TenantIdSchema.nullable(),
  channel: z.string().regex(/^[A-Za-z0-9._:-]+$/, "expected a channel name of letters, digits, . _ : -"),
});
const ClaimSchema = z.object({
  workerId: NonEmpty,
  limit: z.number().int().min(1).max(1000),
  leaseMs: z.number().int().positive(),
  now: Iso,
  channels: z.array(z.string()).optional(),
});
const FailSchema = z.object({
  id: NonEmpty,
  workerId: NonEmpty,
  error: z.string().max(4000),
  now: Iso,
  retryAt: Iso.optional(),
  final: z.enum(["dead", "expired", "cancelled"]).optional(),
});

export interface RedisOutboxOptions {
  /** How long delivered messages (and their idempotency keys) are kept, ms. Default 7 days; 0 = forever. */
  retainDeliveredMs?: number;
}

/**
 * OutboxStore on Redis Streams. Each channel has a stream and one consumer group; a message
 * enters its channel's stream when it becomes due, a `claim` reads it through the group (the
 * stream's pending list is the lease), `complete`/`fail` acknowledge it, and a lease that expired
 * by the caller's clock is taken over with XCLAIM. Backoff waits in a sorted set; permanent
 * failures are also appended to a dead-letter stream (`<prefix>:{outbox}:dead`).
 * Message state lives in one hash per message, changed only by Lua scripts.
 */
export class RedisOutboxStore implements OutboxStore {
  private closed = false;
  private readonly P: string;
  private readonly retainDeliveredMs: number;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly capabilities: StoreCapabilities,
    options: RedisOutboxOptions = {},
  ) {
    this.P = `${prefix}:{outbox}:`;
    this.retainDeliveredMs = options.retainDeliveredMs ?? 7 * 24 * 3600_000;
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] outbox store is closed");
  }

  private k(name: string): string {
    return this.P + name;
  }

  async enqueue(input: { message: OutboxEnqueueMessage; tx?: unknown }): Promise<OutboxMessage> {
    this.assertOpen();
    if (input.tx !== undefined)
      throw new UnsupportedError("[ops/adapter-redis] outbox enqueue cannot join a transaction: Redis has none to join (capabilities.transactions is false)");
    const m = input.message;
    const { createdAt, nextAttemptAt: na } = checkOutboxEnqueue("adapter-redis", m);
    parseInput(RedisKeySafeMessage, m, { pkg: "adapter-redis", what: "outbox message" });
    try {
      const [kind, id] = (await ENQUEUE.run(
        this.redis,
        [this.k(`ik:${m.idempotencyKey}`), this.k(`m:${m.id}`), this.k("sched"), this.k("list"), this.k("channels"), this.k(`s:${m.channel}`)],
        [m.id, scopeToken(m.tenantId), m.channel, JSON.stringify(m.payload), m.idempotencyKey, createdAt, na, Date.parse(na)],
      )) as [string, string];
      const stored = await this.get({ id });
      if (!stored) throw new ConflictError(`[ops/adapter-redis] outbox message "${id}" vanished after enqueue (${kind})`);
      return stored;
    } catch (err) {
      throw mapRedisError(err, "enqueue outbox message");
    }
  }

  async claim(input: { workerId: string; limit: number; leaseMs: number; now: string; channels?: readonly string[] }): Promise<OutboxMessage[]> {
    this.assertOpen();
    const c = parseInput(ClaimSchema, input, { pkg: "adapter-redis", what: "outbox claim" });
    if (c.channels && c.channels.length === 0) return [];
    const nowMs = Date.parse(c.now);
    const leaseUntil = new Date(nowMs + c.leaseMs).toISOString();
    try {
      const ids = (await CLAIM.run(
        this.redis,
        [this.k("sched"), this.k("channels")],
        // Deduplicated: the script builds one queue per listed channel, and a channel listed twice
        // would hand its first message out twice and strand the next one in the group's PEL.
        [c.now, nowMs, c.workerId, leaseUntil, c.limit, this.P, c.channels ? "1" : "0", ...new Set(c.channels ?? [])],
      )) as string[];
      const msgs = await this.getMany(ids);
      return msgs.filter((m): m is OutboxMessage => m !== null);
    } catch (err) {
      throw mapRedisError(err, "claim outbox messages");
    }
  }

  async complete(input: { id: string; workerId: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    parseInput(z.object({ id: NonEmpty, workerId: NonEmpty, now: Iso }), input, { pkg: "adapter-redis", what: "outbox complete" });
    try {
      await COMPLETE.run(this.redis, [this.k(`m:${input.id}`)], [input.workerId, input.now, this.P, input.id, this.retainDeliveredMs]);
      return (await this.get({ id: input.id }))!;
    } catch (err) {
      throw mapRedisError(err, `complete outbox message "${input.id}"`);
    }
  }

  async fail(input: { id: string; workerId: string; error: string; now: string; retryAt?: string; final?: OutboxFinalStatus }): Promise<OutboxMessage> {
    this.assertOpen();
    const f = parseInput(FailSchema, input, { pkg: "adapter-redis", what: "outbox fail" });
    const retryAt = f.retryAt ?? f.now;
    try {
      await FAIL.run(
        this.redis,
        [this.k(`m:${f.id}`), this.k("sched"), this.k("dead")],
        [f.workerId, f.now, this.P, f.id, f.error, retryAt, Date.parse(retryAt), f.final ?? "", this.retainDeliveredMs],
      );
      return (await this.get({ id: f.id }))!;
    } catch (err) {
      throw mapRedisError(err, `fail outbox message "${f.id}"`);
    }
  }

  async requeue(input: { id: string; now: string }): Promise<OutboxMessage> {
    this.assertOpen();
    parseInput(z.object({ id: NonEmpty, now: Iso }), input, { pkg: "adapter-redis", what: "outbox requeue" });
    try {
      await REQUEUE.run(this.redis, [this.k(`m:${input.id}`), this.k("sched")], [input.now, Date.parse(input.now), input.id]);
      await this.redis.persist(this.k(`ik:${(await this.redis.hget(this.k(`m:${input.id}`), "ik")) ?? ""}`));
      return (await this.get({ id: input.id }))!;
    } catch (err) {
      throw mapRedisError(err, `requeue outbox message "${input.id}"`);
    }
  }

  async get(input: { id: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    const [m] = await this.getMany([input.id]);
    return m ?? null;
  }

  async findByIdempotencyKey(input: { idempotencyKey: string }): Promise<OutboxMessage | null> {
    this.assertOpen();
    try {
      const id = await this.redis.get(this.k(`ik:${input.idempotencyKey}`));
      return id === null ? null : await this.get({ id });
    } catch (err) {
      throw mapRedisError(err, "find outbox message by idempotency key");
    }
  }

  async list(input: { status?: OutboxStatus; tenantId?: TenantKey; channel?: string } & PageRequest): Promise<Page<OutboxMessage>> {
    this.assertOpen();
    parseInput(
      z.object({ status: z.enum(OUTBOX_STATUSES).optional(), tenantId: TenantIdSchema.nullable().optional(), channel: z.string().optional() }),
      input,
      { pkg: "adapter-redis", what: "outbox list" },
    );
    const limit = pageLimit(input.limit, "adapter-redis");
    let after = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    const items: OutboxMessage[] = [];
    try {
      // Keyset walk over "<createdAt>|<id>" members, filtering as we go, until the page is full.
      for (;;) {
        const batch = await this.redis.zrangebylex(this.k("list"), after === null ? "-" : `(${after}`, "+", "LIMIT", 0, Math.max(limit * 2, 64));
        if (batch.length === 0) return { items, nextCursor: null };
        const msgs = await this.getMany(batch.map((member) => member.slice(member.indexOf("|") + 1)));
        for (let i = 0; i < batch.length; i++) {
          after = batch[i]!;
          const m = msgs[i];
          if (!m) {
            // Expired by retention. Best effort: a failure here must not be an unhandled rejection.
            this.redis.zrem(this.k("list"), batch[i]!).catch(() => undefined);
            continue;
          }
          if (input.status !== undefined && m.status !== input.status) continue;
          if (input.channel !== undefined && m.channel !== input.channel) continue;
          if (input.tenantId !== undefined && m.tenantId !== input.tenantId) continue;
          items.push(m);
          if (items.length === limit) {
            const more = i < batch.length - 1 || (await this.redis.zrangebylex(this.k("list"), `(${after}`, "+", "LIMIT", 0, 1)).length > 0;
            return { items, nextCursor: more ? encodeCursor([after]) : null };
          }
        }
      }
    } catch (err) {
      throw mapRedisError(err, "list outbox messages");
    }
  }

  private async getMany(ids: readonly string[]): Promise<Array<OutboxMessage | null>> {
    if (ids.length === 0) return [];
    try {
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.hgetall(this.k(`m:${id}`));
      const res = (await pipe.exec()) ?? [];
      return res.map(([err, h]) => {
        if (err) throw err;
        const f = h as Record<string, string>;
        return f.id ? decodeMessage(f) : null;
      });
    } catch (err) {
      throw mapRedisError(err, "read outbox messages");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
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
