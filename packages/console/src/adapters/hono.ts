import type { OpsConsole } from "../types.js";

/** The part of a Hono app used here (structural: no import of hono). */
export interface HonoLike {
  all(path: string, handler: (c: { req: { raw: Request } }) => Promise<Response>): unknown;
}

/** Mounts the console on a Hono app at its `basePath`: `honoConsole(app, opsConsole)`. */
export function honoConsole<A extends HonoLike>(app: A, c: OpsConsole): A {
  const handler = (ctx: { req: { raw: Request } }) => c.fetch(ctx.req.raw);
  app.all(c.basePath === "" ? "/" : c.basePath, handler);
  app.all(`${c.basePath}/*`, handler);
  return app;
}
