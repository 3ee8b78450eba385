import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { OpsConsole } from "../types.js";

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * A Node request as a fetch `Request`. The body stays a stream (read only if and as far as the
 * console reads it), so an oversized body is refused without being buffered.
 */
export function toFetchRequest(req: IncomingMessage, path: string): Request {
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  const host = req.headers.host ?? "localhost";
  const url = new URL(path, `${secure ? "https" : "http"}://${host}`);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else headers.set(k, v);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

/** Writes a fetch `Response` to a Node response, streaming the body. */
export async function sendFetchResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== "set-cookie") headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  // A refused body that was not read: close the connection rather than drain it.
  const unread = response.status === 413 && !req.readableEnded;
  if (unread) headers.connection = "close";
  res.writeHead(response.status, headers);
  if (!response.body || req.method === "HEAD") {
    res.end();
  } else {
    await new Promise<void>((resolve, reject) => {
      const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
      body.on("error", reject);
      res.on("close", resolve);
      body.pipe(res);
    });
  }
  if (unread) res.once("finish", () => req.destroy());
}

/**
 * The console as a Node `(req, res)` handler. Requests outside `basePath` call `next()` when
 * given (middleware), else get the console's 404. `req.originalUrl` (Express) is preferred over
 * `req.url`, so a mount path is kept.
 */
export function consoleNodeHandler(c: OpsConsole): NodeHandler {
  return (req, res, next) => {
    const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "/";
    const pathname = path.split("?")[0] ?? "/";
    if (next && c.basePath !== "" && pathname !== c.basePath && !pathname.startsWith(`${c.basePath}/`)) return next();
    c.fetch(toFetchRequest(req, path))
      .then((response) => sendFetchResponse(req, res, response))
      .catch((err: unknown) => {
        if (next) return next(err);
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end('{"error":{"code":"INTERNAL","message":"internal error","issues":[]}}');
      });
  };
}
