import * as z from "zod";
import type { HealthCheck } from "../types.js";
import {
  BaseCheckOptionsShape,
  elapsedMs,
  invalidArgument,
  latencyMessage,
  latencyStatus,
  parseCheckOptions,
  type BaseCheckOptions,
} from "./common.js";

/** An ioredis client (or node-redis, or anything with `ping()`). */
export interface RedisPingable {
  ping(): Promise<string>;
  /** ioredis connection state ("ready", "reconnecting", "end"...). */
  status?: string;
}

export interface RedisCheckOptions extends BaseCheckOptions {
  /** Report warn (degraded) when PING takes longer than this many ms. */
  warnAboveMs?: number;
}

const OptionsSchema = z.object({
  ...BaseCheckOptionsShape,
  warnAboveMs: z.number().positive("expected warnAboveMs > 0").optional(),
});

// ioredis queues commands while it reconnects, so a PING would only fail at the check's
// timeout; in these states it cannot answer now, so say so at once.
const DOWN_STATES = new Set(["reconnecting", "end", "close"]);

/**
 * Redis `PING`, expecting `PONG`; latency in `observedValue` (ms).
 * @throws ValidationError on bad options or when `client` has no `ping()`
 */
export function redisCheck(client: RedisPingable, options?: RedisCheckOptions): HealthCheck {
  if (typeof client?.ping !== "function") throw invalidArgument("redisCheck", "client", "expected a Redis client with ping()");
  const opts = parseCheckOptions(OptionsSchema, options, "redisCheck");
  const check: HealthCheck = {
    name: opts.name ?? "redis",
    componentType: "datastore",
    measurement: "responseTime",
    run: async () => {
      if (typeof client.status === "string" && DOWN_STATES.has(client.status))
        return { status: "fail", message: `redis connection is ${client.status}` };
      const started = performance.now();
      const reply = await client.ping();
      const ms = elapsedMs(started);
      if (reply !== "PONG") return { status: "fail", message: "unexpected PING reply", observedValue: ms, observedUnit: "ms" };
      return {
        status: latencyStatus(ms, opts.warnAboveMs),
        message: latencyMessage("PONG", ms, opts.warnAboveMs),
        observedValue: ms,
        observedUnit: "ms",
      };
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}
