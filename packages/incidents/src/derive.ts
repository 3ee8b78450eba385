import type { AuthIncidentType } from "@ops/core";
import { defineDetector, deriveIncidents, type Detector } from "./detectors.js";
import type { SpineEvent } from "./types.js";
import { metric } from "./util.js";

/**
 * Hourly thresholds of `deriveAuthIncidents`. Counts are per hour; ratios apply only when the
 * denominator metric is present and at least `minVolume` (a volume floor: 3 failures out of 4
 * attempts is not a spike).
 */
export interface AuthThresholds {
  failedLogins: { count: number; ratio: number; minVolume: number; critical: number };
  passwordResetFailures: { count: number; ratio: number; minVolume: number };
  oauthCallbackErrors: { count: number; ratio: number; minVolume: number };
  jwtValidationErrors: { count: number; ratio: number; minVolume: number; invalidSignatures: number };
  sessionAnomalies: { count: number };
  crossTenantAttempts: { count: number };
  adminLogins: { suspicious: number; failures: number };
  emailVerificationFailures: { count: number; ratio: number; minVolume: number };
}

export const DEFAULT_AUTH_THRESHOLDS: AuthThresholds = Object.freeze({
  failedLogins: { count: 100, ratio: 0.3, minVolume: 200, critical: 1000 },
  passwordResetFailures: { count: 20, ratio: 0.25, minVolume: 40 },
  oauthCallbackErrors: { count: 10, ratio: 0.1, minVolume: 50 },
  jwtValidationErrors: { count: 50, ratio: 0.05, minVolume: 500, invalidSignatures: 10 },
  sessionAnomalies: { count: 5 },
  crossTenantAttempts: { count: 1 },
  adminLogins: { suspicious: 1, failures: 5 },
  emailVerificationFailures: { count: 20, ratio: 0.2, minVolume: 50 },
}) as AuthThresholds;

/** The metric names `deriveAuthIncidents` reads (all per hour). */
export const AUTH_METRICS = [
  "failed_logins_1h",
  "successful_logins_1h",
  "password_reset_failures_1h",
  "password_reset_requests_1h",
  "oauth_callback_errors_1h",
  "oauth_callbacks_1h",
  "jwt_validation_errors_1h",
  "jwt_validations_1h",
  "jwt_invalid_signature_1h",
  "session_anomalies_1h",
  "cross_tenant_access_attempts_1h",
  "suspicious_admin_logins_1h",
  "admin_login_failures_1h",
  "email_verification_failures_1h",
  "email_verifications_1h",
] as const;

/**
 * count >= threshold; when the total is known and at least `minVolume`, the ratio must hold too
 * (below the volume floor a ratio means little, so the count alone decides).
 */
function ratioRule(n: number, total: number | undefined, t: { count: number; ratio: number; minVolume: number }): boolean {
  if (n < t.count) return false;
  if (total === undefined || total < t.minVolume) return true;
  return n / total >= t.ratio;
}

const opt = (m: Record<string, unknown>, key: string) => (typeof m[key] === "number" ? metric(m, key) : undefined);

/** The detectors behind `deriveAuthIncidents`, one per auth incident type. */
export function authDetectors(thresholds: Partial<AuthThresholds> = {}): Array<Detector<AuthIncidentType>> {
  const t = { ...DEFAULT_AUTH_THRESHOLDS, ...thresholds };
  return [
    defineDetector({
      incident_type: "FAILED_LOGINS_SPIKE",
      detect: (m) => {
        const f = metric(m, "failed_logins_1h");
        const ok = opt(m, "successful_logins_1h");
        if (!ratioRule(f, ok === undefined ? undefined : f + ok, t.failedLogins)) return null;
        return { severity_guess: f >= t.failedLogins.critical ? 1 : 2 };
      },
    }),
    defineDetector({
      incident_type: "PASSWORD_RESET_FAILURES",
      detect: (m) =>
        ratioRule(metric(m, "password_reset_failures_1h"), opt(m, "password_reset_requests_1h"), t.passwordResetFailures)
          ? { severity_guess: metric(m, "password_reset_failures_1h") >= 10 * t.passwordResetFailures.count ? 2 : 3 }
          : null,
    }),
    defineDetector({
      incident_type: "OAUTH_CALLBACK_ERRORS",
      detect: (m) =>
        ratioRule(metric(m, "oauth_callback_errors_1h"), opt(m, "oauth_callbacks_1h"), t.oauthCallbackErrors)
          ? { severity_guess: 2 }
          : null,
    }),
    defineDetector({
      incident_type: "JWT_VALIDATION_ERRORS",
      detect: (m) => {
        const forged = metric(m, "jwt_invalid_signature_1h") >= t.jwtValidationErrors.invalidSignatures;
        if (forged) return { severity_guess: 1 };
        return ratioRule(metric(m, "jwt_validation_errors_1h"), opt(m, "jwt_validations_1h"), t.jwtValidationErrors)
          ? { severity_guess: 2 }
          : null;
      },
    }),
    defineDetector({
      incident_type: "SESSION_ANOMALIES",
      detect: (m) => (metric(m, "session_anomalies_1h") >= t.sessionAnomalies.count ? { severity_guess: 2 } : null),
    }),
    defineDetector({
      incident_type: "TENANT_LEAK_RISK",
      detect: (m) => (metric(m, "cross_tenant_access_attempts_1h") >= t.crossTenantAttempts.count ? { severity_guess: 1 } : null),
    }),
    defineDetector({
      incident_type: "SUSPICIOUS_ADMIN_LOGIN",
      detect: (m) => {
        if (metric(m, "suspicious_admin_logins_1h") >= t.adminLogins.suspicious) return { severity_guess: 1 };
        return metric(m, "admin_login_failures_1h") >= t.adminLogins.failures ? { severity_guess: 2 } : null;
      },
    }),
    defineDetector({
      incident_type: "EMAIL_VERIFICATION_FAILURES",
      detect: (m) =>
        ratioRule(metric(m, "email_verification_failures_1h"), opt(m, "email_verifications_1h"), t.emailVerificationFailures)
          ? { severity_guess: 3 }
          : null,
    }),
  ];
}

const defaultDetectors = authDetectors();

/**
 * `deriveAuthIncidents(metrics, context)`: hourly auth metrics in, incident events out
 * (feed each to `runAuthOpsSpine`). Ids are stable per (type, tenant, hour).
 * @throws ValidationError when metrics or context are malformed.
 */
export function deriveAuthIncidents(
  metrics: unknown,
  context?: unknown,
  options: { thresholds?: Partial<AuthThresholds> } = {},
): Array<SpineEvent<AuthIncidentType>> {
  return deriveIncidents(metrics, context, options.thresholds ? authDetectors(options.thresholds) : defaultDetectors);
}
