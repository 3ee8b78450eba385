import { ConfigError } from "@ops/core";
import { PERMISSIONS, type Permission, type Principal } from "./types.js";

const BUILTIN: Record<string, readonly Permission[]> = {
  viewer: ["read"],
  operator: ["read", "operate"],
  admin: ["read", "operate", "configure", "export"],
};

/** Role name -> permissions, built-ins merged with the app's map. @throws ConfigError on an unknown permission. */
export function roleTable(custom: Record<string, readonly Permission[]> = {}): Map<string, ReadonlySet<Permission>> {
  const table = new Map<string, ReadonlySet<Permission>>();
  for (const [name, perms] of Object.entries({ ...BUILTIN, ...custom })) {
    const bad = perms.find((p) => !PERMISSIONS.includes(p));
    if (bad !== undefined)
      throw new ConfigError(
        `[ops/console] invalid roles.${name}: unknown permission "${String(bad)}" (expected ${PERMISSIONS.join(", ")})`,
        [{ path: `roles.${name}`, message: `expected permissions among ${PERMISSIONS.join(", ")}` }],
      );
    table.set(name, new Set(perms));
  }
  return table;
}

/** The permissions a principal holds through its roles (unknown role names grant nothing). */
export function permissionsOf(principal: Principal, table: Map<string, ReadonlySet<Permission>>): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of principal.roles) for (const p of table.get(r) ?? []) out.add(p);
  return out;
}

const TENANT_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const ACTOR_RE = /^[^\s\u0000-\u001f]{1,256}$/;
// An unpaired UTF-16 surrogate cannot be stored faithfully (a driver turns it into U+FFFD).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A principal as `authorize` returned it, checked: a malformed one counts as no principal. */
export function checkPrincipal(p: unknown): Principal | null {
  if (p === null || p === undefined || typeof p !== "object") return null;
  const x = p as Partial<Principal>;
  if (typeof x.actorId !== "string" || !ACTOR_RE.test(x.actorId) || LONE_SURROGATE.test(x.actorId)) return null;
  if (!Array.isArray(x.roles) || x.roles.some((r) => typeof r !== "string")) return null;
  // A blank tenant id is not "global": only an explicit null is.
  if (x.tenantId !== null && (typeof x.tenantId !== "string" || !TENANT_RE.test(x.tenantId))) return null;
  return {
    actorId: x.actorId,
    roles: [...x.roles],
    tenantId: x.tenantId,
    ...(x.cookieSession ? { cookieSession: true } : {}),
    ...(typeof x.displayName === "string" ? { displayName: x.displayName.slice(0, 200) } : {}),
  };
}
