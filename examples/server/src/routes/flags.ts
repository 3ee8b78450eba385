import type { Hono } from "hono";
import * as z from "zod";
import { JsonValueSchema, NotFoundError, type FlagRecord, type FlagStore, type JsonValue, type TenantKey } from "@ops/core";
import { FlagKeySchema, type FeatureFlagController } from "@ops/flags";
import { Actor, Reason, readBody, readQuery, requireGlobalScope, requireTenantScope, type AppContext, type AppEnv } from "../http.js";

export interface FlagRoutesDeps {
  flags: FeatureFlagController;
  store: FlagStore;
  env: string;
}

const SetBody = z.object({ value: JsonValueSchema, actor: Actor, reason: Reason, expectedVersion: z.number().int().min(1).optional() }).strict();
const OverrideBody = z.object({ value: JsonValueSchema, actor: Actor, reason: Reason }).strict();
const ClearBody = z.object({ actor: Actor, reason: Reason }).strict();
const EnabledBody = z.object({ enabled: z.boolean({ message: "expected true or false" }), actor: Actor, reason: Reason }).strict();
const Context = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]));
const EvaluateBody = z.object({ keys: z.array(FlagKeySchema).min(1).max(200).optional(), context: Context.optional() }).strict();

function keyOf(c: AppContext): string {
  const r = FlagKeySchema.safeParse(c.req.param("key"));
  if (!r.success) throw new NotFoundError(`[ops/example-server] no flag "${c.req.param("key")}": flag keys are letters, digits and _ . : -`);
  return r.data;
}

async function listAll(store: FlagStore, env: string, tenantId: TenantKey): Promise<FlagRecord[]> {
  const out: FlagRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: FlagRecord[]; nextCursor: string | null } = await store.list({ env, tenantId, limit: 1000, cursor });
    out.push(...page.items.filter((r) => !r.key.startsWith("$")));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const meta = (r: FlagRecord) => ({ version: r.version, updatedAt: r.updatedAt, updatedBy: r.updatedBy });

/** One flag as the API shows it: the global definition, the caller's override, what the caller gets. */
function view(d: FlagRoutesDeps, key: string, global: FlagRecord | null, override: FlagRecord | null, tenant: TenantKey) {
  const cfg = (global?.config ?? null) as { type?: string; value?: JsonValue; enabled?: boolean; rules?: unknown[]; rollout?: unknown } | null;
  const evaluated = d.flags.evaluate(key, tenant === null ? {} : { tenantId: tenant });
  return {
    key,
    type: cfg?.type ?? null,
    value: cfg?.value ?? null,
    enabled: cfg?.enabled ?? true,
    rules: cfg?.rules?.length ?? 0,
    rollout: cfg?.rollout ?? null,
    ...(global ? meta(global) : { version: null }),
    override: override ? { tenantId: tenant, value: (override.config as { value?: JsonValue }).value ?? null, ...meta(override) } : null,
    effective: { value: evaluated.value, reason: evaluated.reason, errorCode: evaluated.errorCode },
  };
}

/**
 * Flags admin API. Global writes (value, kill switch) need the global scope; a tenant writes only
 * its own override and reads only its own overrides. Every write is audited (FLAG_CHANGE) by the
 * controller through the AuditSink.
 */
export function flagRoutes(app: Hono<AppEnv>, d: FlagRoutesDeps): void {
  app.get("/api/flags", async (c) => {
    const tenant = c.get("tenant");
    const [globals, overrides] = await Promise.all([listAll(d.store, d.env, null), tenant === null ? [] : listAll(d.store, d.env, tenant)]);
    const byKey = new Map(overrides.map((o) => [o.key, o]));
    const keys = [...new Set([...globals.map((g) => g.key), ...byKey.keys()])].sort();
    const g = new Map(globals.map((x) => [x.key, x]));
    return c.json({ ok: true, env: d.env, tenantId: tenant, flags: keys.map((k) => view(d, k, g.get(k) ?? null, byKey.get(k) ?? null, tenant)) });
  });

  app.get("/api/flags/:key", async (c) => {
    const key = keyOf(c);
    const tenant = c.get("tenant");
    const [global, override] = await Promise.all([
      d.store.get({ env: d.env, key, tenantId: null }),
      tenant === null ? null : d.store.get({ env: d.env, key, tenantId: tenant }),
    ]);
    if (!global && !override) throw new NotFoundError(`[ops/example-server] flag "${key}" does not exist in ${d.env}`);
    return c.json({ ok: true, flag: view(d, key, global, override, tenant) });
  });

  app.put("/api/flags/:key", async (c) => {
    const key = keyOf(c);
    requireGlobalScope(c, "a flag's global value");
    const b = await readBody(c, SetBody);
    const rec = await d.flags.setFlag({ key, newValue: b.value, actorUserId: b.actor, reason: b.reason, ...(b.expectedVersion ? { expectedVersion: b.expectedVersion } : {}) });
    return c.json({ ok: true, flag: view(d, key, rec, null, null) });
  });

  app.put("/api/flags/:key/override", async (c) => {
    const key = keyOf(c);
    const tenant = requireTenantScope(c, "a tenant override");
    const b = await readBody(c, OverrideBody);
    const rec = await d.flags.setFlag({ key, newValue: b.value, tenantId: tenant, actorUserId: b.actor, reason: b.reason });
    const global = await d.store.get({ env: d.env, key, tenantId: null });
    return c.json({ ok: true, flag: view(d, key, global, rec, tenant) });
  });

  app.delete("/api/flags/:key/override", async (c) => {
    const key = keyOf(c);
    const tenant = requireTenantScope(c, "a tenant override");
    const b = await readBody(c, ClearBody);
    await d.flags.clearTenantOverride({ key, tenantId: tenant, actorUserId: b.actor, reason: b.reason });
    return c.json({ ok: true });
  });

  // The kill switch: enabled=false serves the off value to everyone, overrides included.
  app.put("/api/flags/:key/enabled", async (c) => {
    const key = keyOf(c);
    requireGlobalScope(c, "the kill switch");
    const b = await readBody(c, EnabledBody);
    const rec = await d.flags.setEnabled({ key, enabled: b.enabled, actorUserId: b.actor, reason: b.reason });
    return c.json({ ok: true, flag: view(d, key, rec, null, null) });
  });

  app.get("/api/flags/:key/evaluate", (c) => {
    const key = keyOf(c);
    const { tenantId: _ignored, ...context } = readQuery(c, z.record(z.string(), z.string()));
    const tenant = c.get("tenant");
    const details = d.flags.evaluate(key, { ...context, ...(tenant === null ? {} : { tenantId: tenant }) });
    return c.json({ ok: true, ...details });
  });

  app.post("/api/flags/evaluate", async (c) => {
    const b = await readBody(c, EvaluateBody);
    const tenant = c.get("tenant");
    // The tenant comes from the request's credentials, never from the body.
    const { tenantId: _ignored, ...context } = b.context ?? {};
    const ctx = { ...context, ...(tenant === null ? {} : { tenantId: tenant }) };
    // Not `flags.keys()`: it also knows keys that only other tenants override.
    const keys =
      b.keys ??
      [...new Set([...(await listAll(d.store, d.env, null)), ...(tenant === null ? [] : await listAll(d.store, d.env, tenant))].map((r) => r.key))].sort();
    return c.json({ ok: true, results: Object.fromEntries(keys.map((k) => [k, d.flags.evaluate(k, ctx)])) });
  });
}
