import { resolve } from "node:path";
import { ConfigError, type TenantKey } from "@ops/core";
import { auditRoutes } from "./api/audit.js";
import { flagRoutes } from "./api/flags.js";
import { incidentRoutes } from "./api/incidents.js";
import { outboxRoutes } from "./api/outbox.js";
import { healthRoutes } from "./api/system.js";
import { checkPrincipal, permissionsOf, roleTable } from "./authz.js";
import { checkCsrf, csrfCookie, csrfFromCookie, newCsrfToken } from "./csrf.js";
import { ApiError, errorResponse, inRequestTerms, json, parse, readJson, type FieldNames } from "./http.js";
import { Router, type RouteContext, type RouteDef } from "./router.js";
import { defaultUiDir, serveAsset } from "./static.js";
import { TenantParam } from "./api/common.js";
import type { ConsoleLogger, ConsoleOptions, OpsConsole, Principal } from "./types.js";

const API = "/api/v1";
// The acting principal as the libraries name it; a request names it "actor" (its credential's subject).
const ACTOR_NAMES: FieldNames = { actorUserId: "actor", actor: "actor", "actor.id": "actor", createdBy: "actor" };
const SAFE = new Set(["GET", "HEAD"]);

const consoleLogger: ConsoleLogger = {
  warn: (message, fields) => console.warn(JSON.stringify({ level: "warn", msg: message, pkg: "@ops/console", ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: "error", msg: message, pkg: "@ops/console", ...fields })),
};

const ANONYMOUS: Principal = {
  actorId: "anonymous",
  roles: ["admin"],
  tenantId: null,
  displayName: "anonymous (dangerouslyAllowAnonymous)",
};

function normalizeBase(basePath: string | undefined): string {
  const b = (basePath ?? "").trim().replace(/\/+$/, "");
  if (b !== "" && !/^\/[A-Za-z0-9._~\-/]*$/.test(b))
    throw new ConfigError(`[ops/console] invalid basePath: expected a path such as "/ops", got ${JSON.stringify(basePath)}`, [
      { path: "basePath", message: 'expected a path such as "/ops"' },
    ]);
  return b;
}

/**
 * The operations console as one fetch handler: the admin API under `${basePath}/api/v1` and the
 * web UI under `${basePath}/`. Every API request is authorized first (no principal: 401 before any
 * store is read), then checked against the route's permission and scope, then (for changes)
 * against CSRF; tenant principals only ever reach their own tenant's records.
 * @throws ConfigError without `authorize` (unless `dangerouslyAllowAnonymous`), or with a bad basePath or role map.
 */
