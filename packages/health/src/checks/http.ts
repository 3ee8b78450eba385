import * as z from "zod";
import type { HealthCheck } from "../types.js";
import { BaseCheckOptionsShape, elapsedMs, latencyMessage, latencyStatus, parseCheckOptions, type BaseCheckOptions } from "./common.js";

export interface HttpCheckOptions extends BaseCheckOptions {
  /** The dependency's health URL (http or https). Its credentials and query never appear in results. */
  url: string;
  /** Default "GET". */
  method?: "GET" | "HEAD" | "POST";
  /** Statuses that count as up. Default: any 2xx or 3xx. */
  expectedStatus?: number[];
  /** Report warn (degraded) when the response takes longer than this many ms. */
  warnAboveMs?: number;
  /** Sent with the request (an API key...); never reported. */
  headers?: Record<string, string>;
}

const OptionsSchema = z.object({
  ...BaseCheckOptionsShape,
  url: z.url({ protocol: /^https?$/, message: "expected an http(s) URL" }),
  method: z.enum(["GET", "HEAD", "POST"], { message: "expected GET, HEAD or POST" }).optional(),
  expectedStatus: z.array(z.number().int().min(100).max(599)).min(1, "expected at least one status").optional(),
  warnAboveMs: z.number().positive("expected warnAboveMs > 0").optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

/**
 * Calls an HTTP dependency and checks its status; latency in `observedValue` (ms), status code in
 * `details`. The request is aborted at the check's timeout. Redirects are not followed.
 * @throws ValidationError on bad options (an invalid URL...)
 */
export function httpCheck(options: HttpCheckOptions): HealthCheck {
  const opts = parseCheckOptions(OptionsSchema, options, "httpCheck");
  const target = new URL(opts.url);
  // fetch refuses URLs with credentials: send them as Basic auth instead.
  const headers: Record<string, string> = { ...opts.headers };
  if (target.username || target.password) {
    const userinfo = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization ??= `Basic ${Buffer.from(userinfo).toString("base64")}`;
    target.username = "";
    target.password = "";
  }
  const requestUrl = target.href;
  // What results may show: no userinfo, no query (tokens travel there).
  const shown = `${target.origin}${target.pathname}`;
  const expected = opts.expectedStatus ? new Set(opts.expectedStatus) : undefined;
  const check: HealthCheck = {
    // An IPv6 literal ("[::1]") is no valid check name: keep letters, digits, dots and dashes.
    name: opts.name ?? (target.hostname.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "") || "http"),
    componentType: "component",
    measurement: "responseTime",
    run: async ({ signal }) => {
      const started = performance.now();
      const res = await fetch(requestUrl, { method: opts.method ?? "GET", redirect: "manual", signal, headers });
      const ms = elapsedMs(started);
      await res.body?.cancel().catch(() => undefined);
      const up = expected ? expected.has(res.status) : res.status >= 200 && res.status < 400;
      const base = { observedValue: ms, observedUnit: "ms", details: { statusCode: res.status, url: shown } };
      if (!up) return { ...base, status: "fail", message: `HTTP ${res.status} from ${shown}` };
      return { ...base, status: latencyStatus(ms, opts.warnAboveMs), message: latencyMessage(`HTTP ${res.status}`, ms, opts.warnAboveMs) };
    },
  };
  if (opts.critical !== undefined) check.critical = opts.critical;
  if (opts.timeoutMs !== undefined) check.timeoutMs = opts.timeoutMs;
  return check;
}
