import { EnvironmentSchema, parseInput, systemClock, ValidationError, type Clock } from "@ops/core";
import * as z from "zod";
import { eventLoopCheck, type ClosableHealthCheck } from "./checks/event-loop.js";
import { ProbeRunner } from "./probe-runner.js";
import { safeListener, type StatusChangeListener } from "./status-change.js";
import { DEFAULT_CHECK_TIMEOUT_MS, type ExecuteOptions } from "./run-checks.js";
import { AnyCheckSchema, TimeoutMsSchema } from "./schemas.js";
import { fromSeedCheck, toHealthChecks } from "./seed-check.js";
import type { CheckResult, HealthCheck, HealthReport, ProbeKind, SeedCheck } from "./types.js";

/** What a request looks like to the detail-view policy, whatever the framework. */
export interface HealthRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string parameters. */
  query: URLSearchParams;
  /** A request header (lower-case name), or undefined. */
  header(name: string): string | undefined;
}

/** Decides who sees the detailed view (check names, messages, values). */
export type DetailsPolicy = boolean | ((req: HealthRequest) => boolean | Promise<boolean>);

/** The draft's service fields, shown in every view. */
export interface ServiceInfo {
  serviceId?: string;
  version?: string;
  releaseId?: string;
  description?: string;
}

export interface HealthOptions {
  /** Environment name shown in reports ("prod"). */
  env?: string;
  service?: ServiceInfo;
  /** Readiness checks: the dependencies the app needs to serve traffic. Seed-style functions work too. */
  checks?: Array<HealthCheck | SeedCheck>;
  /** Liveness checks: only what a restart would fix. Default: `[eventLoopCheck()]`. Never put dependencies here. */
  liveness?: Array<HealthCheck | SeedCheck>;
  /** Startup checks: once they all pass (status not fail) the startup probe passes for good. */
  startup?: Array<HealthCheck | SeedCheck>;
  /** When true, startup and readiness fail until `markStarted()` is called. Default false. */
  waitForStarted?: boolean;
  /** Timeout for checks that set none. Default 2000 ms. */
  timeoutMs?: number;
  /** Reuse a report for this long (ms); concurrent callers share one run. Default 1000; 0 disables. */
  cacheTtlMs?: number;
  /** Poll readiness in the background every this many ms from creation (the timer is unref'd). */
  pollIntervalMs?: number;
  /** Who sees the detailed view. Default false (short view for everyone). See `bearerToken()`. */
  details?: DetailsPolicy;
  /** Literal secrets (passwords, tokens) to redact from messages, on top of the built-in patterns. */
  secrets?: string[];
  /** Called when a probe's status differs from its previous run's (see `notifyOnFailure`). Never throws into checks. */
  onStatusChange?: StatusChangeListener;
  /** Where a throwing `onStatusChange` is reported. Default: `console.error`. */
  log?: (line: string) => void;
  clock?: Clock;
}

const ProbeKindSchema = z.enum(["liveness", "readiness", "startup"], { error: "expected liveness, readiness or startup" });
const ServiceSchema = z.object({
  serviceId: z.string().max(200).optional(),
  version: z.string().max(100).optional(),
  releaseId: z.string().max(100).optional(),
  description: z.string().max(500).optional(),
});
const ChecksSchema = z.array(AnyCheckSchema).superRefine((checks, ctx) => {
  const seen = new Set<string>();
  checks.forEach((c, i) => {
    const check = typeof c === "function" ? fromSeedCheck(c as SeedCheck, i) : (c as HealthCheck);
    const key = check.measurement ? `${check.name}:${check.measurement}` : check.name;
    if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `expected unique check names; "${key}" is repeated` });
    seen.add(key);
  });
});
const OptionsSchema = z.object({
  env: EnvironmentSchema.optional(),
  service: ServiceSchema.optional(),
  checks: ChecksSchema.optional(),
  liveness: ChecksSchema.optional(),
  startup: ChecksSchema.optional(),
  waitForStarted: z.boolean().optional(),
  timeoutMs: TimeoutMsSchema.optional(),
  cacheTtlMs: z.number().int().nonnegative("expected cacheTtlMs >= 0").optional(),
  pollIntervalMs: z.number().int().min(100, "expected pollIntervalMs >= 100").optional(),
  details: z
    .union([z.boolean(), z.custom<(req: HealthRequest) => boolean>((v) => typeof v === "function")], {
      error: "expected true, false or a function (request) => boolean",
    })
    .optional(),
  secrets: z.array(z.string()).optional(),
  onStatusChange: z.custom<StatusChangeListener>((v) => typeof v === "function", "expected a function").optional(),
  log: z.custom<(line: string) => void>((v) => typeof v === "function", "expected a function").optional(),
  clock: z.custom<Clock>((v) => typeof (v as Clock | undefined)?.now === "function", "expected a Clock").optional(),
});

/** The app's health: three probes, a shutdown switch and the detail-view policy. */
export interface Health {
  readonly env: string | undefined;
  readonly service: ServiceInfo;
  /** The probe's report, from cache when fresh. Rejects only for an unknown probe name, never because of a check. */
  check(probe?: ProbeKind): Promise<HealthReport>;
  /** Runs the probe's checks now, ignoring the cache (shares a run already in flight). */
  refresh(probe?: ProbeKind): Promise<HealthReport>;
  liveness(): Promise<HealthReport>;
  readiness(): Promise<HealthReport>;
  startup(): Promise<HealthReport>;
  /** Latches startup as done (needed when `waitForStarted` is set). */
  markStarted(): void;
  readonly started: boolean;
  /** From now on readiness fails at once, without running checks; polling stops and status changes are no longer reported. Liveness is unaffected. */
  beginShutdown(): void;
  readonly shuttingDown: boolean;
  /** Polls the probes in the background (default: readiness) every `intervalMs`. */
  startPolling(intervalMs: number, probes?: ProbeKind[]): void;
  stopPolling(): void;
  /** Whether this request may see the detailed view. Never rejects (a throwing policy means no). */
  allowsDetails(req: HealthRequest): Promise<boolean>;
  /** How many times a probe's checks really ran (cache misses). */
  runCount(probe: ProbeKind): number;
  /** Stops polling and the samplers this instance created. */
  close(): void;
}

