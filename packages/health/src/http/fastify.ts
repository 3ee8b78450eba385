import { ValidationError } from "@ops/core";
import type { Health, HealthRequest } from "../health.js";
import { respondToHealthRequest, routeTable, type HealthPaths } from "../respond.js";

/** The slice of a Fastify instance the plugin uses (no runtime dependency on fastify). */
export interface FastifyLike {
  route(options: {
    method: string[];
    url: string;
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>;
  }): unknown;
}
export interface FastifyRequestLike {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body?: string | Uint8Array): FastifyReplyLike;
}

export interface FastifyHealthOptions {
  health: Health;
  /** Paths per route (defaults /livez /readyz /startupz /health /metrics); `false` turns one off. */
  paths?: HealthPaths;
}

/**
 * Fastify plugin: `await app.register(fastifyHealth, { health })` adds GET/HEAD routes for the
 * probes, /health and /metrics (respecting a `prefix` given to `register`).
 * @throws ValidationError on a missing `health` or malformed paths
 */
export async function fastifyHealth(fastify: FastifyLike, options: FastifyHealthOptions): Promise<void> {
  const health = options?.health;
  if (typeof health?.check !== "function")
    throw new ValidationError("[ops/health] invalid fastifyHealth options: health: expected the object createHealth() returns", [
      { path: "health", message: "expected the object createHealth() returns" },
    ]);
  for (const [path, route] of routeTable(options.paths, "fastifyHealth")) {
    fastify.route({
      // HEAD is added by Fastify for GET routes (exposeHeadRoutes).
      method: ["GET"],
      url: path,
      handler: async (request, reply) => {
        const q = request.url.indexOf("?");
        const req: HealthRequest = {
          method: request.method,
          path,
          query: new URLSearchParams(q === -1 ? "" : request.url.slice(q + 1)),
          header: (name) => {
            const v = request.headers[name];
            return Array.isArray(v) ? v.join(", ") : v;
          },
        };
        const r = await respondToHealthRequest(health, route, req);
        reply.code(r.status);
        for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
        // A Buffer: Fastify appends `; charset=utf-8` to the media type of string bodies.
        return reply.send(Buffer.from(r.body));
      },
    });
  }
}
