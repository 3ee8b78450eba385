import { pipelinePerSlot, type RedisClient } from "./client.js";
import * as z from "zod";
import {
  TenantIdSchema,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  parseInput,
  type AuthEventQuery,
  type AuthEventRecord,
  type AuthEventStore,
  type Page,
  type StoreCapabilities,
  type TenantKey,
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
  guardStore,
} from "@ops/core";
import { mapRedisError } from "./errors.js";
import { scopeToken, tokenToScope, type RedisKeys } from "./keys.js";
import { LuaScript, runMany } from "./script.js";

// KEYS: data hash, time index zset. ARGV: cap, then (id, member, json) triples.
// HSETNX makes a repeated id a no-op, so retried or concurrent appends store an event once.
// Beyond `cap` events the oldest are trimmed: this is a capped signal log, not an archive.
const APPEND = new LuaScript(`
local cap = tonumber(ARGV[1])
local inserted = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[2], 0, ARGV[i + 1])
    inserted = inserted + 1
  end
end
local n = redis.call('ZCARD', KEYS[2])
if cap > 0 and n > cap then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - cap - 1)
  for _, m in ipairs(old) do redis.call('HDEL', KEYS[1], string.sub(m, string.find(m, '|', 1, true) + 1)) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1)
end
return inserted
`);
// KEYS: data hash. ARGV: id, the JSON read, the scrubbed JSON. Writes only if the event is still
// there unchanged (not pruned or rewritten meanwhile), so erasure never resurrects an event.
const REPLACE_IF_SAME = new LuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
`);
// KEYS: data hash, time index zset. ARGV: exclusive upper bound member prefix ("(" .. before).
const PRUNE = new LuaScript(`
local old = redis.call('ZRANGEBYLEX', KEYS[2], '-', ARGV[1])
for _, m in ipairs(old) do redis.call('HDEL', KEYS[1], string.sub(m, string.find(m, '|', 1, true) + 1)) end
if #old > 0 then redis.call('ZREMRANGEBYLEX', KEYS[2], '-', ARGV[1]) end
return #old
`);

const Iso = z.iso.datetime({ offset: false, message: "expected an ISO 8601 UTC time" });

/**
 * `toISOString()` form. Members are compared as strings, so "…:00Z" and "…:00.500Z" must not
 * meet: without this, a bound without milliseconds excluded events of its own second.
 */
const norm = (iso: string): string => new Date(iso).toISOString();

export interface RedisAuthEventOptions {
  /** Most events kept per tenant; older ones are trimmed on append. Default 100,000; 0 = no cap. */
  maxEventsPerTenant?: number;
}

/**
 * AuthEventStore on Redis: per tenant, a hash of events by id and a sorted set of
 * `<occurredAt>|<id>` (lexicographic order = time order), capped per tenant. Appends dedupe by id
 * inside one Lua script per tenant (the scripts of one append pipelined per node). Long-term retention belongs in PostgreSQL.
 */
export class RedisAuthEventStore implements AuthEventStore {
  private closed = false;
  private readonly cap: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly capabilities: StoreCapabilities,
    options: RedisAuthEventOptions = {},
  ) {
    this.cap = options.maxEventsPerTenant ?? 100_000;
    guardStore("authEvents", this); // the contract's input checks, one table in @ops/core
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] auth event store is closed");
  }
  private data(t: TenantKey) {
    return `${this.keys.scope(t)}:authev:data`;
  }
  private byTime(t: TenantKey) {
    return `${this.keys.scope(t)}:authev:bytime`;
  }

  async append(input: { events: readonly AuthEventRecord[] }): Promise<{ inserted: number }> {
    this.assertOpen();
    const { events } = input; // checked by the contract guard (@ops/core)
    const byTenant = new Map<string, AuthEventRecord[]>();
    for (const e of events as AuthEventRecord[]) {
      e.occurredAt = norm(e.occurredAt);
      const t = scopeToken(e.tenantId);
      (byTenant.get(t) ?? byTenant.set(t, []).get(t)!).push(e);
    }
    try {
      // The scope registry is sharded by tenant (one SADD per tenant, each in its shard's slot).
      const tokens = [...byTenant.keys()];
      await pipelinePerSlot(
        this.redis,
        tokens.map((t) => this.keys.indexShard("authev:scopes", t)),
        (p, k, i) => p.sadd(k, tokens[i]!),
      );
      // One APPEND script per tenant, all of them pipelined per node (one round trip per Cluster
      // master, not one per tenant). A retried append is a no-op for the events already stored.
      const calls: Array<{ keys: string[]; args: Array<string | number> }> = [];
      for (const [token, list] of byTenant) {
        const t = tokenToScope(token);
        const args: Array<string | number> = [this.cap];
        for (const e of list) args.push(e.id, `${e.occurredAt}|${e.id}`, JSON.stringify(e));
        calls.push({ keys: [this.data(t), this.byTime(t)], args });
      }
      let inserted = 0;
      for (const n of await runMany(this.redis, APPEND, calls)) inserted += Number(n);
      return { inserted };
    } catch (err) {
      throw mapRedisError(err, "append auth events");
    }
  }

  async list(input: AuthEventQuery): Promise<Page<AuthEventRecord>> {
    this.assertOpen();
    parseInput(z.object({ tenantId: TenantIdSchema.nullable(), from: Iso.optional(), to: Iso.optional() }), input, {
      pkg: "adapter-redis",
      what: "AuthEventStore.list input",
    });
    const limit = pageLimit(input.limit, "adapter-redis");
    let before = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    const types = input.types ? new Set<string>(input.types) : null;
    // Upper bound: the cursor, else `to` (exclusive); lower bound: `from` (inclusive).
    const max = before !== null ? `(${before}` : input.to ? `(${norm(input.to)}` : "+";
    const min = input.from ? `[${norm(input.from)}` : "-";
    const items: AuthEventRecord[] = [];
    try {
      let upper = max;
      for (;;) {
        const batch = await this.redis.zrevrangebylex(this.byTime(input.tenantId), upper, min, "LIMIT", 0, Math.max(2 * limit, 64));
        if (batch.length === 0) return { items, nextCursor: null };
        const raws = await this.redis.hmget(this.data(input.tenantId), ...batch.map((m) => m.slice(m.indexOf("|") + 1)));
        for (let i = 0; i < batch.length; i++) {
          before = batch[i]!;
          upper = `(${before}`;
          const raw = raws[i];
          if (!raw) continue;
          const e = JSON.parse(raw) as AuthEventRecord;
          if (
            (types && !types.has(e.type)) ||
            (input.userId !== undefined && e.userId !== input.userId) ||
            (input.ip !== undefined && e.ip !== input.ip)
          )
            continue;
          items.push(e);
          if (items.length === limit) {
            const more =
              i < batch.length - 1 || (await this.redis.zrevrangebylex(this.byTime(input.tenantId), upper, min, "LIMIT", 0, 1)).length > 0;
            return { items, nextCursor: more ? encodeCursor([before]) : null };
          }
        }
      }
    } catch (err) {
      throw mapRedisError(err, "list auth events");
    }
  }

  async countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>> {
    this.assertOpen();
    parseInput(z.object({ tenantId: TenantIdSchema.nullable(), from: Iso, to: Iso }), input, {
      pkg: "adapter-redis",
      what: "AuthEventStore.countByType input",
    });
    const out: Record<string, number> = {};
    try {
      const members = await this.redis.zrangebylex(this.byTime(input.tenantId), `[${norm(input.from)}`, `(${norm(input.to)}`);
      for (let i = 0; i < members.length; i += 1000) {
        const chunk = members.slice(i, i + 1000);
        const raws = await this.redis.hmget(this.data(input.tenantId), ...chunk.map((m) => m.slice(m.indexOf("|") + 1)));
        for (const raw of raws) {
          if (!raw) continue;
          const type = (JSON.parse(raw) as AuthEventRecord).type;
          out[type] = (out[type] ?? 0) + 1;
        }
      }
      return out;
    } catch (err) {
      throw mapRedisError(err, "count auth events");
    }
  }

  /** See `AuthEventStore.forgetSubject`: one HSCAN of the tenant's events, each change a compare-and-set. */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    const ids = forgetReplacements(input);
    const ips = new Set(input.identifiers);
    const key = this.data(input.tenantId);
    let records = 0;
    try {
      let cursor = "0";
      do {
        const [next, flat] = await this.redis.hscan(key, cursor, "COUNT", 500);
        cursor = next;
        for (let i = 0; i < flat.length; i += 2) {
          const raw = flat[i + 1]!;
          const e = JSON.parse(raw) as AuthEventRecord;
          const own = e.userId === input.subjectId;
          const out: AuthEventRecord = { ...e };
          if (own) out.userId = input.pseudonym;
          if (e.ip !== undefined && (own || ips.has(e.ip))) delete out.ip;
          if (e.meta) out.meta = scrubJson(e.meta, ids);
          if (!own && out.ip === e.ip && out.meta === e.meta) continue;
          records += Number(await REPLACE_IF_SAME.run(this.redis, [key], [flat[i]!, raw, JSON.stringify(out)]));
        }
      } while (cursor !== "0");
      return { records };
    } catch (err) {
      throw mapRedisError(err, "forget a subject in auth events");
    }
  }

  async prune(input: { before: string }): Promise<number> {
    this.assertOpen();
    parseInput(z.object({ before: Iso }), input, { pkg: "adapter-redis", what: "AuthEventStore.prune input" });
    try {
      let removed = 0;
      const shards = (await pipelinePerSlot(this.redis, this.keys.indexShards("authev:scopes"), (p, k) => p.smembers(k))) as string[][];
      for (const token of new Set(shards.flat())) {
        const t = tokenToScope(token);
        removed += Number(await PRUNE.run(this.redis, [this.data(t), this.byTime(t)], [`(${norm(input.before)}`]));
      }
      return removed;
    } catch (err) {
      throw mapRedisError(err, "prune auth events");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
