import type * as z from "zod";
import type { TenantKey } from "@ops/core";
import type { AuditLog } from "@ops/audit";
import type { FieldNames } from "./http.js";
import type { Permission, Principal } from "./types.js";

/** What a route handler gets: the checked principal and helpers that keep it inside its scope. */
export interface RouteContext {
  request: Request;
  url: URL;
  principal: Principal;
  params: Record<string, string>;
  /** Query parameters (the last value of each). */
  query: Record<string, string>;
  /** The JSON body, limited while streaming and validated. */
  body<S extends z.ZodType>(schema: S): Promise<z.output<S>>;
  /**
   * The tenant a read or write applies to: the principal's own tenant, or for a global principal
   * `?tenant=` (absent: the global scope). @throws ApiError FORBIDDEN when a tenant principal names another tenant.
   */
  scope(): TenantKey;
  /** Checks that the principal may act on `tenantId`. @throws ApiError FORBIDDEN otherwise. */
  own(tenantId: TenantKey): TenantKey;
  /** Records the console action in the audit trail, actor = the principal. */
  record(entry: {
    action?: string;
    tenantId: TenantKey;
    target: { id: string; type: string };
    reason: string;
    meta?: Record<string, unknown>;
  }): Promise<void>;
  readonly audit: AuditLog<string> | undefined;
}

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Relative to `${basePath}/api/v1`, with `:name` segments. */
  path: string;
  permission: Permission;
  /** True when the route changes state for every tenant: global principals only. */
  global?: boolean;
  /**
   * The request's names of fields the libraries name differently (`{ newValue: "value" }`): a
   * `ValidationError` raised below the handler answers 400 with `issues[].path` renamed.
   */
  fields?: FieldNames;
  handler(ctx: RouteContext): Promise<Response> | Response;
}

interface Compiled extends RouteDef {
  parts: string[];
}

/** Method + path matching over a fixed table (the table is what `OpsConsole.routes` shows). */
export class Router {
  private readonly compiled: Compiled[];
  constructor(readonly routes: readonly RouteDef[]) {
    this.compiled = routes.map((r) => ({ ...r, parts: r.path.split("/").filter(Boolean) }));
  }

  /** The matching route, "method" when only the method differs, or null. */
  match(method: string, path: string): { route: RouteDef; params: Record<string, string> } | "method" | null {
    const segs = path.split("/").filter(Boolean);
    let methodMismatch = false;
    for (const r of this.compiled) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i]!;
        let s: string;
        try {
          s = decodeURIComponent(segs[i]!);
        } catch {
          ok = false;
          break;
        }
        if (p.startsWith(":")) params[p.slice(1)] = s;
        else if (p !== s) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (r.method !== method && !(method === "HEAD" && r.method === "GET")) {
        methodMismatch = true;
        continue;
      }
      return { route: r, params };
    }
    return methodMismatch ? "method" : null;
  }
}
