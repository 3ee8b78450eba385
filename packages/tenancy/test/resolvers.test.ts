import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, TenantIsolationError, ValidationError } from "@ops/core";
import {
  agreeing,
  firstOf,
  fromHeader,
  fromJwtClaim,
  fromPathSegment,
  fromSubdomain,
  resolveTenant,
  type TenantRequest,
} from "@ops/tenancy";

function req(url: string, headers: Record<string, string> = {}): TenantRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { url: new URL(url), header: (n) => lower[n] };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const SECRET = "a-test-secret-of-at-least-32-bytes!!";
function hs256(payload: Record<string, unknown>, secret = SECRET, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): string {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${createHmac("sha256", secret).update(data).digest("base64url")}`;
}
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
function rs256(payload: Record<string, unknown>): string {
  const data = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}`;
  return `${data}.${sign("sha256", Buffer.from(data), rsa.privateKey).toString("base64url")}`;
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const now = Math.floor(Date.now() / 1000);

describe("tenant resolvers", () => {
  it("header", async () => {
    expect(await fromHeader()(req("http://x/", { "x-tenant-id": " acme " }))).toBe("acme");
    expect(await fromHeader("X-Org")(req("http://x/", { "x-org": "globex" }))).toBe("globex");
    expect(await fromHeader()(req("http://x/"))).toBeUndefined();
  });

  it("subdomain", async () => {
    const r = fromSubdomain({ baseDomain: "example.com" });
    expect(await r(req("http://x/", { host: "acme.example.com:8443" }))).toBe("acme");
    expect(await r(req("http://x/", { host: "www.example.com" }))).toBeUndefined();
    expect(await r(req("http://x/", { host: "a.b.example.com" }))).toBeUndefined();
    expect(await r(req("http://x/", { host: "example.com" }))).toBeUndefined();
    expect(await r(req("http://x/", { host: "acme.example.com.evil.io" }))).toBeUndefined();
    expect(await r(req("http://x/", { host: "acme.example.com", "x-forwarded-host": "globex.example.com" }))).toBe("acme");
    const proxied = fromSubdomain({ baseDomain: "example.com", trustForwardedHost: true });
    expect(await proxied(req("http://x/", { host: "lb", "x-forwarded-host": "globex.example.com" }))).toBe("globex");
    expect(() => fromSubdomain({ baseDomain: "" })).toThrow(ConfigError);
  });

  it("path segment", async () => {
    expect(await fromPathSegment({ after: "t" })(req("http://x/api/t/acme/items"))).toBe("acme");
    expect(await fromPathSegment({ index: 0 })(req("http://x/globex/items"))).toBe("globex");
    expect(await fromPathSegment({ after: "t" })(req("http://x/api/items"))).toBeUndefined();
    expect(() => fromPathSegment({})).toThrow(ConfigError);
  });

  it("JWT claim, HS256: verified tokens only", async () => {
    const r = fromJwtClaim({ hs256Secret: SECRET, audience: "api", issuer: "https://id.example" });
    const ok = { tenant_id: "acme", aud: "api", iss: "https://id.example", exp: now + 60 };
    expect(await r(req("http://x/", bearer(hs256(ok))))).toBe("acme");
    expect(await r(req("http://x/"))).toBeUndefined();
    const bad = [
      hs256(ok, "another-secret-of-at-least-32-bytes!!"),
      hs256({ ...ok, exp: now - 3600 }),
      hs256({ ...ok, aud: "other" }),
      hs256({ ...ok, iss: "https://evil" }),
      `${b64({ alg: "none" })}.${b64(ok)}.`,
      hs256(ok).replace(/\.[^.]+\./, `.${b64({ ...ok, tenant_id: "globex" })}.`),
      "not-a-jwt",
    ];
    for (const t of bad) await expect(r(req("http://x/", bearer(t)))).rejects.toThrow(TenantIsolationError);
  });

  it("JWT claim: requireExp refuses a token that never expires, and a non-numeric exp", async () => {
    const strict = fromJwtClaim({ hs256Secret: SECRET, requireExp: true });
    const lax = fromJwtClaim({ hs256Secret: SECRET });
    expect(await strict(req("http://x/", bearer(hs256({ tenant_id: "acme", exp: now + 60 }))))).toBe("acme");
    await expect(strict(req("http://x/", bearer(hs256({ tenant_id: "acme" }))))).rejects.toThrow(/expected an expiry \(exp\)/);
    await expect(strict(req("http://x/", bearer(hs256({ tenant_id: "acme", exp: "never" }))))).rejects.toThrow(TenantIsolationError);
    // Without the option, exp stays optional (RFC 7519).
    expect(await lax(req("http://x/", bearer(hs256({ tenant_id: "acme" }))))).toBe("acme");
  });

  it("JWT claim, RS256, and the HS256-with-public-key confusion is refused", async () => {
    const pem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
    const r = fromJwtClaim({ rs256PublicKey: pem, claim: "org" });
    expect(await r(req("http://x/", bearer(rs256({ org: "globex", exp: now + 60 }))))).toBe("globex");
    // An attacker signs HS256 with the (public) PEM as secret.
    const forged = hs256({ org: "acme" }, pem);
    await expect(r(req("http://x/", bearer(forged)))).rejects.toThrow(/expected alg RS256/);
    const jwk = fromJwtClaim({ rs256PublicKey: rsa.publicKey.export({ format: "jwk" }) as { kty: string }, claim: "org" });
    expect(await jwk(req("http://x/", bearer(rs256({ org: "initech" }))))).toBe("initech");
  });

  it("JWT claim with the app's verifier, and exactly one method required", async () => {
    const r = fromJwtClaim({ verify: (t) => (t === "good" ? { tenant_id: "acme" } : Promise.reject(new Error("no"))) });
    expect(await r(req("http://x/", bearer("good")))).toBe("acme");
    await expect(r(req("http://x/", bearer("evil")))).rejects.toThrow(TenantIsolationError);
    expect(() => fromJwtClaim({})).toThrow(ConfigError);
    expect(() => fromJwtClaim({ hs256Secret: SECRET, verify: () => ({}) })).toThrow(ConfigError);
  });

  it("firstOf, agreeing, and validation of what was found", async () => {
    const both = req("http://x/t/acme", { "x-tenant-id": "globex" });
    expect(await firstOf(fromHeader(), fromPathSegment({ after: "t" }))(both)).toBe("globex");
    await expect(agreeing(fromHeader(), fromPathSegment({ after: "t" }))(both)).rejects.toThrow(TenantIsolationError);
    expect(await agreeing(fromHeader(), fromPathSegment({ after: "t" }))(req("http://x/t/acme", { "x-tenant-id": "acme" }))).toBe("acme");
    await expect(resolveTenant(fromHeader(), req("http://x/", { "x-tenant-id": "bad id!" }))).rejects.toThrow(ValidationError);
    expect(await resolveTenant(fromHeader(), req("http://x/"))).toBeUndefined();
  });
});
