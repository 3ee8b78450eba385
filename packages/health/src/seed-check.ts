import type { CheckContext, CheckOutcome, HealthCheck, SeedCheck } from "./types.js";

const NAME_LITERAL = /\bname\s*:\s*(["'`])([A-Za-z0-9][A-Za-z0-9._\-/@ ]{0,99})\1/;

/**
 * Turns a check function `async () => ({ name, ok })` into a `HealthCheck`. Such a check names itself
 * in its result, so the name is only certain once it returns: until then (or when it hangs or
 * throws) the `name: "..."` literal in its source is used, else its function name, else
 * `check-<position>`. Each answer renames the check, so results carry the name it reported.
 */
export function fromSeedCheck(fn: SeedCheck, index: number): HealthCheck {
  const check: HealthCheck = {
    name: guessName(fn) ?? `check-${index + 1}`,
    run: async (ctx: CheckContext): Promise<CheckOutcome> => {
      const out: unknown = await fn(ctx);
      if (typeof out !== "object" || out === null) return { status: "fail", message: "check returned no { name, ok } object" };
      const { name, ...rest } = out as CheckOutcome & { name?: unknown };
      if (typeof name === "string" && name.length > 0) check.name = name;
      if (rest.ok === undefined && rest.status === undefined) return { ...rest, status: "fail", message: "check returned no ok or status" };
      return rest;
    },
  };
  return check;
}

/** Seed functions become `HealthCheck`s; `HealthCheck` objects pass through unchanged. */
export function toHealthChecks(checks: ReadonlyArray<SeedCheck | HealthCheck>): HealthCheck[] {
  return checks.map((c, i) => (typeof c === "function" ? fromSeedCheck(c, i) : c));
}

function guessName(fn: SeedCheck): string | undefined {
  const m = NAME_LITERAL.exec(Function.prototype.toString.call(fn));
  return m?.[2] ?? (fn.name || undefined);
}
