import type { ChainableCommander, Cluster, Redis } from "ioredis";

/** The app's ioredis client: a single server (or Sentinel) connection, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/**
 * The client's `keyPrefix` (ioredis prepends it to every key argument, but not to SCAN patterns
 * nor to keys a Lua script builds itself), or "".
 */
export function clientKeyPrefix(redis: RedisClient): string {
  const o = (redis as { options?: { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } }).options;
  return o?.keyPrefix ?? o?.redisOptions?.keyPrefix ?? "";
}

/** The `{...}` hash tag of a key (what Redis Cluster hashes), or the whole key when it has none. */
export function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** CRC16/XMODEM, the hash Redis Cluster maps keys to slots with. */
function crc16(s: string): number {
  let crc = 0;
  for (const b of Buffer.from(s)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a key (as Redis computes it, hash tags included). */
export function keySlot(key: string): number {
  return crc16(hashTag(key)) % 16384;
}

/**
 * Groups keys for pipelining: on a single server one group; on a Cluster one group per master
 * (by the client's slot map; a key whose slot is not known yet gets a group of its own hash tag).
 * A pipeline of one group then costs one round trip to one node.
 */
export function groupByNode(redis: RedisClient, keys: readonly string[]): number[][] {
  if (!isCluster(redis)) return [keys.map((_, i) => i)];
  const prefix = clientKeyPrefix(redis);
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const node = redis.slots[keySlot(prefix + k)]?.[0] ?? `tag:${hashTag(prefix + k)}`;
    const g = groups.get(node);
    if (g) g.push(i);
    else groups.set(node, [i]);
  });
  return [...groups.values()];
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** How many per-slot pipelines one call keeps in flight on a Cluster. */
const SLOT_PARALLELISM = 16;

/**
 * Sends one command per key, pipelined: one pipeline on a single server; on a Cluster one pipeline
 * per master (all keys of a pipeline must live on one node there), a bounded number in flight; a
 * pipeline refused because its slots moved (a failover, a resharding) is sent again one pipeline
 * per hash tag. Results come back in `keys` order; a command's error reply is thrown.
 */
export async function pipelinePerSlot(
  redis: RedisClient,
  keys: readonly string[],
  add: (pipe: ChainableCommander, key: string, index: number) => void,
): Promise<unknown[]> {
  if (keys.length === 0) return [];
  const out = new Array<unknown>(keys.length);
  const send = async (idx: number[]) => {
    const pipe = redis.pipeline();
    for (const i of idx) add(pipe, keys[i]!, i);
    const res = (await pipe.exec()) ?? [];
    idx.forEach((i, j) => {
      const [err, value] = res[j] ?? [new Error("missing pipeline reply"), null];
      if (err) throw err;
      out[i] = value;
    });
  };
  await mapLimit(groupByNode(redis, keys), SLOT_PARALLELISM, async (idx) => {
    try {
      await send(idx);
    } catch (err) {
      if (!/slots allocation group|same slot/.test((err as Error)?.message ?? "")) throw err;
      const byTag = new Map<string, number[]>();
      for (const i of idx) {
        const tag = hashTag(keys[i]!);
        byTag.set(tag, [...(byTag.get(tag) ?? []), i]);
      }
      for (const g of byTag.values()) await send(g);
    }
  });
  return out;
}

/**
 * Every key matching `pattern` (a pattern of ours, without the client's `keyPrefix`, which this
 * adds: ioredis does not apply it to SCAN patterns). On a Cluster, SCAN runs on every master
 * (a plain SCAN visits one node only). Returned keys carry the client's `keyPrefix`.
 */
export async function scanKeys(redis: RedisClient, pattern: string, count = 1000): Promise<string[]> {
  const match = clientKeyPrefix(redis) + pattern;
  const nodes: Redis[] = isCluster(redis) ? redis.nodes("master") : [redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", match, "COUNT", count);
      cursor = next;
      for (const k of keys) found.add(k);
    } while (cursor !== "0");
  }
  return [...found];
}
