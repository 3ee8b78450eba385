import * as z from "zod";
import { IsoDateTimeSchema, JsonValueSchema, TenantIdSchema } from "@ops/core";

export const IncidentTypeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Z][A-Z0-9_]*$/, 'expected an UPPER_SNAKE_CASE incident type such as "FAILED_LOGINS_SPIKE"');

export const SpineEventSchema = z.object({
  event_id: z.string().min(1, "expected a non-empty event id").max(255),
  incident_type: IncidentTypeSchema,
  severity_guess: z.number().int("expected an integer 1..4").min(1, "expected an integer 1..4").max(4, "expected an integer 1..4"),
  occurred_at: IsoDateTimeSchema,
  metrics_snapshot: z.record(z.string(), JsonValueSchema),
  tenant_id: TenantIdSchema.nullable().optional(),
});

const Metric = z.number().finite("expected a finite number").nonnegative("expected a number >= 0");

/** Metrics as `POST /api/ops/auth` receives them: known counters are numbers >= 0; others pass through. */
export const MetricsSchema = z.record(z.string(), JsonValueSchema).superRefine((m, ctx) => {
  for (const [k, v] of Object.entries(m))
    if ((k.endsWith("_1h") || k.endsWith("_rate") || k.endsWith("_count")) && !Metric.safeParse(v).success)
      ctx.addIssue({ code: "custom", path: [k], message: "expected a finite number >= 0" });
});

export const DetectionContextSchema = z
  .object({
    tenantId: TenantIdSchema.nullable().optional(),
    env: z.string().max(32).optional(),
    // Outside +-8.64e15 ms a number is no Date: it would crash later as a RangeError (500).
    now: z
      .union([IsoDateTimeSchema, z.number().finite().min(-8.64e15).max(8.64e15), z.date()], {
        error: "expected an ISO 8601 date-time, epoch milliseconds within the Date range, or a Date",
      })
      .optional(),
  })
  .passthrough();
