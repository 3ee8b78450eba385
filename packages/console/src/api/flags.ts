import * as z from "zod";
import { JsonValueSchema, type FlagRecord, type FlagStore, type JsonValue, type TenantKey } from "@ops/core";
import type { FeatureFlagController } from "@ops/flags";
import { ApiError, json, parse } from "../http.js";
import type { RouteContext, RouteDef } from "../router.js";
import { Paging, Reason, TenantParam, idParam, page } from "./common.js";

const KEY_RE = /^[A-Za-z0-9_.:-]{1,200}$/;
const ListQuery = z.object({ q: z.string().max(200).optional(), tenant: TenantParam.optional(), ...Paging }).strict();
const DetailQuery = z.object({ tenant: TenantParam.optional() }).catchall(z.string().max(500));
const HistoryQuery = z.object({ tenant: TenantParam.optional(), ...Paging }).strict();
const Ctx = z.record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.array(z.string().max(1000)).max(100)]));
const EvaluateBody = z.object({ context: Ctx.optional() }).strict();
const ValueBody = z.object({ value: JsonValueSchema, reason: Reason, expectedVersion: z.number().int().min(1).optional() }).strict();
const EnabledBody = z.object({ enabled: z.boolean({ message: "expected true or false" }), reason: Reason }).strict();
// The controller validates the rollout and patch shapes and names the bad field.
const RolloutBody = z
  .object({
    rollout: z.union([z.null(), z.record(z.string(), z.unknown())], { message: "expected a rollout object or null" }),
    reason: Reason,
  })
  .strict();
const ScheduleBody = z
  .object({
    at: z.iso.datetime({ offset: true, message: "expected an ISO date-time" }),
    patch: z.record(z.string(), z.unknown(), { message: "expected a patch object" }),
    reason: Reason,
  })
  .strict();
const ReasonBody = z.object({ reason: Reason }).strict();
const OverrideBody = z.object({ value: JsonValueSchema, reason: Reason }).strict();

export interface FlagDeps {
  controller: FeatureFlagController;
  store: FlagStore;
}

type StoredConfig = {
  type?: string;
  value?: JsonValue;
  offValue?: JsonValue;
  enabled?: boolean;
  rules?: unknown[];
  rollout?: unknown;
  variants?: unknown;
  schedule?: Array<{ id: string; at: string; actor: string; reason: string; patch: unknown }>;
  description?: string;
  owner?: string;
  expiresAt?: string | null;
};

/** The `:tenant` segment, refused naming it. @throws ApiError VALIDATION (`issues[0].path` "tenant"). */
function tenantOf(ctx: RouteContext): string {
  return parse(TenantSegment, { tenant: ctx.params.tenant }, "query").tenant;
}
const TenantSegment = z.object({ tenant: TenantParam });

function keyOf(ctx: RouteContext): string {
  const key = ctx.params.key ?? "";
  if (!KEY_RE.test(key) || key.startsWith("$"))
    throw new ApiError("NOT_FOUND", `no flag "${key.slice(0, 200)}": flag keys are letters, digits and _ . : -`);
  return key;
}

function summary(d: FlagDeps, rec: FlagRecord, tenant: TenantKey) {
  const c = (rec.config ?? {}) as StoredConfig;
  const ev = d.controller.evaluate(rec.key, tenant === null ? {} : { tenantId: tenant });
  return {
    key: rec.key,
    type: c.type ?? null,
    value: c.value ?? null,
    enabled: c.enabled ?? true,
    rules: c.rules?.length ?? 0,
    rollout: c.rollout ?? null,
    scheduled: c.schedule?.length ?? 0,
    description: c.description ?? null,
    version: rec.version,
    updatedAt: rec.updatedAt,
    updatedBy: rec.updatedBy,
    effective: { value: ev.value, reason: ev.reason, variant: ev.variant, ruleId: ev.ruleId, errorCode: ev.errorCode },
  };
}

async function mustGet(d: FlagDeps, key: string): Promise<FlagRecord> {
  const rec = await d.store.get({ env: d.controller.env, key, tenantId: null });
  if (!rec) throw new ApiError("NOT_FOUND", `flag "${key}" does not exist in ${d.controller.env}`);
  return rec;
}

async function detail(d: FlagDeps, ctx: RouteContext, key: string, tenant: TenantKey, context: Record<string, string> = {}) {
  const rec = await mustGet(d, key);
  const c = (rec.config ?? {}) as StoredConfig;
  const override = tenant === null ? null : await d.store.get({ env: d.controller.env, key, tenantId: tenant });
  const ev = d.controller.evaluate(key, { ...context, ...(tenant === null ? {} : { tenantId: tenant }) });
  const history = ctx.audit ? await ctx.audit.query({ tenantId: tenant, targetId: key, order: "desc", limit: 20 }) : null;
  // Targeting rules name other tenants and their users: a tenant principal sees only how many.
  const confined = ctx.principal.tenantId !== null;
  const schedule = (c.schedule ?? []).map((s) =>
    confined && s.patch !== null && typeof s.patch === "object" && "rules" in s.patch ? { ...s, patch: { ...s.patch, rules: [] } } : s,
  );
  return {
    ...summary(d, rec, tenant),
    config: {
      offValue: c.offValue ?? null,
      rules: confined ? [] : (c.rules ?? []),
      variants: c.variants ?? null,
      owner: c.owner ?? null,
      expiresAt: c.expiresAt ?? null,
    },
    schedule,
    tenantId: tenant,
    override: override
      ? {
          tenantId: tenant,
          value: (override.config as { value?: JsonValue } | null)?.value ?? null,
          version: override.version,
          updatedAt: override.updatedAt,
          updatedBy: override.updatedBy,
        }
      : null,
    evaluation: { context: { ...context, ...(tenant === null ? {} : { tenantId: tenant }) }, ...ev },
    history: history ? page(history.items, history.nextCursor) : null,
  };
}

