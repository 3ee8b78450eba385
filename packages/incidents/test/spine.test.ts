import { describe, expect, it } from "vitest";
import { AUTH_INCIDENT_TYPES, ValidationError, type AuthIncidentType } from "@ops/core";
import { createPlaybookRegistry, deriveAuthIncidents, runAuthOpsSpine, type SpineEvent } from "../src/index.js";

const event = (type: AuthIncidentType, metrics: Record<string, number> = {}, guess = 3): SpineEvent<AuthIncidentType> => ({
  event_id: `evt_${type}`,
  incident_type: type,
  severity_guess: guess,
  occurred_at: "2026-11-26T10:00:00.000Z",
  metrics_snapshot: metrics,
});

describe("runAuthOpsSpine (the seed's example)", () => {
  it("answers the README's FAILED_LOGINS_SPIKE call as written", () => {
    const response = runAuthOpsSpine({
      event_id: "evt_123",
      incident_type: "FAILED_LOGINS_SPIKE",
      severity_guess: 2,
      occurred_at: new Date().toISOString(),
      metrics_snapshot: { failed_logins_1h: 150 },
    });
    expect(response.decision).toBe("Contain likely brute force and protect legitimate users.");
    expect(response.severity).toBe("high");
    expect(response.steps.join(" ")).toMatch(/150 failed logins/);
    expect(response.recommended_flags.map((f) => f.key)).toEqual([
      "auth.login.rate_limit_strict",
      "auth.login.captcha_on_risk",
      "auth.mfa.step_up_on_risk",
    ]);
    expect(response.rollback_plan.length).toBeGreaterThan(0);
    expect(response.post_mitigation_checks.length).toBeGreaterThan(0);
    expect(response.runbook.references.some((r) => r.includes("owasp.org"))).toBe(true);
  });
});

