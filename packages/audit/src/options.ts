import * as z from "zod";
import { ConfigError, EnvironmentSchema, issuesFromZod } from "@ops/core";

const fn = (what: string) => z.custom<(...a: never[]) => unknown>((v) => typeof v === "function", { message: `expected ${what}` });
const hasMethods = (...names: string[]) =>
  z.custom<object>(
    (v) => typeof v === "object" && v !== null && names.every((n) => typeof (v as Record<string, unknown>)[n] === "function"),
    {
      message: `expected an object with ${names.join(", ")}`,
    },
  );

const OptionsSchema = z.object({
  store: hasMethods("append", "head", "range", "query", "chains"),
  clock: hasMethods("now", "date").optional(),
  env: EnvironmentSchema.optional(),
  actions: hasMethods("has").optional(),
  maxMetaBytes: z.number().int().min(256, "expected at least 256").max(1_048_576, "expected at most 1 MiB").optional(),
  redact: z.union([z.boolean(), z.object({ maxDepth: z.number().int().min(1).max(64).optional() }).loose()]).optional(),
  buffer: z
    .object({
      maxQueue: z.number().int().min(1, "expected a positive integer").optional(),
      maxBatch: z.number().int().min(1, "expected 1..10000").max(10_000, "expected 1..10000 (the AuditStore limit per append)").optional(),
      lingerMs: z.number().min(0).max(60_000).optional(),
      overflow: z.enum(["block", "reject", "drop"], { message: 'expected "block", "reject" or "drop"' }).optional(),
      onDrop: fn("a function").optional(),
      onError: fn("a function").optional(),
    })
    .optional(),
  maxAttempts: z.number().int().min(1, "expected a positive integer").optional(),
  keys: hasMethods("getOrCreate", "get", "destroy").optional(),
  personalFields: z
    .array(
      z
        .string()
        .max(512)
        .regex(
          /^(actor\.(ip|userAgent)|reason|target\.name|subject\.type|meta(\.(?!\*\*)[^.]+)*\.\*\*\.[^.*]+|meta(\.(?!\*\*)[^.]+)+)$/,
          "expected actor.ip, actor.userAgent, reason, target.name, subject.type, meta.<key>[.<key>...] or meta.**.<key>",
        ),
    )
    .optional(),
  checkpoints: z
    .object({
      privateKey: z.unknown(),
      sinks: z.array(hasMethods("write")),
      everyMs: z.number().int().min(1, "expected a positive number of milliseconds").optional(),
      onError: fn("a function").optional(),
    })
    .optional(),
  publicKey: z.unknown().optional(),
});

/**
 * Checks `createAuditLog` options once, at start-up.
 * @throws ConfigError naming each bad option.
 */
export function checkLogOptions(options: unknown): void {
  const result = OptionsSchema.safeParse(options);
  if (result.success) return;
  const issues = issuesFromZod(result.error);
  throw new ConfigError(
    `[ops/audit] invalid createAuditLog options: ${issues.map((i) => `${i.path || "(options)"}: ${i.message}`).join("; ")}`,
    issues,
  );
}