/** Flags: list/search, detail with evaluation and history, value, kill switch, rollout, schedules, tenant overrides. */
export function flagRoutes(d: FlagDeps): RouteDef[] {
  const actor = (ctx: RouteContext) => ctx.principal.actorId;
  return [
    {
      method: "GET",
      path: "/flags",
      permission: "read",
      async handler(ctx) {
        const q = parse(ListQuery, ctx.query, "query");
        const tenant = ctx.scope();
        const r = await d.store.list({ env: d.controller.env, tenantId: null, limit: q.limit ?? 50, cursor: q.cursor ?? null });
        const needle = q.q?.toLowerCase();
        // Search filters within the store's keyset page: the cursor stays the store's, so paging
        // is complete and stable (a page may hold fewer matches than `limit`).
        const items = r.items.filter((x) => !x.key.startsWith("$") && (!needle || x.key.toLowerCase().includes(needle)));
        return json(
          page(
            items.map((x) => summary(d, x, tenant)),
            r.nextCursor,
          ),
        );
      },
    },
    {
      method: "GET",
      path: "/flags/:key",
      permission: "read",
      async handler(ctx) {
        const { tenant: _t, ...context } = parse(DetailQuery, ctx.query, "query");
        return json(await detail(d, ctx, keyOf(ctx), ctx.scope(), context as Record<string, string>));
      },
    },
    {
      method: "GET",
      path: "/flags/:key/history",
      permission: "read",
      async handler(ctx) {
        const key = keyOf(ctx);
        const q = parse(HistoryQuery, ctx.query, "query");
        if (!ctx.audit) return json(page([], null));
        const r = await ctx.audit.query({
          tenantId: ctx.scope(),
          targetId: key,
          order: "desc",
          limit: q.limit ?? 50,
          cursor: q.cursor ?? null,
        });
        return json(page(r.items, r.nextCursor));
      },
    },
    {
      method: "POST",
      path: "/flags/:key/evaluate",
      permission: "read",
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(EvaluateBody);
        const tenant = ctx.scope();
        // The tenant comes from the principal, never from the body.
        const { tenantId: _ignored, ...context } = b.context ?? {};
        return json(d.controller.evaluate(key, { ...context, ...(tenant === null ? {} : { tenantId: tenant }) }));
      },
    },
    {
      method: "PUT",
      path: "/flags/:key/value",
      permission: "configure",
      global: true,
      fields: { newValue: "value" },
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(ValueBody);
        const rec = await d.controller.setFlag({
          key,
          newValue: b.value,
          actorUserId: actor(ctx),
          reason: b.reason,
          ...(b.expectedVersion ? { expectedVersion: b.expectedVersion } : {}),
        });
        return json(summary(d, rec, null));
      },
    },
    {
      method: "PUT",
      path: "/flags/:key/enabled",
      permission: "configure",
      global: true,
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(EnabledBody);
        await mustGet(d, key);
        const rec = await d.controller.setEnabled({ key, enabled: b.enabled, actorUserId: actor(ctx), reason: b.reason });
        return json(summary(d, rec, null));
      },
    },
    {
      method: "PUT",
      path: "/flags/:key/rollout",
      permission: "configure",
      global: true,
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(RolloutBody);
        await mustGet(d, key);
        const rec = await d.controller.setRollout({ key, rollout: b.rollout as never, actorUserId: actor(ctx), reason: b.reason });
        return json(summary(d, rec, null));
      },
    },
    {
      method: "POST",
      path: "/flags/:key/schedule",
      permission: "configure",
      global: true,
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(ScheduleBody);
        await mustGet(d, key);
        const id = await d.controller.scheduleChange({ key, at: b.at, patch: b.patch as never, actorUserId: actor(ctx), reason: b.reason });
        return json({ id }, 201);
      },
    },
    {
      method: "DELETE",
      path: "/flags/:key/schedule/:id",
      permission: "configure",
      global: true,
      async handler(ctx) {
        const key = keyOf(ctx);
        const b = await ctx.body(ReasonBody);
        const id = idParam(ctx, "id");
        await d.controller.cancelScheduledChange({ key, id, actorUserId: actor(ctx), reason: b.reason });
        return json({ cancelled: id });
      },
    },
    {
      method: "PUT",
      path: "/flags/:key/overrides/:tenant",
      permission: "operate",
      fields: { newValue: "value", tenantId: "tenant" },
      async handler(ctx) {
        const key = keyOf(ctx);
        const tenant = ctx.own(tenantOf(ctx));
        const b = await ctx.body(OverrideBody);
        await mustGet(d, key);
        await d.controller.setFlag({ key, newValue: b.value, tenantId: tenant, actorUserId: actor(ctx), reason: b.reason });
        return json(await detail(d, ctx, key, tenant));
      },
    },
    {
      method: "DELETE",
      path: "/flags/:key/overrides/:tenant",
      permission: "operate",
      fields: { tenantId: "tenant" },
      async handler(ctx) {
        const key = keyOf(ctx);
        const tenant = ctx.own(tenantOf(ctx));
        const b = await ctx.body(ReasonBody);
        await d.controller.clearTenantOverride({ key, tenantId: tenant!, actorUserId: actor(ctx), reason: b.reason });
        return json(await detail(d, ctx, key, tenant));
      },
    },
  ];
}
