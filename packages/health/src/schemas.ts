import * as z from "zod";

const fn = (what: string) => z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", `expected ${what} to be a function`);

/** Check names become JSON keys and Prometheus label values: keep them short and plain. */
export const CheckNameSchema = z
  .string()
  .min(1, "expected a non-empty check name")
  .max(100, "expected a check name of at most 100 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/@ ]*$/, "expected a check name of letters, digits and . _ - / @ space (no ':')");

export const TimeoutMsSchema = z
  .number()
  .int("expected an integer number of milliseconds")
  .positive("expected a timeout > 0 ms")
  .max(600_000, "expected a timeout of at most 600000 ms");

export const HealthCheckSchema = z.object({
  name: CheckNameSchema,
  run: fn("run"),
  critical: z.boolean().optional(),
  timeoutMs: TimeoutMsSchema.optional(),
  componentType: z.string().min(1).max(64).optional(),
  measurement: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'expected a measurement name such as "responseTime"')
    .optional(),
});

/** A check function (`async () => ({ name, ok })`) or a `HealthCheck` object. */
export const AnyCheckSchema = z.union([fn("a check"), HealthCheckSchema], {
  error: "expected a check: an async function returning { name, ok } or a { name, run } object",
});
