import { ConflictError, NotFoundError, OpsError, UnavailableError, ValidationError } from "@ops/core";

/**
 * The one place Redis and ioredis errors become @ops errors.
 * - Our Lua scripts signal outcomes with error replies `OPS_CONFLICT ...` / `OPS_NOTFOUND ...`.
 * - Anything that is not a Redis reply (refused or lost connection, the offline queue closed,
 *   ioredis giving up after `maxRetriesPerRequest`) is `UnavailableError`: retryable, state unknown
 *   only for writes that were in flight.
 * - Other error replies (WRONGTYPE, OOM, ...) stay visible as the cause of an UnavailableError
 *   when they mean the server cannot serve (LOADING, BUSY, MASTERDOWN, READONLY), else they are
 *   rethrown as-is (a bug of ours, not the user's input).
 */
export function mapRedisError(err: unknown, what: string): Error {
  if (err instanceof OpsError) return err;
  const e = err as { name?: string; message?: string; code?: string };
  const msg = typeof e?.message === "string" ? e.message : String(err);
  if (e?.name === "ReplyError") {
    if (msg.startsWith("OPS_CONFLICT")) return new ConflictError(`[ops/adapter-redis] ${what}: ${msg.slice(13)}`, { cause: err });
    if (msg.startsWith("OPS_NOTFOUND")) return new NotFoundError(`[ops/adapter-redis] ${what}: ${msg.slice(13)}`, { cause: err });
    if (msg.startsWith("OPS_INVALID")) return new ValidationError(`[ops/adapter-redis] ${what}: ${msg.slice(12)}`, [], { cause: err });
    if (/^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)/.test(msg))
      return new UnavailableError(`[ops/adapter-redis] ${what}: Redis cannot serve (${msg.split(" ")[0]})`, { cause: err });
    return err as Error;
  }
  return new UnavailableError(`[ops/adapter-redis] ${what}: Redis is unavailable (${e?.code ?? e?.name ?? "error"})`, {
    cause: err,
  });
}
