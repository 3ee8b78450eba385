import * as z from "zod";
import {
  AuditActionSchema,
  IsoDateTimeSchema,
  OutcomeSchema,
  TenantIdSchema,
  parseInput,
  type AuditQuery,
  type Outcome,
  type TenantKey,
} from "@ops/core";

const QuerySchema = z.object({
  tenantId: TenantIdSchema.nullable().default(null),
  actorId: z.string().min(1).max(256).optional(),
  subjectId: z.string().min(1).max(256).optional(),
  targetId: z.string().min(1).max(256).optional(),
  action: AuditActionSchema.optional(),
  actions: z.array(AuditActionSchema).max(100, "expected at most 100 actions").optional(),
  outcome: OutcomeSchema.optional(),
  correlationId: z.string().min(1).max(128).optional(),
  from: IsoDateTimeSchema.optional(),
  to: IsoDateTimeSchema.optional(),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.number().int("expected an integer").min(1, "expected 1..1000").max(1000, "expected 1..1000").optional(),
  cursor: z.string().max(512).nullable().optional(),
});

/** Filters of `AuditLog.query` and the exports: every filter given must match. */
export interface AuditQueryInput {
  /** Default: the global chain (null). */
  tenantId?: TenantKey;
  actorId?: string;
  subjectId?: string;
  targetId?: string;
  /** One action; `actions` for several. */
  action?: string;
  actions?: readonly string[];
  outcome?: Outcome;
  correlationId?: string;
  /** Inclusive lower bound on the entry time (ISO). */
  from?: string;
  /** Exclusive upper bound on the entry time (ISO). */
  to?: string;
  order?: "asc" | "desc";
  /** 1..1000 (default 100). */
  limit?: number;
  cursor?: string | null;
}

/**
 * Validates query filters into the store's `AuditQuery`.
 * @throws ValidationError naming the bad filter.
 */
export function parseQuery(input: AuditQueryInput): AuditQuery {
  const v = parseInput(QuerySchema, input ?? {}, { pkg: "audit", what: "audit query" });
  const q: AuditQuery = { tenantId: v.tenantId };
  if (v.actorId !== undefined) q.actorId = v.actorId;
  if (v.subjectId !== undefined) q.subjectId = v.subjectId;
  if (v.targetId !== undefined) q.targetId = v.targetId;
  if (v.action !== undefined || v.actions !== undefined) q.actions = [...(v.actions ?? []), ...(v.action ? [v.action] : [])];
  if (v.outcome !== undefined) q.outcome = v.outcome;
  if (v.correlationId !== undefined) q.correlationId = v.correlationId;
  if (v.from !== undefined) q.from = new Date(v.from).toISOString();
  if (v.to !== undefined) q.to = new Date(v.to).toISOString();
  if (v.order !== undefined) q.order = v.order;
  if (v.limit !== undefined) q.limit = v.limit;
  if (v.cursor) q.cursor = v.cursor;
  return q;
}

/** True when the filters select a whole contiguous stretch of the chain (an export that verifies link by link). */
export function isChainSlice(q: AuditQuery): boolean {
  return (
    q.actorId === undefined &&
    q.subjectId === undefined &&
    q.targetId === undefined &&
    q.actions === undefined &&
    q.outcome === undefined &&
    q.correlationId === undefined &&
    q.from === undefined &&
    q.to === undefined &&
    q.order !== "desc"
  );
}
