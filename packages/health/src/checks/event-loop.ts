import * as z from "zod";
import type { HealthCheck } from "../types.js";
import { BaseCheckOptionsShape, parseCheckOptions, type BaseCheckOptions } from "./common.js";

export interface EventLoopCheckOptions extends BaseCheckOptions {
  /** Warn when the longest event-loop delay since the last run exceeds this (ms). Default 200. */
  warnMs?: number;
  /** Fail when it exceeds this (ms): the loop stalled. Default 1000. */
  failMs?: number;
}

/** A check that owns a sampler; `close()` stops it. */
export interface ClosableHealthCheck extends HealthCheck {
  close(): void;
}

const OptionsSchema = z
  .object({
    ...BaseCheckOptionsShape,
    warnMs: z.number().positive("expected warnMs > 0").optional(),
    failMs: z.number().positive("expected failMs > 0").optional(),
  })
  .refine((o) => (o.warnMs ?? 200) <= (o.failMs ?? 1000), { message: "expected warnMs <= failMs", path: ["warnMs"] });

/**
 * Event-loop delay, the liveness signal: the longest delay (ms) the loop showed since the previous
 * run, measured by a 20 ms unref'd timer's lateness (including a stall that has just ended and
 * not been sampled yet). `perf_hooks.monitorEventLoopDelay` is not used: after `reset()` it drops
 * the first late tick, which is exactly the stall a liveness probe must see.
 * The sampler starts at creation and stops with `close()` (createHealth closes the ones it made).
 * @throws ValidationError on bad options
 */
export function eventLoopCheck(options?: EventLoopCheckOptions): ClosableHealthCheck {
  const opts = parseCheckOptions(OptionsSchema, options, "eventLoopCheck");
  const warnMs = opts.warnMs ?? 200;
  const failMs = opts.failMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let last = performance.now();
  let maxLag = 0;
  let windowStart = last;
  const sample = () => {
    const now = performance.now();
    const lag = now - last - RESOLUTION_MS;
    if (lag > maxLag) maxLag = lag;
    last = now;
  };
  const start = () => {
    if (timer) return;
    last = windowStart = performance.now();
    timer = setInterval(sample, RESOLUTION_MS);
    timer.unref();
  };
  start();
  const check: ClosableHealthCheck = {
    name: opts.name ?? "eventloop",
    componentType: "system",
    measurement: "delay",
    run: () => {
      start();
      // A stall that ended just now has not reached the timer yet: count the pending lateness too.
      const now = performance.now();
      const pending = now - last - RESOLUTION_MS;
      const maxMs = round(Math.max(0, maxLag, pending));
      const windowMs = round(now - windowStart);
      maxLag = 0;
      windowStart = now;
      if (pending > 0) last = now - RESOLUTION_MS;
      const status = maxMs > failMs ? "fail" : maxMs > warnMs ? "warn" : "pass";
      return {
        status,
        observedValue: maxMs,
        observedUnit: "ms",
        details: { windowMs },
        message:
          status === "pass"
            ? `longest event-loop delay ${maxMs} ms`
            : `event loop delayed ${maxMs} ms (${status} above ${status === "fail" ? failMs : warnMs} ms)`,
      };
    },
    close: () => {
      clearInterval(timer);
      timer = undefined;
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}

const RESOLUTION_MS = 20;

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
