import {
  EnvironmentSchema,
  NotFoundError,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  parseInput,
  type ChangeRequestPatch,
  type ChangeRequestRecord,
  type ChangeRequestStatus,
  type ChangeRequestStore,
  type NewChangeRequest,
  type Page,
  type PageRequest,
  type StoreCapabilities,
  guardStore,
} from "@ops/core";
import { mapRedisError } from "./errors.js";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./client.js";
import { LuaScript, opKey } from "./script.js";

// A request is one hash field: "<version>\n<record JSON>"; Lua only parses the leading version.
// Keys of one environment share the hash tag {cr:<env>}, so every script stays in one Cluster slot;
// writes are idempotent scripts, so a resend after a failover does not report a false conflict.
const CREATE = new LuaScript(
  `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.error_reply('OPS_CONFLICT change request ' .. ARGV[1] .. ' already exists')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`,
  { idempotent: true },
);

const UPDATE = new LuaScript(
  `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return redis.error_reply('OPS_NOTFOUND change request ' .. ARGV[1] .. ' does not exist') end
local curv = tonumber(string.match(cur, '^(%d+)\\n'))
if curv ~= tonumber(ARGV[2]) then
  return redis.error_reply('OPS_CONFLICT change request ' .. ARGV[1] .. ' is at version ' .. curv .. ', expected ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`,
  { idempotent: true },
);

function encode(r: ChangeRequestRecord): string {
  return `${r.version}\n${JSON.stringify(r)}`;
}

function decode(raw: string): ChangeRequestRecord {
  return JSON.parse(raw.slice(raw.indexOf("\n") + 1)) as ChangeRequestRecord;
}

/** `ChangeRequestStore` on Redis: compare-and-set in Lua, ids paged from a lexicographic sorted set. */
export class RedisChangeRequestStore implements ChangeRequestStore {
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly capabilities: StoreCapabilities,
    private readonly now: () => number = Date.now,
  ) {
    guardStore("changeRequests", this); // the contract's input checks, one table in @ops/core
  }

  /** Every key of one environment's requests shares this hash tag (one Cluster slot). */
  private scope(env: string): string {
    return `${this.keys.prefix}:{cr:${env}}:`;
  }

  private hash(env: string): string {
    return `${this.keys.prefix}:{cr:${env}}:reqs`;
  }

  private index(env: string): string {
    return `${this.keys.prefix}:{cr:${env}}:ids`;
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] change request store is closed");
  }

  private env(env: string, what: string): string {
    return parseInput(EnvironmentSchema, env, { pkg: "adapter-redis", what: `ChangeRequestStore.${what} env` });
  }

  async create(input: { request: NewChangeRequest }): Promise<ChangeRequestRecord> {
    this.assertOpen();
    const r = input.request; // checked by the contract guard (@ops/core)
    const now = new Date(this.now()).toISOString();
    const stored: ChangeRequestRecord = {
      ...(input.request as NewChangeRequest),
      status: "pending",
      reviewer: null,
      reviewNote: null,
      appliedVersion: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await CREATE.run(this.redis, [this.hash(r.env), this.index(r.env), opKey(this.scope(r.env))], [r.id, encode(stored)]);
    } catch (err) {
      throw mapRedisError(err, "create change request");
    }
    return JSON.parse(JSON.stringify(stored)) as ChangeRequestRecord;
  }

  async get(input: { env: string; id: string }): Promise<ChangeRequestRecord | null> {
    this.assertOpen();
    const env = this.env(input.env, "get");
    try {
      const raw = await this.redis.hget(this.hash(env), input.id);
      return raw === null ? null : decode(raw);
    } catch (err) {
      throw mapRedisError(err, "get change request");
    }
  }

  async update(input: { env: string; id: string; expectedVersion: number; patch: ChangeRequestPatch }): Promise<ChangeRequestRecord> {
    this.assertOpen();
    const env = this.env(input.env, "update");
    try {
      const raw = await this.redis.hget(this.hash(env), input.id);
      if (raw === null) throw new NotFoundError(`[ops/adapter-redis] change request ${input.id} not found in ${env}`);
      const cur = decode(raw);
      const next: ChangeRequestRecord = { ...cur, version: input.expectedVersion + 1, updatedAt: new Date(this.now()).toISOString() };
      const p = input.patch;
      if (p.status !== undefined) next.status = p.status;
      if (p.reviewer !== undefined) next.reviewer = p.reviewer;
      if (p.reviewNote !== undefined) next.reviewNote = p.reviewNote;
      if (p.appliedVersion !== undefined) next.appliedVersion = p.appliedVersion;
      // The script re-checks the version: a write between our read and it makes this a conflict.
      await UPDATE.run(this.redis, [this.hash(env), opKey(this.scope(env))], [input.id, input.expectedVersion, encode(next)]);
      return next;
    } catch (err) {
      throw mapRedisError(err, "update change request");
    }
  }

  async list(
    input: { env: string; statuses?: readonly ChangeRequestStatus[]; key?: string } & PageRequest,
  ): Promise<Page<ChangeRequestRecord>> {
    this.assertOpen();
    const env = this.env(input.env, "list");
    const limit = pageLimit(input.limit, "adapter-redis");
    let after = input.cursor ? (decodeCursor(input.cursor, 1, "adapter-redis")[0] as string) : null;
    const statuses = input.statuses ? new Set<string>(input.statuses) : null;
    const items: ChangeRequestRecord[] = [];
    try {
      // Filters apply after reading: fetch id batches until the page is full or the index ends.
      for (;;) {
        const ids = await this.redis.zrangebylex(
          this.index(env),
          after === null ? "-" : `(${after}`,
          "+",
          "LIMIT",
          0,
          Math.max(limit + 1, 100),
        );
        if (ids.length === 0) break;
        const raws = await this.redis.hmget(this.hash(env), ...ids);
        for (let i = 0; i < ids.length; i++) {
          after = ids[i]!;
          const raw = raws[i];
          if (raw === null || raw === undefined) continue;
          const r = decode(raw);
          if (statuses && !statuses.has(r.status)) continue;
          if (input.key !== undefined && r.key !== input.key) continue;
          items.push(r);
          if (items.length > limit) break;
        }
        if (items.length > limit) break;
      }
    } catch (err) {
      throw mapRedisError(err, "list change requests");
    }
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page, nextCursor: items.length > limit && last ? encodeCursor([last.id]) : null };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
