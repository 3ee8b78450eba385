import { parseInput, type JsonValue } from "@ops/core";
import * as z from "zod";
import { FlagKeySchema, FlagTypeSchema, valueMatchesType } from "./config.js";
import type { FlagType, FlagValueOf } from "./types.js";

/** One flag as the code declares it. */
export interface FlagDefinition<T extends FlagType = FlagType> {
  type: T;
  default: FlagValueOf<T>;
  description?: string;
  owner?: string;
  /** ISO date-time after which the flag is reported by `staleFlags()` as expired. */
  expiresAt?: string;
}

export type FlagDefinitions = Record<string, FlagDefinition>;

/** Keys of `D` whose flags have type `T` (any string when `D` is not a literal definition set). */
export type KeysOfType<D extends FlagDefinitions, T extends FlagType> = string extends keyof D
  ? string
  : { [K in keyof D]: D[K]["type"] extends T ? K : never }[keyof D] & string;

const DefinitionSchema = z
  .object({
    type: FlagTypeSchema,
    default: z.custom<JsonValue>((v) => v !== undefined, "expected a default value"),
    description: z.string().max(2000).optional(),
    owner: z.string().max(200).optional(),
    expiresAt: z.iso.datetime({ offset: true, message: "expected an ISO-8601 date-time" }).optional(),
  })
  .strict()
  .refine((d) => valueMatchesType(d.type, d.default), { message: "expected default to match type", path: ["default"] });

/**
 * Declares the app's flags once, with types: `controller.getBool("new_checkout_flow")` then
 * type-checks the key, and a defined flag missing from the store serves its `default`.
 * @throws ValidationError naming the flag and field when a definition is malformed.
 */
export function defineFlags<const D extends { [K in keyof D]: FlagDefinition }>(defs: D): D {
  for (const [key, def] of Object.entries(defs)) {
    parseInput(FlagKeySchema, key, { pkg: "flags", what: `flag key "${key}"` });
    parseInput(DefinitionSchema, def, { pkg: "flags", what: `definition of flag "${key}"` });
  }
  return Object.freeze(defs);
}
