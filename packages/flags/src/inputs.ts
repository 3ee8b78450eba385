import * as z from "zod";
import { JsonValueSchema, TenantIdSchema } from "@ops/core";
import { FlagKeySchema, FlagPatchSchema, RolloutSchema, RuleSchema, SegmentConfigSchema } from "./config.js";

const Actor = z.string().min(1, "expected a non-empty actor id").max(256);
const Reason = z.string().trim().min(1, "expected a reason for the change").max(2000);
const Tenant = TenantIdSchema.nullable().optional();
const Expected = z.number().int().min(1).optional();
const Common = { key: FlagKeySchema, actorUserId: Actor, reason: Reason };

export const SetFlagInput = z.object({ ...Common, newValue: JsonValueSchema, tenantId: Tenant, expectedVersion: Expected }).strict();
export type SetFlagInput = z.input<typeof SetFlagInput>;

export const UpdateFlagInput = z.object({ ...Common, patch: FlagPatchSchema, expectedVersion: Expected }).strict();
export type UpdateFlagInput = z.input<typeof UpdateFlagInput>;

export const SetEnabledInput = z.object({ ...Common, enabled: z.boolean() }).strict();
export type SetEnabledInput = z.input<typeof SetEnabledInput>;

export const SetRulesInput = z.object({ ...Common, rules: z.array(RuleSchema).max(200) }).strict();
export type SetRulesInput = z.input<typeof SetRulesInput>;

export const SetRolloutInput = z.object({ ...Common, rollout: RolloutSchema.nullable() }).strict();
export type SetRolloutInput = z.input<typeof SetRolloutInput>;

export const ClearOverrideInput = z.object({ ...Common, tenantId: TenantIdSchema }).strict();
export type ClearOverrideInput = z.input<typeof ClearOverrideInput>;

export const DeleteFlagInput = z.object({ ...Common }).strict();
export type DeleteFlagInput = z.input<typeof DeleteFlagInput>;

export const SegmentInputSchema = z
  .object({ name: FlagKeySchema, segment: SegmentConfigSchema.omit({ kind: true }), actorUserId: Actor, reason: Reason })
  .strict();
export type DefineSegmentInput = z.input<typeof SegmentInputSchema>;

export const ScheduleInput = z
  .object({ ...Common, at: z.union([z.date(), z.iso.datetime({ offset: true })]), patch: FlagPatchSchema })
  .strict();
export type ScheduleChangeInput = z.input<typeof ScheduleInput>;

export const CancelScheduleInput = z.object({ ...Common, id: z.string().min(1) }).strict();
export type CancelScheduledChangeInput = z.input<typeof CancelScheduleInput>;
