import type { IncomingMessage, ServerResponse } from "node:http";
import type { OpsConsole } from "../types.js";
import { sendFetchResponse, toFetchRequest } from "./node.js";

/** The part of a Fastify instance the plugin uses (structural: no import of fastify). */
export interface FastifyLike {
  addContentTypeParser(
    type: string,
    fn: (req: unknown, payload: unknown, done: (err: Error | null, body?: unknown) => void) => void,
  ): unknown;
  removeAllContentTypeParsers?(): unknown;
  route(opts: {
    method: string[];
    url: string;
    handler: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): unknown }) => Promise<void>;
  }): unknown;
}

/**
 * A Fastify plugin: `app.register(fastifyConsole(opsConsole))`. Register it without a `prefix`:
 * the console's `basePath` is its prefix. Inside the plugin's own context, bodies are left unread
 * for the console (which limits them while streaming); the app's parsers elsewhere are untouched.
 */
export function fastifyConsole(c: OpsConsole) {
  return async function opsConsolePlugin(app: FastifyLike): Promise<void> {
    app.removeAllContentTypeParsers?.();
    app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
    const handler = async (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): unknown }) => {
      reply.hijack();
      const response = await c.fetch(toFetchRequest(request.raw, request.raw.url ?? "/"));
      await sendFetchResponse(request.raw, reply.raw, response);
    };
    const methods = ["GET", "HEAD", "POST", "PUT", "DELETE"];
    app.route({ method: methods, url: c.basePath === "" ? "/" : c.basePath, handler });
    app.route({ method: methods, url: `${c.basePath}/*`, handler });
  };
}
