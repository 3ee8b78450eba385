import * as z from "zod";
import { ConfigError, issuesFromZod, type AuditSink, type Clock, type EffectStore, type JsonValue } from "@ops/core";
import type { FlagDefinitions } from "./define-flags.js";
import type { EvaluationTelemetry } from "./telemetry.js";

/** What `onError` is told about: a failed load or refresh, a malformed stored flag, a throwing evaluation. */
export interface FlagErrorInfo {
  operation: "load" | "refresh" | "compile" | "evaluate" | "schedule" | "backup" | "usage" | "audit";
  key?: string;
}

export interface FeatureFlagControllerOptions<D extends FlagDefinitions = FlagDefinitions> {
  /** From `defineFlags`: typed keys, and defaults for flags not (yet) in the store. */
  definitions?: D;
  /** Every write records a FLAG_CHANGE entry (before / after) here. */
  audit?: AuditSink;
  /**
   * The transactional outbox of the store's backend (`stores.effects`; the flag store must have
   * `capabilities.effects`). With it, every audited write stores its FLAG_CHANGE entry as a
   * pending effect IN THE SAME atomic write as the flag, and a relay appends it to `audit` after
   * the commit (and, for leftovers of a crash, on start and every `relayPollMs`): no flag version
   * ever exists without its entry, and a write never rejects because the audit sink failed.
   * Without it, entries the sink rejects wait in an in-memory queue (lost if the process dies).
   */
  effects?: EffectStore;
  /** How often the relay looks for pending effects left by crashed processes or failed deliveries (ms, default 1000). */
  relayPollMs?: number;
  clock?: Clock;
  /**
   * Reload interval in ms. Default 15 000 without a change subscription; with one (store
   * `capabilities.pubsub`), 60 000 as a safety net. 0 disables polling.
   */
  pollIntervalMs?: number;
  /** Values served when the store is unreachable at start: an object, or a JSON file path. */
  bootstrap?: Record<string, JsonValue> | { file: string };
  /** After every successful load the full snapshot is written here; read back (rules and all) if the store is down at start. */
  backupFile?: string;
  /** Receives every error the controller absorbs. Never called on the hot path's success. */
  onError?: (error: unknown, info: FlagErrorInfo) => void;
  /** Attempts of a read-modify-write that keeps losing compare-and-set races (default 50). */
  maxWriteAttempts?: number;
  /**
   * How often evaluation times are merged into the shared `$stats` record, so `staleFlags()` sees
   * usage across processes and restarts (default 600 000 = 10 min; 0 disables). Checked on each poll.
   */
  usageFlushMs?: number;
  /** How long `ready()` (and so `getBool`) waits for the first load before serving fallbacks (default 5000 ms). */
  startTimeoutMs?: number;
  /**
   * How often the store's health is probed (ms, default 5000; 0 disables): one point read while
   * READY (failing it makes `status` STALE), a full reload while STALE or ERROR (back to READY).
   */
  healthCheckIntervalMs?: number;
  /** How long a probe or a recovery reload may take before it counts as failed (ms, default 2000). */
  healthCheckTimeoutMs?: number;
  /** Start loading in the constructor (default true). */
  autoStart?: boolean;
  /**
   * Four-eyes policy for this environment (e.g. `env === "prod"`): every direct write (values,
   * rules, rollouts, kill switch, tenant overrides, segments, schedules, deletes) throws
   * `ApprovalRequiredError`; changes go through `FlagChangeRequests` and another principal's
   * approval. The one exception is `emergencyDisable` (audited as a bypass). Default false.
   */
  requireApproval?: boolean;
  /**
   * Told about every evaluation, synchronously on the hot path (sample inside). `createFlagTelemetry`
   * from `@ops/flags/otel` emits OpenTelemetry `feature_flag.evaluation` events.
   */
  telemetry?: EvaluationTelemetry;
}

const Ms = z.number().int("expected an integer number of milliseconds").min(0, "expected >= 0");
const hasMethods = (...names: string[]) =>
  z.custom<object>(
    (v) => typeof v === "object" && v !== null && names.every((n) => typeof (v as Record<string, unknown>)[n] === "function"),
    {
      message: `expected an object with ${names.join(", ")}`,
    },
  );
const OptionsSchema = z.object({
  definitions: z.record(z.string(), z.object({}).loose()).optional(),
  audit: hasMethods("record").optional(),
  effects: hasMethods("claim", "complete", "fail").optional(),
  relayPollMs: z.number().int().min(1, "expected a positive integer").optional(),
  clock: hasMethods("now", "date").optional(),
  pollIntervalMs: Ms.optional(),
  bootstrap: z.union([z.record(z.string(), z.unknown()), z.object({ file: z.string().min(1) })]).optional(),
  backupFile: z.string().min(1).optional(),
  onError: z.custom<(...a: never[]) => unknown>((v) => typeof v === "function", { message: "expected a function" }).optional(),
  maxWriteAttempts: z.number().int().min(1, "expected a positive integer").optional(),
  usageFlushMs: Ms.optional(),
  startTimeoutMs: Ms.optional(),
  autoStart: z.boolean().optional(),
  healthCheckIntervalMs: Ms.optional(),
  healthCheckTimeoutMs: Ms.optional(),
  requireApproval: z.boolean().optional(),
  telemetry: hasMethods("record").optional(),
});

/**
 * Checks the controller's options once, in the constructor (a bad one, e.g. `maxWriteAttempts: 0`,
 * would otherwise make every write fail later with a misleading error).
 * @throws ConfigError naming each bad option.
 */
export function checkControllerOptions(options: unknown): void {
  const result = OptionsSchema.safeParse(options);
  if (result.success) return;
  const issues = issuesFromZod(result.error);
  throw new ConfigError(
    `[ops/flags] invalid FeatureFlagController options: ${issues.map((i) => `${i.path || "(options)"}: ${i.message}`).join("; ")}`,
    issues,
  );
}
