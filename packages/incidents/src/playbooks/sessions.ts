import type { Playbook, RecommendedFlag } from "../types.js";
import { metric } from "../util.js";

const OWASP_SESSION = "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html";
const OWASP_JWT = "https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html";
const OAUTH_BCP = "https://www.rfc-editor.org/rfc/rfc9700";
const OWASP_MT = "https://cheatsheetseries.owasp.org/cheatsheets/Multi_Tenant_Security_Cheat_Sheet.html";
const OWASP_AUTHZ = "https://cheatsheetseries.owasp.org/cheatsheets/Authorization_Cheat_Sheet.html";

const flag = (key: string, reason: string, scope: RecommendedFlag["scope"] = "tenant", value = true): RecommendedFlag => ({
  key,
  value,
  reason,
  scope,
});

export const oauthCallbackErrors: Playbook = {
  title: "OAuth callback errors",
  respond(event) {
    const errors = metric(event.metrics_snapshot, "oauth_callback_errors_1h");
    const provider = typeof event.metrics_snapshot.provider === "string" ? event.metrics_snapshot.provider : "the provider";
    return {
      decision: "Restore third-party sign-in and rule out callback tampering.",
      minSeverity: "medium",
      steps: [
        `${errors} OAuth callback errors in the last hour from ${provider}: group by error (invalid_grant, state mismatch, redirect_uri_mismatch, invalid_client, token endpoint 5xx).`,
        "Check the provider's status page and your client credentials: expired client secret or certificate, rotated keys, changed redirect URIs.",
        "State or PKCE verifier mismatches from many IPs suggest CSRF/login-injection attempts: keep rejecting them, never relax state or PKCE checks.",
        "Check clock skew on the servers validating id_tokens (iat/exp/nbf) and the JWKS cache of the provider.",
        "Show the fallback sign-in methods (password, email link) while the provider fails (auth.login.show_fallback_methods).",
        "Review recent deploys and configuration changes of the OAuth integration.",
      ],
      recommended_flags: [flag("auth.login.show_fallback_methods", "Let users sign in another way while the provider fails", "global")],
      rollback_plan: [
        "Restore the previous flag value once callbacks succeed again for two consecutive windows.",
        "If a credential was rotated to fix it, keep the old one revoked.",
      ],
      runbook: {
        title: "OAuth callback errors",
        summary: "Provider outage or misconfiguration is likely; tampering shows up as state/PKCE failures.",
        sections: [
          { heading: "Diagnose", items: ["Errors by code", "Provider status", "Credential expiry", "Clock skew"] },
          { heading: "Contain", items: ["Fallback sign-in", "Keep strict state/PKCE/redirect checks"] },
        ],
        references: [OAUTH_BCP, "https://www.rfc-editor.org/rfc/rfc7636"],
      },
      post_mitigation_checks: [
        "Callback error ratio below threshold for two consecutive buckets.",
        "Sign-ins through the provider back to baseline.",
        "No state/PKCE mismatch bursts remaining.",
      ],
    };
  },
};

