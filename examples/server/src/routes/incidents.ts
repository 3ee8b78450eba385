import type { Hono } from "hono";
import * as z from "zod";
import { INCIDENT_STATES, NotFoundError, type IncidentRecord, type IncidentStore } from "@ops/core";
import type { IncidentData, OpsRuntime } from "@ops/incidents";
import { Actor, Limit, readBody, readQuery, requireGlobalScope, type AppEnv } from "../http.js";

// An incident's `data` holds the runtime's IncidentData (its lifecycle, mitigation and notify state).
const dataOf = (r: IncidentRecord): IncidentData => r.data as unknown as IncidentData;

export interface IncidentRoutesDeps {
  runtime: OpsRuntime;
  store: IncidentStore;
}

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(20));

const ListQuery = z
  .object({
    state: csv(z.enum(INCIDENT_STATES, { message: `expected states among ${INCIDENT_STATES.join(", ")}` })).optional(),
    type: csv(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "expected UPPER_SNAKE_CASE incident types")).optional(),
    limit: Limit.optional(),
    cursor: z.string().max(512).optional(),
  })
  .strict();
const TransitionBody = z.object({ actor: Actor, reason: z.string().trim().min(1).max(2000).optional() }).strict();
const ActorBody = z.object({ actor: Actor }).strict();

/** The list view: what the on-call engineer scans. */
export function summary(r: IncidentRecord) {
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
    ...(r.resolvedAt ? { resolvedAt: r.resolvedAt } : {}),
    decision: d.response.decision,
    occurrences: d.occurrences,
    mitigation: d.mitigation ? { status: d.mitigation.status, flags: d.mitigation.flags.map((f) => f.key) } : null,
  };
}

/** The detail view: the response plan, mitigation, history and the metrics that raised it. */
export function detail(r: IncidentRecord) {
  const d = dataOf(r);
  return {
    ...summary(r),
    version: r.version,
    source: d.source,
    event: d.event,
    response: d.response,
    mitigation: d.mitigation ?? null,
    history: d.history,
    notify: d.notify ?? null,
  };
}

/** Incidents of the caller's tenant (or the global ones without a tenant): list, read, act. */
export function incidentRoutes(app: Hono<AppEnv>, d: IncidentRoutesDeps): void {
  app.get("/api/incidents", async (c) => {
    const q = readQuery(c, ListQuery);
    const page = await d.store.list({
      tenantId: c.get("tenant"),
      ...(q.state ? { states: q.state } : {}),
      ...(q.type ? { types: q.type } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ ok: true, tenantId: c.get("tenant"), incidents: page.items.map(summary), nextCursor: page.nextCursor });
  });

  app.get("/api/incidents/:id", async (c) => {
    const r = await d.store.get({ tenantId: c.get("tenant"), id: c.req.param("id") });
    if (!r) throw new NotFoundError(`[ops/example-server] incident ${c.req.param("id")} not found`);
    return c.json({ ok: true, incident: detail(r) });
  });

  app.post("/api/incidents/:id/acknowledge", async (c) => {
    const b = await readBody(c, TransitionBody);
    const r = await d.runtime.acknowledge({ tenantId: c.get("tenant"), id: c.req.param("id"), actor: b.actor, ...(b.reason ? { reason: b.reason } : {}) });
    return c.json({ ok: true, incident: summary(r) });
  });

  app.post("/api/incidents/:id/resolve", async (c) => {
    const b = await readBody(c, TransitionBody);
    const r = await d.runtime.resolve({ tenantId: c.get("tenant"), id: c.req.param("id"), actor: b.actor, ...(b.reason ? { reason: b.reason } : {}) });
    return c.json({ ok: true, incident: summary(r) });
  });

  // Applies a suggested mitigation now (mitigation mode "suggest", or after a decline).
  app.post("/api/incidents/:id/mitigate", async (c) => {
    const b = await readBody(c, ActorBody);
    const result = await d.runtime.applyMitigation({ tenantId: c.get("tenant"), id: c.req.param("id"), actor: b.actor });
    return c.json({ ok: true, mitigation: result });
  });

  // Restores exactly the flag values the incident's mitigation replaced.
  app.post("/api/incidents/:id/rollback", async (c) => {
    const b = await readBody(c, ActorBody);
    const restored = await d.runtime.rollback({ tenantId: c.get("tenant"), id: c.req.param("id"), actor: b.actor });
    return c.json({
      ok: true,
      restored: restored.map((a) => ({ key: a.key, tenantId: a.tenantId, appliedValue: a.value, restoredTo: a.hadPrevious ? a.previous : null, cleared: !a.hadPrevious })),
    });
  });

  // One detection pass now (the runtime also ticks on its own every OPS_TICK_MS).
  app.post("/api/ops/tick", async (c) => {
    requireGlobalScope(c, "a runtime tick");
    const r = await d.runtime.tick();
    return c.json({
      ok: r.errors.length === 0,
      findings: r.findings,
      firing: r.firing.map((f) => ({ incidentType: f.incidentType, tenantId: f.tenantId, reason: f.reason })),
      raised: r.raised.map(summary),
      updated: r.updated,
      resolved: r.resolved.map(summary),
      mitigations: r.mitigations.map((m) => ({ status: m.status, flags: m.applied.map((a) => a.key) })),
      notifications: r.notifications,
      errors: r.errors.length,
    });
  });
}
