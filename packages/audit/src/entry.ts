import * as z from "zod";
import {
  ActorTypeSchema,
  AuditActionSchema,
  EnvironmentSchema,
  IsoDateTimeSchema,
  JsonObjectSchema,
  OutcomeSchema,
  TenantIdSchema,
  UNSTORABLE_MESSAGE,
  UNSTORABLE_TEXT,
  ValidationError,
  parseInput,
  type ActorType,
  type JsonObject,
  type Outcome,
  type TenantKey,
} from "@ops/core";
import type { AuditAction } from "./actions.js";
import { fastParseEntry, type ParsedEntryInput } from "./entry-fast.js";

/** Default bound on an entry's `meta`, as UTF-8 JSON. */
export const DEFAULT_MAX_META_BYTES = 16 * 1024;
const MAX_META_DEPTH = 32;

// NUL and lone UTF-16 surrogates (one definition in @ops/core): PostgreSQL rejects the first, and a
// driver silently turns the second into U+FFFD, after which the stored entry would no longer match
// its hash. Rejected up front so a bad entry can neither poison a group-commit batch nor look tampered later.
const UNSTORABLE = UNSTORABLE_TEXT;

/**
 * An audit entry before it is chained: who did what to what, when, where, with which outcome.
 * Fields follow CADF/OCSF/ECS. `makeAuditEntry` and `createAuditLog().append` produce it.
 */
export interface AuditEntry<A extends string = string> {
  /** Set when the entry is appended, unless given. */
  id?: string;
  tenantId: TenantKey;
  /** ISO 8601 UTC with milliseconds. */
  ts: string;
  env: string;
  action: A;
  actor: { id: string; type: ActorType; ip?: string; userAgent?: string };
  subject?: { id: string; type?: string };
  target?: { id: string; type?: string; name?: string };
  outcome: Outcome;
  reason?: string;
  surface?: string;
  requestId?: string;
  correlationId?: string;
  meta: JsonObject;
}

const Str = (max: number, what: string) => z.string().min(1, `expected a non-empty ${what}`).max(max, `expected at most ${max} characters`);

const ActorSchema = z.object({
  id: Str(256, "actor id"),
  type: ActorTypeSchema.default("user"),
  ip: z.string().max(64, "expected at most 64 characters").optional(),
  userAgent: z.string().max(512, "expected at most 512 characters").optional(),
});
const RefSchema = z.object({ id: Str(256, "id"), type: Str(64, "type").optional() });
const TargetSchema = RefSchema.extend({ name: z.string().max(256).optional() });

/** Every field an entry can be made from: the flat form (`tsISO`, `actorUserId`, `subjectUserId`) or the structured form. */
export const AuditEntryInputSchema = z
  .object({
    /** Same as `ts` (the flat form's name). */
    tsISO: IsoDateTimeSchema.optional(),
    ts: IsoDateTimeSchema.optional(),
    env: EnvironmentSchema.optional(),
    action: AuditActionSchema,
    /** Flat form of `actor`: the id of the user who acted. */
    actorUserId: Str(256, "actorUserId").optional(),
    actor: ActorSchema.optional(),
    /** Flat form of `subject`: the id of the user the action was about. */
    subjectUserId: Str(256, "subjectUserId").optional(),
    subject: RefSchema.optional(),
    target: TargetSchema.optional(),
    tenantId: TenantIdSchema.nullable().optional(),
    outcome: OutcomeSchema.default("success"),
    reason: z.string().max(1024, "expected at most 1024 characters").optional(),
    surface: Str(64, "surface").optional(),
    requestId: Str(128, "requestId").optional(),
    correlationId: Str(128, "correlationId").optional(),
    meta: JsonObjectSchema.optional(),
  })
  .refine((v) => v.actor !== undefined || v.actorUserId !== undefined, {
    path: ["actor"],
    message: "expected actor or actorUserId",
  });

/** Input of `makeAuditEntry` and `AuditLog.append`. */
export interface AuditEntryInput<A extends string = AuditAction> {
  tsISO?: string;
  ts?: string;
  env?: string;
  action: A;
  actorUserId?: string;
  actor?: { id: string; type?: ActorType; ip?: string; userAgent?: string };
  subjectUserId?: string;
  subject?: { id: string; type?: string };
  target?: { id: string; type?: string; name?: string };
  tenantId?: TenantKey;
  outcome?: Outcome;
  reason?: string;
  surface?: string;
  requestId?: string;
  correlationId?: string;
  meta?: JsonObject;
}

/**
 * Walks meta before zod sees it: zod would recurse forever on a cycle. Returns its JSON size.
 * @throws ValidationError on a cycle, depth > 32, or more than `maxBytes` of JSON.
 */
export function checkMetaSize(meta: unknown, maxBytes: number): number {
  return inspectMeta(meta, maxBytes).bytes;
}

/** `checkMetaSize`, also telling whether meta is plain JSON (the fast path needs no zod then). */
function inspectMeta(meta: unknown, maxBytes: number): { bytes: number; json: boolean } {
  // The objects on the current path (at most 33): a cycle is an object that is its own ancestor.
  const seen: object[] = [];
  let json = true;
  // Keys of the current path, formatted only for an error: no string building per node.
  const keys: (string | number)[] = [];
  const where = () => keys.reduce<string>((p, k) => (typeof k === "number" ? `${p}[${k}]` : `${p}.${k}`), "meta");
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === "string") {
      if (UNSTORABLE.test(v)) throw metaError(where(), UNSTORABLE_MESSAGE);
      return;
    }
    if (v === null || typeof v === "boolean") return;
    if (typeof v !== "object") {
      if (typeof v !== "number" || !Number.isFinite(v)) json = false;
      return;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) json = false;
    if (depth > MAX_META_DEPTH) throw metaError(where(), `expected nesting of at most ${MAX_META_DEPTH} levels`);
    if (seen.includes(v)) throw metaError(where(), "expected no circular references (pass meta through auditMetaSafe)");
    seen.push(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        keys.push(i);
        walk(v[i], depth + 1);
        keys.pop();
      }
    } else {
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        keys.push(k);
        if (UNSTORABLE.test(k)) throw metaError(where(), UNSTORABLE_MESSAGE);
        walk((v as Record<string, unknown>)[k], depth + 1);
        keys.pop();
      }
    }
    seen.pop();
  };
  walk(meta, 0);
  const bytes = meta === undefined ? 2 : Buffer.byteLength(JSON.stringify(meta) ?? "", "utf8");
  if (bytes > maxBytes) throw metaError("meta", `expected at most ${maxBytes} bytes of JSON, got ${bytes}`);
  return { bytes, json };
}

