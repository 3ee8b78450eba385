// Helpers of the scale cases: call counting, service probes, key cleanup.
import { createConnection } from "node:net";
import type { Redis } from "ioredis";

/** Wraps a store so that every method call is counted (`calls.n`). */
export function counted<S extends object>(store: S, calls: { n: number }): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "close") return v;
      return (...args: unknown[]) => {
        calls.n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export function tcpUp(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || defaultPort) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** Deletes every key under `prefix` (the bench's own prefix only). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

export const mb = (bytes: number) => Math.round(bytes / 1048576);
