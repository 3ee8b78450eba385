import type { Principal } from "@ops/console";
import { verifyJwt } from "@ops/tenancy";
import type { ServiceConfig } from "./config.js";

const TENANT_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const ROLE_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function roles(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [];
  return list
    .filter((r): r is string => typeof r === "string")
    .map((r) => r.trim())
    .filter((r) => ROLE_RE.test(r));
}

/**
 * Who is calling, decided once for the whole service (the app's routes and the console):
 * - JWT (`OPS_TENANT_JWT_SECRET` set): `Authorization: Bearer <HS256 JWT>` with `sub` (the actor),
 *   `roles` (viewer | operator | admin) and either `tenant_id` (a tenant principal) or
 *   `ops_scope: "global"` (a global principal), and an `exp`. Anything else (no token, a bad
 *   signature, an expired token or one without `exp`, no tenant claim and no global scope) is
 *   nobody: 401.
 * - trusted header (no secret): a gateway in front of the service authenticates the caller and
 *   sets `x-ops-actor`, `x-ops-roles`, and `x-tenant-id` or `x-ops-scope: global`. Only safe when
 *   nothing but the gateway can reach the service; a missing actor or a blank tenant is nobody.
 */
export function createAuthorize(config: Pick<ServiceConfig, "tenantJwtSecret">): {
  mode: "jwt" | "trusted-header";
  authorize: (req: Request) => Promise<Principal | null>;
} {
  const secret = config.tenantJwtSecret;
  if (secret) {
    return {
      mode: "jwt",
      async authorize(req) {
        const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization")?.trim() ?? "");
        if (!m) return null;
        let claims: Record<string, unknown>;
        try {
          claims = await verifyJwt(m[1]!, { hs256Secret: secret, requireExp: true });
        } catch {
          return null;
        }
        const sub = claims.sub;
        if (typeof sub !== "string" || sub.length === 0 || sub.length > 256) return null;
        const tenant = claims.tenant_id;
        const global = claims.ops_scope === "global";
        if (typeof tenant === "string" ? !TENANT_RE.test(tenant) || global : !global) return null;
        return {
          actorId: sub,
          roles: roles(claims.roles),
          tenantId: typeof tenant === "string" ? tenant : null,
          ...(typeof claims.name === "string" ? { displayName: claims.name } : {}),
        };
      },
    };
  }
  return {
    mode: "trusted-header",
    async authorize(req) {
      const actor = req.headers.get("x-ops-actor")?.trim();
      if (!actor || actor.length > 256) return null;
      const tenant = req.headers.get("x-tenant-id");
      const global = req.headers.get("x-ops-scope") === "global";
      if (tenant !== null ? !TENANT_RE.test(tenant.trim()) || global : !global) return null;
      return { actorId: actor, roles: roles(req.headers.get("x-ops-roles")), tenantId: tenant === null ? null : tenant.trim() };
    },
  };
}
