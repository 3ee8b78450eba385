import * as z from "zod";
import {
  ConflictError,
  IsoDateTimeSchema,
  parseInput,
  prefixedId,
  SEVERITIES,
  type IncidentRecord,
  type IncidentStore,
  type JsonObject,
  type Severity,
} from "@ops/core";

/** Which incidents a silence or inhibition rule matches. Absent fields match everything. */
export interface IncidentMatcher {
  types?: string[];
  /** Tenant ids; `null` in the list matches global incidents. */
  tenantIds?: Array<string | null>;
  scope?: "tenant" | "global";
  severities?: Severity[];
}

export interface Silence {
  id: string;
  matcher: IncidentMatcher;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/**
 * While an active incident matches `source`, incidents matching `target` and equal on the `equal`
 * fields are not notified (Alertmanager's inhibit_rules). Default: a global incident of a type
 * inhibits the per-tenant incidents of the same type.
 */
export interface InhibitionRule {
  source: IncidentMatcher;
  target: IncidentMatcher;
  equal: Array<"type" | "tenantId">;
}

export const DEFAULT_INHIBITIONS: readonly InhibitionRule[] = Object.freeze([
  { source: { scope: "global" }, target: { scope: "tenant" }, equal: ["type"] },
]);

const MatcherSchema = z.object({
  types: z.array(z.string().min(1).max(64)).optional(),
  tenantIds: z.array(z.string().min(1).max(128).nullable()).optional(),
  scope: z.enum(["tenant", "global"]).optional(),
  severities: z.array(z.enum(SEVERITIES)).optional(),
});

const NewSilenceSchema = z
  .object({
    matcher: MatcherSchema,
    startsAt: IsoDateTimeSchema.optional(),
    endsAt: IsoDateTimeSchema,
    createdBy: z.string().min(1, "expected who creates the silence").max(256),
    comment: z.string().min(1, "expected why (a comment)").max(1024),
  })
  .refine((s) => !s.startsAt || Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    path: ["endsAt"],
    message: "expected endsAt after startsAt",
  });

export function matches(m: IncidentMatcher, r: Pick<IncidentRecord, "type" | "tenantId" | "severity">): boolean {
  if (m.types && !m.types.includes(r.type)) return false;
  if (m.tenantIds && !m.tenantIds.includes(r.tenantId)) return false;
  if (m.scope === "global" && r.tenantId !== null) return false;
  if (m.scope === "tenant" && r.tenantId === null) return false;
  if (m.severities && !m.severities.includes(r.severity)) return false;
  return true;
}

/** The silence muting `r` at `nowMs`, if any. */
export function activeSilence(silences: readonly Silence[], r: IncidentRecord, nowMs: number): Silence | undefined {
  return silences.find((s) => Date.parse(s.startsAt) <= nowMs && nowMs < Date.parse(s.endsAt) && matches(s.matcher, r));
}

/** The active incident inhibiting `r`, if any. */
export function inhibitor(
  rules: readonly InhibitionRule[],
  r: IncidentRecord,
  active: readonly IncidentRecord[],
): IncidentRecord | undefined {
  for (const rule of rules) {
    if (!matches(rule.target, r)) continue;
    const src = active.find(
      (a) =>
        a.id !== r.id &&
        a.state !== "resolved" &&
        matches(rule.source, a) &&
        rule.equal.every((f) => (f === "type" ? a.type === r.type : a.tenantId === r.tenantId)),
    );
    if (src) return src;
  }
  return undefined;
}

const DOC = "silences";

/**
 * Silences with expiry, shared by every instance: kept as one document in the IncidentStore's
 * model documents (global scope) and written with compare-and-set.
 */
export class SilenceBook {
  constructor(
    private readonly store: IncidentStore,
    private readonly now: () => number,
  ) {}

  /** Silences not yet expired. */
  async list(): Promise<Silence[]> {
    const doc = await this.store.getModel({ tenantId: null, name: DOC });
    const all = ((doc?.model.silences ?? []) as unknown as Silence[]) ?? [];
    const now = this.now();
    return all.filter((s) => Date.parse(s.endsAt) > now);
  }

  /**
   * Adds a silence; expired ones are dropped on the way.
   * @throws ValidationError naming the bad field.
   */
  async add(input: { matcher: IncidentMatcher; startsAt?: string; endsAt: string; createdBy: string; comment: string }): Promise<Silence> {
    const s = parseInput(NewSilenceSchema, input, { pkg: "incidents", what: "silence" });
    const silence: Silence = {
      id: prefixedId("sil", this.now()),
      matcher: s.matcher as IncidentMatcher,
      startsAt: s.startsAt ?? new Date(this.now()).toISOString(),
      endsAt: s.endsAt,
      createdBy: s.createdBy,
      comment: s.comment,
    };
    await this.write((list) => [...list, silence]);
    return silence;
  }

  /** Ends a silence now. Returns false when it did not exist. */
  async expire(id: string): Promise<boolean> {
    let found = false;
    await this.write((list) => {
      found = list.some((s) => s.id === id);
      return list.filter((s) => s.id !== id);
    });
    return found;
  }

  private async write(fn: (list: Silence[]) => Silence[]): Promise<void> {
    for (;;) {
      const doc = await this.store.getModel({ tenantId: null, name: DOC });
      const now = this.now();
      const current = ((doc?.model.silences ?? []) as unknown as Silence[]).filter((s) => Date.parse(s.endsAt) > now);
      const model = { silences: fn(current) } as unknown as JsonObject;
      try {
        await this.store.putModel({
          tenantId: null,
          name: DOC,
          model,
          expectedVersion: doc?.version ?? null,
          updatedAt: new Date(now).toISOString(),
        });
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }
}
