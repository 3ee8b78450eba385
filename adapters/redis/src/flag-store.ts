import type { Cluster, Redis } from "ioredis";
import {
  UnavailableError,
  ValidationError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  snapshotPageLimit,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PageRequest,
  type StoreCapabilities,
  type TenantKey,
  guardStore,
} from "@ops/core";
import { isCluster, pipelinePerSlot, type RedisClient } from "./client.js";
import { mapRedisError } from "./errors.js";
import { RedisKeys, scopeToken, tokenToScope } from "./keys.js";
import { LuaScript, opKey } from "./script.js";
import { validateFlagAddress } from "./validate.js";

// A record is stored as one hash field: "<version>\n<updatedAt>\n<actor as JSON>\n<config JSON>".
// The config is kept as the exact JSON text the app wrote (no cjson round trip, which would turn
// [] into {} and lose number precision); Lua only ever parses the leading version.
const PUT = new LuaScript(
  `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local curv = 0
if cur then curv = tonumber(string.match(cur, '^(%d+)\\n')) end
if ARGV[2] == '' then
  if cur then return redis.error_reply('OPS_CONFLICT flag "' .. ARGV[1] .. '" already exists at version ' .. curv) end
else
  if not cur then return redis.error_reply('OPS_CONFLICT flag "' .. ARGV[1] .. '" does not exist (expected version ' .. ARGV[2] .. ')') end
  if curv ~= tonumber(ARGV[2]) then return redis.error_reply('OPS_CONFLICT flag "' .. ARGV[1] .. '" is at version ' .. curv .. ', expected ' .. ARGV[2]) end
end
local v = curv + 1
redis.call('HSET', KEYS[1], ARGV[1], v .. '\\n' .. ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. v .. '}')
return v
`,
  { idempotent: true },
);

const DEL = new LuaScript(
  `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return redis.error_reply('OPS_NOTFOUND flag "' .. ARGV[1] .. '" does not exist') end
local curv = tonumber(string.match(cur, '^(%d+)\\n'))
if curv ~= tonumber(ARGV[2]) then return redis.error_reply('OPS_CONFLICT flag "' .. ARGV[1] .. '" is at version ' .. curv .. ', expected ' .. ARGV[2]) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`,
  { idempotent: true },
);

function decode(env: string, key: string, tenantId: TenantKey, raw: string): FlagRecord {
  const a = raw.indexOf("\n");
  const b = raw.indexOf("\n", a + 1);
  const c = raw.indexOf("\n", b + 1);
  return {
    env,
    key,
    tenantId,
    version: Number(raw.slice(0, a)),
    updatedAt: raw.slice(a + 1, b),
    updatedBy: JSON.parse(raw.slice(b + 1, c)) as string,
    config: JSON.parse(raw.slice(c + 1)) as JsonValue,
  };
}

function changeMessagePrefix(env: string, key: string, tenantId: TenantKey): string {
  return `{"env":${JSON.stringify(env)},"key":${JSON.stringify(key)},"tenantId":${JSON.stringify(tenantId)},"version":`;
}

export interface RedisFlagStoreOptions {
  keys: RedisKeys;
  capabilities: StoreCapabilities;
  /** While the subscription is down, re-read every environment this often (ms). Default 1000. */
  pollIntervalMs?: number;
  now?: () => number;
}

/**
 * FlagStore on Redis. Every write is one Lua script (compare-and-set + index + PUBLISH), so a
 * change notification is sent exactly when a write commits, in version order per record.
 * Subscribers get changes over pub/sub within milliseconds; while their connection is down they
 * fall back to polling, and on reconnect they re-read everything and report what they missed.
 */
export class RedisFlagStore implements FlagStore {
  readonly capabilities: StoreCapabilities;
  private readonly keys: RedisKeys;
  private readonly pollIntervalMs: number;
  private readonly now: () => number;
  private closed = false;
  private subscriber: RedisClient | null = null;
  private readonly listeners = new Set<(change: FlagChange) => void>();
  /** Versions seen by this process's subscription, to report what a dropped connection missed. */
  private readonly known = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private subscriptionUp = false;
  private everReady = false;
  /** Resolves once PSUBSCRIBE is active: this store's own writes wait for it, so local subscribers hear them. */
  private subscribed: Promise<unknown> | null = null;
  private psubscribed = false;

  constructor(
    private readonly redis: RedisClient,
    options: RedisFlagStoreOptions,
  ) {
    this.keys = options.keys;
    this.capabilities = options.capabilities;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    guardStore("flags", this); // the contract's input checks, one table in @ops/core
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError("[ops/adapter-redis] flag store is closed");
  }

  async get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null> {
    this.assertOpen();
    validateFlagAddress(input, "get");
    try {
      const raw = await this.redis.hget(this.keys.flagHash(input.env, input.tenantId), input.key);
      return raw === null ? null : decode(input.env, input.key, input.tenantId, raw);
    } catch (err) {
      throw mapRedisError(err, `get flag "${input.key}"`);
    }
  }

