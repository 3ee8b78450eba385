import type { TenantKey } from "@ops/core";

/**
 * Key layout. Every key of a tenant starts with `<prefix>:{t:<tenant>}:` (global records with
 * `<prefix>:{g}:`), so:
 * - the `{...}` hash tag puts all of one tenant's keys in one Redis Cluster slot, which every
 *   multi-key script needs;
 * - `SCAN MATCH <prefix>:{t:<tenant>}:*` finds exactly one tenant's keys (tenant ids cannot
 *   contain `*`, `?`, `[`, `{` or `}`: see `TenantIdSchema`), which ioredis' `keyPrefix` does
 *   not give you for SCAN patterns;
 * - pub/sub channels follow the same rule (`<prefix>:{t:<tenant>}:chan:...`).
 * Cross-tenant indexes (which tenants have flag overrides, incident ids, ...) are sharded over
 * `INDEX_SHARDS` hash tags (`<prefix>:{idx:<name>:<n>}:<name>`, n from a hash of the member), so
 * on a Cluster they spread over the masters instead of making one slot hot.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(prefix))
      throw new RangeError(`[ops/adapter-redis] invalid prefix "${prefix}": expected 1-64 of letters, digits, . _ : -`);
  }

  /** `<prefix>:{t:<tenant>}` or `<prefix>:{g}`. */
  scope(tenantId: TenantKey): string {
    return tenantId === null ? `${this.prefix}:{g}` : `${this.prefix}:{t:${tenantId}}`;
  }

  /** The SCAN pattern that matches every key of one tenant and nothing else. */
  scanPattern(tenantId: TenantKey): string {
    return `${this.scope(tenantId)}:*`;
  }

  /** An unsharded cross-tenant key (small, rarely written sets such as the list of environments). */
  index(name: string): string {
    return `${this.prefix}:{idx}:${name}`;
  }

  /** The shard of a sharded index that holds `member`. */
  indexShard(name: string, member: string): string {
    return this.indexShardAt(name, shardOf(member, INDEX_SHARDS));
  }

  indexShardAt(name: string, n: number): string {
    return `${this.prefix}:{idx:${name}:${n}}:${name}`;
  }

  /** Every shard of a sharded index, in shard order. */
  indexShards(name: string): string[] {
    return Array.from({ length: INDEX_SHARDS }, (_, n) => this.indexShardAt(name, n));
  }

  /** Hash of a scope's flag records in one env: field = flag key, value = record JSON. */
  flagHash(env: string, tenantId: TenantKey): string {
    return `${this.scope(tenantId)}:flags:${env}`;
  }

  /** Sorted set (all scores 0) of a scope's flag keys in one env, for keyset paging by key. */
  flagIndex(env: string, tenantId: TenantKey): string {
    return `${this.scope(tenantId)}:flagkeys:${env}`;
  }

  /** Sharded set of tenants (and "~g" for global) that have flag records in an env: the shard of `token`. */
  flagScopes(env: string, token: string): string {
    return this.indexShard(`flagscopes:${env}`, token);
  }

  /** Every shard of an env's flag scope set. */
  allFlagScopes(env: string): string[] {
    return this.indexShards(`flagscopes:${env}`);
  }

  flagEnvs(): string {
    return this.index("flagenvs");
  }

  /** One channel per scope: a subscriber of one tenant hears only that tenant. */
  flagChannel(tenantId: TenantKey): string {
    return `${this.scope(tenantId)}:chan:flags`;
  }

  /** Pattern matching every scope's flag channel (a server-side evaluator serving all tenants). */
  flagChannelPattern(): string {
    return `${this.prefix}:{*}:chan:flags`;
  }

  counter(tenantId: TenantKey, key: string, bucketMs: number, startMs: number): string {
    return `${this.scope(tenantId)}:ctr:${bucketMs}:${startMs}:${key}`;
  }

  /**
   * Set of the scopes (tenants, "~g") that touched counter `key` in one bucket, one of several
   * shards. The hash tag is per bucket size and shard: the shards spread over the cluster's slots,
   * while the sets of one shard share a slot, so one SUNION reads a whole window of that shard.
   */
  counterTouched(bucketMs: number, shard: number, startMs: number, key: string): string {
    return `${this.prefix}:{ctrx:${bucketMs}:${shard}}:touched:${startMs}:${key}`;
  }
}

/** Shards of each cross-tenant index. Part of the key layout: changing it strands existing entries. */
export const INDEX_SHARDS = 16;

/** A stable shard number in [0, n) for a string (FNV-1a 32-bit). */
export function shardOf(s: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

export const GLOBAL_SCOPE = "~g";

export function scopeToken(tenantId: TenantKey): string {
  return tenantId === null ? GLOBAL_SCOPE : tenantId;
}

export function tokenToScope(token: string): TenantKey {
  return token === GLOBAL_SCOPE ? null : token;
}
