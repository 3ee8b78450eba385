// Every code example of the seed README (shared/seed/ORIGINAL-README.md), as written, with its
// `@/src/...` imports replaced by our packages. If one of these stops compiling or passing, the
// public API people were promised has broken.
import { createServer, type Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { makeAuditEntry, auditMetaSafe, createAuditLog } from "@ops/audit";
import { FeatureFlagController } from "@ops/flags";
import { runAuthOpsSpine, deriveAuthIncidents } from "@ops/incidents";
import { runHealthChecks } from "@ops/health";
import { TenantScope, currentTenant, requireTenant } from "@ops/tenancy";
import type { AdminNotification } from "@ops/notify";
import { loadOpsEnv, TenantIsolationError } from "@ops/core";
import { memoryStores } from "@ops/adapter-memory";

const stores = memoryStores();
const store = stores.flags;

describe("seed README: 1. Audit System", () => {
  it("makeAuditEntry as written", () => {
    const entry = makeAuditEntry({
      tsISO: new Date().toISOString(),
      env: "prod",
      action: "AUTH_LOGIN",
      actorUserId: "user_123",
      surface: "api",
      meta: { ip: "1.2.3.4" },
    });
    expect(entry).toMatchObject({ action: "AUTH_LOGIN", env: "prod", surface: "api" });
    expect(JSON.stringify(entry)).toContain("user_123");
  });

  it("Example 2 (healthcare): auditMetaSafe + auditStore.save, and best practice 1", async () => {
    const auditStore = createAuditLog({ store: stores.audit });
    const req = { ip: "10.0.0.7" };
    async function logPatientAccess(patientId: string, doctorId: string) {
      const entry = makeAuditEntry({
        tsISO: new Date().toISOString(),
        env: "prod",
        action: "DATA_EXPORT", // Using universal audit action
        actorUserId: doctorId,
        subjectUserId: patientId,
        surface: "ehr",
        meta: auditMetaSafe({
          reason: "patient_chart_view",
          ip: req.ip,
        }),
      });

      // Store entry in your audit log
      await auditStore.save(entry);
    }
    await logPatientAccess("patient_9", "doctor_1");

    async function deleteUserAccount(userId: string, actorId: string) {
      await auditStore.save(
        makeAuditEntry({
          tsISO: new Date().toISOString(),
          env: "prod",
          action: "DATA_DELETE",
          actorUserId: actorId,
          subjectUserId: userId,
          surface: "admin_panel",
        }),
      );
    }
    await deleteUserAccount("user_5", "admin_1");
    const head = await stores.audit.head({ tenantId: null });
    expect(head?.seq).toBe(2);
  });

  it("auditMetaSafe masks secrets the seed's users would pass", () => {
    const safe = auditMetaSafe({ reason: "login", password: "hunter2", token: "abc", ip: "1.2.3.4" }) as Record<string, unknown>;
    expect(safe.reason).toBe("login");
    expect(JSON.stringify(safe)).not.toContain("hunter2");
    expect(JSON.stringify(safe)).not.toContain('"abc"');
  });
});

describe("seed README: 2. Feature Flags and Example 3 (SaaS)", () => {
  it("FeatureFlagController(store, env), setFlag with a tenant override, getBool", async () => {
    const controller = new FeatureFlagController(store, "prod");

    // Enable/disable features at runtime
    await controller.setFlag({
      key: "new_checkout_flow",
      newValue: true,
      actorUserId: "admin_123",
      tenantId: "tenant_abc", // Optional: tenant-specific override
      reason: "Gradual rollout to 10% of users",
    });

    // Check if enabled
    const enabled = await controller.getBool("new_checkout_flow");
    expect(enabled).toBe(false); // only tenant_abc was switched on
    expect(await controller.getBool("new_checkout_flow", "tenant_abc")).toBe(true);

    // Enable new feature for specific tenant only
    await controller.setFlag({
      key: "new_dashboard",
      newValue: true,
      actorUserId: "admin_123",
      tenantId: "enterprise_customer_xyz",
      reason: "Early access for enterprise customer",
    });
    const tenantId = "enterprise_customer_xyz";
    let shown = "";
    if (await controller.getBool("new_dashboard", tenantId)) {
      shown = "new dashboard";
    } else {
      shown = "old dashboard";
    }
    expect(shown).toBe("new dashboard");
    expect(await controller.getBool("new_dashboard", "someone_else")).toBe(false);

    // Best practice 2: a flag that was never set reads as off, it does not throw.
    const flags = controller;
    const newAlgorithm = await flags.getBool("new_recommendation_algorithm");
    expect(newAlgorithm).toBe(false);
    await controller.close();
  });
});

describe("seed README: 3. Incident Response", () => {
  it("runAuthOpsSpine as written, with the seed's decision text and a rollback plan", () => {
    const response = runAuthOpsSpine({
      event_id: "evt_123",
      incident_type: "FAILED_LOGINS_SPIKE",
      severity_guess: 2,
      occurred_at: new Date().toISOString(),
      metrics_snapshot: { failed_logins_1h: 150 },
    });
    expect(response.decision).toBe("Contain likely brute force and protect legitimate users.");
    expect(response.steps.length).toBeGreaterThan(0);
    expect(response.recommended_flags.length).toBeGreaterThan(0);
    expect(response.rollback_plan.length).toBeGreaterThan(0);
  });

  it("Step 5: the Next.js route body (deriveAuthIncidents -> runAuthOpsSpine)", () => {
    const body = {
      metrics: { failed_logins_1h: 150, password_reset_failures_1h: 0 },
      context: { env: "prod" },
    };
    const incidents = deriveAuthIncidents(body.metrics, body.context);
    const results = [];
    for (const event of incidents) {
      const response = runAuthOpsSpine(event);
      results.push({ event, response });
    }
    expect(results.map((r) => r.event.incident_type)).toContain("FAILED_LOGINS_SPIKE");
  });

  it("Example 1 (e-commerce): the custom incident with `as any` and the fallback, as written", () => {
    const customIncident = {
      event_id: "evt_456",
      incident_type: "PAYMENT_FAILURES_SPIKE" as any, // eslint-disable-line @typescript-eslint/no-explicit-any
      severity_guess: 2,
      occurred_at: new Date().toISOString(),
      metrics_snapshot: { failed_payments_1h: 50 },
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    function runEcommerceOpsSpine(event: any) {
      if (event.incident_type === "PAYMENT_FAILURES_SPIKE") {
        return {
          decision: "Check payment gateway status",
          steps: ["Verify Stripe/PayPal API status", "Check webhook delivery", "Review recent payment config changes"],
        };
      }
      return runAuthOpsSpine(event); // Fall back to universal auth ops
    }
    expect(runEcommerceOpsSpine(customIncident).decision).toBe("Check payment gateway status");
    expect(runEcommerceOpsSpine({ ...customIncident, incident_type: "JWT_VALIDATION_ERRORS" }).steps.length).toBeGreaterThan(0);
  });
});

describe("seed README: 4. Health Checks", () => {
  let server: Server;
  afterAll(() => server?.close());

  it('runHealthChecks("prod", checks) returns { ok, checks, tsISO }', async () => {
    server = createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    const checkDB = async () => true;
    const checkRedis = async () => (await fetch(`http://127.0.0.1:${port}/`)).ok;
    const checkStripe = async () => false;
    const checkS3 = async () => true;

    const checks = [
      async () => ({ name: "database", ok: await checkDB() }),
      async () => ({ name: "redis", ok: await checkRedis() }),
      async () => ({ name: "stripe", ok: await checkStripe() }),
      async () => ({ name: "s3", ok: await checkS3() }),
    ];

    const status = await runHealthChecks("prod", checks);
    expect(status.ok).toBe(false);
    expect(typeof status.tsISO).toBe("string");
    expect(status.checks.map((c) => [c.name, c.ok])).toEqual([
      ["database", true],
      ["redis", true],
      ["stripe", false],
      ["s3", true],
    ]);
  });
});

describe("seed README: 5. Multi-Tenancy", () => {
  it("new TenantScope(tenantId) scopes what runs inside it", async () => {
    const tenantId = "tenant_abc";
    // Ensure operations are scoped to a tenant
    const scope = new TenantScope(tenantId);
    // All queries/operations within scope are tenant-isolated
    const seen = await scope.run(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return requireTenant();
    });
    expect(seen).toBe("tenant_abc");
    expect(currentTenant()).toBeUndefined();
    expect(() => requireTenant()).toThrow(TenantIsolationError);
  });
});

describe("seed README: Step 4 env and Extending: notification providers", () => {
  it("the env variables load, and a provider class shaped like the seed's PagerDutyProvider sends AdminNotifications", async () => {
    const cfg = loadOpsEnv({
      APP_NAME: "YourAppName",
      OPSSPINE_ADMIN_EMAIL: "ops@yourcompany.com",
      OPSSPINE_WEBHOOK_URL: "https://hooks.slack.com/services/YOUR/WEBHOOK",
      OPSSPINE_NOTIFY_MODE: "webhook",
    });
    expect(cfg.notifyMode).toBe("webhook");

    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        received.push({ auth: req.headers.authorization, body: JSON.parse(body) });
        res.writeHead(201).end("{}");
      });
    }).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    class PagerDutyProvider {
      constructor(private apiKey: string) {}

      async send(n: AdminNotification) {
        await fetch(`${base}/incidents`, {
          method: "POST",
          headers: {
            Authorization: `Token token=${this.apiKey}`,
            "Content-Type": "application/json",
          },
          body: JSON.stringify({
            incident: {
              type: "incident",
              title: n.subject,
              body: { type: "incident_body", details: n.body },
            },
          }),
        });
      }
    }
    await new PagerDutyProvider("k").send({ subject: "Failed logins spike", body: "150 in 1h", severity: "high" });
    server.close();
    expect(received).toEqual([
      {
        auth: "Token token=k",
        body: { incident: { type: "incident", title: "Failed logins spike", body: { type: "incident_body", details: "150 in 1h" } } },
      },
    ]);
  });
});
