import * as z from "zod";
import { isStorableText, JsonValueSchema, storableJson, TenantIdSchema, UNSTORABLE_MESSAGE } from "@ops/core";
import { FlagKeySchema, FlagPatchSchema, RolloutSchema, RuleSchema, SegmentConfigSchema } from "./config.js";

// Storable text (one definition in @ops/core): refused here, before the first store call.
const Actor = z.string().min(1, "expected a non-empty actor id").max(256).refine(isStorableText, UNSTORABLE_MESSAGE);
const Reason = z.string().trim().min(1, "expected a reason for the change").max(2000).refine(isStorableText, UNSTORABLE_MESSAGE);
const Tenant = TenantIdSchema.nullable().optional();
const Expected = z.number().int().min(1).optional();
const Common = { key: FlagKeySchema, actorUserId: Actor, reason: Reason };

export const SetFlagInput = z
  .object({ ...Common, newValue: storableJson(JsonValueSchema), tenantId: Tenant, expectedVersion: Expected })
  .strict();
export type SetFlagInput = z.input<typeof SetFlagInput>;

export const UpdateFlagInput = z.object({ ...Common, patch: storableJson(FlagPatchSchema), expectedVersion: Expected }).strict();
export type UpdateFlagInput = z.input<typeof UpdateFlagInput>;

export const SetEnabledInput = z.object({ ...Common, enabled: z.boolean() }).strict();
export type SetEnabledInput = z.input<typeof SetEnabledInput>;

export const SetRulesInput = z.object({ ...Common, rules: storableJson(z.array(RuleSchema).max(200)) }).strict();
export type SetRulesInput = z.input<typeof SetRulesInput>;

export const SetRolloutInput = z.object({ ...Common, rollout: storableJson(RolloutSchema.nullable()) }).strict();
export type SetRolloutInput = z.input<typeof SetRolloutInput>;

export const ClearOverrideInput = z.object({ ...Common, tenantId: TenantIdSchema }).strict();
export type ClearOverrideInput = z.input<typeof ClearOverrideInput>;

export const DeleteFlagInput = z.object({ ...Common }).strict();
export type DeleteFlagInput = z.input<typeof DeleteFlagInput>;

export const SegmentInputSchema = z
  .object({ name: FlagKeySchema, segment: storableJson(SegmentConfigSchema.omit({ kind: true })), actorUserId: Actor, reason: Reason })
  .strict();
export type DefineSegmentInput = z.input<typeof SegmentInputSchema>;

export const ScheduleInput = z
  .object({ ...Common, at: z.union([z.date(), z.iso.datetime({ offset: true })]), patch: storableJson(FlagPatchSchema) })
  .strict();
export type ScheduleChangeInput = z.input<typeof ScheduleInput>;

export const CancelScheduleInput = z.object({ ...Common, id: z.string().min(1) }).strict();
export type CancelScheduledChangeInput = z.input<typeof CancelScheduleInput>;
