import type { IncomingMessage, ServerResponse } from "node:http";
import type { Health, HealthRequest } from "../health.js";
import { respondToHealthRequest, routeTable, type HealthPaths, type HealthHttpResponse } from "../respond.js";

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
    const request: HealthRequest = {
      method: req.method ?? "GET",
      path,
      query: new URLSearchParams(q === -1 ? "" : raw.slice(q + 1)),
      header: (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(", ") : v;
      },
    };
    respondToHealthRequest(health, route, request).then(
      (r) => send(res, r),
      (err: unknown) => (next ? next(err) : send(res, { status: 500, headers: {}, body: "" })),
    );
  };
}

function send(res: ServerResponse, r: HealthHttpResponse): void {
  res.statusCode = r.status;
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  res.end(r.body);
}
