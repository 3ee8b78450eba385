import { Readable } from "node:stream";
import type { Hono } from "hono";
import * as z from "zod";
import { OUTBOX_STATUSES, type OutboxMessage } from "@ops/core";
import { exportCsv, exportJsonl, parseQuery, type AuditLog } from "@ops/audit";
import type { OutboxNotifier } from "@ops/notify";
import { Actor, Limit, readQuery, type AppEnv } from "../http.js";

export interface AuditRoutesDeps {
  audit: AuditLog<string>;
  notifier: OutboxNotifier;
}

const Filters = {
  action: z.string().optional(),
  actorId: z.string().optional(),
  subjectId: z.string().optional(),
  targetId: z.string().optional(),
  outcome: z.string().optional(),
  correlationId: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
};
const QueryQuery = z.object({ ...Filters, order: z.string().optional(), limit: Limit.optional(), cursor: z.string().optional() }).strict();
const ExportQuery = z
  .object({ ...Filters, format: z.enum(["jsonl", "csv"], { message: "expected jsonl or csv" }).default("jsonl"), actor: Actor.optional() })
  .strict();
const NotificationsQuery = z
  .object({ status: z.enum(OUTBOX_STATUSES, { message: `expected one of ${OUTBOX_STATUSES.join(", ")}` }).optional(), limit: Limit.optional() })
  .strict();

/** Audit trail of the caller's tenant (the global chain without a tenant): query, export, verify. */
export function auditRoutes(app: Hono<AppEnv>, d: AuditRoutesDeps): void {
  app.get("/api/audit", async (c) => {
    // @ops/audit validates the filters (ValidationError naming each one -> 400).
    const q = readQuery(c, QueryQuery);
    const page = await d.audit.query({ ...(q as Record<string, never>), tenantId: c.get("tenant") });
    return c.json({ ok: true, tenantId: c.get("tenant"), entries: page.items, nextCursor: page.nextCursor });
  });

  // Streams page by page: never the whole trail in memory. With ?actor= the export itself is audited.
  app.get("/api/audit/export", async (c) => {
    const { format, actor, ...filters } = readQuery(c, ExportQuery);
    const input = { ...(filters as Record<string, never>), tenantId: c.get("tenant") };
    parseQuery(input); // bad filters answer 400 before the stream starts
    const stream = (format === "csv" ? exportCsv : exportJsonl)(d.audit, { ...input, ...(actor ? { auditedAs: { id: actor, type: "user" as const } } : {}) });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      status: 200,
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="audit-${c.get("tenant") ?? "global"}-${stamp}.${format}"`,
        "cache-control": "no-store",
      },
    });
  });

  app.get("/api/audit/verify", async (c) => {
    const result = await d.audit.verify({ tenantId: c.get("tenant") });
    return c.json({ ok: true, verify: result });
  });

  app.get("/api/notifications", async (c) => {
    const q = readQuery(c, NotificationsQuery);
    const page = await d.notifier.list({ tenantId: c.get("tenant"), ...(q.status ? { status: q.status } : {}), ...(q.limit ? { limit: q.limit } : {}) });
    return c.json({ ok: true, tenantId: c.get("tenant"), notifications: page.items.map(publicMessage), nextCursor: page.nextCursor });
  });
}

/** An outbox message without internals (lease holders); the payload holds no channel secrets. */
function publicMessage(m: OutboxMessage) {
  const { leaseOwner: _l, leaseUntil: _u, ...rest } = m as OutboxMessage & { leaseOwner?: unknown; leaseUntil?: unknown };
  return rest;
}
