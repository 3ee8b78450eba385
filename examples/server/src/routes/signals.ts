import type { Hono } from "hono";
import * as z from "zod";
import { AuthEventTypeSchema, IsoDateTimeSchema, JsonValueSchema, storableJson, storableText, type AuthEventStore } from "@ops/core";
import { inRequestTerms, publicText } from "@ops/console";
import { createAuthOpsHandler, type OpsRuntime } from "@ops/incidents";
import { HttpError, Limit, parseBody, readBody, readQuery, type AppEnv } from "../http.js";

export interface SignalRoutesDeps {
  runtime: OpsRuntime;
  store: AuthEventStore;
  /** Told when a flush failed and a batch was answered 503 instead of 202 (for a log line). */
  onUnstored?: (err: unknown) => void;
}

// Storable text as core defines it for every store (no NUL, no unpaired surrogate, bounded): one
// such signal admitted would be refused by the store at the next flush.
const text = (max: number) => storableText("id").max(max, `expected a string of 1..${max} characters`);

const Signal = z
  .object({
    type: AuthEventTypeSchema,
    userId: text(256).optional(),
    ip: text(64).optional(),
    provider: text(64).optional(),
    occurredAt: IsoDateTimeSchema.optional(),
    meta: storableJson(z.record(z.string(), JsonValueSchema)).optional(),
    // Accepted only when it repeats the caller's tenant: the tenant comes from the request.
    tenantId: z.string().nullable().optional(),
  })
  .strict();
const Batch = z.object({ events: z.array(Signal).min(1, "expected 1..1000 events").max(1000, "expected 1..1000 events") }).strict();

const ListQuery = z
  .object({
    type: AuthEventTypeSchema.optional(),
    // Filters are compared with stored text: what could never be stored (a NUL) is refused here,
    // naming the parameter, instead of reaching the database.
    userId: text(256).optional(),
    ip: text(64).optional(),
    from: IsoDateTimeSchema.optional(),
    to: IsoDateTimeSchema.optional(),
    limit: Limit.optional(),
    cursor: text(512).optional(),
  })
  .strict();

/** Where the fields of `POST /api/ops/auth` land in the incident it raises. */
const AUTH_FIELDS = { "event.metrics_snapshot": "metrics", "event.occurred_at": "context.now", "event.tenant_id": "context.tenantId" };

/** Auth-signal ingest (the runtime's recorder: counted at once, stored within a second) and `POST /api/ops/auth`. */
export function signalRoutes(app: Hono<AppEnv>, d: SignalRoutesDeps): void {
  app.post("/api/signals", async (c) => {
    const tenant = c.get("tenant");
    // One signal, or { events: [...] }: each shape validated on its own so issues name the field.
    const raw = await readBody(c, z.unknown());
    const b = raw !== null && typeof raw === "object" && "events" in raw ? parseBody(Batch, raw) : parseBody(Signal, raw);
    const events = "events" in b ? b.events : [b];
    const issues = events.flatMap((e, i) =>
      e.tenantId !== undefined && (e.tenantId ?? null) !== tenant
        ? [{ path: "events" in b ? `events[${i}].tenantId` : "tenantId", message: "expected the caller's own tenant (or omit it)" }]
        : [],
    );
    if (issues.length > 0) throw new HttpError(400, "invalid_request", "a signal names another tenant", issues);
    // Admitted whole or refused whole: a 202 is only given for what the buffer will keep.
    if (d.runtime.signalCapacity() < events.length) {
      const seconds = Math.max(1, Math.ceil(d.runtime.signalRetryAfterMs / 1000));
      return c.json({ ok: false, error: "overloaded", message: "the signal buffer is full: nothing was accepted; retry later" }, 503, {
        "retry-after": String(seconds),
      });
    }
    // Validated above as a whole: recording cannot fail half-way through the batch.
    for (const { tenantId: _t, ...e } of events) d.runtime.recordAuthEvent({ ...e, tenantId: tenant });
    // Acknowledged only once stored and counted (one flush shared by concurrent requests): a 202
    // survives a crash of this process. A store that fails now gets no 202: the signals stay
    // buffered and are written by a later flush, so a retry may store them twice (never zero times).
    try {
      await d.runtime.signalsDurable();
    } catch (err) {
      d.onUnstored?.(err);
      return c.json(
        {
          ok: false,
          error: "unavailable",
          message: "the signals could not be stored yet: they are kept and retried, but not acknowledged; retry later",
        },
        503,
        { "retry-after": String(Math.max(1, Math.ceil(d.runtime.signalRetryAfterMs / 1000))) },
      );
    }
    return c.json({ ok: true, accepted: events.length }, 202);
  });

  app.get("/api/signals", async (c) => {
    const q = readQuery(c, ListQuery);
    const page = await d.store.list({
      tenantId: c.get("tenant"),
      ...(q.type ? { types: [q.type] } : {}),
      ...(q.userId ? { userId: q.userId } : {}),
      ...(q.ip ? { ip: q.ip } : {}),
      ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
      ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ ok: true, tenantId: c.get("tenant"), signals: page.items, nextCursor: page.nextCursor });
  });

  // POST /api/ops/auth: metrics in, incidents with their response plans out. Each
  // incident is also raised through the runtime (dedupe, mitigation policy, notifications).
  const seedHandler = createAuthOpsHandler({
    tenantFromRequest: (req) => tenants.get(req) ?? null,
    // A refusal below the route names the request's fields (the event is built from `metrics` and `context`).
    onIncident: (event) =>
      d.runtime.handle(event).catch((err: unknown) => {
        throw inRequestTerms(err, AUTH_FIELDS);
      }),
  });
  const tenants = new WeakMap<Request, string | null>();
  app.post("/api/ops/auth", async (c) => {
    tenants.set(c.req.raw, c.get("tenant"));
    const res = await seedHandler(c.req.raw);
    if (res.status !== 400) return res;
    // The handler's message names its package ("[ops/incidents] invalid metrics: ..."): the caller gets the field issues and plain text.
    const body = (await res.json()) as { error?: unknown; issues?: unknown };
    return c.json({ ...body, ok: false, error: publicText(String(body.error ?? "invalid request")) }, 400);
  });
}
