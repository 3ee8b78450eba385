import { EnvironmentSchema, parseInput, systemClock, type Clock } from "@ops/core";
import * as z from "zod";
import { executeChecks, DEFAULT_CHECK_TIMEOUT_MS } from "./run-checks.js";
import { AnyCheckSchema, TimeoutMsSchema } from "./schemas.js";
import type { CheckContext, CheckOutcome, HealthCheck, HealthReport, SeedCheck } from "./types.js";

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
 * The seed's API: runs `checks` in parallel, each under a timeout, and returns
 * `{ ok, checks, tsISO }` (plus `status`, `env`, `durationMs`). A check is the seed's
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
  const parsedChecks = parseInput(z.array(AnyCheckSchema, { error: "expected an array of checks" }), checks, where);
  const opts = parseInput(OptionsSchema, options, { pkg: "health", what: "runHealthChecks options" }) ?? {};
  const names: (string | undefined)[] = [];
  const normalized = parsedChecks.map((c, i) => (typeof c === "function" ? fromSeed(c as SeedCheck, i, names) : (c as HealthCheck)));
  const report = await executeChecks(normalized, {
    clock: opts.clock ?? systemClock,
    defaultTimeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
    secrets: opts.secrets ?? [],
  });
  report.checks.forEach((r, i) => {
    const reported = names[i];
    if (reported !== undefined) r.name = r.key = reported;
  });
  report.env = env;
  return report;
}

/** A seed check names itself in its result, so its name is known only once it returns. */
function fromSeed(fn: SeedCheck, index: number, names: (string | undefined)[]): HealthCheck {
  return {
    // Until it answers (or if it hangs or throws) a name from its source, else its position.
    name: guessName(fn) ?? `check-${index + 1}`,
    run: async (ctx: CheckContext): Promise<CheckOutcome> => {
      const out = await fn(ctx);
      if (out && typeof out === "object" && typeof out.name === "string" && out.name.length > 0) names[index] = out.name;
      const { name: _name, ...rest } = out ?? ({} as CheckOutcome & { name: string });
      if (rest.ok === undefined && rest.status === undefined) return { ...rest, status: "fail", message: "check returned no ok or status" };
      return rest;
    },
  };
}

const NAME_LITERAL = /\bname\s*:\s*(["'`])([A-Za-z0-9][A-Za-z0-9._\-/@ ]{0,99})\1/;

/**
 * The seed's checks are anonymous arrows whose only name is the `name: "..."` literal they
 * return; reading it from the source lets a check that hangs or throws still be reported under
 * its own name. Falls back to the function's name.
 */
function guessName(fn: SeedCheck): string | undefined {
  const m = NAME_LITERAL.exec(Function.prototype.toString.call(fn));
  return m?.[2] ?? (fn.name || undefined);
}
