import type { AuthIncidentType } from "@ops/core";
import type { Playbook } from "../types.js";
import { emailVerificationFailures, failedLoginsSpike, passwordResetFailures } from "./credentials.js";
import { jwtValidationErrors, oauthCallbackErrors, sessionAnomalies, suspiciousAdminLogin, tenantLeakRisk } from "./sessions.js";

/** The 8 universal auth playbooks, by incident type. */
export const AUTH_PLAYBOOKS: Readonly<Record<AuthIncidentType, Playbook>> = Object.freeze({
  FAILED_LOGINS_SPIKE: failedLoginsSpike,
  PASSWORD_RESET_FAILURES: passwordResetFailures,
  OAUTH_CALLBACK_ERRORS: oauthCallbackErrors,
  JWT_VALIDATION_ERRORS: jwtValidationErrors,
  SESSION_ANOMALIES: sessionAnomalies,
  TENANT_LEAK_RISK: tenantLeakRisk,
  SUSPICIOUS_ADMIN_LOGIN: suspiciousAdminLogin,
  EMAIL_VERIFICATION_FAILURES: emailVerificationFailures,
});
