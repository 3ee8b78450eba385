import type * as z from "zod";
import { isOpsError, issuesFromZod, OverloadedError, parseJsonText, ValidationError, type ValidationIssue } from "@ops/core";
import type { ConsoleLogger } from "./types.js";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "CSRF"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "VALIDATION"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAVAILABLE"
  | "NOT_CONFIGURED"
  | "INTERNAL";

const STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CSRF: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VALIDATION: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAVAILABLE: 503,
  NOT_CONFIGURED: 404,
  INTERNAL: 500,
};

/** A refusal the console answers on purpose: `{ error: { code, message, issues } }`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

const NO_STORE = { "cache-control": "no-store", "x-content-type-options": "nosniff" };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...NO_STORE, ...headers },
  });
}

// Messages of these codes are written by @ops packages for the caller (they name a field or a
// key). Anything else (a driver's text, SQL, a stack) is logged, never answered.
const CALLER_FACING = new Set(["VALIDATION", "NOT_FOUND", "CONFLICT", "TENANT_ISOLATION", "UNSUPPORTED"]);

/**
 * Library field names -> the request's own names, for one route (`{ newValue: "value", tenantId: "tenant" }`).
 * A name maps the paths below it too (`newValue.a` -> `value.a`, `patch[0]` -> `changes[0]`).
 */
export type FieldNames = Readonly<Record<string, string>>;

/** `path` in the request's terms: its longest mapped prefix (whole segments) renamed; other paths as they are. */
export function requestPath(path: string, names: FieldNames): string {
  let best: string | undefined;
  for (const k of Object.keys(names))
    if ((path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`)) && k.length > (best?.length ?? -1)) best = k;
  return best === undefined ? path : names[best] + path.slice(best.length);
}

/** Text a caller may see: no "[ops/<package>]" prefix (it can name a storage adapter), no SQLSTATE detail. */
export function publicText(message: string): string {
  return message
    .replace(/\[ops\/[A-Za-z0-9_-]+\]\s*/g, "")
    .replace(/\s*\((SQLSTATE[: ]*)?(?=[A-Z]*\d)[0-9A-Z]{5}\b[^)]*\)/g, "")
    .slice(0, 500);
}

/**
 * A `ValidationError` raised below a route (by a library, under its own field names, or by a store)
 * in the request's terms: each issue's path renamed with `names`, issue texts and the message
 * without package or adapter names and without SQLSTATEs (the message lists the issues). Anything
 * else is returned unchanged. One helper for every route: a route only declares its names.
 */
export function inRequestTerms(err: unknown, names: FieldNames = {}): unknown {
  if (!(err instanceof ValidationError)) return err;
  const issues = err.issues.map((i) => ({ path: requestPath(i.path, names) || "(body)", message: publicText(i.message) }));
  const message =
    issues.length > 0
      ? publicText(`invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`)
      : "a value of this request cannot be stored (a NUL character, invalid text or too long)";
  return new ValidationError(message, issues, { cause: err, code: err.code === "CONFIG" ? "CONFIG" : "VALIDATION" });
}

/** Any thrown value as the console's JSON error; internals go to the log only. */
export function errorResponse(err: unknown, logger: ConsoleLogger, path: string): Response {
  if (err instanceof ApiError) return json({ error: { code: err.code, message: err.message, issues: err.issues } }, err.status);
  if (err instanceof ValidationError) {
    const v = inRequestTerms(err) as ValidationError;
    return json({ error: { code: "VALIDATION", message: v.message, issues: v.issues } }, 400);
  }
  if (isOpsError(err) && CALLER_FACING.has(err.code) && !/^\[ops\/adapter-/.test(err.message)) {
    const code: ErrorCode =
      err.code === "NOT_FOUND"
        ? "NOT_FOUND"
        : err.code === "CONFLICT"
          ? "CONFLICT"
          : err.code === "TENANT_ISOLATION"
            ? "FORBIDDEN"
            : "VALIDATION";
    return json({ error: { code, message: publicText(err.message), issues: [] } }, STATUS[code]);
  }
  if (isOpsError(err) && err.code === "CONFLICT")
    return json(
      { error: { code: "CONFLICT", message: "the record changed meanwhile or already exists: reload and retry", issues: [] } },
      409,
    );
  if (err instanceof OverloadedError) {
    return json({ error: { code: "UNAVAILABLE", message: "overloaded: nothing was taken; retry later", issues: [] } }, 503, {
      "retry-after": String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))),
    });
  }
  if (isOpsError(err) && err.code === "UNAVAILABLE") {
    logger.error("console_request_failed", { path, code: err.code });
    return json({ error: { code: "UNAVAILABLE", message: "a backing store is unavailable: retry later", issues: [] } }, 503);
  }
  logger.error("console_request_failed", {
    path,
    error: err instanceof Error ? err.name : typeof err,
    ...(isOpsError(err) ? { code: err.code } : {}),
  });
  return json({ error: { code: "INTERNAL", message: "internal error", issues: [] } }, 500);
}

/**
 * Reads a request body as text, at most `max` bytes, while it streams: a declared
 * `content-length` above the limit is refused before reading, and an undeclared one is cut off
 * (the stream cancelled) as soon as it passes the limit, so an oversized body is never held in memory.
 * @throws ApiError PAYLOAD_TOO_LARGE.
 */
export async function readLimitedText(request: Request, max: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await request.body?.cancel().catch(() => {});
    throw new ApiError("PAYLOAD_TOO_LARGE", `request body too large: at most ${max} bytes`);
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new ApiError("PAYLOAD_TOO_LARGE", `request body too large: at most ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A JSON body, limited while streaming and validated with `schema`.
 * @throws ApiError 413 above `max`, 415 for a non-JSON content type, 400 naming every bad field.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S, max: number): Promise<z.output<S>> {
  const type = request.headers.get("content-type");
  if (type && !/^application\/([a-z.+-]*\+)?json\b/i.test(type))
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "expected content-type: application/json");
  const text = await readLimitedText(request, max);
  let raw: unknown;
  try {
    // Depth-limited while scanning, before a value exists (recursive readers would overflow).
    raw = parseJsonText(text, { emptyAs: {} });
  } catch (err) {
    if (err instanceof ValidationError && err.issues[0]?.message.includes("levels deep"))
      throw new ApiError("VALIDATION", err.message, err.issues);
    throw new ApiError("VALIDATION", "the body is not valid JSON", [{ path: "(body)", message: "expected a JSON object" }]);
  }
  return parse(schema, raw, "body");
}

/** Validates `raw` (a body or query parameters). @throws ApiError VALIDATION naming each field. */
export function parse<S extends z.ZodType>(schema: S, raw: unknown, where: "body" | "query"): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = issuesFromZod(r.error).map((i) => ({ path: i.path || `(${where})`, message: i.message }));
  throw new ApiError("VALIDATION", `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
}
