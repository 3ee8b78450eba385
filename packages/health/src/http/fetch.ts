import type { Health, HealthRequest } from "../health.js";
import { parseInput } from "@ops/core";
import { HealthRouteSchema, respondToHealthRequest, routeTable, type HealthPaths, type HealthRoute } from "../respond.js";

function fromFetchRequest(request: Request): HealthRequest {
  const url = new URL(request.url);
  return { method: request.method, path: url.pathname, query: url.searchParams, header: (n) => request.headers.get(n) ?? undefined };
}

/**
 * A fetch-API handler for one route, whatever the URL: a Next.js route handler
 * (`export const GET = healthRoute(health, "readiness")`), a Hono or Bun or Deno handler.
 * @throws ValidationError on an unknown route
 */
export function healthRoute(health: Health, route: HealthRoute): (request: Request) => Promise<Response> {
  parseInput(HealthRouteSchema, route, { pkg: "health", what: "healthRoute route" });
  return async (request) => {
    const r = await respondToHealthRequest(health, route, fromFetchRequest(request));
    return new Response(r.body === "" ? null : r.body, { status: r.status, headers: r.headers });
  };
}

export interface FetchHandlerOptions {
  /** Paths per route (defaults /livez /readyz /startupz /health /metrics); `false` turns one off. */
  paths?: HealthPaths;
}

/** A fetch handler serving every health route; `undefined` for other paths, so a router can fall through. */
export type HealthFetchHandler = (request: Request) => Promise<Response | undefined>;

/**
 * Serves all routes by path (mount it first in a fetch-based router such as Hono's `app.use`).
 * @throws ValidationError on malformed paths
 */
export function createFetchHandler(health: Health, options: FetchHandlerOptions = {}): HealthFetchHandler {
  const table = routeTable(options.paths, "createFetchHandler");
  return async (request) => {
    const req = fromFetchRequest(request);
    const route = table.get(req.path);
    if (route === undefined) return undefined;
    const r = await respondToHealthRequest(health, route, req);
    return new Response(r.body === "" ? null : r.body, { status: r.status, headers: r.headers });
  };
}
