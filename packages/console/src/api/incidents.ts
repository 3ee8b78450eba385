import * as z from "zod";
import { INCIDENT_STATES, type IncidentRecord, type IncidentStore, type JsonValue, type TenantKey } from "@ops/core";
import type { FeatureFlagController } from "@ops/flags";
import type { IncidentData, OpsRuntime, Silence } from "@ops/incidents";
import { ApiError, json, parse } from "../http.js";
import type { RouteContext, RouteDef } from "../router.js";
import { Paging, Reason, TenantParam, idParam, page } from "./common.js";

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1).max(20));
const ListQuery = z
  .object({
    state: csv(z.enum(INCIDENT_STATES, { message: `expected states among ${INCIDENT_STATES.join(", ")}` })).optional(),
    type: csv(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "expected UPPER_SNAKE_CASE incident types")).optional(),
    tenant: TenantParam.optional(),
    ...Paging,
  })
  .strict();
const TenantQuery = z.object({ tenant: TenantParam.optional() }).strict();
const ReasonBody = z.object({ reason: Reason }).strict();
const SuggestionBody = z.object({ key: z.string().min(1).max(200), reason: Reason }).strict();
const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
const SilenceBody = z
  .object({
    matcher: z
      .object({
        types: z
          .array(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "expected UPPER_SNAKE_CASE incident types"))
          .min(1)
          .max(50)
          .optional(),
        severities: z.array(z.enum(SEVERITIES)).min(1).max(5).optional(),
        tenantIds: z.array(TenantParam.nullable()).min(1).max(100).optional(),
        scope: z.enum(["tenant", "global"]).optional(),
      })
      .strict(),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true, message: "expected an ISO date-time" }),
    reason: Reason,
  })
  .strict();

export interface IncidentDeps {
  runtime: OpsRuntime;
  store: IncidentStore;
  flags: FeatureFlagController | undefined;
}

const dataOf = (r: IncidentRecord) => r.data as unknown as IncidentData;

function summary(r: IncidentRecord) {
  const d = dataOf(r);
  return {
    id: r.id,
    tenantId: r.tenantId,
    type: r.type,
    severity: r.severity,
    state: r.state,
    title: r.title,
    openedAt: r.openedAt,
    updatedAt: r.updatedAt,
    resolvedAt: r.resolvedAt ?? null,
    decision: d.response?.decision ?? null,
    occurrences: d.occurrences ?? 1,
    mitigation: d.mitigation ? { status: d.mitigation.status, flags: d.mitigation.flags.map((f) => f.key) } : null,
  };
}

function detail(r: IncidentRecord) {
  const d = dataOf(r);
  const applied = d.mitigation?.applied ?? [];
  const recommended = (d.response?.recommended_flags ?? []).map((f) => {
    const tenantId = f.scope === "tenant" ? r.tenantId : null;
    const done = applied.find((a) => a.key === f.key && a.tenantId === tenantId);
    return {
      ...f,
      tenantId,
      // A global flag recommended by a tenant's incident is never applied for it: a global
      // operator may apply it by hand (apply-suggestion).
      appliesTo: tenantId === null ? "global" : "tenant",
      applied: done ? { value: done.value, previous: done.hadPrevious ? done.previous : null } : null,
      suggestionOnly: r.tenantId !== null && tenantId === null,
    };
  });
  return {
    ...summary(r),
    version: r.version,
    source: d.source,
    event: d.event,
    plan: d.response,
    recommendedFlags: recommended,
    mitigation: d.mitigation ?? null,
    timeline: d.history ?? [],
    notify: d.notify ?? null,
  };
}

async function load(d: IncidentDeps, ctx: RouteContext): Promise<IncidentRecord> {
  parse(TenantQuery, ctx.query, "query");
  const id = idParam(ctx, "id");
  // Looked up in the principal's scope only: another tenant's incident is simply not found.
  const r = id.length <= 200 ? await d.store.get({ tenantId: ctx.scope(), id }) : null;
  if (!r) throw new ApiError("NOT_FOUND", `incident ${id.slice(0, 200)} not found`);
  return r;
}

