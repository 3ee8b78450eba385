import { randomBytes, timingSafeEqual } from "node:crypto";
import { ApiError } from "./http.js";
import type { Principal } from "./types.js";

export const CSRF_COOKIE = "ops_csrf";
export const CSRF_HEADER = "x-ops-csrf";

export function newCsrfToken(): string {
  return randomBytes(24).toString("base64url");
}

function cookie(request: Request, name: string): string | undefined {
  const raw = request.headers.get("cookie");
  if (!raw) return undefined;
  for (const part of raw.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * CSRF rules for state-changing requests: a browser's `Origin` must be this origin (or an allowed
 * one) and `Sec-Fetch-Site` must not be cross-site; a principal authenticated by a cookie must also
 * show that it can read this origin: the `x-ops-csrf` header equal to the `ops_csrf` cookie
 * (double submit), and a browser origin signal.
 * @throws ApiError CSRF
 */
export function checkCsrf(request: Request, url: URL, principal: Principal, allowedOrigins: readonly string[]): void {
  const origin = request.headers.get("origin");
  const site = request.headers.get("sec-fetch-site");
  if (origin !== null && origin !== url.origin && !allowedOrigins.includes(origin))
    throw new ApiError("CSRF", "cross-origin request refused: the Origin is not this console's");
  if (site !== null && site !== "same-origin" && site !== "none" && !(origin !== null && allowedOrigins.includes(origin)))
    throw new ApiError("CSRF", "cross-site request refused (Sec-Fetch-Site)");
  if (!principal.cookieSession) return;
  if (origin === null && site === null)
    throw new ApiError("CSRF", "a cookie session needs a same-origin browser request (Origin or Sec-Fetch-Site)");
  const sent = request.headers.get(CSRF_HEADER);
  const kept = cookie(request, CSRF_COOKIE);
  if (!sent || !kept || !same(sent, kept))
    throw new ApiError("CSRF", `missing or wrong CSRF token: send the ${CSRF_HEADER} header from GET /api/v1/session`);
}

/** The Set-Cookie for a fresh token, scoped to the console's path. */
export function csrfCookie(token: string, basePath: string, secure: boolean): string {
  return `${CSRF_COOKIE}=${token}; Path=${basePath || "/"}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function csrfFromCookie(request: Request): string | undefined {
  return cookie(request, CSRF_COOKIE);
}
