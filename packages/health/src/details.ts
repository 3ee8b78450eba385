import { createHash, timingSafeEqual } from "node:crypto";
import { ValidationError } from "@ops/core";
import type { HealthRequest } from "./health.js";

/**
 * A details policy: the detailed view for requests sending `Authorization: Bearer <token>` (or
 * the `x-health-token` header). Compared in constant time. Tokens in query strings are not
 * accepted: they end up in access logs.
 * @throws ValidationError when `token` is shorter than 16 characters
 */
export function bearerToken(token: string): (req: HealthRequest) => boolean {
  if (typeof token !== "string" || token.length < 16)
    throw new ValidationError("[ops/health] invalid bearerToken input: token: expected a string of at least 16 characters", [
      { path: "token", message: "expected a string of at least 16 characters" },
    ]);
  const want = digest(token);
  return (req) => {
    const auth = req.header("authorization");
    const given = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : req.header("x-health-token");
    // Hash both sides so the comparison is constant-time whatever the lengths.
    return given !== undefined && timingSafeEqual(digest(given), want);
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
