import { isCluster, type RedisClient } from "./client.js";
import * as z from "zod";
import {
  TenantIdSchema,
  UnavailableError,
  checkCounterAdds,
  checkCounterIncrement,
  checkCounterReadActive,
  keepActive,
  mapLimit,
  ValidationError,
  parseInput,
  type ActiveCondition,
  type ActiveSeries,
  type CounterAdd,
  type CounterStore,
  type StoreCapabilities,
  type TenantKey,
  guardStore,
} from "@ops/core";
import { mapRedisError } from "./errors.js";
import { scopeToken, tokenToScope, type RedisKeys } from "./keys.js";
import { LuaScript, opKey, runMany } from "./script.js";

// KEYS[1] = the bucket to add to; KEYS[2..n-1] = the earlier buckets of the window; KEYS[n] = the
// call's marker (idempotent: a resent increment is applied once).
// ARGV[1] = by; ARGV[2] = time to live of KEYS[1] in ms (only ever extended).
// INCRBY and the window sum run as one script: concurrent callers see distinct running totals.
const INCREMENT = new LuaScript(
  `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local total = v
for i = 2, #KEYS - 1 do
  local c = redis.call('GET', KEYS[i])
  if c then total = total + tonumber(c) end
end
return total
`,
  { idempotent: true },
);

// KEYS[1] = a bucket's touched-series set; ARGV[1] = the time to live in ms; ARGV[2..] = the members.
const TOUCH = new LuaScript(`
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`);

// Many adds of one slot in one script: KEYS = each add's bucket then the earlier buckets of its
// window, add after add, and the call's marker last (idempotent, as INCREMENT).
// ARGV[1] = the number of adds; then per add: its key count, by, time to live of its bucket in ms.
// Returns each add's running window total, in order (adds of one series see each other's counts).
const INCREMENT_MANY = new LuaScript(
  `
local out = {}
local k = 1
for a = 1, tonumber(ARGV[1]) do
  local base = 2 + (a - 1) * 3
  local nk = tonumber(ARGV[base])
  local ttl = tonumber(ARGV[base + 2])
  local total = redis.call('INCRBY', KEYS[k], ARGV[base + 1])
  if redis.call('PTTL', KEYS[k]) < ttl then redis.call('PEXPIRE', KEYS[k], ttl) end
  for i = k + 1, k + nk - 1 do
    local c = redis.call('GET', KEYS[i])
    if c then total = total + tonumber(c) end
  end
  out[a] = total
  k = k + nk
end
return out
`,
  { idempotent: true },
);

/** Adds per INCREMENT_MANY call (and members per TOUCH call). */
const ADDS_PER_SCRIPT = 200;

/** Touched-series sets per bucket (see `RedisKeys.counterTouched`). */
export const TOUCHED_SHARDS = 8;
/** Commands `readActive` keeps in flight at once. */
const READ_CONCURRENCY = 64;

/** Reads touch one key per bucket; more than this in one call is refused (ask for a coarser bucket). */
export const MAX_BUCKETS_PER_READ = 10_000;

