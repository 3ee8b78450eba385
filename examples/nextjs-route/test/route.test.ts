import { describe, expect, it } from "vitest";
import { POST } from "../app/api/ops/auth/route.js";
import { POST as READY_MADE } from "../app/api/ops/auth/ready-made.js";

const post = (body: string) =>
  new Request("http://localhost/api/ops/auth", { method: "POST", headers: { "content-type": "application/json" }, body });

describe("the seed's Next.js route (app/api/ops/auth/route.ts)", () => {
  it("answers the seed's shape: incidents with their response plans", async () => {
    const res = await POST(post(JSON.stringify({ metrics: { failed_logins_1h: 150 }, context: { tenantId: "acme" } })));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      ok: boolean;
      incidents: Array<{ event: { incident_type: string; tenant_id: string }; response: { decision: string } }>;
    };
    expect(body.ok).toBe(true);
    expect(body.incidents[0]!.event).toMatchObject({ incident_type: "FAILED_LOGINS_SPIKE", tenant_id: "acme" });
    expect(body.incidents[0]!.response.decision).toBe("Contain likely brute force and protect legitimate users.");
  });

  it("answers 400 with field issues for a bad body or bad JSON", async () => {
    const bad = await POST(post(JSON.stringify({ metrics: { failed_logins_1h: -1 } })));
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { issues: Array<{ path: string }> };
    expect(body.issues[0]!.path).toBe("failed_logins_1h");
    expect((await POST(post("{oops"))).status).toBe(400);
  });

  it("the ready-made handler gives the same incidents", async () => {
    const res = await READY_MADE(post(JSON.stringify({ metrics: { failed_logins_1h: 150 } })));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { incidents: unknown[] }).incidents).toHaveLength(1);
  });
});
