import type { CryptoKeyLike } from "../client/crypto-key.js";
import { createHash } from "node:crypto";
import type { FlagReader } from "../reader.js";
import type { EvaluationContext } from "../types.js";
import type { ClientPayload } from "../client/payload.js";
import { buildClientPayload, type ClientPayloadOptions } from "./client-payload.js";
import { importSigningKey, signClientPayload, type ClientSigningKey } from "./client-signing.js";

export interface ClientFlagsHandlerOptions extends Omit<ClientPayloadOptions, "now"> {
  /** The controller (or reader) whose flags are served. */
  reader: FlagReader;
  signingKey: ClientSigningKey;
  /**
   * Who is asking, from the app's own authentication (session cookie, bearer token): the full
   * server-side context, or null to answer 401. Never trust context sent by the client.
   */
  resolveContext: (request: Request) => EvaluationContext | null | Promise<EvaluationContext | null>;
  /** SSE comment sent this often to keep proxies from closing an idle stream (default 15 000 ms). */
  heartbeatMs?: number;
  /** Told about failures while streaming (a failed rebuild); the stream stays open. */
  onError?: (error: unknown) => void;
}

/** The ETag of a payload: its content without the issue/expiry times, so an unchanged payload answers 304. */
function etagOf(p: ClientPayload): string {
  const stable = JSON.stringify([p.env, p.subject, p.context, p.clientAttributes, p.flags]);
  return `"${createHash("sha256").update(stable).digest("base64url").slice(0, 27)}"`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "private, no-store", ...headers },
  });
}

/**
 * A fetch handler (`(Request) => Promise<Response>`, mount it on any route of any framework) that
 * serves the signed payload for the requesting user: `GET` with `If-None-Match` (304 when nothing
 * changed), or `Accept: text/event-stream` for a server-sent-events stream that sends a new
 * payload whenever the flags it depends on change.
 * @throws ConfigError (at first request) for a bad signing key
 */
export function createClientFlagsHandler(options: ClientFlagsHandlerOptions): (request: Request) => Promise<Response> {
  let key: Promise<CryptoKeyLike> | null = null;
  const signer = () => (key ??= importSigningKey(options.signingKey));
  const build = (ctx: EvaluationContext) => buildClientPayload(options.reader, ctx, options);

  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return json(405, { error: "method not allowed" }, { allow: "GET, HEAD" });
    const ctx = await options.resolveContext(request);
    if (!ctx) return json(401, { error: "no principal" });
    await options.reader.ready();
    const signing = await signer();
    if ((request.headers.get("accept") ?? "").includes("text/event-stream")) return stream(request, ctx, signing);
    const payload = build(ctx);
    const etag = etagOf(payload);
    const inm = request.headers.get("if-none-match");
    if (inm !== null && inm.split(",").some((t) => t.trim() === etag))
      return new Response(null, { status: 304, headers: { etag, "cache-control": "private, no-cache" } });
    const signed = await signClientPayload(payload, signing, options.signingKey.keyId);
    return new Response(request.method === "HEAD" ? null : JSON.stringify(signed), {
      status: 200,
      headers: { "content-type": "application/json", etag, "cache-control": "private, no-cache", vary: "authorization, cookie" },
    });
  };

  function stream(request: Request, ctx: EvaluationContext, signing: CryptoKeyLike): Response {
    const enc = new TextEncoder();
    let lastTag: string | null = null;
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let closed = false;
        let pending = false;
        const send = async () => {
          pending = false;
          if (closed) return;
          try {
            const payload = build(ctx);
            const tag = etagOf(payload);
            if (tag === lastTag) return;
            lastTag = tag;
            const signed = await signClientPayload(payload, signing, options.signingKey.keyId);
            if (!closed) controller.enqueue(enc.encode(`event: flags\nid: ${tag}\ndata: ${JSON.stringify(signed)}\n\n`));
          } catch (err) {
            options.onError?.(err);
          }
        };
        const unwatch = options.reader.watch(() => {
          // Coalesce a burst of changes into one rebuild.
          if (pending) return;
          pending = true;
          setTimeout(() => void send(), 10);
        });
        const beat = setInterval(() => {
          if (!closed) controller.enqueue(enc.encode(": ping\n\n"));
        }, options.heartbeatMs ?? 15_000);
        stop = () => {
          if (closed) return;
          closed = true;
          unwatch();
          clearInterval(beat);
          try {
            controller.close();
          } catch {
            // already closed by the consumer
          }
        };
        request.signal.addEventListener("abort", stop, { once: true });
        controller.enqueue(enc.encode("retry: 3000\n\n"));
        return send();
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "private, no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      },
    });
  }
}
