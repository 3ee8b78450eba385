import type { OpsConsole } from "../types.js";

type Handler = (request: Request) => Promise<Response>;

/**
 * Next.js App Router handlers, for `app/<basePath>/[[...path]]/route.ts`:
 * `export const { GET, HEAD, POST, PUT, DELETE } = consoleRouteHandlers(opsConsole)`.
 */
export function consoleRouteHandlers(c: OpsConsole): { GET: Handler; HEAD: Handler; POST: Handler; PUT: Handler; DELETE: Handler } {
  const h: Handler = (request) => c.fetch(request);
  return { GET: h, HEAD: h, POST: h, PUT: h, DELETE: h };
}
