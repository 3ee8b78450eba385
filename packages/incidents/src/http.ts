import type { IncomingMessage, ServerResponse } from "node:http";
import * as z from "zod";
import { isOpsError, JsonValueSchema, parseJsonText, ValidationError, type AuthIncidentType } from "@ops/core";
import { authDetectors, type AuthThresholds } from "./derive.js";
import { deriveIncidents, type Detector } from "./detectors.js";
import { createPlaybookRegistry, type PlaybookRegistry } from "./registry.js";
import { DetectionContextSchema } from "./schemas.js";
import type { SpineEvent, SpineResponse } from "./types.js";

export interface AuthOpsHandlerOptions<T extends string = AuthIncidentType> {
  /** Playbooks (default: the 8 auth ones). */
  registry?: PlaybookRegistry<T>;
  /** Detectors run over `metrics` (default: `authDetectors(thresholds)`). */
  detectors?: ReadonlyArray<Detector<T>>;
  thresholds?: Partial<AuthThresholds>;
  /** Also raise each incident (dedupe, mitigation, notifications), e.g. `runtime.handle` bound. */
  onIncident?: (event: SpineEvent<T>, response: SpineResponse<T>) => Promise<unknown> | unknown;
  /**
   * The caller's tenant from the request (its session), overriding `context.tenantId` in the body:
   * never trust a body to name the tenant in a multi-tenant app.
   */
  tenantFromRequest?: (req: Request) => string | null | undefined | Promise<string | null | undefined>;
  /** Default 1 MB. */
  maxBodyBytes?: number;
}

const BodySchema = z.object({
  metrics: z.record(z.string(), JsonValueSchema, { message: "expected an object of metrics" }),
  context: DetectionContextSchema.optional(),
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });

/** The body as UTF-8 text, or null once it passes `max` bytes (the stream is cancelled then). */
async function readUpTo(req: Request, max: number): Promise<string | null> {
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The `POST /api/ops/auth` route as a fetch-API handler (Request -> Response): body
 * `{ metrics, context? }`, answer `{ ok: true, incidents: [{ event, response }] }`. Use it as a
 * Next.js route handler (`export const POST = createAuthOpsHandler()`), in Hono
 * (`app.post(path, (c) => handler(c.req.raw))`) or in node http/Express through `toNodeHandler`.
 * Never throws: a bad body is 400 with `issues` naming each field, other failures are 4xx/500 JSON.
 */
export function createAuthOpsHandler<T extends string = AuthIncidentType>(
  options: AuthOpsHandlerOptions<T> = {},
): (req: Request) => Promise<Response> {
  const registry = options.registry ?? (createPlaybookRegistry() as unknown as PlaybookRegistry<T>);
  const detectors = options.detectors ?? (authDetectors(options.thresholds) as unknown as ReadonlyArray<Detector<T>>);
  const maxBytes = options.maxBodyBytes ?? 1_000_000;
  return async (req) => {
    try {
      if (req.method !== "POST") return json(405, { ok: false, error: "method not allowed: use POST" }, { allow: "POST" });
      const type = req.headers.get("content-type");
      if (type && !/json/i.test(type)) return json(415, { ok: false, error: "unsupported content-type: expected application/json" });
      const declared = Number(req.headers.get("content-length") ?? "0");
      if (declared > maxBytes) return json(413, { ok: false, error: `body too large: at most ${maxBytes} bytes` });
      // Limited while it streams: a chunked body (no content-length) is never buffered past the limit.
      const text = await readUpTo(req, maxBytes);
      if (text === null) return json(413, { ok: false, error: `body too large: at most ${maxBytes} bytes` });
      let raw: unknown;
      try {
        // Depth-limited while scanning: a 100,000-level body never reaches a recursive reader.
        raw = parseJsonText(text);
      } catch (err) {
        const issues = err instanceof ValidationError ? err.issues : [{ path: "(body)", message: "expected a JSON object" }];
        return json(400, { ok: false, error: "invalid JSON body", issues });
      }
      const parsed = BodySchema.safeParse(raw);
      if (!parsed.success)
        return json(400, {
          ok: false,
          error: "invalid request body",
          issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message })),
        });
      const context: Record<string, unknown> = { ...(parsed.data.context ?? {}) };
      if (options.tenantFromRequest) {
        const t = await options.tenantFromRequest(req);
        if (t === undefined) delete context.tenantId;
        else context.tenantId = t;
      }
      const events = deriveIncidents(parsed.data.metrics, context, detectors);
      const incidents: Array<{ event: SpineEvent<T>; response: SpineResponse<T> }> = [];
      for (const event of events) {
        const response = registry.run(event);
        if (options.onIncident) await options.onIncident(event, response);
        incidents.push({ event, response });
      }
      return json(200, { ok: true, incidents });
    } catch (err) {
      if (err instanceof ValidationError) {
        const where = /invalid (metrics|context):/.exec(err.message)?.[1];
        const issues = err.issues.map((i) => ({ path: where ? `${where}${i.path ? `.${i.path}` : ""}` : i.path, message: i.message }));
        return json(400, { ok: false, error: err.message, issues });
      }
      if (isOpsError(err))
        return json(err.code === "CONFLICT" ? 409 : err.code === "UNAVAILABLE" ? 503 : 500, { ok: false, error: err.code });
      // Never leak internals in a 500.
      return json(500, { ok: false, error: "internal error" });
    }
  };
}

type NodeRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

/**
 * Serves a fetch-API handler from node http or Express: `http.createServer(toNodeHandler(h))` or
 * `app.post("/api/ops/auth", toNodeHandler(h))`. Works with and without `express.json()` (a body
 * already parsed is re-serialised).
 */
export function toNodeHandler(
  handler: (req: Request) => Promise<Response> | Response,
): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => Promise<void> {
  return async (req, res, next) => {
    try {
      const r = req as NodeRequest;
      const host = req.headers.host ?? "localhost";
      const url = new URL(r.originalUrl ?? req.url ?? "/", `http://${host}`);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) headers.append(k, x);
        else headers.set(k, v);
      }
      let body: string | Buffer | undefined;
      if (req.method !== "GET" && req.method !== "HEAD") {
        if (r.body !== undefined && !(r.body instanceof Buffer) && typeof r.body !== "string") {
          body = JSON.stringify(r.body);
          headers.delete("content-length");
        } else if (r.body !== undefined) body = r.body as string | Buffer;
        else {
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          body = Buffer.concat(chunks);
        }
      }
      // A Uint8Array view (not the Buffer) type-checks under both Node's and the DOM's BodyInit.
      const init =
        body === undefined ? undefined : typeof body === "string" ? body : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      const response = await handler(
        new Request(url, { method: req.method ?? "GET", headers, ...(init !== undefined ? { body: init } : {}) }),
      );
      res.statusCode = response.status;
      response.headers.forEach((v, k) => res.setHeader(k, v));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (err) {
      if (next) next(err);
      else {
        res.statusCode = 500;
        res.end();
      }
    }
  };
}

/** The parts of a Fastify request `toFastifyHandler` reads (typed structurally: no fastify import). */
export interface FastifyRequestLike {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** What Fastify's content-type parser made of the body (an object for JSON). */
  body?: unknown;
}

/** The parts of a Fastify reply `toFastifyHandler` uses. */
export interface FastifyReplyLike {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

/**
 * Serves a fetch-API handler from Fastify: `app.post("/api/ops/auth", toFastifyHandler(h))`.
 * Fastify parses the body before any route handler runs, so the raw request stream is already
 * consumed: `reply.hijack()` plus `toNodeHandler(h)(request.raw, reply.raw)` reads an empty body
 * and answers 400. This adapter hands Fastify's parsed body (re-serialised) to the handler and
 * answers through `reply`, so Fastify's hooks, logging and error handling still apply.
 */
export function toFastifyHandler(
  handler: (req: Request) => Promise<Response> | Response,
): (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown> {
  return async (request, reply) => {
    const url = new URL(request.url, `http://${String(request.headers.host ?? "localhost")}`);
    const headers = new Headers();
    for (const [k, v] of Object.entries(request.headers)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else headers.set(k, v);
    }
    let init: string | Uint8Array | undefined;
    if (request.method !== "GET" && request.method !== "HEAD" && request.body !== undefined && request.body !== null) {
      const b = request.body;
      if (typeof b === "string") init = b;
      else if (b instanceof Uint8Array) init = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      else init = JSON.stringify(b);
      headers.delete("content-length"); // the body may have been re-serialised
    }
    const response = await handler(new Request(url, { method: request.method, headers, ...(init !== undefined ? { body: init } : {}) }));
    reply.code(response.status);
    response.headers.forEach((v, k) => {
      reply.header(k, v);
    });
    return reply.send(Buffer.from(await response.arrayBuffer()));
  };
}