function visibleSilence(s: Silence, tenant: TenantKey): boolean {
  if (tenant === null) return true;
  const t = s.matcher.tenantIds;
  return !!t && t.length > 0 && t.every((x) => x === tenant);
}

/** Incidents: list/detail with timeline, plan, recommended flags, mitigation; acknowledge, mitigate, roll back, resolve; silences; a runtime tick. */
export function incidentRoutes(d: IncidentDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/incidents",
      permission: "read",
      async handler(ctx) {
        const q = parse(ListQuery, ctx.query, "query");
        const r = await d.store.list({
          tenantId: ctx.scope(),
          ...(q.state ? { states: q.state } : {}),
          ...(q.type ? { types: q.type } : {}),
          limit: q.limit ?? 50,
          cursor: q.cursor ?? null,
        });
        return json(page(r.items.map(summary), r.nextCursor));
      },
    },
    {
      method: "GET",
      path: "/incidents/:id",
      permission: "read",
      async handler(ctx) {
        return json(detail(await load(d, ctx)));
      },
    },
    {
      method: "POST",
      path: "/incidents/:id/acknowledge",
      permission: "operate",
      async handler(ctx) {
        const r = await load(d, ctx);
        const b = await ctx.body(ReasonBody);
        return json(
          detail(await d.runtime.acknowledge({ tenantId: r.tenantId, id: r.id, actor: ctx.principal.actorId, reason: b.reason })),
        );
      },
    },
    {
      method: "POST",
      path: "/incidents/:id/resolve",
      permission: "operate",
      async handler(ctx) {
        const r = await load(d, ctx);
        const b = await ctx.body(ReasonBody);
        return json(detail(await d.runtime.resolve({ tenantId: r.tenantId, id: r.id, actor: ctx.principal.actorId, reason: b.reason })));
      },
    },
    {
      method: "POST",
      path: "/incidents/:id/mitigate",
      permission: "operate",
      async handler(ctx) {
        const r = await load(d, ctx);
        const b = await ctx.body(ReasonBody);
        await ctx.record({
          tenantId: r.tenantId,
          target: { id: r.id, type: "incident" },
          reason: b.reason,
          meta: { operation: "incident.mitigate" },
        });
        const result = await d.runtime.applyMitigation({ tenantId: r.tenantId, id: r.id, actor: ctx.principal.actorId });
        return json({ mitigation: result, incident: detail((await d.store.get({ tenantId: r.tenantId, id: r.id })) ?? r) });
      },
    },
    {
      method: "POST",
      path: "/incidents/:id/rollback",
      permission: "operate",
      async handler(ctx) {
        const r = await load(d, ctx);
        const b = await ctx.body(ReasonBody);
        await ctx.record({
          tenantId: r.tenantId,
          target: { id: r.id, type: "incident" },
          reason: b.reason,
          meta: { operation: "incident.rollback" },
        });
        const restored = await d.runtime.rollback({ tenantId: r.tenantId, id: r.id, actor: ctx.principal.actorId });
        return json({
          restored: restored.map((a) => ({
            key: a.key,
            tenantId: a.tenantId,
            appliedValue: a.value,
            restoredTo: a.hadPrevious ? a.previous : null,
            cleared: !a.hadPrevious,
          })),
          incident: detail((await d.store.get({ tenantId: r.tenantId, id: r.id })) ?? r),
        });
      },
    },
    {
      // One click for a global operator: applies one global-scope recommendation of an incident.
      method: "POST",
      path: "/incidents/:id/apply-suggestion",
      permission: "configure",
      global: true,
      async handler(ctx) {
        const r = await load(d, ctx);
        const b = await ctx.body(SuggestionBody);
        if (!d.flags) throw new ApiError("NOT_CONFIGURED", "this console has no flags (pass flags to createConsole)");
        const rec = (dataOf(r).response?.recommended_flags ?? []).find(
          (f) => f.key === b.key && (f.scope === "global" || r.tenantId === null),
        );
        if (!rec)
          throw new ApiError("VALIDATION", `incident ${r.id} recommends no global flag "${b.key}"`, [
            { path: "key", message: "expected a globally scoped recommended flag of this incident" },
          ]);
        const out = await d.flags.setFlag({
          key: rec.key,
          newValue: rec.value as JsonValue,
          actorUserId: ctx.principal.actorId,
          reason: `${b.reason} (incident ${r.id}: ${rec.reason})`,
        });
        return json({ key: out.key, value: rec.value, version: out.version });
      },
    },
    {
      method: "GET",
      path: "/silences",
      permission: "read",
      async handler(ctx) {
        parse(TenantQuery, ctx.query, "query");
        const tenant = ctx.scope();
        const all = await d.runtime.silences.list();
        return json(
          page(
            all.filter((s) => visibleSilence(s, tenant)),
            null,
          ),
        );
      },
    },
    {
      method: "POST",
      path: "/silences",
      permission: "operate",
      fields: { comment: "reason" },
      async handler(ctx) {
        const b = await ctx.body(SilenceBody);
        const own = ctx.principal.tenantId;
        if (own !== null && b.matcher.tenantIds && b.matcher.tenantIds.some((t) => t !== own))
          throw new ApiError("FORBIDDEN", "a tenant principal silences only its own tenant's incidents", [
            { path: "matcher.tenantIds", message: "expected only your own tenant" },
          ]);
        const matcher = own === null ? b.matcher : { ...b.matcher, tenantIds: [own], scope: "tenant" as const };
        const s = await d.runtime.silences.add({
          matcher,
          ...(b.startsAt ? { startsAt: b.startsAt } : {}),
          endsAt: b.endsAt,
          createdBy: ctx.principal.actorId,
          comment: b.reason,
        });
        await ctx.record({
          tenantId: own,
          target: { id: s.id, type: "silence" },
          reason: b.reason,
          meta: { operation: "silence.create", endsAt: s.endsAt },
        });
        return json(s, 201);
      },
    },
    {
      method: "DELETE",
      path: "/silences/:id",
      permission: "operate",
      async handler(ctx) {
        const b = await ctx.body(ReasonBody);
        const own = ctx.principal.tenantId;
        const id = idParam(ctx, "id");
        const s = (await d.runtime.silences.list()).find((x) => x.id === id);
        if (!s || !visibleSilence(s, own)) throw new ApiError("NOT_FOUND", `silence ${id.slice(0, 200)} not found`);
        await d.runtime.silences.expire(s.id);
        await ctx.record({ tenantId: own, target: { id: s.id, type: "silence" }, reason: b.reason, meta: { operation: "silence.expire" } });
        return json({ expired: s.id });
      },
    },
    {
      method: "POST",
      path: "/runtime/tick",
      permission: "operate",
      global: true,
      async handler(ctx) {
        const b = await ctx.body(ReasonBody);
        await ctx.record({
          tenantId: null,
          target: { id: "runtime", type: "ops_runtime" },
          reason: b.reason,
          meta: { operation: "runtime.tick" },
        });
        const r = await d.runtime.tick();
        return json({
          findings: r.findings,
          firing: r.firing.map((f) => ({ incidentType: f.incidentType, tenantId: f.tenantId, reason: f.reason })),
          raised: r.raised.map(summary),
          resolved: r.resolved.map(summary),
          updated: r.updated,
          mitigations: r.mitigations.map((m) => ({ status: m.status, flags: m.applied.map((a) => a.key) })),
          notifications: r.notifications,
          errors: r.errors.length,
        });
      },
    },
  ];
}