const Int = z.number().int().safe();
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
  /**
   * Touched-set members this instance already added, per set key (the latest few buckets only):
   * a series pays for its index entry once per bucket, not once per increment. The value is the
   * bucket's end of life the set was last touched for (in the callers' time, `atMs` + ttl): an
   * increment that keeps its bucket alive longer touches again, or `readActive` would lose the
   * series while its bucket still counts.
   */
  private readonly touchedCache = new Map<string, Map<string, number>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly capabilities: StoreCapabilities,
  ) {}

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] counter store is closed");
    guardStore("counters", this); // the contract's input checks, one table in @ops/core
  }

  async increment(input: {
    tenantId: TenantKey;
    key: string;
    atMs: number;
    bucketMs: number;
    by?: number;
    windowBuckets?: number;
    ttlMs?: number;
    untracked?: boolean;
  }): Promise<number> {
    this.assertOpen();
    const { by, windowBuckets: n, start } = checkCounterIncrement("adapter-redis", input);
    const i = input;
    const ttl = start + i.bucketMs + Math.max(i.ttlMs ?? 0, n * i.bucketMs) - i.atMs;
    const keys: string[] = [];
    for (let b = 0; b < n; b++) keys.push(this.keys.counter(i.tenantId, i.key, i.bucketMs, start - b * i.bucketMs));
    try {
      keys.push(opKey(`${this.keys.scope(i.tenantId)}:`));
      // The index entry goes first: an add that fails after it leaves an empty series in the index
      // (harmless), while the other order could count signals detection never reads.
      if (i.untracked !== true) await this.touch(i.tenantId, i.key, i.bucketMs, start, ttl, i.atMs + ttl);
      return Number(await INCREMENT.run(this.redis, keys, [by, ttl]));
    } catch (err) {
      throw mapRedisError(err, `increment counter "${i.key}"`);
    }
  }

  /**
   * Many adds in few round trips: first the index entries the adds need (one TOUCH per touched
   * set, with all of its new members), then the adds grouped by slot (by tenant on a Cluster; any
   * order on a single server), up to 200 in one idempotent INCREMENT_MANY script, the scripts
   * pipelined per Cluster node (one pipeline on a single server). Every add is checked before
   * anything is sent.
   */
  async incrementMany(adds: readonly CounterAdd[]): Promise<number[]> {
    this.assertOpen();
    const checked = checkCounterAdds("adapter-redis", adds);
    if (adds.length === 0) return [];
    const touchSets = new Map<string, { ttl: number; members: Map<string, number> }>();
    const planned = new Map<string, number>();
    // Adds grouped by the slot their keys live in (their scope's hash tag); one group on a single server.
    const cluster = isCluster(this.redis);
    const groups = new Map<string, number[]>();
    const keysOf = new Array<string[]>(adds.length);
    const argsOf = new Array<[number, number, number]>(adds.length);
    adds.forEach((a, i) => {
      const { by, windowBuckets: n, start } = checked[i]!;
      const ttl = start + a.bucketMs + Math.max(a.ttlMs ?? 0, n * a.bucketMs) - a.atMs;
      const keys: string[] = [];
      for (let b = 0; b < n; b++) keys.push(this.keys.counter(a.tenantId, a.key, a.bucketMs, start - b * a.bucketMs));
      keysOf[i] = keys;
      argsOf[i] = [n, by, ttl];
      const scope = cluster ? this.keys.scope(a.tenantId) : "";
      const g = groups.get(scope);
      if (g) g.push(i);
      else groups.set(scope, [i]);
      if (a.untracked === true) return;
      const member = scopeToken(a.tenantId);
      const setKey = this.keys.counterTouched(a.bucketMs, shardOf(member), start, a.key);
      const until = a.atMs + ttl;
      const id = `${setKey}\u0001${member}`;
      if ((this.touchedCache.get(setKey)?.get(member) ?? Number.NEGATIVE_INFINITY) >= until || (planned.get(id) ?? -Infinity) >= until)
        return;
      planned.set(id, until);
      let t = touchSets.get(setKey);
      if (!t) touchSets.set(setKey, (t = { ttl, members: new Map() }));
      t.ttl = Math.max(t.ttl, ttl);
      t.members.set(member, Math.max(t.members.get(member) ?? Number.NEGATIVE_INFINITY, until));
    });
    const touches: Array<{ keys: string[]; args: Array<string | number>; setKey: string; members: Map<string, number> }> = [];
    for (const [setKey, t] of touchSets) {
      const all = [...t.members.keys()];
      for (let j = 0; j < all.length; j += ADDS_PER_SCRIPT)
        touches.push({ keys: [setKey], args: [t.ttl, ...all.slice(j, j + ADDS_PER_SCRIPT)], setKey, members: t.members });
    }
    const calls: Array<{ keys: string[]; args: Array<string | number>; members: number[] }> = [];
    for (const [, idx] of groups)
      for (let j = 0; j < idx.length; j += ADDS_PER_SCRIPT) {
        const members = idx.slice(j, j + ADDS_PER_SCRIPT);
        const keys: string[] = [];
        const args: Array<string | number> = [members.length];
        for (const i of members) {
          for (const k of keysOf[i]!) keys.push(k);
          args.push(...argsOf[i]!);
        }
        keys.push(opKey(`${this.keys.scope(adds[members[0]!]!.tenantId)}:`));
        calls.push({ keys, args, members });
      }
    try {
      // The index entries first (see `increment`).
      if (touches.length > 0) {
        await runMany(this.redis, TOUCH, touches);
        for (const t of touches) for (const [member, until] of t.members) this.remember(t.setKey, member, until);
      }
      const out = new Array<number>(adds.length);
      const res = await runMany(this.redis, INCREMENT_MANY, calls);
      calls.forEach((c, j) => {
        const totals = res[j] as unknown[];
        c.members.forEach((i, m) => {
          out[i] = Number(totals[m]);
        });
      });
      return out;
    } catch (err) {
      throw mapRedisError(err, `increment ${adds.length} counters`);
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

  /**
   * One SUNION per (shard, key) over the range's touched-scope sets, then one MGET per active
   * scope: a tick's Redis calls follow the active tenants, never the number of tenants. Series
   * whose buckets expired are skipped.
   */
  async readActive(input: {
    keys: readonly string[];
    bucketMs: number;
    fromMs: number;
    toMs: number;
    having?: readonly ActiveCondition[];
  }): Promise<ActiveSeries[]> {
    this.assertOpen();
    const keys = new Set(checkCounterReadActive("adapter-redis", input));
    const starts: number[] = [];
    for (let s = Math.ceil(input.fromMs / input.bucketMs) * input.bucketMs; s < input.toMs; s += input.bucketMs) {
      starts.push(s);
      if (starts.length > MAX_BUCKETS_PER_READ)
        throw new ValidationError(
          `[ops/adapter-redis] invalid CounterStore.readActive input: toMs: the range spans more than ${MAX_BUCKETS_PER_READ} buckets`,
          [{ path: "toMs", message: `expected at most ${MAX_BUCKETS_PER_READ} buckets in range` }],
        );
    }
    if (starts.length === 0) return [];
    try {
      // Which scopes touched which key: one SUNION per (shard, key) over the range's buckets.
      const byScope = new Map<string, Set<string>>();
      const lookups: Array<{ shard: number; key: string }> = [];
      for (let shard = 0; shard < TOUCHED_SHARDS; shard++) for (const key of keys) lookups.push({ shard, key });
      await mapLimit(lookups, READ_CONCURRENCY, async ({ shard, key }) => {
        const tokens = await this.redis.sunion(...starts.map((st) => this.keys.counterTouched(input.bucketMs, shard, st, key)));
        for (const token of tokens) {
          let set = byScope.get(token);
          if (!set) byScope.set(token, (set = new Set()));
          set.add(key);
        }
      });
      // Then one MGET per active scope (tenant or global) over the keys it touched: a scope's
      // counter keys share its slot.
      const out: ActiveSeries[] = [];
      await mapLimit(byScope, READ_CONCURRENCY, async ([token, touchedKeys]) => {
        const tenantId = tokenToScope(token);
        const scopeKeys = [...touchedKeys];
        const names: string[] = [];
        for (const key of scopeKeys) for (const st of starts) names.push(this.keys.counter(tenantId, key, input.bucketMs, st));
        const values = await this.redis.mget(...names);
        scopeKeys.forEach((key, k) => {
          const buckets: Array<{ startMs: number; count: number }> = [];
          for (let idx = 0; idx < starts.length; idx++) {
            const v = values[k * starts.length + idx];
            if (v !== null && v !== undefined && Number(v) !== 0) buckets.push({ startMs: starts[idx]!, count: Number(v) });
          }
          if (buckets.length > 0) out.push({ tenantId, key, buckets });
        });
      });
      return keepActive(out, input.having);
    } catch (err) {
      throw mapRedisError(err, "read active counter series");
    }
  }

  private async touch(tenantId: TenantKey, key: string, bucketMs: number, start: number, ttlMs: number, until: number): Promise<void> {
    const member = scopeToken(tenantId);
    const setKey = this.keys.counterTouched(bucketMs, shardOf(member), start, key);
    const seen = this.touchedCache.get(setKey);
    if ((seen?.get(member) ?? Number.NEGATIVE_INFINITY) >= until) return;
    await TOUCH.run(this.redis, [setKey], [ttlMs, member]);
    this.remember(setKey, member, until);
  }

  private remember(setKey: string, member: string, until: number): void {
    let seen = this.touchedCache.get(setKey);
    if (!seen) {
      this.touchedCache.set(setKey, (seen = new Map()));
      // Keep the sets of the latest buckets only (insertion order is bucket order in practice).
      if (this.touchedCache.size > 4096) this.touchedCache.delete(this.touchedCache.keys().next().value!);
    }
    if ((seen.get(member) ?? Number.NEGATIVE_INFINITY) < until) seen.set(member, until);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function shardOf(member: string): number {
  let h = 0;
  for (let i = 0; i < member.length; i++) h = (h * 31 + member.charCodeAt(i)) | 0;
  return (h >>> 0) % TOUCHED_SHARDS;
}
