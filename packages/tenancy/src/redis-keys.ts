import { ValidationError, type TenantKey } from "@ops/core";
import { requireScopeKey } from "./tenant-scope.js";
import { tenantSettingValue } from "./with-tenant.js";

/** What the scan helper needs of an ioredis client. */
export interface RedisScanClient {
  scan(cursor: string, matchToken: "MATCH", pattern: string, countToken: "COUNT", count: number): Promise<[string, string[]]>;
}

/** What the subscribe helper needs of an ioredis client in subscriber mode. */
export interface RedisSubscriber {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  off(event: "message", listener: (channel: string, message: string) => void): unknown;
}

export interface KeyspaceOptions {
  /** First part of every key and channel. Default `ops`. */
  namespace?: string;
  /**
   * Wrap the tenant part in a Redis Cluster hash tag (`ops:{tenant(acme)}:...`), so all of a
   * tenant's keys share a slot and multi-key commands work. Default false.
   */
  hashTag?: boolean;
  /**
   * The ioredis `keyPrefix` of the client the keys are used with. ioredis adds it to keys but not
   * to SCAN/KEYS patterns, and does not strip it from replies: `scan` adds and strips it.
   */
  clientKeyPrefix?: string;
}

const GLOB = /[*?[\]\\]/g;
/** Escapes a literal for a Redis glob (SCAN MATCH, KEYS, PSUBSCRIBE). */
export function escapeRedisGlob(literal: string): string {
  return literal.replace(GLOB, (c) => `\\${c}`);
}

/**
 * One tenant's part of a Redis keyspace: keys, pub/sub channels and SCAN patterns all start with
 * `ops:tenant(<id>):` (global scope: `ops:global:`). The parentheses cannot occur in a tenant id,
 * so tenant `a` never matches the keys of tenant `a:b` — a plain `ops:a:` prefix would.
 */
export class TenantKeyspace {
  readonly tenantId: TenantKey;
  /** Prefix of every key and channel of this tenant. */
  readonly prefix: string;
  private readonly clientPrefix: string;

  /** @throws ValidationError when the tenant id or the namespace is invalid. */
  constructor(tenantId: TenantKey, options: KeyspaceOptions = {}) {
    tenantSettingValue(tenantId);
    const ns = options.namespace ?? "ops";
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ns))
      throw new ValidationError("[ops/tenancy] invalid namespace: expected 1-64 letters, digits, _ . -", [
        { path: "namespace", message: "expected 1-64 letters, digits, _ . -" },
      ]);
    const part = tenantId === null ? "global" : `tenant(${tenantId})`;
    this.tenantId = tenantId;
    this.prefix = options.hashTag ? `${ns}:{${part}}:` : `${ns}:${part}:`;
    this.clientPrefix = options.clientKeyPrefix ?? "";
  }

  /** The full key for `name` (without the client's keyPrefix, which ioredis adds itself). */
  key(name: string): string {
    return this.prefix + name;
  }

  /** The pub/sub channel for `name`. (ioredis keyPrefix does not apply to channels.) */
  channel(name: string): string {
    return this.prefix + name;
  }

  /**
   * A glob for SCAN MATCH / KEYS / PSUBSCRIBE confined to this tenant: the prefix is escaped, so
   * `glob` (default `*`) can only widen inside it. Includes the client's keyPrefix when
   * `forScan` (ioredis does not add it to patterns).
   */
  pattern(glob = "*", forScan = false): string {
    return (forScan ? escapeRedisGlob(this.clientPrefix) : "") + escapeRedisGlob(this.prefix) + glob;
  }

  /** Whether a full key or channel belongs to this tenant. */
  owns(keyOrChannel: string): boolean {
    return keyOrChannel.startsWith(this.prefix);
  }

  /**
   * The name inside this keyspace of a full key or channel.
   * @throws ValidationError when it is not this tenant's.
   */
  strip(keyOrChannel: string): string {
    if (!this.owns(keyOrChannel))
      throw new ValidationError(`[ops/tenancy] invalid key: expected a key of this tenant (prefix ${this.prefix})`, [
        { path: "key", message: `expected the prefix ${this.prefix}` },
      ]);
    return keyOrChannel.slice(this.prefix.length);
  }

  /**
   * Iterates this tenant's keys matching `glob` with SCAN (never KEYS), yielding names inside the
   * keyspace (client keyPrefix and tenant prefix stripped). Keys of other tenants are never
   * yielded, whatever `glob` says.
   */
  async *scan(redis: RedisScanClient, glob = "*", count = 500): AsyncGenerator<string> {
    const match = this.pattern(glob, true);
    const full = this.clientPrefix + this.prefix;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", count);
      cursor = next;
      for (const k of keys) if (k.startsWith(full)) yield k.slice(full.length);
    } while (cursor !== "0");
  }

  /**
   * Subscribes `sub` to this tenant's channel `name`; `listener` gets only messages of exactly
   * that channel. Returns an unsubscribe function.
   */
  async subscribe(sub: RedisSubscriber, name: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const channel = this.channel(name);
    const onMessage = (ch: string, message: string) => {
      if (ch === channel) listener(message);
    };
    sub.on("message", onMessage);
    await sub.subscribe(channel);
    return async () => {
      sub.off("message", onMessage);
      await sub.unsubscribe(channel);
    };
  }
}

/** The keyspace of a tenant (`null`: the global keyspace). */
export function tenantKeyspace(tenantId: TenantKey, options: KeyspaceOptions = {}): TenantKeyspace {
  return new TenantKeyspace(tenantId, options);
}

/**
 * The keyspace of the current scope.
 * @throws TenantIsolationError outside any scope.
 */
export function currentKeyspace(options: KeyspaceOptions = {}): TenantKeyspace {
  return new TenantKeyspace(requireScopeKey(), options);
}

/**
 * The tenant a full key or channel belongs to (`null`: global), or undefined when it is not in
 * `namespace`: lets one pattern subscriber route messages to their tenants.
 */
export function tenantOfKey(keyOrChannel: string, options: Pick<KeyspaceOptions, "namespace" | "hashTag"> = {}): TenantKey | undefined {
  const ns = options.namespace ?? "ops";
  const rest = keyOrChannel.startsWith(`${ns}:`) ? keyOrChannel.slice(ns.length + 1) : undefined;
  if (rest === undefined) return undefined;
  const open = options.hashTag ? "{" : "";
  const close = options.hashTag ? "}" : "";
  if (rest.startsWith(`${open}global${close}:`)) return null;
  const m = (options.hashTag ? /^\{tenant\(([A-Za-z0-9._:-]+)\)\}:/ : /^tenant\(([A-Za-z0-9._:-]+)\):/).exec(rest);
  return m ? m[1] : undefined;
}