  async put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord> {
    this.assertOpen();
    await this.subscriptionReady(`put flag "${input.key}"`);
    const updatedAt = new Date(this.now()).toISOString();
    const configJson = JSON.stringify(input.config);
    try {
      // Indexes first (idempotent): a snapshot may then see an empty scope, never miss a record.
      // Two commands, not one MULTI: on a Cluster the two sets live in different slots.
      const token = scopeToken(input.tenantId);
      await Promise.all([this.redis.sadd(this.keys.flagScopes(input.env, token), token), this.redis.sadd(this.keys.flagEnvs(), input.env)]);
      const version = (await PUT.run(
        this.redis,
        [
          this.keys.flagHash(input.env, input.tenantId),
          this.keys.flagIndex(input.env, input.tenantId),
          opKey(`${this.keys.scope(input.tenantId)}:`),
        ],
        [
          input.key,
          input.expectedVersion === null ? "" : String(input.expectedVersion),
          `${updatedAt}\n${JSON.stringify(input.actor)}\n${configJson}`,
          this.keys.flagChannel(input.tenantId),
          changeMessagePrefix(input.env, input.key, input.tenantId),
        ],
      )) as number;
      return {
        env: input.env,
        key: input.key,
        tenantId: input.tenantId,
        config: JSON.parse(configJson) as JsonValue,
        version,
        updatedAt,
        updatedBy: input.actor,
      };
    } catch (err) {
      throw mapRedisError(err, `put flag "${input.key}"`);
    }
  }

