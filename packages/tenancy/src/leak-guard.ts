import { TenantIdSchema, TenantIsolationError, type ActorRef, type AuditSink, type SignalSink, type TenantKey } from "@ops/core";

/** What was attempted, as reported to the signal sink, the audit sink and `onLeak`. */
export interface LeakAttempt {
  /** The scope the call ran in (`null`: global scope, `undefined`: no scope). */
  currentTenant: TenantKey | undefined;
  /** The tenant the call tried to reach (`null`: global rows), when known. */
  attemptedTenant?: TenantKey;
  /** `"flags.get"`, `"outbox.claim"`, ... */
  operation: string;
  reason: string;
}

export interface LeakGuardOptions {
  /** Receives a `CROSS_TENANT_ACCESS` auth signal per attempt (what @ops/incidents turns into TENANT_LEAK_RISK). */
  signals?: SignalSink;
  /** Receives a `TENANT_ISOLATION_VIOLATION` audit entry per attempt. */
  audit?: AuditSink;
  /** Who the audit entry names as actor. Default `{ id: "ops-tenancy", type: "system" }`. */
  actor?: ActorRef;
  /** Auth event type recorded. Default `CROSS_TENANT_ACCESS`. */
  signalType?: string;
  /** Called for every attempt (metrics, logs). Must not throw. */
  onLeak?: (attempt: LeakAttempt) => void;
  /** Called when a sink fails: the attempt is still refused, the sink error is not rethrown. */
  onReportError?: (err: unknown, attempt: LeakAttempt) => void;
}

/**
 * Reports an attempt (signal + audit entry, awaited so they are written before the caller sees the
 * error) and returns the `TenantIsolationError` to throw. A failing sink never turns the refusal
 * into another error.
 */
export async function reportLeak(options: LeakGuardOptions, attempt: LeakAttempt): Promise<TenantIsolationError> {
  const scopeName = attempt.currentTenant === undefined ? "(no scope)" : (attempt.currentTenant ?? "(global)");
  // The attempted id comes from the caller's input: it may be a number, an object, empty or huge.
  // Reported as is it would fail the audit entry's validation, and the attempt would go unrecorded.
  const raw: unknown = attempt.attemptedTenant;
  const valid = raw === null || (typeof raw === "string" && TenantIdSchema.safeParse(raw).success);
  const attempted: TenantKey | undefined = raw === undefined ? undefined : valid ? (raw as TenantKey) : "(invalid)";
  const rawText = raw === undefined || valid ? undefined : describe(raw);
  const target = attempted === undefined ? "" : ` tenant "${rawText ?? attempted ?? "(global)"}"`;
  const error = new TenantIsolationError(
    `[ops/tenancy] ${attempt.operation} refused in scope "${scopeName}"${target ? ` for${target}` : ""}: ${attempt.reason}`,
  );
  const tenantId = attempt.currentTenant ?? null;
  // Reasons quote request data (two tenant ids from headers): keep them within the audit limit.
  const reason = attempt.reason.length > 512 ? `${attempt.reason.slice(0, 512)}…` : attempt.reason;
  const meta = {
    incidentType: "TENANT_LEAK_RISK",
    operation: attempt.operation,
    reason,
    attemptedTenant: attempted ?? null,
    ...(rawText === undefined ? {} : { attemptedTenantRaw: rawText }),
  };
  const tasks: Array<Promise<void>> = [];
  const guard = (fn: () => Promise<void> | void) =>
    tasks.push(
      (async () => {
        try {
          await fn();
        } catch (err) {
          options.onReportError?.(err, attempt);
        }
      })(),
    );
  if (options.signals) {
    const signals = options.signals;
    guard(() => signals.recordAuthEvent({ type: options.signalType ?? "CROSS_TENANT_ACCESS", tenantId, meta }));
  }
  if (options.audit) {
    const audit = options.audit;
    guard(() =>
      audit.record({
        action: "TENANT_ISOLATION_VIOLATION",
        actor: options.actor ?? { id: "ops-tenancy", type: "system" },
        tenantId,
        ...(attempted === undefined ? {} : { target: { id: attempted ?? "(global)", type: "tenant" } }),
        outcome: "failure",
        reason,
        surface: "tenancy",
        meta,
      }),
    );
  }
  try {
    options.onLeak?.(attempt);
  } catch (err) {
    options.onReportError?.(err, attempt);
  }
  await Promise.all(tasks);
  return error;
}

/** A short printable form of a malformed tenant id (at most 128 characters). */
function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 128 ? `${text.slice(0, 128)}…` : text;
}
