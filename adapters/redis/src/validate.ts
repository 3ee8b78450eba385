import * as z from "zod";
import { EnvironmentSchema, TenantIdSchema, parseInput } from "@ops/core";

const FlagKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:$-]+$/, "expected 1-200 of letters, digits and _ . : $ -");

const AddressSchema = z.object({
  env: EnvironmentSchema,
  key: FlagKeySchema.optional(),
  tenantId: TenantIdSchema.nullable().optional(),
  actor: z.string().min(1, "expected a non-empty actor").max(256).optional(),
  expectedVersion: z.number().int().min(0).nullable().optional(),
});

/** Validates the addressing fields of a FlagStore call at the boundary. @throws ValidationError */
export function validateFlagAddress(input: object, method: string, write = false): void {
  parseInput(AddressSchema, input, { pkg: "adapter-redis", what: `FlagStore.${method} input` });
  if (write && method === "put" && typeof (input as { actor?: unknown }).actor !== "string")
    parseInput(z.object({ actor: z.string().min(1) }), input, { pkg: "adapter-redis", what: "FlagStore.put input" });
}
