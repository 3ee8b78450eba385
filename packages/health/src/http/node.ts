import type { IncomingMessage, ServerResponse } from "node:http";
import type { Health, HealthRequest } from "../health.js";
import { parseInput } from "@ops/core";
import {
  HealthRouteSchema,
  respondToHealthRequest,
  routeTable,
  type HealthHttpResponse,
  type HealthPaths,
  type HealthRoute,
} from "../respond.js";

export interface NodeMiddlewareOptions {
  /** Paths per route (defaults /livez /readyz /startupz /health /metrics); `false` turns one off. */
  paths?: HealthPaths;
}

/** `(req, res, next)`: Express / Connect middleware, or a plain `http.createServer` listener. */
export type NodeHealthMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * Serves the health routes on node's http server or Express. Other paths go to `next()`; with no
 * `next` (a bare node server) they get 404.
 * @throws ValidationError on malformed paths
 */
export function healthMiddleware(health: Health, options: NodeMiddlewareOptions = {}): NodeHealthMiddleware {
  const table = routeTable(options.paths, "healthMiddleware");
  return (req, res, next) => {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q === -1 ? raw : raw.slice(0, q);
    const route = table.get(path);
    if (route === undefined) {
      if (next) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    respondToHealthRequest(health, route, fromNodeRequest(req, path, q === -1 ? "" : raw.slice(q + 1))).then(
      (r) => send(res, r),
      (err: unknown) => (next ? next(err) : send(res, { status: 500, headers: {}, body: "" })),
    );
  };
}

/**
 * A node handler for one route whatever the path: a Next.js pages-router API route
 * (`export default healthNodeRoute(health, "readiness")`) or `app.get("/ops/ready", ...)`.
 * @throws ValidationError on an unknown route
 */
export function healthNodeRoute(health: Health, route: HealthRoute): (req: IncomingMessage, res: ServerResponse) => void {
  parseInput(HealthRouteSchema, route, { pkg: "health", what: "healthNodeRoute route" });
  return (req, res) => {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    respondToHealthRequest(health, route, fromNodeRequest(req, q === -1 ? raw : raw.slice(0, q), q === -1 ? "" : raw.slice(q + 1))).then(
      (r) => send(res, r),
      () => send(res, { status: 500, headers: {}, body: "" }),
    );
  };
}

function fromNodeRequest(req: IncomingMessage, path: string, query: string): HealthRequest {
  return {
    method: req.method ?? "GET",
    path,
    query: new URLSearchParams(query),
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

function send(res: ServerResponse, r: HealthHttpResponse): void {
  res.statusCode = r.status;
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  res.end(r.body);
}
