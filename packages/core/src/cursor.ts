import { ValidationError } from "./errors.js";

/** A page of results. `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Keyset paging: pass back `nextCursor` as `cursor`. Cursors are opaque. */
export interface PageRequest {
  /** 1..1000; adapters default to 100. */
  limit?: number;
  cursor?: string | null;
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** Encodes a keyset position (the sort key of the last item returned) as base64url JSON. */
export function encodeCursor(position: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/**
 * Decodes a cursor made by `encodeCursor`, checking it has `arity` parts.
 * @throws ValidationError when the cursor was not made by us.
 */
export function decodeCursor(cursor: string, arity: number, pkg = "core"): (string | number | null)[] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === arity && value.every((v) => v === null || typeof v === "string" || typeof v === "number"))
      return value as (string | number | null)[];
  } catch {
    // fall through to the typed error
  }
  throw new ValidationError(`[ops/${pkg}] invalid cursor: expected a cursor returned by a previous page`, [
    { path: "cursor", message: "expected a cursor returned by a previous page" },
  ]);
}

/**
 * Clamps a page limit to 1..MAX_PAGE_LIMIT.
 * @throws ValidationError when limit is not a positive integer.
 */
export function pageLimit(limit: number | undefined, pkg = "core"): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ValidationError(`[ops/${pkg}] invalid limit: expected a positive integer`, [
      { path: "limit", message: "expected a positive integer" },
    ]);
  return Math.min(limit, MAX_PAGE_LIMIT);
}
