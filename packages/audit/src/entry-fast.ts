import { IsoDateTimeSchema, OUTCOMES, type ActorType, type JsonObject, type Outcome, type TenantKey } from "@ops/core";

/** The normalised fields of an entry input (what the zod schema outputs). */
export interface ParsedEntryInput {
  tsISO?: string;
  ts?: string;
  env?: string;
  action: string;
  actorUserId?: string;
  actor?: { id: string; type: ActorType; ip?: string; userAgent?: string };
  subjectUserId?: string;
  subject?: { id: string; type?: string };
  target?: { id: string; type?: string; name?: string };
  tenantId?: TenantKey;
  outcome: Outcome;
  reason?: string;
  surface?: string;
  requestId?: string;
  correlationId?: string;
  meta?: JsonObject;
}

const ACTION = /^[A-Z][A-Z0-9_]*$/;
const ENV = /^[a-z0-9][a-z0-9_-]*$/;
const TENANT = /^[A-Za-z0-9._:-]+$/;
const ACTOR_TYPES: ReadonlySet<unknown> = new Set(["user", "service", "system"]);
const OUTCOME_SET: ReadonlySet<unknown> = new Set(OUTCOMES);

const str = (v: unknown, min: number, max: number): v is string => typeof v === "string" && v.length >= min && v.length <= max;
const opt = (v: unknown, min: number, max: number) => v === undefined || str(v, min, max);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The common case of an entry, validated without zod: audit appends are a hot path and a full
 * schema parse costs more than hashing. Returns null whenever anything is unusual; the caller
 * then runs the zod schema, which accepts the same inputs and words the errors. It never accepts
 * what the schema would reject (tested against it).
 */
export function fastParseEntry(input: unknown, metaIsJson: boolean): ParsedEntryInput | null {
  if (!isObj(input) || !metaIsJson) return null;
  const i = input;
  if (!str(i.action, 1, 64) || !ACTION.test(i.action)) return null;
  if (i.env !== undefined && (!str(i.env, 1, 32) || !ENV.test(i.env))) return null;
  if (i.tenantId !== undefined && i.tenantId !== null && (!str(i.tenantId, 1, 128) || !TENANT.test(i.tenantId))) return null;
  if (i.outcome !== undefined && !OUTCOME_SET.has(i.outcome)) return null;
  if (!opt(i.actorUserId, 1, 256) || !opt(i.subjectUserId, 1, 256) || !opt(i.reason, 0, 1024) || !opt(i.surface, 1, 64)) return null;
  if (!opt(i.requestId, 1, 128) || !opt(i.correlationId, 1, 128)) return null;
  for (const t of [i.ts, i.tsISO]) if (t !== undefined && (typeof t !== "string" || !IsoDateTimeSchema.safeParse(t).success)) return null;
  if (i.meta !== undefined && !isObj(i.meta)) return null;
  const out: ParsedEntryInput = { action: i.action, outcome: (i.outcome as Outcome | undefined) ?? "success" };
  if (i.actor !== undefined) {
    const a = i.actor;
    if (
      !isObj(a) ||
      !str(a.id, 1, 256) ||
      !(a.type === undefined || ACTOR_TYPES.has(a.type)) ||
      !opt(a.ip, 0, 64) ||
      !opt(a.userAgent, 0, 512)
    )
      return null;
    out.actor = { id: a.id, type: (a.type as ActorType | undefined) ?? "user" };
    if (a.ip !== undefined) out.actor.ip = a.ip as string;
    if (a.userAgent !== undefined) out.actor.userAgent = a.userAgent as string;
  } else if (i.actorUserId === undefined) return null;
  if (i.subject !== undefined) {
    const s = i.subject;
    if (!isObj(s) || !str(s.id, 1, 256) || !opt(s.type, 1, 64)) return null;
    out.subject = { id: s.id };
    if (s.type !== undefined) out.subject.type = s.type as string;
  }
  if (i.target !== undefined) {
    const t = i.target;
    if (!isObj(t) || !str(t.id, 1, 256) || !opt(t.type, 1, 64) || !opt(t.name, 0, 256)) return null;
    out.target = { id: t.id };
    if (t.type !== undefined) out.target.type = t.type as string;
    if (t.name !== undefined) out.target.name = t.name as string;
  }
  for (const k of ["tsISO", "ts", "env", "actorUserId", "subjectUserId", "reason", "surface", "requestId", "correlationId"] as const)
    if (i[k] !== undefined) out[k] = i[k] as string;
  if (i.tenantId !== undefined) out.tenantId = i.tenantId as TenantKey;
  if (i.meta !== undefined) out.meta = i.meta as JsonObject;
  return out;
}
