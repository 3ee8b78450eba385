import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not have it cached
 * (NOSCRIPT after a restart or on a new cluster node). Does not touch the app's client
 * (no `defineCommand`, which would add methods to it).
 */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if ((err as Error)?.message?.startsWith("NOSCRIPT")) return await redis.eval(this.source, keys.length, ...keys, ...args);
      throw err;
    }
  }
}
