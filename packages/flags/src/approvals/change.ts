import * as z from "zod";
import { JsonValueSchema, TenantIdSchema, type JsonValue, type TenantKey } from "@ops/core";
import { FlagPatchSchema, RolloutSchema, RuleSchema } from "../config.js";

/** A change to one flag, as an author proposes it. */
export const FlagChangeSchema = z.discriminatedUnion("kind", [
  /** The flag's value (no tenantId) or a tenant's override. */
  z.object({ kind: z.literal("set"), value: JsonValueSchema, tenantId: TenantIdSchema.nullable().optional() }).strict(),
  z.object({ kind: z.literal("update"), patch: FlagPatchSchema }).strict(),
  /** The kill switch. */
  z.object({ kind: z.literal("enable"), enabled: z.boolean() }).strict(),
  z.object({ kind: z.literal("rules"), rules: z.array(RuleSchema).max(200) }).strict(),
  z.object({ kind: z.literal("rollout"), rollout: RolloutSchema.nullable() }).strict(),
  z.object({ kind: z.literal("clearOverride"), tenantId: TenantIdSchema }).strict(),
  /** Deletes the flag in the environment, and every tenant override of it. */
  z.object({ kind: z.literal("delete") }).strict(),
]);
export type FlagChange = z.input<typeof FlagChangeSchema>;

/** What a change would write: the record it targets, at which version, and the next config (null deletes). */
export interface PlannedChange {
  key: string;
  tenantId: TenantKey;
  baseVersion: number | null;
  config: JsonValue | null;
  /** The audit operation name (`set`, `update`, `disable`, `rules`, `delete`...). */
  op: "set" | "update" | "enable" | "disable" | "rules" | "rollout" | "clear" | "delete";
}
