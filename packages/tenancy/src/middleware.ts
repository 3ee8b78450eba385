import type { IncomingMessage, ServerResponse } from "node:http";
import { TenantIsolationError, ValidationError } from "@ops/core";
import { reportLeak, type LeakGuardOptions } from "./leak-guard.js";
import { resolveTenant, type TenantRequest, type TenantResolver } from "./resolvers.js";
import { TenantScope } from "./tenant-scope.js";

export interface TenantMiddlewareOptions extends LeakGuardOptions {
  resolve: TenantResolver;
  /**
   * No tenant found: `"reject"` (default) answers 400 `tenant_required`; `"continue"` runs the
   * handler with no scope (public routes), where scoped stores and `requireTenant()` refuse.
   */
  onMissing?: "reject" | "continue";
}

type Outcome = { tenantId: string | undefined } | { status: number; error: string };

/**
 * Resolves and validates the tenant: 400 `tenant_invalid` for a malformed id, 403
 * `tenant_forbidden` (reported as a leak attempt) when a resolver refuses the request (a forged
 * token, two tenants named). Other resolver errors propagate.
 */
async function decide(req: TenantRequest, options: TenantMiddlewareOptions): Promise<Outcome> {
  try {
    const tenantId = await resolveTenant(options.resolve, req);
    if (tenantId === undefined && (options.onMissing ?? "reject") === "reject") return { status: 400, error: "tenant_required" };
    return { tenantId };
  } catch (err) {
    if (err instanceof ValidationError) return { status: 400, error: "tenant_invalid" };
    if (err instanceof TenantIsolationError) {
      await reportLeak(options, {
        currentTenant: undefined,
        operation: `http ${req.url.pathname}`,
        reason: err.message.replace(/^\[ops\/tenancy\] /, ""),
      });
      return { status: 403, error: "tenant_forbidden" };
    }
    throw err;
  }
}

/** A fetch `Request` as resolvers see it. */
export function fetchTenantRequest(req: Request): TenantRequest {
  const url = new URL(req.url);
  return { url, header: (name) => req.headers.get(name) ?? undefined };
}

/** A node `IncomingMessage` (plain http, Express, Fastify's raw request) as resolvers see it. */
export function nodeTenantRequest(req: IncomingMessage): TenantRequest {
  let url: URL;
  try {
    url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
  } catch {
    url = new URL(req.url ?? "/", "http://localhost");
  }
  return {
    url,
    header: (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

function json(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } });
}

/**
 * Wraps a fetch handler (Next.js route handlers, Hono, Bun, Deno, Workers): the handler runs
 * inside `new TenantScope(tenantId).run(...)`.
 */
export function withTenantFetch<A extends unknown[]>(
  handler: (req: Request, ...rest: A) => Response | Promise<Response>,
  options: TenantMiddlewareOptions,
): (req: Request, ...rest: A) => Promise<Response> {
  return async (req, ...rest) => {
    const outcome = await decide(fetchTenantRequest(req), options);
    if ("status" in outcome) return json(outcome.status, outcome.error);
    if (outcome.tenantId === undefined) return handler(req, ...rest);
    return new TenantScope(outcome.tenantId).run(() => handler(req, ...rest));
  };
}

function reject(res: ServerResponse, status: number, error: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ error }));
}

/**
 * Connect/Express middleware: `app.use(tenantMiddleware({ resolve }))`. Everything after it in
 * the chain (and everything it awaits) runs in the tenant's scope.
 */
export function tenantMiddleware(
  options: TenantMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    decide(nodeTenantRequest(req), options).then(
      (outcome) => {
        if ("status" in outcome) return reject(res, outcome.status, outcome.error);
        if (outcome.tenantId === undefined) return next();
        new TenantScope(outcome.tenantId).run(() => next());
      },
      (err: unknown) => next(err),
    );
  };
}

/** Wraps a plain node http handler: `http.createServer(withTenantNode(handler, { resolve }))`. */
export function withTenantNode(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  options: TenantMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const middleware = tenantMiddleware(options);
  return (req, res) => {
    middleware(req, res, (err) => {
      if (err !== undefined) {
        if (!res.headersSent) reject(res, 500, "internal_error");
        else res.destroy();
        return;
      }
      Promise.resolve()
        .then(() => handler(req, res))
        .catch(() => {
          if (!res.headersSent) reject(res, 500, "internal_error");
          else res.destroy();
        });
    });
  };
}
