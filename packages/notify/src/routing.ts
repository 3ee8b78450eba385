import * as z from "zod";
import { SeveritySchema, ValidationError, parseInput, severityRank, type Severity, type TenantKey } from "@ops/core";
import type { AdminNotification } from "./notification.js";

/**
 * One routing rule. A notification matches when every given condition holds; the first matching
 * route decides, unless it sets `continue` (then later routes may add channels), as in
 * Alertmanager's routing tree.
 */
export interface Route {
  channels: string[];
  /** At least this severe (critical is the most severe). */
  minSeverity?: Severity;
  severities?: Severity[];
  /** Notification `type`s (incident types, "HEALTH_FAIL", ...). */
  types?: string[];
  /** Tenant ids; `null` matches notifications without a tenant. */
  tenants?: TenantKey[];
  continue?: boolean;
}

/**
 * Hours when only severe notifications go out. Times are "HH:MM" in `timeZone` (IANA, default
 * UTC); `start > end` spans midnight. Notifications at least `bypassSeverity` severe (default
 * critical) go out at once; others are deferred to the end of the quiet hours (`action: "defer"`,
 * default) or dropped (`"drop"`).
 */
export interface QuietHours {
  start: string;
  end: string;
  timeZone?: string;
  /** Days the quiet hours start on, 0 = Sunday (default: every day). */
  days?: number[];
  bypassSeverity?: Severity;
  action?: "defer" | "drop";
  /** Channels the quiet hours apply to (default: all). */
  channels?: string[];
}

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected HH:MM (24 h)");
export const RouteSchema = z
  .object({
    channels: z.array(z.string().min(1)).min(1, "expected at least one channel"),
    minSeverity: SeveritySchema.optional(),
    severities: z.array(SeveritySchema).optional(),
    types: z.array(z.string().min(1)).optional(),
    tenants: z.array(z.string().min(1).nullable()).optional(),
    continue: z.boolean().optional(),
  })
  .strict();
export const QuietHoursSchema = z
  .object({
    start: HHMM,
    end: HHMM,
    timeZone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, "expected an IANA time zone such as Europe/Berlin")
      .optional(),
    days: z.array(z.number().int().min(0).max(6)).optional(),
    bypassSeverity: SeveritySchema.optional(),
    action: z.enum(["defer", "drop"]).optional(),
    channels: z.array(z.string().min(1)).optional(),
  })
  .strict();

/** Picks channels for a notification. Compiled once; `resolve` is plain synchronous code. */
export class Router {
  private readonly routes: Route[];

  /** @throws ValidationError on a malformed route or an unknown channel. */
  constructor(
    routes: readonly Route[],
    private readonly defaults: readonly string[],
    known: ReadonlySet<string>,
  ) {
    this.routes = routes.map((r, i) => parseInput(RouteSchema, r, { pkg: "notify", what: `routes[${i}]` }) as Route);
    this.routes.forEach((r, i) =>
      r.channels.forEach((c) => {
        if (!known.has(c))
          throw new ValidationError(
            `[ops/notify] invalid routes[${i}].channels: unknown channel "${c}", expected one of ${[...known].join(", ")}`,
            [{ path: `routes[${i}].channels`, message: `unknown channel "${c}"` }],
          );
      }),
    );
  }

  resolve(n: Pick<AdminNotification, "severity" | "type" | "tenantId">): string[] {
    const out = new Set<string>();
    let matched = false;
    for (const r of this.routes) {
      if (r.minSeverity && severityRank(n.severity) > severityRank(r.minSeverity)) continue;
      if (r.severities && !r.severities.includes(n.severity)) continue;
      if (r.types && (n.type === undefined || !r.types.includes(n.type))) continue;
      if (r.tenants && !r.tenants.includes(n.tenantId ?? null)) continue;
      matched = true;
      for (const c of r.channels) out.add(c);
      if (!r.continue) break;
    }
    return matched ? [...out] : [...this.defaults];
  }
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** Local weekday and minute of day of `ms` in `timeZone`. */
function localTime(ms: number, timeZone: string): { day: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "0";
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(get("weekday"));
  return { day, minute: Number(get("hour")) * 60 + Number(get("minute")), second: Number(get("second")) };
}

/**
 * When `ms` falls inside the quiet hours: the instant they end. Otherwise null.
 * (Across a DST change the end may be off by the shift; quiet hours are a courtesy, not a contract.)
 */
export function quietUntil(q: QuietHours, ms: number): number | null {
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  if (start === end) return null;
  const t = localTime(ms, q.timeZone ?? "UTC");
  const spansMidnight = start > end;
  let inside: boolean;
  let startDay = t.day;
  if (!spansMidnight) inside = t.minute >= start && t.minute < end;
  else if (t.minute >= start) inside = true;
  else {
    inside = t.minute < end;
    startDay = (t.day + 6) % 7; // the quiet period began yesterday
  }
  if (!inside || (q.days && !q.days.includes(startDay))) return null;
  const minutesLeft = (end - t.minute + 1440) % 1440;
  return ms - t.second * 1000 - (ms % 1000) + minutesLeft * 60_000;
}
