import { createHash } from "node:crypto";
import type { RedisClient } from "./client.js";

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the node does not have it cached:
 * after a restart, on a new Cluster node, or on a replica promoted by a failover. On a Cluster
 * the NOSCRIPT reply may come from the node a MOVED/ASK redirection led to, and may reach us
 * wrapped in another error, so NOSCRIPT is matched anywhere in the message. Does not touch the
 * app's client (no `defineCommand`, which would add methods to it).
 */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (isNoScript(err)) return await redis.eval(this.source, keys.length, ...keys, ...args);
      throw err;
    }
  }
}

export function isNoScript(err: unknown): boolean {
  const msg = (err as Error | undefined)?.message;
  return typeof msg === "string" && msg.includes("NOSCRIPT");
}