/**
 * Creates the app's health: readiness, liveness and startup probes with per-check timeouts,
 * parallel runs, a shared result cache and a shutdown switch.
 * @throws ValidationError on malformed options (names repeated, bad timeouts...)
 */
export function createHealth(options: HealthOptions = {}): Health {
  const opts = parseInput(OptionsSchema, options, { pkg: "health", what: "createHealth options" });
  const clock = opts.clock ?? systemClock;
  const exec: ExecuteOptions = { clock, defaultTimeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, secrets: opts.secrets ?? [] };
  const ttl = opts.cacheTtlMs ?? 1_000;
  // zod rebuilt the check objects: keep the caller's, which may carry state (samplers).
  const owned: ClosableHealthCheck[] = [];
  const livenessChecks = options.liveness ? toHealthChecks(options.liveness) : [(owned[owned.length] = eventLoopCheck())];
  const listener = options.onStatusChange
    ? safeListener(options.onStatusChange, options.log ?? ((line) => console.error(line)))
    : undefined;
  // Silent once shutting down: pools are closing on purpose, and that must not page anyone.
  const changed = (probe: ProbeKind) =>
    listener
      ? (previous: HealthReport | undefined, report: HealthReport) => {
          if (!shuttingDown) listener({ probe, previous: previous?.status, report });
        }
      : undefined;
  const runners: Record<ProbeKind, ProbeRunner> = {
    readiness: new ProbeRunner("readiness", toHealthChecks(options.checks ?? []), ttl, exec, opts.env, changed("readiness")),
    liveness: new ProbeRunner("liveness", livenessChecks, ttl, exec, opts.env, changed("liveness")),
    startup: new ProbeRunner("startup", toHealthChecks(options.startup ?? []), ttl, exec, opts.env, changed("startup")),
  };
  let shuttingDown = false;
  let marked = !opts.waitForStarted;
  let startupPassed = false;
  const details = opts.details ?? false;

  const synthetic = (probe: ProbeKind, name: string, message: string): HealthReport => {
    const tsISO = clock.date().toISOString();
    const check: CheckResult = {
      name,
      key: name,
      ok: false,
      status: "fail",
      critical: true,
      durationMs: 0,
      timedOut: false,
      message,
      tsISO,
    };
    const report: HealthReport = { ok: false, status: "fail", checks: [check], tsISO, durationMs: 0, probe };
    if (opts.env !== undefined) report.env = opts.env;
    return report;
  };

  const check = async (probe: ProbeKind = "readiness", fresh = false): Promise<HealthReport> => {
    if (!Object.hasOwn(runners, probe))
      throw new ValidationError("[ops/health] invalid probe: expected liveness, readiness or startup", [
        { path: "probe", message: "expected liveness, readiness or startup" },
      ]);
    if (probe === "readiness") {
      if (shuttingDown) return synthetic("readiness", "shutdown", "shutting down: draining connections");
      if (!marked) return synthetic("readiness", "startup", "not started yet");
    }
    if (probe === "startup" && startupPassed && marked) return runners.startup.latest ?? runners.startup.get();
    const report = await (fresh ? runners[probe].refresh() : runners[probe].get());
    if (probe === "startup") {
      if (report.status !== "fail") startupPassed = true;
      if (!marked) return synthetic("startup", "startup", "not started yet: waiting for markStarted()");
    }
    return report;
  };

  const health: Health = {
    env: opts.env,
    service: opts.service ?? {},
    check: (probe) => check(probe),
    refresh: (probe) => check(probe, true),
    liveness: () => check("liveness"),
    readiness: () => check("readiness"),
    startup: () => check("startup"),
    markStarted: () => {
      marked = true;
    },
    get started() {
      return marked && (startupPassed || (options.startup ?? []).length === 0);
    },
    beginShutdown: () => {
      shuttingDown = true;
      // Checks would now hit stores that are being closed: stop polling them.
      health.stopPolling();
    },
    get shuttingDown() {
      return shuttingDown;
    },
    startPolling: (intervalMs, probes = ["readiness"]) => {
      const ms = parseInput(z.number().int().min(100, "expected intervalMs >= 100"), intervalMs, {
        pkg: "health",
        what: "startPolling intervalMs",
      });
      const which = parseInput(z.array(ProbeKindSchema), probes, { pkg: "health", what: "startPolling probes" });
      for (const p of which) runners[p].startPolling(ms);
    },
    stopPolling: () => {
      for (const r of Object.values(runners)) r.stopPolling();
    },
    allowsDetails: async (req) => {
      if (typeof details === "boolean") return details;
      try {
        return (await details(req)) === true;
      } catch {
        return false;
      }
    },
    runCount: (probe) => runners[probe].runCount,
    close: () => {
      health.stopPolling();
      for (const c of owned) c.close();
    },
  };
  if (opts.pollIntervalMs !== undefined) health.startPolling(opts.pollIntervalMs);
  return health;
}
