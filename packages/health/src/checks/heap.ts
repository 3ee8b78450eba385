import { getHeapStatistics } from "node:v8";
import * as z from "zod";
import type { HealthCheck } from "../types.js";
import { BaseCheckOptionsShape, parseCheckOptions, type BaseCheckOptions } from "./common.js";

export interface HeapCheckOptions extends BaseCheckOptions {
  /** Warn when used heap exceeds this share of the heap limit (0..1). Default 0.85. */
  warnRatio?: number;
  /** Fail when it exceeds this share. Default 0.95. */
  failRatio?: number;
}

const Ratio = z.number().gt(0, "expected a ratio in (0, 1]").max(1, "expected a ratio in (0, 1]");
const OptionsSchema = z
  .object({ ...BaseCheckOptionsShape, warnRatio: Ratio.optional(), failRatio: Ratio.optional() })
  .refine((o) => (o.warnRatio ?? 0.85) <= (o.failRatio ?? 0.95), { message: "expected warnRatio <= failRatio", path: ["warnRatio"] });

/**
 * V8 heap use as a percentage of the heap limit (`--max-old-space-size`); bytes in `details`.
 * @throws ValidationError on bad options
 */
export function heapCheck(options?: HeapCheckOptions): HealthCheck {
  const opts = parseCheckOptions(OptionsSchema, options, "heapCheck");
  const warn = opts.warnRatio ?? 0.85;
  const fail = opts.failRatio ?? 0.95;
  const check: HealthCheck = {
    name: opts.name ?? "memory",
    componentType: "system",
    measurement: "heapUsed",
    run: () => {
      const s = getHeapStatistics();
      const ratio = s.used_heap_size / s.heap_size_limit;
      const percent = Math.round(ratio * 10_000) / 100;
      const status = ratio > fail ? "fail" : ratio > warn ? "warn" : "pass";
      return {
        status,
        observedValue: percent,
        observedUnit: "percent",
        details: { usedBytes: s.used_heap_size, limitBytes: s.heap_size_limit },
        message: `heap ${percent}% of its limit used`,
      };
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}
