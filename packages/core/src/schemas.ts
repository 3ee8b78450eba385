import * as z from "zod";

/** Tenant ids: 1-128 characters of letters, digits and `._:-`; never empty. */
export const TenantIdSchema = z
  .string()
  .min(1, "expected a non-empty tenant id")
  .max(128, "expected a tenant id of at most 128 characters")
  .regex(/^[A-Za-z0-9._:-]+$/, "expected a tenant id of letters, digits and . _ : -");
export type TenantId = z.infer<typeof TenantIdSchema>;

/** Deployment environments. The usual four are named; any short slug is accepted. */
export const KNOWN_ENVIRONMENTS = ["dev", "test", "staging", "prod"] as const;
export const EnvironmentSchema = z
  .string()
  .min(1, 'expected an environment name such as "prod"')
  .max(32, "expected an environment name of at most 32 characters")
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case environment slug such as "prod"');
export type Environment = (typeof KNOWN_ENVIRONMENTS)[number] | (string & {});

export const ACTOR_TYPES = ["user", "service", "system"] as const;
export const ActorTypeSchema = z.enum(ACTOR_TYPES);
export type ActorType = z.infer<typeof ActorTypeSchema>;

/** Who did something (CADF initiator / OCSF actor / ECS user). */
export const ActorRefSchema = z.object({
  id: z.string().min(1, "expected a non-empty actor id").max(256),
  type: ActorTypeSchema.default("user"),
  ip: z.string().max(64).optional(),
  userAgent: z.string().max(512).optional(),
});
export type ActorRef = z.input<typeof ActorRefSchema>;

/** Incident and notification severity, most severe first. */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

/** 0 for critical .. 4 for info; smaller is more severe. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Maps a numeric `severity_guess` (1 = highest .. 4 = lowest) to a Severity. */
export function severityFromGuess(guess: number): Severity {
  if (guess <= 1) return "critical";
  if (guess === 2) return "high";
  if (guess === 3) return "medium";
  return "low";
}

export const OUTCOMES = ["success", "failure", "unknown"] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** The universal audit actions. Apps add their own (see `@ops/audit`'s `defineAuditActions`). */
export const AUDIT_ACTIONS = [
  "AUTH_LOGIN",
  "AUTH_LOGOUT",
  "AUTH_LOGIN_FAILED",
  "AUTH_PASSWORD_RESET",
  "AUTH_MFA_CHANGE",
  "AUTH_SESSION_REVOKED",
  "ROLE_CHANGE",
  "PERMISSION_CHANGE",
  "DATA_ACCESS",
  "DATA_EXPORT",
  "DATA_DELETE",
  "FLAG_CHANGE",
  "CONFIG_CHANGE",
  "ADMIN_ACTION",
  "INCIDENT_OPENED",
  "INCIDENT_ACKNOWLEDGED",
  "INCIDENT_MITIGATED",
  "INCIDENT_RESOLVED",
  "INCIDENT_ROLLED_BACK",
  "TENANT_CREATED",
  "TENANT_DELETED",
  "TENANT_ISOLATION_VIOLATION",
  "AUDIT_EXPORT",
  "SUBJECT_FORGOTTEN",
] as const;
export type UniversalAuditAction = (typeof AUDIT_ACTIONS)[number];

/** App-defined audit actions: upper snake case, like the universal ones. */
export const AuditActionSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Z][A-Z0-9_]*$/, 'expected an UPPER_SNAKE_CASE action such as "DATA_EXPORT"');

/** The 8 built-in auth incident types. Apps register more (see `@ops/incidents`). */
export const AUTH_INCIDENT_TYPES = [
  "FAILED_LOGINS_SPIKE",
  "PASSWORD_RESET_FAILURES",
  "OAUTH_CALLBACK_ERRORS",
  "JWT_VALIDATION_ERRORS",
  "SESSION_ANOMALIES",
  "TENANT_LEAK_RISK",
  "SUSPICIOUS_ADMIN_LOGIN",
  "EMAIL_VERIFICATION_FAILURES",
] as const;
export type AuthIncidentType = (typeof AUTH_INCIDENT_TYPES)[number];
export const AuthIncidentTypeSchema = z.enum(AUTH_INCIDENT_TYPES);

/** Raw auth signals an app records (the `type` of an auth event). */
export const AUTH_EVENT_TYPES = [
  "LOGIN_SUCCEEDED",
  "LOGIN_FAILED",
  "PASSWORD_RESET_REQUESTED",
  "PASSWORD_RESET_FAILED",
  "OAUTH_CALLBACK_ERROR",
  "JWT_VALIDATION_ERROR",
  "SESSION_ANOMALY",
  "ADMIN_LOGIN",
  "ADMIN_LOGIN_FAILED",
  "EMAIL_VERIFICATION_FAILED",
  "CROSS_TENANT_ACCESS",
] as const;
export type KnownAuthEventType = (typeof AUTH_EVENT_TYPES)[number];
/** Known types are suggested; apps may record their own UPPER_SNAKE_CASE types. */
export type AuthEventType = KnownAuthEventType | (string & {});
export const AuthEventTypeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Z][A-Z0-9_]*$/, 'expected an UPPER_SNAKE_CASE event type such as "LOGIN_FAILED"');

export const IsoDateTimeSchema = z.iso.datetime({ offset: true, message: "expected an ISO 8601 date-time" });
