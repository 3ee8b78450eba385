// The service's principal decision in JWT mode: only a verified, unexpired HS256 token that names
// a tenant (or the global scope) and carries an expiry is somebody. No database is needed.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAuthorize } from "../src/auth.js";

const SECRET = "an-example-secret-of-at-least-32-bytes";
const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
function token(claims: Record<string, unknown>, secret = SECRET): string {
  const head = `${enc({ alg: "HS256", typ: "JWT" })}.${enc(claims)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}
const request = (t?: string) => new Request("http://svc/api/flags", t ? { headers: { authorization: `Bearer ${t}` } } : {});
const exp = () => Math.floor(Date.now() / 1000) + 600;

describe("example service authorization (JWT mode)", () => {
  const { mode, authorize } = createAuthorize({ tenantJwtSecret: SECRET });

  it("a signed, unexpired token naming a tenant is that tenant's principal", async () => {
    expect(mode).toBe("jwt");
    expect(await authorize(request(token({ sub: "ann", roles: ["operator"], tenant_id: "acme", exp: exp() })))).toEqual({
      actorId: "ann",
      roles: ["operator"],
      tenantId: "acme",
    });
  });

  it("refuses a token that never expires, an expired one, a forged one and no token at all", async () => {
    const base = { sub: "ann", roles: ["admin"], ops_scope: "global" };
    expect(await authorize(request(token(base)))).toBeNull();
    expect(await authorize(request(token({ ...base, exp: Math.floor(Date.now() / 1000) - 3600 })))).toBeNull();
    expect(await authorize(request(token({ ...base, exp: exp() }, "another-secret-of-at-least-32-bytes!!")))).toBeNull();
    expect(await authorize(request())).toBeNull();
    expect(await authorize(request(token({ ...base, exp: exp() })))).toMatchObject({ actorId: "ann", tenantId: null });
  });
});