export const jwtValidationErrors: Playbook = {
  title: "JWT validation errors",
  respond(event) {
    const errors = metric(event.metrics_snapshot, "jwt_validation_errors_1h");
    const badSignatures = metric(event.metrics_snapshot, "jwt_invalid_signature_1h");
    const forged = badSignatures >= 10 || event.severity_guess <= 1;
    const flags = [
      flag("auth.jwt.strict_validation", "Pin algorithms, require exp/aud/iss, reject alg=none", "global"),
      flag("auth.jwt.short_access_ttl", "Shorten access token lifetime while tokens are in doubt", "global"),
    ];
    if (forged) flags.push(flag("auth.jwt.force_reauth", "Invalidate refresh tokens and make users sign in again", "global"));
    return {
      decision: forged
        ? "Treat tokens as possibly forged or leaked: rotate signing keys and force re-authentication."
        : "Find why tokens fail validation and fix the issuer or verifier before users are logged out.",
      minSeverity: forged ? "critical" : "medium",
      steps: [
        `${errors} JWT validation errors in the last hour (${badSignatures} bad signatures): break them down by reason (expired, bad signature, unknown kid, wrong aud/iss, malformed).`,
        "Expired/nbf errors after a deploy: check clock skew and token TTL configuration; unknown kid: refresh the JWKS cache and check key rotation order (publish before signing).",
        "Pin accepted algorithms on the verifier and reject alg=none and HS/RS confusion (auth.jwt.strict_validation).",
        forged
          ? "Bad signatures with valid-looking kids suggest a leaked key: rotate the signing key now (new kid in JWKS, sign with it, retire the old one after the overlap), revoke refresh tokens (auth.jwt.force_reauth)."
          : "If bad signatures grow or come from many sources, rotate the signing key and revoke refresh tokens.",
        "Shorten access token lifetime while the cause is unknown (auth.jwt.short_access_ttl).",
        "Search logs for requests accepted with the suspect tokens and audit what they did.",
      ],
      recommended_flags: flags,
      rollback_plan: [
        "Restore the previous flag values once error rates are back to baseline and keys are rotated.",
        "Never roll back a key rotation: a retired key stays retired.",
        "Lengthen token lifetime back only after the cause is fixed.",
      ],
      runbook: {
        title: "JWT validation errors",
        summary: "Misconfiguration is common, forgery is rare but critical: decide which by the error reasons.",
        sections: [
          { heading: "Diagnose", items: ["Errors by reason and kid", "Clock skew", "JWKS cache", "Recent key rotation"] },
          { heading: "Contain", items: ["Pin algorithms", "Rotate keys", "Revoke refresh tokens"] },
        ],
        references: [OWASP_JWT, "https://www.rfc-editor.org/rfc/rfc8725"],
      },
      post_mitigation_checks: [
        "Validation error ratio below threshold for two consecutive buckets.",
        "No tokens signed by a retired key accepted.",
        "Sign-in and refresh success back to baseline.",
      ],
    };
  },
};

export const sessionAnomalies: Playbook = {
  title: "Session anomalies",
  respond(event) {
    const anomalies = metric(event.metrics_snapshot, "session_anomalies_1h");
    return {
      decision: "Contain possible session hijacking and force re-authentication where risk is high.",
      minSeverity: "medium",
      steps: [
        `${anomalies} session anomalies in the last hour: list the affected sessions (IP/ASN or user-agent change mid-session, impossible travel, token reuse after rotation).`,
        "Revoke the affected sessions and their refresh tokens; the users sign in again.",
        "Require step-up authentication for sensitive actions (auth.mfa.step_up_sensitive_actions) and bind sessions to client signals (auth.session.bind_to_client).",
        "Check cookie attributes (Secure, HttpOnly, SameSite) and that the session id is regenerated at login (session fixation).",
        "Look for XSS or token leakage (logs, referrers, third-party scripts) that could expose session tokens.",
      ],
      recommended_flags: [
        flag("auth.session.bind_to_client", "Invalidate sessions whose client signals change"),
        flag("auth.mfa.step_up_sensitive_actions", "Re-authenticate before sensitive actions"),
      ],
      rollback_plan: [
        "Restore the previous flag values once anomalies are back to baseline.",
        "If client binding logs out real mobile users (changing networks), relax it first.",
      ],
      runbook: {
        title: "Session anomalies",
        summary: "Revoke suspect sessions, add step-up for sensitive actions, find the leak.",
        sections: [
          { heading: "Diagnose", items: ["Anomalous sessions", "Cookie flags", "Leak sources"] },
          { heading: "Contain", items: ["Revoke sessions", "Step-up MFA", "Client binding"] },
        ],
        references: [OWASP_SESSION],
      },
      post_mitigation_checks: [
        "Anomaly rate below threshold for two consecutive buckets.",
        "Revoked sessions not reused.",
        "No increase in forced logouts reported by real users.",
      ],
    };
  },
};

