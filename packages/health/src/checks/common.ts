import { parseInput, ValidationError } from "@ops/core";
import * as z from "zod";
import { CheckNameSchema, TimeoutMsSchema } from "../schemas.js";

/** Options every built-in check takes. */
export interface BaseCheckOptions {
  /** Component name (the key in health+json). */
  name?: string;
  /** Default true: a failure fails the report. False: a failure only degrades it (warn). */
  critical?: boolean;
  timeoutMs?: number;
}

export const BaseCheckOptionsShape = {
  name: CheckNameSchema.optional(),
  critical: z.boolean().optional(),
  timeoutMs: TimeoutMsSchema.optional(),
};

/** Validates a built-in check's options. @throws ValidationError */
export function parseCheckOptions<S extends z.ZodType>(schema: S, input: unknown, check: string): z.output<S> {
  return parseInput(schema, input ?? {}, { pkg: "health", what: `${check} options` });
}

/** Milliseconds since `started` (a `performance.now()`), rounded to 0.001. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** Rejects with the signal's reason as soon as it aborts; used to stop waiting on APIs that take no signal. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** pass, or warn when `value` is above `warnAbove`. */
export function latencyStatus(value: number, warnAbove: number | undefined): "pass" | "warn" {
  return warnAbove !== undefined && value > warnAbove ? "warn" : "pass";
}

/** "<what> in 1.9 ms", with the threshold when slow. */
export function latencyMessage(what: string, ms: number, warnAbove: number | undefined): string {
  return warnAbove !== undefined && ms > warnAbove ? `${what} in ${ms} ms (slow: above ${warnAbove} ms)` : `${what} in ${ms} ms`;
}

/** The error for a bad positional argument (a client that lacks the method a check calls). */
export function invalidArgument(fn: string, field: string, expected: string): ValidationError {
  return new ValidationError(`[ops/health] invalid ${fn} input: ${field}: ${expected}`, [{ path: field, message: expected }]);
}