describe("the 8 auth playbooks", () => {
  it.each(AUTH_INCIDENT_TYPES)("%s has a decision, steps, flags, rollback, runbook and checks", (type) => {
    const r = runAuthOpsSpine(event(type, {}, 4));
    expect(r.incident_type).toBe(type);
    expect(r.event_id).toBe(`evt_${type}`);
    expect(r.decision.length).toBeGreaterThan(10);
    expect(r.steps.length).toBeGreaterThanOrEqual(4);
    expect(r.recommended_flags.length).toBeGreaterThan(0);
    for (const f of r.recommended_flags) expect(f.key).toMatch(/^[a-z][a-z0-9_.]+$/);
    expect(r.rollback_plan.length).toBeGreaterThan(0);
    expect(r.post_mitigation_checks.length).toBeGreaterThan(0);
    expect(r.runbook.sections.length).toBeGreaterThan(0);
    expect(r.runbook.references.length).toBeGreaterThan(0);
  });

  it("follows OWASP: no hard lockout, rate limits per IP and per account, step-up only under risk", () => {
    const text = runAuthOpsSpine(event("FAILED_LOGINS_SPIKE", { failed_logins_1h: 300 })).steps.join("\n");
    expect(text).toMatch(/per-IP and per-account rate limits/);
    expect(text).toMatch(/Do not hard-lock accounts/);
    expect(text).toMatch(/step-up MFA/);
  });

  it("escalates credential stuffing at volume: breached-password checks become a flag", () => {
    const heavy = runAuthOpsSpine(event("FAILED_LOGINS_SPIKE", { failed_logins_1h: 5000 }, 1));
    expect(heavy.severity).toBe("critical");
    expect(heavy.recommended_flags.map((f) => f.key)).toContain("auth.password.breached_check_enforced");
  });

  it("TENANT_LEAK_RISK is always critical and quarantines", () => {
    const r = runAuthOpsSpine(event("TENANT_LEAK_RISK", { cross_tenant_access_attempts_1h: 1 }, 4));
    expect(r.severity).toBe("critical");
    expect(r.recommended_flags.map((f) => f.key)).toEqual(["tenancy.strict_guard", "tenancy.quarantine", "exports.disabled"]);
  });

  it("JWT errors with bad signatures mean key rotation and forced re-auth", () => {
    const r = runAuthOpsSpine(event("JWT_VALIDATION_ERRORS", { jwt_validation_errors_1h: 400, jwt_invalid_signature_1h: 50 }));
    expect(r.severity).toBe("critical");
    expect(r.decision).toMatch(/rotate signing keys/);
    expect(r.recommended_flags.map((f) => f.key)).toContain("auth.jwt.force_reauth");
    const mild = runAuthOpsSpine(event("JWT_VALIDATION_ERRORS", { jwt_validation_errors_1h: 60 }));
    expect(mild.recommended_flags.map((f) => f.key)).not.toContain("auth.jwt.force_reauth");
  });

  it("SUSPICIOUS_ADMIN_LOGIN is at least high and reviews the audit trail", () => {
    const r = runAuthOpsSpine(event("SUSPICIOUS_ADMIN_LOGIN", { suspicious_admin_logins_1h: 1 }, 4));
    expect(r.severity).toBe("high");
    expect(r.steps.join(" ")).toMatch(/audit trail/);
  });

  it("PASSWORD_RESET_FAILURES: per-account and per-IP limits, no user enumeration, single-use tokens", () => {
    const r = runAuthOpsSpine(event("PASSWORD_RESET_FAILURES", { password_reset_failures_1h: 40 }));
    const text = r.steps.join("\n");
    expect(text).toMatch(/per account and per IP/);
    expect(text).toMatch(/no user enumeration/);
    expect(text).toMatch(/single use/);
    expect(r.recommended_flags.map((f) => f.key)).toEqual(["auth.password_reset.rate_limit_strict", "auth.password_reset.captcha"]);
  });

  it("OAUTH_CALLBACK_ERRORS: checks the provider, never relaxes state/PKCE, offers fallback sign-in", () => {
    const r = runAuthOpsSpine(event("OAUTH_CALLBACK_ERRORS", { oauth_callback_errors_1h: 30 }));
    expect(r.steps.join("\n")).toMatch(/never relax state or PKCE/);
    expect(r.recommended_flags).toEqual([expect.objectContaining({ key: "auth.login.show_fallback_methods", scope: "global" })]);
  });

  it("SESSION_ANOMALIES: revokes sessions, step-up for sensitive actions, checks cookie flags", () => {
    const text = runAuthOpsSpine(event("SESSION_ANOMALIES", { session_anomalies_1h: 8 })).steps.join("\n");
    expect(text).toMatch(/Revoke the affected sessions/);
    expect(text).toMatch(/step-up/);
    expect(text).toMatch(/Secure, HttpOnly, SameSite/);
  });

  it("EMAIL_VERIFICATION_FAILURES: deliverability first, then sign-up abuse controls", () => {
    const r = runAuthOpsSpine(event("EMAIL_VERIFICATION_FAILURES", { email_verification_failures_1h: 30 }));
    expect(r.steps[1]).toMatch(/email provider/);
    expect(r.recommended_flags.map((f) => f.key)).toContain("auth.signup.captcha");
    expect(r.severity).toBe("medium");
  });

  it("rejects malformed events with a typed error naming the field", () => {
    const bad = { ...event("FAILED_LOGINS_SPIKE"), severity_guess: 9, occurred_at: "yesterday" };
    try {
      runAuthOpsSpine(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toMatch(/^\[ops\/incidents\]/);
      expect((err as ValidationError).issues.map((i) => i.path).sort()).toEqual(["occurred_at", "severity_guess"]);
    }
    expect(() => runAuthOpsSpine({ ...event("FAILED_LOGINS_SPIKE"), incident_type: "NOPE" as AuthIncidentType })).toThrow(/incident_type/);
  });
});

describe("typed playbook registry (the seed's e-commerce extension, no `as any`)", () => {
  const spine = createPlaybookRegistry().register("PAYMENT_FAILURES_SPIKE", {
    title: "Payment failures spike",
    respond: (e) => ({
      decision: "Check payment gateway status",
      steps: ["Verify Stripe/PayPal API status", "Check webhook delivery", "Review recent payment config changes"],
      rollback_plan: ["Switch back to the primary gateway once it recovers"],
      recommended_flags: [{ key: "payments.fallback_gateway", value: true, reason: "route to the backup gateway", scope: "global" }],
      minSeverity: (e.metrics_snapshot.failed_payments_1h as number) > 100 ? "critical" : undefined,
    }),
  });

  it("runs the custom type and still the universal ones", () => {
    const customIncident = {
      event_id: "evt_456",
      incident_type: "PAYMENT_FAILURES_SPIKE" as const,
      severity_guess: 2,
      occurred_at: new Date().toISOString(),
      metrics_snapshot: { failed_payments_1h: 50 },
    };
    const r = spine.run(customIncident);
    expect(r.decision).toBe("Check payment gateway status");
    expect(r.steps).toHaveLength(3);
    expect(r.severity).toBe("high");
    expect(r.runbook.title).toBe("Payment failures spike");
    expect(r.post_mitigation_checks).toEqual([]);
    expect(spine.run({ ...customIncident, metrics_snapshot: { failed_payments_1h: 500 } }).severity).toBe("critical");
    expect(spine.run({ ...event("SESSION_ANOMALIES"), incident_type: "SESSION_ANOMALIES" }).decision).toMatch(/session hijacking/);
    expect(spine.types()).toContain("PAYMENT_FAILURES_SPIKE");
    // The original registry is unchanged: registries are immutable values.
    expect(createPlaybookRegistry().has("PAYMENT_FAILURES_SPIKE")).toBe(false);
  });

  it("rejects bad registrations", () => {
    expect(() => createPlaybookRegistry().register("payment", { title: "x", respond: () => ({ decision: "d", steps: [] }) })).toThrow(
      ValidationError,
    );
  });
});

describe("deriveAuthIncidents (the seed's Next.js route)", () => {
  const ctx = { tenantId: "acme", now: "2026-11-26T10:15:00.000Z" };

  it("derives incidents the route feeds to runAuthOpsSpine", () => {
    const incidents = deriveAuthIncidents({ failed_logins_1h: 150, cross_tenant_access_attempts_1h: 2, session_anomalies_1h: 1 }, ctx);
    expect(incidents.map((e) => e.incident_type).sort()).toEqual(["FAILED_LOGINS_SPIKE", "TENANT_LEAK_RISK"]);
    for (const e of incidents) {
      expect(e.tenant_id).toBe("acme");
      expect(runAuthOpsSpine(e).event_id).toBe(e.event_id);
    }
  });

  it("gives stable ids within a window and new ones in the next window", () => {
    const a = deriveAuthIncidents({ failed_logins_1h: 150 }, ctx);
    const b = deriveAuthIncidents({ failed_logins_1h: 900 }, { ...ctx, now: "2026-11-26T10:59:59.000Z" });
    const c = deriveAuthIncidents({ failed_logins_1h: 150 }, { ...ctx, now: "2026-11-26T11:00:00.000Z" });
    const other = deriveAuthIncidents({ failed_logins_1h: 150 }, { ...ctx, tenantId: "globex" });
    expect(a[0]!.event_id).toBe(b[0]!.event_id);
    expect(c[0]!.event_id).not.toBe(a[0]!.event_id);
    expect(other[0]!.event_id).not.toBe(a[0]!.event_id);
  });

  it("applies ratios only above the volume floor", () => {
    // 150 failures out of 10,150 attempts: 1.5% failure ratio, a busy site, not an attack.
    expect(deriveAuthIncidents({ failed_logins_1h: 150, successful_logins_1h: 10_000 }, ctx)).toEqual([]);
    // 150 of 250: 60%.
    expect(deriveAuthIncidents({ failed_logins_1h: 150, successful_logins_1h: 100 }, ctx)).toHaveLength(1);
    // Below the count threshold nothing fires, whatever the ratio.
    expect(deriveAuthIncidents({ failed_logins_1h: 20, successful_logins_1h: 0 }, ctx)).toEqual([]);
  });

  it("covers every auth type with its metric", () => {
    const all = deriveAuthIncidents(
      {
        failed_logins_1h: 2000,
        password_reset_failures_1h: 30,
        oauth_callback_errors_1h: 12,
        jwt_validation_errors_1h: 80,
        session_anomalies_1h: 6,
        cross_tenant_access_attempts_1h: 1,
        suspicious_admin_logins_1h: 1,
        email_verification_failures_1h: 25,
      },
      ctx,
    );
    expect(all.map((e) => e.incident_type).sort()).toEqual([...AUTH_INCIDENT_TYPES].sort());
    expect(all.find((e) => e.incident_type === "FAILED_LOGINS_SPIKE")!.severity_guess).toBe(1);
  });

  it("accepts thresholds and rejects bad metrics with field names", () => {
    expect(
      deriveAuthIncidents({ failed_logins_1h: 150 }, ctx, {
        thresholds: { failedLogins: { count: 500, ratio: 0.3, minVolume: 200, critical: 1000 } },
      }),
    ).toEqual([]);
    expect(() => deriveAuthIncidents({ failed_logins_1h: -1 }, ctx)).toThrow(/failed_logins_1h/);
    expect(() => deriveAuthIncidents({ failed_logins_1h: 1 }, { tenantId: "bad tenant!" })).toThrow(ValidationError);
    expect(deriveAuthIncidents(undefined, undefined)).toEqual([]);
  });
});