  async delete(input: { env: string; key: string; tenantId: TenantKey; expectedVersion: number }): Promise<void> {
    this.assertOpen();
    await this.subscriptionReady(`delete flag "${input.key}"`);
    try {
      await DEL.run(
        this.redis,
        [
          this.keys.flagHash(input.env, input.tenantId),
          this.keys.flagIndex(input.env, input.tenantId),
          opKey(`${this.keys.scope(input.tenantId)}:`),
        ],
        [
          input.key,
          String(input.expectedVersion),
          this.keys.flagChannel(input.tenantId),
          `${changeMessagePrefix(input.env, input.key, input.tenantId)}0}`,
        ],
      );
    } catch (err) {
      throw mapRedisError(err, `delete flag "${input.key}"`);
    }
  }

  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    this.assertOpen();
    validateFlagAddress(input, "list");
    const limit = pageLimit(input.limit, "adapter-redis");
    const after = input.cursor ? String(decodeCursor(input.cursor, 1, "adapter-redis")[0]) : null;
    try {
      const keys = await this.redis.zrangebylex(
        this.keys.flagIndex(input.env, input.tenantId),
        after === null ? "-" : `(${after}`,
        "+",
        "LIMIT",
        0,
        limit + 1,
      );
      const page = keys.slice(0, limit);
      const raws = page.length ? await this.redis.hmget(this.keys.flagHash(input.env, input.tenantId), ...page) : [];
      const items: FlagRecord[] = [];
      page.forEach((key, i) => {
        const raw = raws[i];
        if (raw) items.push(decode(input.env, key, input.tenantId, raw));
      });
      const last = page[page.length - 1];
      return { items, nextCursor: keys.length > limit && last !== undefined ? encodeCursor([last]) : null };
    } catch (err) {
      throw mapRedisError(err, "list flags");
    }
  }

  /**
   * Pages by scope (one hash per tenant): SSCANs the env's sharded scope index for about
   * `limit / 10` scopes, then reads their hashes. A scope is never split across pages.
   */
  async snapshotPage(input: { env: string } & PageRequest): Promise<Page<FlagRecord>> {
    this.assertOpen();
    validateFlagAddress(input, "snapshot");
    const limit = snapshotPageLimit(input.limit, "adapter-redis");
    const at = input.cursor ? decodeCursor(input.cursor, 2, "adapter-redis") : [0, "0"];
    const shards = this.keys.allFlagScopes(input.env);
    let shard = Number(at[0]);
    let scan = String(at[1]);
    if (!Number.isInteger(shard) || shard < 0 || shard >= shards.length || !/^\d+$/.test(scan))
      throw new ValidationError("[ops/adapter-redis] invalid cursor: expected a cursor returned by a previous page", [
        { path: "cursor", message: "expected a cursor returned by a previous page" },
      ]);
    const want = Math.max(1, Math.ceil(limit / 10));
    try {
      const tokens = new Set<string>();
      while (shard < shards.length && tokens.size < want) {
        const [next, found] = await this.redis.sscan(shards[shard]!, scan, "COUNT", want - tokens.size);
        for (const t of found) tokens.add(t);
        if (next === "0") {
          shard += 1;
          scan = "0";
        } else scan = next;
      }
      const scopes = [...tokens];
      const hashes = (await pipelinePerSlot(
        this.redis,
        scopes.map((token) => this.keys.flagHash(input.env, tokenToScope(token))),
        (p, k) => p.hgetall(k),
      )) as Array<Record<string, string>>;
      const items: FlagRecord[] = [];
      scopes.forEach((token, i) => {
        for (const [key, raw] of Object.entries(hashes[i] ?? {})) items.push(decode(input.env, key, tokenToScope(token), raw));
      });
      return { items, nextCursor: shard < shards.length ? encodeCursor([shard, scan]) : null };
    } catch (err) {
      throw mapRedisError(err, "snapshot flags");
    }
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    this.assertOpen();
    validateFlagAddress(input, "snapshot");
    try {
      // The scope set is sharded and each scope's hash lives in its tenant's slot: on a Cluster
      // every read is grouped per slot (a pipeline spanning slots is refused there).
      const shards = (await pipelinePerSlot(this.redis, this.keys.allFlagScopes(input.env), (p, k) => p.smembers(k))) as string[][];
      const scopes = [...new Set(shards.flat())];
      const hashes = (await pipelinePerSlot(
        this.redis,
        scopes.map((token) => this.keys.flagHash(input.env, tokenToScope(token))),
        (p, k) => p.hgetall(k),
      )) as Array<Record<string, string>>;
      const out: FlagRecord[] = [];
      scopes.forEach((token, i) => {
        for (const [key, raw] of Object.entries(hashes[i] ?? {})) out.push(decode(input.env, key, tokenToScope(token), raw));
      });
      return out;
    } catch (err) {
      throw mapRedisError(err, "snapshot flags");
    }
  }

  subscribe(listener: (change: FlagChange) => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    if (!this.subscriber) this.startSubscriber();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(listener);
    };
  }

  private emit(change: FlagChange): void {
    const id = `${change.env}\u0000${scopeToken(change.tenantId)}\u0000${change.key}`;
    const seen = this.known.get(id);
    if (seen !== undefined && change.version !== 0 && seen >= change.version) return; // duplicate
    if (change.version === 0) this.known.delete(id);
    else this.known.set(id, change.version);
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A throwing listener must not stop delivery to the others.
      }
    }
  }

  private startSubscriber(): void {
    // Classic (not sharded) pub/sub: on a Cluster a PUBLISH reaches subscribers on every node.
    const sub: RedisClient = isCluster(this.redis)
      ? (this.redis as Cluster).duplicate()
      : (this.redis as Redis).duplicate({ lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber = sub;
    sub.on("error", () => {
      // Reconnection is ioredis' job; errors while down are expected and must not crash the app.
    });
    sub.on("pmessage", (_pattern: string, _channel: string, message: string) => {
      try {
        this.emit(JSON.parse(message) as FlagChange);
      } catch {
        // A malformed message (another writer's bug) is ignored.
      }
    });
    sub.on("ready", () => {
      const wasDown = !this.subscriptionUp;
      this.subscriptionUp = true;
      this.stopPolling();
      // First connect: a silent baseline of every record, so a later reconnect can tell what it
      // missed (deletions included). Reconnect: ioredis re-issues PSUBSCRIBE, but what was published
      // while down is lost, so re-read and report the differences.
      if (!this.everReady) {
        this.everReady = true;
        void this.resync(true);
      } else if (wasDown) void this.resync(false);
    });
    const down = () => {
      if (this.closed) return;
      this.subscriptionUp = false;
      this.startPolling();
    };
    sub.on("close", down);
    sub.on("reconnecting", down);
    this.subscribed = sub
      .psubscribe(this.keys.flagChannelPattern())
      .catch(() => down())
      .finally(() => void (this.psubscribed = true));
  }

  /**
   * Waits for the first PSUBSCRIBE, so local subscribers hear this store's own writes. While Redis
   * is unreachable that wait would never end (the subscriber connection retries for ever): a
   * failing PING of the app's client ends it with the error every other call gets.
   */
  private async subscriptionReady(what: string): Promise<void> {
    const pending = this.subscribed;
    if (!pending || this.psubscribed) return;
    try {
      await Promise.race([pending, this.redis.ping().then(() => pending)]);
    } catch (err) {
      throw mapRedisError(err, what);
    }
  }

  private startPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.resync(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** Re-reads every environment and reports each record whose version differs from what was seen. */
  private async resync(silent = false): Promise<void> {
    if (this.closed || (!silent && this.listeners.size === 0)) return;
    try {
      const envs = await this.redis.smembers(this.keys.flagEnvs());
      const present = new Set<string>();
      for (const env of envs) {
        for (const r of await this.snapshot({ env })) {
          const id = `${env}\u0000${scopeToken(r.tenantId)}\u0000${r.key}`;
          present.add(id);
          if (silent) this.known.set(id, Math.max(this.known.get(id) ?? 0, r.version));
          else if (this.known.get(id) !== r.version) this.emit({ env, key: r.key, tenantId: r.tenantId, version: r.version });
        }
      }
      for (const id of [...this.known.keys()]) {
        if (silent || present.has(id)) continue;
        const [env, token, key] = id.split("\u0000") as [string, string, string];
        this.emit({ env, key, tenantId: tokenToScope(token), version: 0 });
      }
    } catch {
      // Redis still down: try again at the next poll.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    this.listeners.clear();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) sub.disconnect();
  }
}
