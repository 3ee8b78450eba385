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
});

/**
 * Validates the addressing fields of a FlagStore read at the boundary (writes are checked by the
 * contract guard of @ops/core, installed in the constructor). @throws ValidationError
 */
export function validateFlagAddress(input: object, method: string): void {
  parseInput(AddressSchema, input, { pkg: "adapter-redis", what: `FlagStore.${method} input` });
}
