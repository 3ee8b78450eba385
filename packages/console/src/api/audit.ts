import { Readable } from "node:stream";
import * as z from "zod";
import type { AuditLog } from "@ops/audit";
import { json, parse } from "../http.js";
import type { RouteDef } from "../router.js";
import { Paging, Reason, TenantParam, page } from "./common.js";

const Filters = {
  tenant: TenantParam.optional(),
  action: z.string().max(64).optional(),
  actorId: z.string().max(256).optional(),
  subjectId: z.string().max(256).optional(),
  targetId: z.string().max(256).optional(),
  outcome: z.string().max(16).optional(),
  correlationId: z.string().max(128).optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
};
const QueryQuery = z.object({ ...Filters, order: z.enum(["asc", "desc"]).optional(), ...Paging }).strict();
const ExportQuery = z
  .object({ ...Filters, format: z.enum(["jsonl", "csv"], { message: "expected jsonl or csv" }).default("jsonl"), reason: Reason })
  .strict();
const VerifyQuery = z.object({ tenant: TenantParam.optional() }).strict();

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ""));

/** Audit: browse with filters, chain verification, streamed export (itself audited). */
export function auditRoutes(audit: AuditLog<string>): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/audit",
      permission: "read",
      async handler(ctx) {
        const { tenant: _t, limit, cursor, ...filters } = parse(QueryQuery, ctx.query, "query");
        // @ops/audit validates the filters and names each bad one (-> 400).
        const r = await audit.query({
          ...(defined(filters) as Record<string, never>),
          tenantId: ctx.scope(),
          order: filters.order ?? "desc",
          limit: limit ?? 50,
          cursor: cursor ?? null,
        });
        return json(page(r.items, r.nextCursor));
      },
    },
    {
      method: "GET",
      path: "/audit/verify",
      permission: "read",
      async handler(ctx) {
        parse(VerifyQuery, ctx.query, "query");
        const tenantId = ctx.scope();
        return json({ ...(await audit.verify({ tenantId })), tenantId });
      },
    },
    {
      method: "GET",
      path: "/audit/export",
      permission: "export",
      async handler(ctx) {
        const { tenant: _t, format, reason, ...filters } = parse(ExportQuery, ctx.query, "query");
        const tenantId = ctx.scope();
        const { exportCsv, exportJsonl, parseQuery } = await import("@ops/audit");
        const input = { ...(defined(filters) as Record<string, never>), tenantId };
        parseQuery(input); // bad filters answer 400 before the stream starts
        await ctx.record({
          action: "AUDIT_EXPORT",
          tenantId,
          target: { id: tenantId ?? "global", type: "audit_chain" },
          reason,
          meta: { format, filters: defined(filters) },
        });
        const stream = (format === "csv" ? exportCsv : exportJsonl)(audit, input);
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        return new Response(Readable.toWeb(stream) as ReadableStream, {
          status: 200,
          headers: {
            "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
            "content-disposition": `attachment; filename="audit-${tenantId ?? "global"}-${stamp}.${format}"`,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        });
      },
    },
  ];
}
