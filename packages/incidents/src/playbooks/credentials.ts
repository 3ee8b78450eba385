import type { Playbook, RecommendedFlag } from "../types.js";
import { metric } from "../util.js";

const OWASP_AUTH = "https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html";
const OWASP_STUFFING = "https://cheatsheetseries.owasp.org/cheatsheets/Credential_Stuffing_Prevention_Cheat_Sheet.html";
const OWASP_RESET = "https://cheatsheetseries.owasp.org/cheatsheets/Forgot_Password_Cheat_Sheet.html";
const OWASP_MFA = "https://cheatsheetseries.owasp.org/cheatsheets/Multifactor_Authentication_Cheat_Sheet.html";

const flag = (key: string, reason: string, scope: RecommendedFlag["scope"] = "tenant"): RecommendedFlag => ({
  key,
  value: true,
  reason,
  scope,
});

/** Brute force / credential stuffing against the login form. */
export const failedLoginsSpike: Playbook = {
  title: "Failed logins spike",
  respond(event) {
    const failed = metric(event.metrics_snapshot, "failed_logins_1h");
    const succeeded = metric(event.metrics_snapshot, "successful_logins_1h");
    const ratio = failed + succeeded > 0 ? failed / (failed + succeeded) : 1;
    const heavy = failed >= 1000 || event.severity_guess <= 1;
    const flags = [
      flag("auth.login.rate_limit_strict", "Throttle login attempts per IP and per account (per user+IP 20/min, per IP 100/h)"),
      flag("auth.login.captcha_on_risk", "Challenge risky attempts (flagged IPs, many accounts per IP) with CAPTCHA"),
      flag("auth.mfa.step_up_on_risk", "Ask for a second factor when a login looks risky, not for everyone"),
    ];
    if (heavy) flags.push(flag("auth.password.breached_check_enforced", "Reject and reset breached passwords at login"));
    return {
      decision: "Contain likely brute force and protect legitimate users.",
      minSeverity: failed >= 500 ? "high" : "medium",
      steps: [
        `Confirm the attack shape: ${failed} failed logins in the last hour (failure ratio ${(ratio * 100).toFixed(0)}%). Group failures by source IP/ASN and by account: many accounts from few IPs is credential stuffing, many attempts on few accounts is brute force.`,
        "Turn on strict per-IP and per-account rate limits on the login endpoint (flag auth.login.rate_limit_strict); answer throttled attempts with 429 and the same generic error as a wrong password.",
        "Challenge risky attempts with CAPTCHA (auth.login.captcha_on_risk) and step-up MFA (auth.mfa.step_up_on_risk) instead of blocking everyone (OWASP: MFA first, friction only under risk).",
        "Do not hard-lock accounts: attackers can lock real users out. Prefer exponential back-off per account and soft locks that a successful MFA or email link clears.",
        "Block or challenge source IPs with bad reputation (known proxies, hosting ASNs, Tor exits) at the edge/WAF.",
        "Check for successful logins from the attacking IPs: force a password reset and revoke sessions for those accounts, and notify their owners.",
        heavy
          ? "Enforce breached-password checks at login (auth.password.breached_check_enforced): stuffing lists come from breaches."
          : "If the attack grows (>= 1000/h) enforce breached-password checks at login.",
      ],
      recommended_flags: flags,
      rollback_plan: [
        "Restore the previous values of every flag this incident set (rollback(incidentId) does it exactly).",
        "Relax strict rate limits first if legitimate users are throttled (support tickets, login success rate below baseline).",
        "Turn off CAPTCHA on risk once the failure ratio has been normal for two consecutive windows.",
        "Keep step-up MFA and breached-password checks on unless they break a login path: they are cheap protections.",
      ],
      runbook: {
        title: "Failed logins spike (brute force / credential stuffing)",
        summary: "Throttle per IP and per account, add friction only under risk, never let lockout become a denial of service.",
        sections: [
          {
            heading: "Diagnose",
            items: [
              "Failures by IP, ASN, account, user agent",
              "Successful logins from attacking sources",
              "Recent deploys touching login",
            ],
          },
          { heading: "Contain", items: ["Strict rate limits", "CAPTCHA / step-up MFA on risk", "Edge blocks for bad-reputation IPs"] },
          { heading: "Recover", items: ["Reset and notify compromised accounts", "Revoke their sessions", "Lift friction gradually"] },
          {
            heading: "Follow up",
            items: ["Breached-password checks at signup and password change", "MFA adoption", "Per-account back-off in code"],
          },
        ],
        references: [OWASP_AUTH, OWASP_STUFFING, OWASP_MFA],
      },
      post_mitigation_checks: [
        "Failed-login ratio below the detection threshold for two consecutive buckets.",
        "Login success rate back to its baseline (real users are not throttled).",
        "No rise in account lockouts or support tickets about logging in.",
        "No new successful logins from the attacking IPs.",
      ],
    };
  },
};

