import * as z from "zod";
import { isStorableText, storableText, UNSTORABLE_MESSAGE } from "@ops/core";
import { ApiError, parse } from "../http.js";
import type { RouteContext } from "../router.js";

// NUL and unpaired UTF-16 surrogates cannot be stored faithfully (PostgreSQL refuses NUL, a driver
// turns a lone surrogate into U+FFFD): refused here, before anything is changed.
export const Reason = z
  .string({ message: "expected a reason for the change (1..2000 characters)" })
  .trim()
  .min(1, "expected a reason for the change (1..2000 characters)")
  .max(2000, "expected a reason for the change (1..2000 characters)")
  .refine(isStorableText, UNSTORABLE_MESSAGE);
export const Limit = z.coerce
  .number({ message: "expected an integer 1..100" })
  .int("expected an integer 1..100")
  .min(1, "expected an integer 1..100")
  .max(100, "expected an integer 1..100");
export const Cursor = z.string().min(1).max(1024, "expected a cursor from a previous page");
export const TenantParam = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "expected a tenant id (1-128 letters, digits and . _ : -)");
export const Paging = { limit: Limit.optional(), cursor: Cursor.optional() };

/** `{ items, nextCursor }` as every list answers. */
export const page = <T>(items: T[], nextCursor: string | null) => ({ items, nextCursor });

export function notConfigured(what: string): never {
  throw new ApiError("NOT_CONFIGURED", `this console has no ${what} (pass it to createConsole)`);
}

/**
 * The `:name` path segment naming a record, as storable id text (a NUL or a lone surrogate can
 * name no record): refused with 400 naming the segment before any store is asked.
 */
export function idParam(ctx: RouteContext, name: string): string {
  return parse(z.object({ [name]: storableText("id") }), { [name]: ctx.params[name] ?? "" }, "query")[name] as string;
}
