import type { RedisClient } from "./client.js";
import * as z from "zod";
import {
  TenantIdSchema,
  UnavailableError,
  checkCounterIncrement,
  ValidationError,
  parseInput,
  type CounterStore,
  type StoreCapabilities,
  type TenantKey,
} from "@ops/core";
import { mapRedisError } from "./errors.js";
import type { RedisKeys } from "./keys.js";
import { LuaScript, opKey } from "./script.js";

// KEYS[1] = the bucket to add to; KEYS[2..n-1] = the earlier buckets of the window; KEYS[n] = the
// call's marker (idempotent: a resent increment is applied once).
// ARGV[1] = by; ARGV[2] = time to live of KEYS[1] in ms (only ever extended).
// INCRBY and the window sum run as one script: concurrent callers see distinct running totals.
const INCREMENT = new LuaScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local total = v
for i = 2, #KEYS - 1 do
  local c = redis.call('GET', KEYS[i])
  if c then total = total + tonumber(c) end
end
return total
`, { idempotent: true });

/** Reads touch one key per bucket; more than this in one call is refused (ask for a coarser bucket). */
export const MAX_BUCKETS_PER_READ = 10_000;

const Int = z.number().int().safe();
// Beyond the contract's checks (`checkCounterIncrement`): a tenant id safe in a key, a window
// that one script can read, and a TTL Redis accepts.
const RedisIncrementSchema = z.object({
  tenantId: TenantIdSchema.nullable(),
  windowBuckets: Int.max(MAX_BUCKETS_PER_READ).optional(),
  ttlMs: Int.positive().optional(),
});
const RangeSchema = z.object({
  tenantId: TenantIdSchema.nullable(),
  key: z.string().min(1).max(256),
  bucketMs: Int.positive(),
  fromMs: Int,
  toMs: Int,
});

/**
 * CounterStore on Redis: one string key per bucket (`<prefix>:{t:<tenant>}:ctr:<bucketMs>:<start>:<key>`),
 * INCRBY + window sum in one Lua script. Bucket TTLs are relative to the increment
 * (bucket end + ttlMs - atMs), so a caller's clock far from the server's cannot expire them early.
 */
export class RedisCounterStore implements CounterStore {
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly capabilities: StoreCapabilities,
  ) {}

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] counter store is closed");
  }

  async increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
  }): Promise<number> {
    this.assertOpen();
    const { by, windowBuckets: n, start } = checkCounterIncrement("adapter-redis", input);
    parseInput(RedisIncrementSchema, input, { pkg: "adapter-redis", what: "CounterStore.increment input" });
    const i = input;
    const ttl = start + i.bucketMs + Math.max(i.ttlMs ?? 0, n * i.bucketMs) - i.atMs;
    const keys: string[] = [];
    for (let b = 0; b < n; b++) keys.push(this.keys.counter(i.tenantId, i.key, i.bucketMs, start - b * i.bucketMs));
    try {
      keys.push(opKey(`${this.keys.scope(i.tenantId)}:`));
      return Number(await INCREMENT.run(this.redis, keys, [by, ttl]));
    } catch (err) {
      throw mapRedisError(err, `increment counter "${i.key}"`);
    }
  }

  async read(input: {
    tenantId: TenantKey;
    key: string;
    bucketMs: number;
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ startMs: number; count: number }>> {
    this.assertOpen();
    const r = parseInput(RangeSchema, input, { pkg: "adapter-redis", what: "CounterStore.read input" });
    const starts: number[] = [];
    const first = Math.ceil(r.fromMs / r.bucketMs) * r.bucketMs;
    for (let s = first; s < r.toMs; s += r.bucketMs) {
      starts.push(s);
      if (starts.length > MAX_BUCKETS_PER_READ)
        throw new ValidationError(
          `[ops/adapter-redis] invalid CounterStore.read input: toMs: the range spans more than ${MAX_BUCKETS_PER_READ} buckets`,
          [{ path: "toMs", message: `expected at most ${MAX_BUCKETS_PER_READ} buckets in range` }],
        );
    }
    if (starts.length === 0) return [];
    try {
      const values = await this.redis.mget(...starts.map((s) => this.keys.counter(r.tenantId, r.key, r.bucketMs, s)));
      const out: Array<{ startMs: number; count: number }> = [];
      values.forEach((v, idx) => {
        if (v !== null && Number(v) !== 0) out.push({ startMs: starts[idx]!, count: Number(v) });
      });
      return out;
    } catch (err) {
      throw mapRedisError(err, `read counter "${r.key}"`);
    }
  }

  async sum(input: { tenantId: TenantKey; key: string; bucketMs: number; fromMs: number; toMs: number }): Promise<number> {
    let total = 0;
    for (const b of await this.read(input)) total += b.count;
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
