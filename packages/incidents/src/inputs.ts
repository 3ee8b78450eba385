import * as z from "zod";
import { parseInput, SeveritySchema, storableJson, storableText, TenantIdSchema } from "@ops/core";

// The caller's inputs of every public IncidentManager / Mitigator write, checked with zod before
// the first store call: a refusal names the caller's field (`actor`, `reason`, `title`,
// `event.event_id`), never the internal records or effects built from it. Bounds are the tightest
// of where a value ends up: the incident record and the audit entry (`actor.id` <= 256,
// `reason` <= 1024, `target.name` (the title) <= 256).

const tenant = TenantIdSchema.nullable();
const id = storableText("id");
const actor = storableText("name");
const reason = storableText("text").max(1024, "expected a string of 0..1024 characters");
const title = storableText("text").max(256, "expected a string of 0..256 characters");

const AddressSchema = z.object({ tenantId: tenant, id });

export const TransitionInputSchema = AddressSchema.extend({
  // "open" passes here: the state machine refuses it (ConflictError), as before.
  to: z.enum(["open", "acknowledged", "mitigated", "resolved"], { error: "expected acknowledged, mitigated or resolved" }),
  actor,
  reason: reason.optional(),
});

export const ApplyNowInputSchema = AddressSchema.extend({ actor });
export const RollbackInputSchema = AddressSchema.extend({ actor: actor.optional() });

const EventSchema = z
  .object({
    event_id: id,
    incident_type: storableText("name"),
    severity_guess: z.number().finite(),
    occurred_at: storableText("name"),
    metrics_snapshot: storableJson(z.record(z.string(), z.unknown())),
    tenant_id: tenant.optional(),
  })
  .loose();

const ResponseSchema = storableJson(
  z
    .object({
      severity: SeveritySchema,
      decision: reason,
      runbook: z.object({ title }).loose(),
    })
    .loose(),
);

export const RaiseInputSchema = z.object({
  event: EventSchema,
  response: ResponseSchema,
  title: title.optional(),
  source: z.enum(["detection", "manual"]).optional(),
});

export const AuditRecordInputSchema = z.object({
  action: storableText("name"),
  actor,
  reason: reason.optional(),
  meta: storableJson(z.record(z.string(), z.unknown())),
});

/** Parses a caller's input, naming its fields. @throws ValidationError */
export function checkInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  return parseInput(schema, input, { pkg: "incidents", what });
}