export const tenantLeakRisk: Playbook = {
  title: "Tenant leak risk",
  respond(event) {
    const attempts = metric(event.metrics_snapshot, "cross_tenant_access_attempts_1h");
    return {
      decision: "Stop cross-tenant data exposure now: quarantine, preserve evidence, then investigate.",
      minSeverity: "critical",
      steps: [
        `${attempts} cross-tenant access attempts: identify the endpoints, queries and actors involved, and whether data was returned or blocked.`,
        "Turn on the strict tenant guard (tenancy.strict_guard) so any query without the current tenant fails closed.",
        "Quarantine the affected tenant's cross-tenant surfaces (tenancy.quarantine) and disable bulk exports (exports.disabled) until the path is fixed.",
        "Preserve evidence: export the audit trail and request logs of the window before retention deletes them.",
        "Find the missing tenant filter (RLS policy, scoped store, cache key without the tenant) and ship the fix with a regression test.",
        "If data of another tenant was returned, start the breach process: affected tenants, data categories, legal notification deadlines (GDPR: 72 hours).",
      ],
      recommended_flags: [
        flag("tenancy.strict_guard", "Fail closed on any query without the current tenant", "global"),
        flag("tenancy.quarantine", "Block cross-tenant surfaces for the affected tenant"),
        flag("exports.disabled", "No bulk exports while isolation is in doubt"),
      ],
      rollback_plan: [
        "Lift the quarantine and re-enable exports only after the fix is deployed and verified by a test.",
        "Keep the strict tenant guard on: it is the safe default.",
      ],
      runbook: {
        title: "Tenant leak risk",
        summary: "Fail closed, quarantine, preserve evidence, fix with a test, notify if data crossed.",
        sections: [
          { heading: "Contain", items: ["Strict guard", "Quarantine", "Disable exports"] },
          { heading: "Investigate", items: ["Audit trail", "Query paths", "Caches"] },
          { heading: "Notify", items: ["Affected tenants", "Legal deadlines"] },
        ],
        references: [OWASP_MT, OWASP_AUTHZ],
      },
      post_mitigation_checks: [
        "No cross-tenant access attempts for two consecutive buckets.",
        "The regression test for the leaking path passes.",
        "Audit trail verified for the incident window.",
      ],
    };
  },
};

export const suspiciousAdminLogin: Playbook = {
  title: "Suspicious admin login",
  respond(event) {
    const suspicious = metric(event.metrics_snapshot, "suspicious_admin_logins_1h");
    const failures = metric(event.metrics_snapshot, "admin_login_failures_1h");
    return {
      decision: "Verify the admin login with its owner out of band; contain the account if not confirmed.",
      minSeverity: "high",
      steps: [
        `${suspicious} suspicious admin logins and ${failures} failed admin logins in the last hour: list the accounts, source IPs, devices and locations.`,
        "Contact each admin through a channel other than the app (phone, chat) to confirm the login.",
        "If not confirmed: revoke the admin's sessions and API tokens, reset the password, re-enrol MFA.",
        "Review the audit trail of every admin action since the login: role and permission changes, exports, flag changes, new API keys or OAuth apps.",
        "Require step-up MFA for admin sign-in (admin.require_step_up_mfa) and restrict admin access to allow-listed networks (admin.ip_allowlist_enforced).",
      ],
      recommended_flags: [
        flag("admin.require_step_up_mfa", "Second factor on every admin sign-in"),
        flag("admin.ip_allowlist_enforced", "Admin access only from allow-listed networks"),
      ],
      rollback_plan: [
        "Restore the previous flag values once every admin login in the window is confirmed or contained.",
        "Revert any admin change found malicious during the review (its audit entry names the previous value).",
      ],
      runbook: {
        title: "Suspicious admin login",
        summary: "Confirm out of band, contain, review everything the session did.",
        sections: [
          { heading: "Verify", items: ["Out-of-band confirmation"] },
          { heading: "Contain", items: ["Revoke sessions and tokens", "Reset credentials", "Step-up MFA"] },
          { heading: "Review", items: ["Audit trail since login"] },
        ],
        references: ["https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html", OWASP_AUTHZ],
      },
      post_mitigation_checks: [
        "Every admin login of the window confirmed or its account contained.",
        "No admin action left unreviewed in the audit trail.",
        "No further failed admin logins from the suspicious sources.",
      ],
    };
  },
};
