import * as z from "zod";
import { OUTBOX_STATUSES, type OutboxMessage } from "@ops/core";
import type { OutboxNotifier } from "@ops/notify";
import { ApiError, json, parse } from "../http.js";
import type { RouteDef } from "../router.js";
import { Paging, Reason, TenantParam, idParam, page } from "./common.js";

const STATUSES = [...OUTBOX_STATUSES, "failed"] as const;
const ListQuery = z
  .object({
    status: z.enum(STATUSES, { message: `expected one of ${STATUSES.join(", ")}` }).optional(),
    channel: z.string().max(64).optional(),
    tenant: TenantParam.optional(),
    ...Paging,
  })
  .strict();
const ReasonBody = z.object({ reason: Reason }).strict();
/** `lastError` of a message cancelled from the console. */
const CANCEL_NOTE = "cancelled by an operator in the console (reason in the audit log)";

/** An outbox message without lease internals; payloads never hold channel secrets. */
function view(m: OutboxMessage) {
  const { leaseOwner: _o, leaseUntil: _u, ...rest } = m;
  return rest;
}

/** Notification outbox: pending, failed (pending with a failed attempt), dead-lettered...; resend, cancel. */
export function outboxRoutes(notifier: OutboxNotifier): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/outbox",
      permission: "read",
      async handler(ctx) {
        const q = parse(ListQuery, ctx.query, "query");
        const status = q.status === "failed" ? "pending" : q.status;
        const r = await notifier.list({
          tenantId: ctx.scope(),
          ...(status ? { status } : {}),
          ...(q.channel ? { channel: q.channel } : {}),
          limit: q.limit ?? 50,
          cursor: q.cursor ?? null,
        });
        // "failed" filters the store's keyset page: the cursor stays the store's.
        const items = q.status === "failed" ? r.items.filter((m) => m.lastError !== null) : r.items;
        return json(page(items.map(view), r.nextCursor));
      },
    },
    {
      method: "POST",
      path: "/outbox/:id/resend",
      permission: "operate",
      async handler(ctx) {
        const b = await ctx.body(ReasonBody);
        const id = idParam(ctx, "id");
        const m = await notifier.status({ messageId: id });
        // Another tenant's message does not exist for a tenant principal.
        if (!m || (ctx.principal.tenantId !== null && m.tenantId !== ctx.principal.tenantId))
          throw new ApiError("NOT_FOUND", `notification ${id} not found`);
        await ctx.record({
          tenantId: m.tenantId,
          target: { id: m.id, type: "notification" },
          reason: b.reason,
          meta: { operation: "outbox.resend", channel: m.channel },
        });
        const copy = await notifier.resend({ messageId: m.id, actor: ctx.principal.actorId });
        return json(view(copy), 201);
      },
    },
    {
      method: "POST",
      path: "/outbox/:id/cancel",
      permission: "operate",
      async handler(ctx) {
        const b = await ctx.body(ReasonBody);
        const id = idParam(ctx, "id");
        const m = await notifier.status({ messageId: id });
        // Another tenant's message does not exist for a tenant principal.
        if (!m || (ctx.principal.tenantId !== null && m.tenantId !== ctx.principal.tenantId))
          throw new ApiError("NOT_FOUND", `notification ${id} not found`);
        await ctx.record({
          tenantId: m.tenantId,
          target: { id: m.id, type: "notification" },
          reason: b.reason,
          meta: { operation: "outbox.cancel", channel: m.channel },
        });
        // The operator's free-text reason stays in the (redacted) audit trail; the message, which
        // tenant viewers read, only says who stopped it.
        const cancelled = await notifier.cancel({ messageId: m.id, reason: CANCEL_NOTE, actor: ctx.principal.actorId });
        return json(view(cancelled));
      },
    },
  ];
}