/** Failures in the password reset flow: delivery problems or recovery abuse. */
export const passwordResetFailures: Playbook = {
  title: "Password reset failures",
  respond(event) {
    const failures = metric(event.metrics_snapshot, "password_reset_failures_1h");
    return {
      decision: "Protect the account-recovery flow from abuse and restore resets for real users.",
      minSeverity: "medium",
      steps: [
        `${failures} password reset failures in the last hour: split them into expired/invalid tokens, undelivered emails and rate-limited requests.`,
        "Check the email provider: bounces, deferrals, suppression lists, SPF/DKIM/DMARC results. Slow delivery makes short-lived tokens expire.",
        "Verify reset tokens are random (>= 128 bits), single use, stored hashed and expire (15-60 min); a deploy that changed token handling shows as a sudden step.",
        "Rate-limit reset requests per account and per IP (auth.password_reset.rate_limit_strict) and add CAPTCHA to the request form under abuse (auth.password_reset.captcha).",
        "Keep responses identical whether the account exists or not (no user enumeration through the reset form).",
        "After a successful reset, revoke the account's other sessions and notify the owner.",
      ],
      recommended_flags: [
        flag("auth.password_reset.rate_limit_strict", "Throttle reset requests per account and per IP"),
        flag("auth.password_reset.captcha", "CAPTCHA on the reset request form while the flow is abused"),
      ],
      rollback_plan: [
        "Restore the previous flag values once reset success is back to baseline.",
        "If real users cannot reset (CAPTCHA blocked, throttled), remove the CAPTCHA first and keep the rate limit.",
      ],
      runbook: {
        title: "Password reset failures",
        summary: "Distinguish delivery problems from abuse; keep recovery working without enumeration.",
        sections: [
          { heading: "Diagnose", items: ["Failure reasons", "Email delivery metrics", "Token TTL vs delivery delay"] },
          { heading: "Contain", items: ["Rate limit per account and IP", "CAPTCHA on request form"] },
          { heading: "Recover", items: ["Resend to affected users", "Revoke sessions after reset"] },
        ],
        references: [OWASP_RESET, OWASP_AUTH],
      },
      post_mitigation_checks: [
        "Reset completion ratio back to baseline.",
        "Email delivery success above 98% for reset messages.",
        "No reset requests hitting the new limits from real users (support tickets).",
      ],
    };
  },
};

/** Login or verification emails failing: deliverability, expired links or sign-up abuse. */
export const emailVerificationFailures: Playbook = {
  title: "Email verification failures",
  respond(event) {
    const failures = metric(event.metrics_snapshot, "email_verification_failures_1h");
    return {
      decision: "Restore email verification for real sign-ups and stop verification abuse.",
      minSeverity: "low",
      steps: [
        `${failures} verification failures in the last hour: split into undelivered, expired link, already used and invalid token.`,
        "Check the email provider (bounces, spam placement, suppression list, SPF/DKIM/DMARC alignment) and its status page.",
        "If links expire before delivery, extend the link lifetime temporarily (auth.email_verification.extended_ttl); keep tokens single use.",
        "Look for bot sign-ups (disposable domains, bursts from one IP/ASN): add CAPTCHA to sign-up (auth.signup.captcha) and rate-limit verification resends per account and IP.",
        "Offer a resend link on the failure page so real users can recover without support.",
      ],
      recommended_flags: [
        flag("auth.signup.captcha", "CAPTCHA on sign-up while verification is abused"),
        flag("auth.email_verification.resend_rate_limit", "Limit verification resends per account and IP"),
        flag("auth.email_verification.extended_ttl", "Give slow mail time to arrive"),
      ],
      rollback_plan: [
        "Restore the previous flag values once verification completion is back to baseline.",
        "Shorten the link lifetime back first: long-lived tokens are a risk.",
      ],
      runbook: {
        title: "Email verification failures",
        summary: "Deliverability first, then abuse; never verify without the token.",
        sections: [
          { heading: "Diagnose", items: ["Delivery metrics", "Failure reasons", "Sign-up sources"] },
          { heading: "Contain", items: ["CAPTCHA on sign-up", "Resend limits"] },
        ],
        references: [OWASP_AUTH],
      },
      post_mitigation_checks: [
        "Verification completion ratio back to baseline.",
        "Bounce rate normal.",
        "Sign-up volume from flagged sources down.",
      ],
    };
  },
};
