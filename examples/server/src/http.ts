import type { Context } from "hono";
import * as z from "zod";
import {
  isOpsError,
  issuesFromZod,
  OverloadedError,
  parseJsonText,
  ValidationError,
  type TenantKey,
  type ValidationIssue,
} from "@ops/core";
import { ApiError, inRequestTerms, readLimitedText } from "@ops/console";
import { errorFields, type ServiceLogger } from "./logger.js";

/** Hono variables set by the tenant middleware. */
export type AppEnv = { Variables: { tenant: TenantKey } };
export type AppContext = Context<AppEnv>;

/** A request the service refuses on purpose, with the HTTP status and optional field issues. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 409 | 413 | 415,
    readonly error: string,
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(message);
  }
}

/** The largest request body the service reads (its own routes and the console's). */
export const MAX_BODY_BYTES = 1_000_000;

/**
 * Reads a JSON body and validates it with `schema`.
 * @throws HttpError 400 with `issues` naming every bad field, 413 above 1 MB, 415 for a non-JSON type.
 */
export async function readBody<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type");
  if (type && !/json/i.test(type)) throw new HttpError(415, "unsupported_media_type", "expected content-type: application/json");
  // Limited while it streams: a body above the limit is cut off, never read into memory whole.
  let text: string;
  try {
    text = await readLimitedText(c.req.raw, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof ApiError && err.status === 413)
      throw new HttpError(413, "body_too_large", `body too large: at most ${MAX_BODY_BYTES} bytes`);
    throw err;
  }
  let raw: unknown;
  try {
    // Depth-limited while scanning, before a value exists (recursive readers would overflow).
    raw = parseJsonText(text, { emptyAs: {} });
  } catch (err) {
    if (err instanceof ValidationError && err.issues[0]?.message.includes("levels deep"))
      throw new HttpError(400, "invalid_json", err.message, err.issues);
    throw new HttpError(400, "invalid_json", "the body is not valid JSON", [{ path: "(body)", message: "expected a JSON object" }]);
  }
  return parseWith(schema, raw, "body");
}

/** Validates query parameters (strings) with `schema`. @throws HttpError 400 naming each parameter. */
export function readQuery<S extends z.ZodType>(c: AppContext, schema: S): z.output<S> {
  return parseWith(schema, c.req.query(), "query");
}

/** Validates an already-read body. @throws HttpError 400 naming each field. */
export function parseBody<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  return parseWith(schema, raw, "body");
}

function parseWith<S extends z.ZodType>(schema: S, raw: unknown, where: "body" | "query"): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = issuesFromZod(r.error).map((i) => ({ path: i.path || `(${where})`, message: i.message }));
  throw new HttpError(400, "invalid_request", `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
}

const STATUS_OF_CODE: Record<string, 400 | 403 | 404 | 409 | 500 | 503> = {
  VALIDATION: 400,
  CONFIG: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TENANT_ISOLATION: 403,
  UNAVAILABLE: 503,
  UNSUPPORTED: 400,
  INTEGRITY: 500,
};

/**
 * Turns any thrown error into a JSON answer: field issues for validation errors, the @ops error
 * code otherwise; a 500 never carries internals (it is logged instead).
 */
export function errorResponse(c: AppContext, err: unknown, logger: ServiceLogger): Response {
  if (err instanceof HttpError)
    return c.json(
      { ok: false, error: err.error, message: err.message, ...(err.issues.length > 0 ? { issues: err.issues } : {}) },
      err.status,
    );
  // The field issues say what was wrong; the message names no adapter and no SQLSTATE (a store's
  // refusal is logged with its detail instead).
  if (err instanceof ValidationError) {
    if (/\(\d{5}[:)]/.test(err.message)) logger.warn("request_refused_by_store", { path: c.req.path, ...errorFields(err) });
    const v = inRequestTerms(err) as ValidationError;
    return c.json({ ok: false, error: "invalid_request", message: v.message, issues: v.issues }, 400);
  }
  if (err instanceof OverloadedError)
    return c.json({ ok: false, error: "overloaded", message: "overloaded: nothing was taken; retry later" }, 503, {
      "retry-after": String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))),
    });
  if (isOpsError(err)) {
    const status = STATUS_OF_CODE[err.code] ?? 500;
    if (status >= 500) logger.error("request_failed", { path: c.req.path, ...errorFields(err) });
    return c.json({ ok: false, error: err.code.toLowerCase(), message: status >= 500 ? err.code : err.message }, status);
  }
  logger.error("request_failed", { path: c.req.path, ...errorFields(err) });
  return c.json({ ok: false, error: "internal_error", message: "internal error" }, 500);
}

/** Shared field schemas of the API. */
export const Limit = z.coerce
  .number({ message: "expected an integer 1..1000" })
  .int("expected an integer 1..1000")
  .min(1, "expected an integer 1..1000")
  .max(1000, "expected an integer 1..1000");
