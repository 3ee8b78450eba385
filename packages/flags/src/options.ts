import type { AuditSink, Clock, JsonValue } from "@ops/core";
import type { FlagDefinitions } from "./define-flags.js";

/** What `onError` is told about: a failed load or refresh, a malformed stored flag, a throwing evaluation. */
export interface FlagErrorInfo {
  operation: "load" | "refresh" | "compile" | "evaluate" | "schedule" | "backup" | "usage";
  key?: string;
}

export interface FeatureFlagControllerOptions<D extends FlagDefinitions = FlagDefinitions> {
  /** From `defineFlags`: typed keys, and defaults for flags not (yet) in the store. */
  definitions?: D;
  /** Every write records a FLAG_CHANGE entry (before / after) here. */
  audit?: AuditSink;
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
  /** Start loading in the constructor (default true). */
  autoStart?: boolean;
}
