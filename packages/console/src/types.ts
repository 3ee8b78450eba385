import type { FlagStore, IncidentStore } from "@ops/core";
import type { AuditLog } from "@ops/audit";
import type { FeatureFlagController } from "@ops/flags";
import type { Health } from "@ops/health";
import type { OpsRuntime } from "@ops/incidents";
import type { OutboxNotifier } from "@ops/notify";

/** What a role may do. `read` views; `operate` acts on incidents, silences, notifications and tenant overrides; `configure` changes flags; `export` downloads the audit trail. */
export type Permission = "read" | "operate" | "configure" | "export";
export const PERMISSIONS: readonly Permission[] = ["read", "operate", "configure", "export"];

/** The built-in roles. */
export type BuiltinRole = "viewer" | "operator" | "admin";

/**
 * Who is calling, as the app's `authorize` decided. `tenantId: null` is the global scope (the
 * app's own operators); a string confines the principal to that one tenant.
 */
export interface Principal {
  /** The acting user's id: every audit entry the console causes names it as actor. */
  actorId: string;
  /** Built-in roles (`viewer`, `operator`, `admin`) or names from `createConsole({ roles })`. */
  roles: readonly string[];
  /** `null`: global scope. A tenant id: that tenant only. */
  tenantId: string | null;
  /**
   * True when the credential came from a cookie the browser sends by itself: state-changing
   * requests then also need the double-submit CSRF token (`x-ops-csrf`).
   */
  cookieSession?: boolean;
  /** Shown in the UI. */
  displayName?: string;
}

/** Decides who is calling; `null` means nobody (answered 401 before any store is touched). */
export type Authorize = (request: Request) => Principal | null | Promise<Principal | null>;

export interface ConsoleLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ConsoleOptions {
  /** Required unless `dangerouslyAllowAnonymous`. */
  authorize?: Authorize;
  /**
   * Local demos only: every request runs as a global admin named "anonymous". Logs a warning at
   * every start. Never set it where the console is reachable by anyone but you.
   */
  dangerouslyAllowAnonymous?: boolean;
  /** Where the console is mounted, e.g. "/ops" (default ""). */
  basePath?: string;
  flags?: { controller: FeatureFlagController; store: FlagStore };
  incidents?: { runtime: OpsRuntime; store: IncidentStore };
  audit?: AuditLog<string>;
  notifier?: OutboxNotifier;
  health?: Health;
  /** Custom roles: name -> permissions. Also replaces a built-in role's permissions when it reuses its name. */
  roles?: Record<string, readonly Permission[]>;
  /** Largest accepted request body in bytes (default 64 KiB); larger ones get 413 unread. */
  maxBodyBytes?: number;
  /** Origins allowed on state-changing requests besides the request's own (e.g. a separate UI host). */
  allowedOrigins?: readonly string[];
  logger?: ConsoleLogger;
  /** Where the built UI is (default: `dist/ui` of this package); a relative path is resolved against the working directory when the console is created. */
  uiDir?: string;
}

/** A mounted console: a fetch handler plus what it serves. */
export interface OpsConsole {
  /** Answers every request under `basePath`; requests outside it get 404. */
  fetch(request: Request): Promise<Response>;
  readonly basePath: string;
  /** Every API route, for docs and the authorization table test. */
  readonly routes: ReadonlyArray<{ method: string; path: string; permission: Permission; global: boolean }>;
}
