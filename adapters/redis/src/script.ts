import { createHash, randomUUID } from "node:crypto";
import { groupByNode, mapLimit, type RedisClient } from "./client.js";

/** How long a write's "already applied" marker lives: a resend comes within seconds of a failover. */
export const OP_MARKER_TTL_MS = 30_000;

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the node does not have it cached:
 * after a restart, on a new Cluster node, or on a replica promoted by a failover. On a Cluster
 * the NOSCRIPT reply may come from the node a MOVED/ASK redirection led to, and may reach us
 * wrapped in another error, so NOSCRIPT is matched anywhere in the message. Does not touch the
 * app's client (no `defineCommand`, which would add methods to it).
 *
 * An `idempotent` script takes one more key, last: a marker unique to the call (`opKey`). The
 * script's result is stored there (for `OP_MARKER_TTL_MS`), and a second run with the same marker
 * returns it without running again. ioredis resends a command whose connection closed before the
 * reply (a Cluster failover: the old master may have applied and replicated it), and the resend
 * carries the same arguments, so a write is applied once.
 */
export class LuaScript {
  readonly sha: string;
  readonly source: string;
  constructor(
    body: string,
    readonly options: { idempotent?: boolean } = {},
  ) {
    this.source = options.idempotent
      ? `local __op = KEYS[#KEYS]
local __done = redis.call('GET', __op)
if __done then return cjson.decode(__done) end
local function __body()
${body}
end
local __r = __body()
if type(__r) ~= 'table' or __r.err == nil then redis.call('SET', __op, cjson.encode(__r), 'PX', ${OP_MARKER_TTL_MS}) end
return __r
`
      : body;
    this.sha = createHash("sha1").update(this.source).digest("hex");
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

/** A fresh marker key for one idempotent script call, in the slot of `scope` (a key prefix with a hash tag). */
export function opKey(scope: string): string {
  return `${scope}op:${randomUUID()}`;
}

/**
 * Runs one script for many calls, pipelined per node (one round trip per Cluster master instead of
 * one per call). A call answered NOSCRIPT is run again on its own (EVAL fallback); the first other
 * error is thrown after every group has answered. Results in `calls` order.
 */
export async function runMany(
  redis: RedisClient,
  script: LuaScript,
  calls: ReadonlyArray<{ keys: readonly string[]; args: ReadonlyArray<string | number> }>,
): Promise<unknown[]> {
  const out = new Array<unknown>(calls.length);
  let failure: unknown = null;
  await mapLimit(
    groupByNode(
      redis,
      calls.map((c) => c.keys[0]!),
    ),
    8,
    async (idx) => {
      const pipe = redis.pipeline();
      for (const i of idx) pipe.evalsha(script.sha, calls[i]!.keys.length, ...calls[i]!.keys, ...calls[i]!.args);
      let res: Array<[Error | null, unknown]>;
      try {
        res = ((await pipe.exec()) ?? []) as Array<[Error | null, unknown]>;
      } catch (err) {
        // A pipeline refused as a whole (its slots moved between nodes): one call at a time.
        res = await Promise.all(
          idx.map((i) =>
            script.run(redis, calls[i]!.keys, calls[i]!.args).then(
              (v) => [null, v] as [null, unknown],
              (e: Error) => [e, null] as [Error, null],
            ),
          ),
        );
        void err;
      }
      await Promise.all(
        idx.map(async (i, j) => {
          const [err, value] = res[j] ?? [new Error("missing pipeline reply"), null];
          if (!err) out[i] = value;
          else if (isNoScript(err)) out[i] = await script.run(redis, calls[i]!.keys, calls[i]!.args);
          else failure ??= err;
        }),
      );
    },
  );
  if (failure) throw failure;
  return out;
}

export function isNoScript(err: unknown): boolean {
  const msg = (err as Error | undefined)?.message;
  return typeof msg === "string" && msg.includes("NOSCRIPT");
}
