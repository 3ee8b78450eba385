import { ConfigError, TenantIdSchema, TenantIsolationError, ValidationError } from "@ops/core";
import { verifyJwt, type JwtVerification } from "./jwt.js";

/** A request, as resolvers see it (built from a fetch `Request` or a node `IncomingMessage`). */
export interface TenantRequest {
  /** Absolute URL of the request. */
  url: URL;
  /** A header value (lower-case name), or undefined. Repeated headers are joined with ", ". */
  header(name: string): string | undefined;
}

/**
 * Finds the tenant of a request: a raw id (validated by the caller), or undefined when this
 * resolver finds none. Throws `TenantIsolationError` when the request proves something wrong (a
 * forged token).
 */
export type TenantResolver = (req: TenantRequest) => string | undefined | Promise<string | undefined>;

/** The tenant id from a header (default `x-tenant-id`). Only trust it behind a gateway that sets it. */
export function fromHeader(name = "x-tenant-id"): TenantResolver {
  const lower = name.toLowerCase();
  return (req) => req.header(lower)?.trim() || undefined;
}

export interface SubdomainOptions {
  /** The apex the tenants live under, e.g. `example.com` for `acme.example.com`. */
  baseDomain: string;
  /** Labels that are not tenants (default `www`, `app`, `api`). */
  ignore?: readonly string[];
  /** Read `x-forwarded-host` first (only behind a proxy that sets it). Default false. */
  trustForwardedHost?: boolean;
}

/** The single label left of `baseDomain` in the Host: `acme.example.com` -> `acme`. */
export function fromSubdomain(options: SubdomainOptions): TenantResolver {
  const base = options.baseDomain.toLowerCase().replace(/^\.+|\.+$/g, "");
  if (!base) throw new ConfigError("[ops/tenancy] invalid baseDomain: expected a domain such as example.com");
  const ignore = new Set((options.ignore ?? ["www", "app", "api"]).map((l) => l.toLowerCase()));
  return (req) => {
    const raw =
      (options.trustForwardedHost ? req.header("x-forwarded-host")?.split(",")[0] : undefined) ?? req.header("host") ?? req.url.host;
    const host = raw.trim().toLowerCase().replace(/:\d+$/, "");
    if (!host.endsWith(`.${base}`)) return undefined;
    const left = host.slice(0, -(base.length + 1));
    if (!left || left.includes(".") || ignore.has(left)) return undefined;
    return left;
  };
}

export interface PathSegmentOptions {
  /** The segment before the tenant: `{ after: "t" }` reads `/t/acme/...`. */
  after?: string;
  /** Or the 0-based index of the tenant segment: `{ index: 0 }` reads `/acme/...`. */
  index?: number;
}

/** A tenant id from the URL path. */
export function fromPathSegment(options: PathSegmentOptions): TenantResolver {
  if ((options.after === undefined) === (options.index === undefined))
    throw new ConfigError("[ops/tenancy] invalid fromPathSegment options: expected exactly one of after, index");
  return (req) => {
    const segments = req.url.pathname.split("/").filter(Boolean);
    let at = options.index ?? -1;
    if (options.after !== undefined) {
      const i = segments.indexOf(options.after);
      at = i < 0 ? -1 : i + 1;
    }
    const seg = at >= 0 ? segments[at] : undefined;
    if (seg === undefined) return undefined;
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  };
}

export interface JwtClaimOptions extends JwtVerification {
  /** Claim holding the tenant id. Default `tenant_id`. */
  claim?: string;
  /** Where the token is. Default: the `Authorization: Bearer` header. */
  token?: (req: TenantRequest) => string | undefined;
}

/**
 * The tenant id from a claim of a VERIFIED JWT (HS256 or RS256 with node:crypto, or the app's
 * verifier). There is no "decode without verifying" mode: an unverified claim is whatever the
 * client wrote.
 * @throws ConfigError when not exactly one verification method is configured.
 */
export function fromJwtClaim(options: JwtClaimOptions): TenantResolver {
  const methods = [options.hs256Secret, options.rs256PublicKey, options.verify].filter((x) => x !== undefined).length;
  if (methods !== 1)
    throw new ConfigError("[ops/tenancy] invalid fromJwtClaim options: expected exactly one of hs256Secret, rs256PublicKey, verify");
  const claim = options.claim ?? "tenant_id";
  const getToken =
    options.token ??
    ((req: TenantRequest) => {
      const auth = req.header("authorization");
      const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth.trim()) : null;
      return m?.[1];
    });
  return async (req) => {
    const token = getToken(req);
    if (!token) return undefined;
    const claims = await verifyJwt(token, options);
    const value = claims[claim];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw new TenantIsolationError(`[ops/tenancy] invalid token: claim ${claim} is not a string`);
    return value;
  };
}

/** The first resolver that finds a tenant wins. */
export function firstOf(...resolvers: TenantResolver[]): TenantResolver {
  return async (req) => {
    for (const r of resolvers) {
      const t = await r(req);
      if (t !== undefined) return t;
    }
    return undefined;
  };
}

/**
 * Every resolver that finds a tenant must find the same one (a `x-tenant-id` header and the
 * token's claim): a disagreement is a cross-tenant attempt.
 */
export function agreeing(...resolvers: TenantResolver[]): TenantResolver {
  return async (req) => {
    let found: string | undefined;
    for (const r of resolvers) {
      const t = await r(req);
      if (t === undefined) continue;
      if (found !== undefined && t !== found)
        throw new TenantIsolationError(`[ops/tenancy] the request names two tenants ("${found}" and "${t}")`);
      found = t;
    }
    return found;
  };
}

/**
 * Runs `resolver` and validates what it found with `TenantIdSchema`.
 * @throws ValidationError when the id is malformed; TenantIsolationError from the resolver.
 */
export async function resolveTenant(resolver: TenantResolver, req: TenantRequest): Promise<string | undefined> {
  const raw = await resolver(req);
  if (raw === undefined) return undefined;
  const parsed = TenantIdSchema.safeParse(raw);
  if (!parsed.success)
    throw new ValidationError(`[ops/tenancy] invalid tenantId: ${parsed.error.issues[0]?.message ?? "expected a tenant id"}`, [
      { path: "tenantId", message: parsed.error.issues[0]?.message ?? "expected a tenant id" },
    ]);
  return parsed.data;
}
