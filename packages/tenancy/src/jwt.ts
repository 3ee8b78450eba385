import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature, type KeyObject } from "node:crypto";
import { TenantIsolationError } from "@ops/core";

/** Claims of a verified token. */
export type JwtClaims = Record<string, unknown>;

/** How a JWT is verified. Exactly one of `hs256Secret`, `rs256PublicKey`, `verify` must be given. */
export interface JwtVerification {
  /** Shared secret for HS256 (at least 32 bytes, RFC 7518 3.2). */
  hs256Secret?: string | Uint8Array;
  /** RSA public key (PEM, JWK object or KeyObject) for RS256. */
  rs256PublicKey?: string | KeyObject | { kty: string; [k: string]: unknown };
  /** The app's own verifier (jose, a JWKS client...): returns the claims or throws. */
  verify?: (token: string) => JwtClaims | Promise<JwtClaims>;
  /** Expected `iss`, checked when set. */
  issuer?: string;
  /** Expected `aud` (one of), checked when set. */
  audience?: string | readonly string[];
  /**
   * Refuse a token without a numeric `exp` claim (a token that never expires stays valid forever once
   * leaked). Default false, as in RFC 7519 where `exp` is optional; set it for bearer tokens.
   */
  requireExp?: boolean;
  /** Leeway for `exp` and `nbf`, seconds. Default 30. */
  clockToleranceSec?: number;
  /** Current time in ms (tests). Default `Date.now`. */
  now?: () => number;
}

function fail(reason: string): never {
  throw new TenantIsolationError(`[ops/tenancy] invalid token: ${reason}`);
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return fail(`expected a base64url JSON object as the ${what}`);
}

function checkTimes(claims: JwtClaims, v: JwtVerification): void {
  const nowSec = (v.now ?? Date.now)() / 1000;
  const leeway = v.clockToleranceSec ?? 30;
  if (v.requireExp === true && claims.exp === undefined) fail("expected an expiry (exp)");
  if (claims.exp !== undefined && (typeof claims.exp !== "number" || nowSec > claims.exp + leeway)) fail("expired (exp)");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || nowSec < claims.nbf - leeway)) fail("not valid yet (nbf)");
  if (v.issuer !== undefined && claims.iss !== v.issuer) fail("unexpected issuer (iss)");
  if (v.audience !== undefined) {
    const wanted = typeof v.audience === "string" ? [v.audience] : v.audience;
    const got = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!got.some((a) => typeof a === "string" && wanted.includes(a))) fail("unexpected audience (aud)");
  }
}

/**
 * Verifies a compact JWS (HS256 or RS256 with node:crypto, or the app's verifier) and returns its
 * claims. The algorithm is fixed by the key configured, never by the token's header, so a token
 * signed with `alg: "none"` or with HS256 over an RSA public key is refused.
 * @throws TenantIsolationError when the token is malformed, forged, expired or not for us.
 */
export async function verifyJwt(token: string, v: JwtVerification): Promise<JwtClaims> {
  const configured = [v.hs256Secret, v.rs256PublicKey, v.verify].filter((x) => x !== undefined).length;
  if (configured !== 1) fail("configure exactly one of hs256Secret, rs256PublicKey, verify");
  if (v.verify) {
    let claims: JwtClaims;
    try {
      claims = await v.verify(token);
    } catch (err) {
      throw new TenantIsolationError("[ops/tenancy] invalid token: rejected by the verifier", { cause: err });
    }
    checkTimes(claims, v);
    return claims;
  }
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) fail("expected three base64url parts");
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, "header");
  const signed = Buffer.from(`${h}.${p}`, "ascii");
  const signature = Buffer.from(s, "base64url");
  if (v.hs256Secret !== undefined) {
    if (header.alg !== "HS256") fail("expected alg HS256");
    const secret = typeof v.hs256Secret === "string" ? Buffer.from(v.hs256Secret, "utf8") : v.hs256Secret;
    if (secret.length < 32) fail("the HS256 secret must be at least 32 bytes");
    const expected = createHmac("sha256", secret).update(signed).digest();
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) fail("bad signature");
  } else {
    if (header.alg !== "RS256") fail("expected alg RS256");
    const key = v.rs256PublicKey;
    const publicKey =
      typeof key === "string"
        ? createPublicKey(key)
        : typeof (key as KeyObject).asymmetricKeyType === "string"
          ? (key as KeyObject)
          : createPublicKey({ key: key as never, format: "jwk" });
    if (publicKey.asymmetricKeyType !== "rsa") fail("RS256 needs an RSA public key");
    if (!verifySignature("sha256", signed, publicKey, signature)) fail("bad signature");
  }
  const claims = decodeJson(p, "payload");
  checkTimes(claims, v);
  return claims;
}