function checkSizeOnly(meta: unknown, maxBytes: number): true {
  const text = meta === undefined ? "{}" : (JSON.stringify(meta) ?? "");
  // A UTF-16 unit is at most 3 UTF-8 bytes: short JSON needs no byte count.
  const bytes = text.length * 3 <= maxBytes ? text.length : Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw metaError("meta", `expected at most ${maxBytes} bytes of JSON, got ${bytes}`);
  return true;
}

function metaError(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/audit] invalid audit entry: ${path}: ${message}`, [{ path, message }]);
}

/**
 * Validates and normalises an entry, in the flat or the structured form. `tsISO`/`ts` default to `now`, `outcome`
 * to "success", `tenantId` to the global chain; the timestamp is re-spelled as UTC with
 * milliseconds so it reads back identically from any database.
 * @throws ValidationError naming every bad field (nothing is recorded).
 */
export function makeAuditEntry<A extends string = AuditAction>(
  // NoInfer: the action list comes from the type argument, never from the literal passed, so a
  // typo is a compile error unless the app widens it (`makeAuditEntry<AppAction>(...)`).
  input: AuditEntryInput<NoInfer<A>>,
  options: {
    now?: Date;
    defaultEnv?: string;
    maxMetaBytes?: number;
    /** Skip the zod-free fast path (tests). */
    slow?: boolean;
    /** Meta is `auditMetaSafe` output (plain, acyclic, shallow, storable JSON): only its size is checked. @internal */
    metaIsSafe?: boolean;
  } = {},
): AuditEntry<A> {
  const maxMetaBytes = options.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  const { json } = options.metaIsSafe ? { json: checkSizeOnly(input?.meta, maxMetaBytes) } : inspectMeta(input?.meta, maxMetaBytes);
  const v: ParsedEntryInput =
    (options.slow ? null : fastParseEntry(input, json)) ?? parseInput(AuditEntryInputSchema, input, { pkg: "audit", what: "audit entry" });
  checkStorable(v);
  const env = v.env ?? options.defaultEnv;
  if (env === undefined)
    throw new ValidationError('[ops/audit] invalid audit entry: env: expected an environment name such as "prod"', [
      { path: "env", message: 'expected an environment name such as "prod"' },
    ]);
  const when = v.ts ?? v.tsISO;
  const actor = v.actor ?? { id: v.actorUserId!, type: "user" as const };
  const subject = v.subject ?? (v.subjectUserId !== undefined ? { id: v.subjectUserId, type: "user" } : undefined);
  const entry: AuditEntry<A> = {
    tenantId: v.tenantId ?? null,
    ts: (when === undefined ? (options.now ?? new Date()) : new Date(when)).toISOString(),
    env,
    action: v.action as A,
    actor: { id: actor.id, type: actor.type },
    outcome: v.outcome,
    meta: v.meta ?? {},
  };
  // Built field by field (no `delete`): objects keep a fast shape for hashing later.
  if (actor.ip !== undefined) entry.actor.ip = actor.ip;
  if (actor.userAgent !== undefined) entry.actor.userAgent = actor.userAgent;
  if (subject) entry.subject = subject.type === undefined ? { id: subject.id } : { id: subject.id, type: subject.type };
  if (v.target) {
    const t: { id: string; type?: string; name?: string } = { id: v.target.id };
    if (v.target.type !== undefined) t.type = v.target.type;
    if (v.target.name !== undefined) t.name = v.target.name;
    entry.target = t;
  }
  if (v.reason !== undefined) entry.reason = v.reason;
  if (v.surface !== undefined) entry.surface = v.surface;
  if (v.requestId !== undefined) entry.requestId = v.requestId;
  if (v.correlationId !== undefined) entry.correlationId = v.correlationId;
  return entry;
}

function checkStorable(v: ParsedEntryInput): void {
  // Field by field, no array of pairs: this runs for every entry.
  storable("actorUserId", v.actorUserId);
  storable("subjectUserId", v.subjectUserId);
  storable("reason", v.reason);
  storable("surface", v.surface);
  storable("requestId", v.requestId);
  storable("correlationId", v.correlationId);
  if (v.actor) {
    storable("actor.id", v.actor.id);
    storable("actor.ip", v.actor.ip);
    storable("actor.userAgent", v.actor.userAgent);
  }
  if (v.subject) {
    storable("subject.id", v.subject.id);
    storable("subject.type", v.subject.type);
  }
  if (v.target) {
    storable("target.id", v.target.id);
    storable("target.type", v.target.type);
    storable("target.name", v.target.name);
  }
}

function storable(path: string, value: string | undefined): void {
  if (value !== undefined && UNSTORABLE.test(value))
    throw new ValidationError(`[ops/audit] invalid audit entry: ${path}: ${UNSTORABLE_MESSAGE}`, [{ path, message: UNSTORABLE_MESSAGE }]);
}
