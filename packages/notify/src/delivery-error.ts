import { OpsError } from "@ops/core";

export type FailureKind = "temporary" | "permanent";

/**
 * A failed delivery attempt, classified. `temporary` (network error, timeout, 429, 5xx) is
 * retried with backoff; `permanent` (other 4xx, a rejected address) goes to the dead-letter list.
 * The message never contains the secret parts of a destination.
 */
export class DeliveryError extends OpsError {
  readonly kind: FailureKind;
  /** The receiver's own wait hint (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;
  /** HTTP status or SMTP response code, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options: { kind: FailureKind; retryAfterMs?: number | undefined; status?: number | undefined }) {
    super("UNAVAILABLE", message, { retryable: options.kind === "temporary" });
    this.kind = options.kind;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/** Classifies an HTTP status the way Alertmanager and the providers' docs do. */
export function kindOfStatus(status: number): FailureKind {
  return status === 408 || status === 425 || status === 429 || status >= 500 ? "temporary" : "permanent";
}

/**
 * Parses `Retry-After` (delta-seconds or an HTTP date) into ms from `nowMs`.
 * Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}
