import { EnvironmentSchema, parseInput, systemClock, type Clock } from "@ops/core";
import * as z from "zod";
import { executeChecks, DEFAULT_CHECK_TIMEOUT_MS } from "./run-checks.js";
import { AnyCheckSchema, TimeoutMsSchema } from "./schemas.js";
import { toHealthChecks } from "./seed-check.js";
import type { HealthCheck, HealthReport, SeedCheck } from "./types.js";

export interface RunHealthChecksOptions {
  /** Per-check timeout for checks that set none. Default 2000 ms. */
  timeoutMs?: number;
  /** Literal secrets (a password, a token) to redact from messages. */
  secrets?: string[];
  clock?: Clock;
}

const OptionsSchema = z
  .object({
    timeoutMs: TimeoutMsSchema.optional(),
    secrets: z.array(z.string()).optional(),
    clock: z.custom<Clock>((v) => typeof (v as Clock | undefined)?.now === "function", "expected a Clock").optional(),
  })
  .optional();

/**
 * Runs `checks` in parallel, each under a timeout, and returns `{ ok, checks, tsISO }` (plus
 * `status`, `env`, `durationMs`): the simplest way to check health. A check is a function
 * `async () => ({ name, ok })` or a `HealthCheck` object. Never rejects because of a check:
 * throwing or hanging checks are reported as failed.
 * @throws ValidationError when `env`, `checks` or `options` are malformed (before any check runs)
 */
export async function runHealthChecks(
  env: string,
  checks: ReadonlyArray<SeedCheck | HealthCheck>,
  options?: RunHealthChecksOptions,
): Promise<HealthReport> {
  const where = { pkg: "health", what: "runHealthChecks input" };
  parseInput(EnvironmentSchema, env, { pkg: "health", what: "runHealthChecks env" });
  parseInput(z.array(AnyCheckSchema, { error: "expected an array of checks" }), checks, where);
  const opts = parseInput(OptionsSchema, options, { pkg: "health", what: "runHealthChecks options" }) ?? {};
  // The caller's objects, not zod's copies: checks may carry state.
  const report = await executeChecks(toHealthChecks(checks), {
    clock: opts.clock ?? systemClock,
    defaultTimeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
    secrets: opts.secrets ?? [],
  });
  report.env = env;
  return report;
}