export function createConsole(options: ConsoleOptions): OpsConsole {
  const logger = options.logger ?? consoleLogger;
  if (typeof options.authorize !== "function" && options.dangerouslyAllowAnonymous !== true)
    throw new ConfigError(
      "[ops/console] invalid options: authorize is required: a function (request) => Principal | null deciding who may operate",
      [{ path: "authorize", message: "expected a function returning a Principal or null" }],
    );
  if (options.dangerouslyAllowAnonymous === true)
    logger.warn("console_anonymous_access", {
      message: "dangerouslyAllowAnonymous is on: anyone who can reach the console acts as a global admin. Use it for local demos only.",
    });
  const basePath = normalizeBase(options.basePath);
  const roles = roleTable(options.roles);
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const allowedOrigins = options.allowedOrigins ?? [];
  // Resolved once, against the working directory at creation: a relative `./ui` would otherwise
  // never pass the containment check (normalize drops the `./`) and every asset would 404.
  const uiDir = options.uiDir !== undefined ? resolve(options.uiDir) : defaultUiDir();

  const defs: RouteDef[] = [
    {
      method: "GET",
      path: "/session",
      permission: "read",
      handler: (ctx) => {
        const token = csrfFromCookie(ctx.request) ?? newCsrfToken();
        return json(
          {
            principal: ctx.principal,
            permissions: [...permissionsOf(ctx.principal, roles)],
            csrfToken: token,
            features: {
              flags: !!options.flags,
              incidents: !!options.incidents,
              audit: !!options.audit,
              outbox: !!options.notifier,
              health: !!options.health,
            },
          },
          200,
          { "set-cookie": csrfCookie(token, basePath, ctx.url.protocol === "https:") },
        );
      },
    },
    ...(options.flags ? flagRoutes(options.flags) : []),
    ...(options.incidents ? incidentRoutes({ ...options.incidents, flags: options.flags?.controller }) : []),
    ...(options.audit ? auditRoutes(options.audit) : []),
    ...(options.notifier ? outboxRoutes(options.notifier) : []),
    ...(options.health ? healthRoutes(options.health) : []),
  ];
  const router = new Router(defs);

  async function api(request: Request, url: URL, rel: string): Promise<Response> {
    // 1. Who is calling: nothing else happens without a principal.
    let principal: Principal | null;
    if (options.dangerouslyAllowAnonymous === true && typeof options.authorize !== "function") principal = ANONYMOUS;
    else {
      try {
        principal = checkPrincipal(await options.authorize!(request));
      } catch (err) {
        logger.warn("console_authorize_failed", { error: err instanceof Error ? err.name : typeof err });
        principal = null;
      }
    }
    if (!principal) throw new ApiError("UNAUTHENTICATED", "authentication required: no valid credentials for the operations console");
    const found = router.match(request.method, rel);
    if (found === "method") throw new ApiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed here`);
    if (!found) throw new ApiError("NOT_FOUND", `no API route ${request.method} ${API}${rel}`);
    const { route, params } = found;
    // 2. What it may do, 3. where.
    if (!permissionsOf(principal, roles).has(route.permission))
      throw new ApiError(
        "FORBIDDEN",
        `this needs the "${route.permission}" permission, which your roles (${principal.roles.join(", ") || "none"}) do not grant`,
      );
    if (route.global && principal.tenantId !== null)
      throw new ApiError("FORBIDDEN", "this changes or shows state of every tenant: it needs a global principal");
    if (!SAFE.has(request.method)) checkCsrf(request, url, principal, allowedOrigins);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const p = principal;
    const ctx: RouteContext = {
      request,
      url,
      principal: p,
      params,
      query,
      audit: options.audit,
      body: (schema) => readJson(request, schema, maxBody),
      scope(): TenantKey {
        const asked = query.tenant === undefined || query.tenant === "" ? undefined : parse(TenantParam, query.tenant, "query");
        if (p.tenantId !== null) {
          if (asked !== undefined && asked !== p.tenantId)
            throw new ApiError("FORBIDDEN", "a tenant principal sees only its own tenant", [
              { path: "tenant", message: "expected your own tenant" },
            ]);
          return p.tenantId;
        }
        return asked ?? null;
      },
      own(tenantId) {
        if (p.tenantId !== null && tenantId !== p.tenantId)
          throw new ApiError("FORBIDDEN", "a tenant principal changes only its own tenant", [
            { path: "tenant", message: "expected your own tenant" },
          ]);
        return tenantId;
      },
      async record(e) {
        if (!options.audit) return;
        await options.audit.record({
          action: e.action ?? "ADMIN_ACTION",
          actor: { id: p.actorId, type: "user" },
          ...(e.tenantId !== null ? { tenantId: e.tenantId } : {}),
          target: e.target,
          outcome: "success",
          reason: e.reason,
          surface: "ops-console",
          meta: { ...(e.meta as Record<string, never>), principalScope: p.tenantId === null ? "global" : "tenant" },
        });
      },
    };
    try {
      return await route.handler(ctx);
    } catch (err) {
      // A library's refusal, in the request's own field names.
      throw inRequestTerms(err, { ...ACTOR_NAMES, ...route.fields });
    }
  }

  return {
    basePath,
    routes: defs.map((r) => ({ method: r.method, path: `${API}${r.path}`, permission: r.permission, global: r.global === true })),
    async fetch(request) {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return json({ error: { code: "VALIDATION", message: "bad request URL", issues: [] } }, 400);
      }
      const path = url.pathname;
      if (basePath !== "" && path !== basePath && !path.startsWith(`${basePath}/`))
        return json({ error: { code: "NOT_FOUND", message: "not found", issues: [] } }, 404);
      const rel = path.slice(basePath.length);
      try {
        if (rel === API || rel.startsWith(`${API}/`)) return await api(request, url, rel.slice(API.length) || "/");
        if (!SAFE.has(request.method)) throw new ApiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed here`);
        // The page must end in "/" so its relative asset URLs resolve under basePath.
        if (rel === "") return new Response(null, { status: 308, headers: { location: `${basePath}/${url.search}` } });
        let file: string;
        try {
          file = decodeURIComponent(rel.slice(1));
        } catch {
          throw new ApiError("NOT_FOUND", "not found"); // a malformed escape names no file
        }
        const asset = await serveAsset(uiDir, file, request.method);
        if (asset) return asset;
        throw new ApiError("NOT_FOUND", "not found");
      } catch (err) {
        return errorResponse(err, logger, path);
      }
    },
  };
}
