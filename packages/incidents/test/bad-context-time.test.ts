import { describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { createAuthOpsHandler, deriveAuthIncidents } from "../src/index.js";

describe("context.now out of the Date range", () => {
  it("deriveAuthIncidents throws a ValidationError naming context.now, not a RangeError", () => {
    for (const now of [1e17, -1e16]) {
      let caught: unknown;
      try {
        deriveAuthIncidents({ failed_logins_1h: 150 }, { now });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).message).toMatch(/^\[ops\/incidents\].*now/);
    }
  });

  it("the HTTP handler answers 400 naming context.now, not 500", async () => {
    const handler = createAuthOpsHandler();
    const res = await handler(
      new Request("http://127.0.0.1/api/ops/auth", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ metrics: { failed_logins_1h: 150 }, context: { now: 1e17 } }),
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: Array<{ path: string }> };
    expect(body.issues.map((i) => i.path)).toContain("context.now");
  });
});
