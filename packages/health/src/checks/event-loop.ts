import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
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
 * run (sampled every 10 ms by `perf_hooks.monitorEventLoopDelay`), with p99 and mean in `details`.
 * The sampler starts at creation and stops with `close()` (createHealth closes the ones it made).
 * @throws ValidationError on bad options
 */
export function eventLoopCheck(options?: EventLoopCheckOptions): ClosableHealthCheck {
  const opts = parseCheckOptions(OptionsSchema, options, "eventLoopCheck");
  const warnMs = opts.warnMs ?? 200;
  const failMs = opts.failMs ?? 1000;
  let histogram: IntervalHistogram | undefined;
  const sampler = () => {
    if (!histogram) {
      histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
    }
    return histogram;
  };
  sampler();
  const check: ClosableHealthCheck = {
    name: opts.name ?? "eventloop",
    componentType: "system",
    measurement: "delay",
    run: () => {
      const h = sampler();
      // No sample yet (checked right after start): nothing has been delayed.
      const maxMs = h.count > 0 ? round(h.max / 1e6) : 0;
      const details = { p99Ms: h.count > 0 ? round(h.percentile(99) / 1e6) : 0, meanMs: h.count > 0 ? round(h.mean / 1e6) : 0 };
      h.reset();
      const status = maxMs > failMs ? "fail" : maxMs > warnMs ? "warn" : "pass";
      return {
        status,
        observedValue: maxMs,
        observedUnit: "ms",
        details,
        ...(status === "pass" ? {} : { message: `event loop delayed ${maxMs} ms (${status} above ${status === "fail" ? failMs : warnMs} ms)` }),
      };
    },
    close: () => {
      histogram?.disable();
      histogram = undefined;
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
