import { parseInput, ValidationError } from "@ops/core";
import * as z from "zod";
import type { Health, HealthRequest } from "./health.js";
import { HEALTH_JSON_TYPE, httpStatusOf, toHealthJson } from "./health-json.js";
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from "./prometheus.js";
import type { HealthReport, ProbeKind } from "./types.js";

/** What an endpoint serves: a probe, the readiness report for people ("health"), or metrics. */
export type HealthRoute = ProbeKind | "health" | "metrics";

/** Paths per route; `false` turns a route off. */
export type HealthPaths = Partial<Record<HealthRoute, string | false>>;

export const DEFAULT_HEALTH_PATHS: Readonly<Record<HealthRoute, string>> = {
  liveness: "/livez",
  readiness: "/readyz",
  startup: "/startupz",
  health: "/health",
  metrics: "/metrics",
};

/** A framework-neutral response. */
export interface HealthHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const HealthRouteSchema = z.enum(["liveness", "readiness", "startup", "health", "metrics"], {
  error: "expected liveness, readiness, startup, health or metrics",
});
const PathSchema = z.union([z.string().regex(/^\/[^?#\s]*$/, "expected a path starting with / (no query)"), z.literal(false)]);
export const HealthPathsSchema = z
  .strictObject(
    { liveness: PathSchema, readiness: PathSchema, startup: PathSchema, health: PathSchema, metrics: PathSchema },
    {
      error: (iss) =>
        iss.code === "unrecognized_keys"
          ? `unknown route ${iss.keys.map((k) => `"${k}"`).join(", ")}; expected liveness, readiness, startup, health or metrics`
          : "expected an object of paths keyed by route",
    },
  )
  .partial();

/**
 * Path -> route lookup, built once when a handler is created.
 * @throws ValidationError on a malformed path or two routes on one path
 */
export function routeTable(paths: HealthPaths = {}, where = "health handler"): Map<string, HealthRoute> {
  parseInput(HealthPathsSchema, paths, { pkg: "health", what: `${where} paths` });
  const table = new Map<string, HealthRoute>();
  for (const route of Object.keys(DEFAULT_HEALTH_PATHS) as HealthRoute[]) {
    const path = paths[route] === undefined ? DEFAULT_HEALTH_PATHS[route] : paths[route];
    if (path === false) continue;
    if (table.has(path)) {
      const message = `expected distinct paths; "${path}" is used twice`;
      throw new ValidationError(`[ops/health] invalid ${where} paths: ${route}: ${message}`, [{ path: route, message }]);
    }
    table.set(path, route);
  }
  return table;
}

// Serialised bodies per report: a cached report is served many times, serialised once.
const bodies = new WeakMap<HealthReport, { short?: string; detailed?: string }>();
const NO_STORE = "no-cache, no-store, must-revalidate";

/**
 * Answers one health request: 200 (pass, warn) or 503 (fail) with health+json, the detailed view
 * only when the health's details policy allows this request (and it did not ask `?view=short`).
 * Never rejects.
 */
export async function respondToHealthRequest(health: Health, route: HealthRoute, req: HealthRequest): Promise<HealthHttpResponse> {
  if (req.method !== "GET" && req.method !== "HEAD")
    return { status: 405, headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }, body: "method not allowed\n" };
  if (route === "metrics") {
    const reports = await Promise.all([health.liveness(), health.readiness(), health.startup()]);
    const body = toPrometheus(reports, { shuttingDown: health.shuttingDown });
    return {
      status: 200,
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": NO_STORE },
      body: req.method === "HEAD" ? "" : body,
    };
  }
  const report = await health.check(route === "health" ? "readiness" : route);
  const detailed = req.query.get("view") !== "short" && (await health.allowsDetails(req));
  const view = detailed ? "detailed" : "short";
  let cache = bodies.get(report);
  if (!cache) bodies.set(report, (cache = {}));
  const body = (cache[view] ??= JSON.stringify(toHealthJson(report, view, health.service)));
  return {
    status: httpStatusOf(report.status),
    headers: { "content-type": HEALTH_JSON_TYPE, "cache-control": NO_STORE },
    body: req.method === "HEAD" ? "" : body,
  };
}
