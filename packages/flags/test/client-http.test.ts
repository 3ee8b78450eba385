import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createContext, runInContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as esbuild from "esbuild";
import { MemoryFlagStore } from "@ops/adapter-memory";
import {
  FeatureFlagController,
  buildClientPayload,
  createClientFlagsHandler,
  createClientSigningKey,
  importSigningKey,
  signClientPayload,
  type EvaluationContext,
} from "@ops/flags";
import { FlagsClient, PayloadError, verifyClientPayload } from "@ops/flags/client";
import { clientAlias } from "../tsup.config.js";

const who = { actorUserId: "admin", reason: "client http test" };

/** Serves a fetch handler on a loopback port, streaming bodies (SSE) as they come. */
function serve(handler: (req: Request) => Promise<Response>): Promise<{ server: Server; url: string }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    void handler(new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, signal: abort.signal })).then(async (r) => {
      res.writeHead(r.status, Object.fromEntries(r.headers));
      if (!r.body) return res.end();
      const reader = r.body.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          res.write(value);
        }
      } catch {
        // client went away
      }
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/flags` })),
  );
}

describe("client payload over HTTP: signed, ETag polling, SSE streaming", () => {
  let c: FeatureFlagController;
  let keys: Awaited<ReturnType<typeof createClientSigningKey>>;
  let server: Server;
  let url: string;
  // The app's own authentication: a bearer token maps to the full server-side context.
  const sessions: Record<string, EvaluationContext> = {
    "tok-alice": { userId: "alice", tenantId: "acme", plan: "enterprise", email: "alice@acme.example" },
    "tok-bob": { userId: "bob", tenantId: "globex", plan: "free", email: "bob@globex.example" },
  };

  beforeAll(async () => {
    c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0 });
    await c.setFlag({ key: "checkout", newValue: false, ...who });
    await c.setRules({
      key: "checkout",
      rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { value: true } }],
      ...who,
    });
    await c.setFlag({ key: "banner", newValue: "none", ...who });
    await c.setRules({
      key: "banner",
      rules: [{ id: "p", when: [{ attr: "page", op: "startsWith", value: "/pricing" }], serve: { value: "sale" } }],
      ...who,
    });
    await c.setFlag({ key: "secret_beta", newValue: false, ...who });
    await c.setFlag({ key: "secret_beta", newValue: true, tenantId: "acme", ...who });
    keys = await createClientSigningKey("k1");
    const handler = createClientFlagsHandler({
      reader: c,
      signingKey: { keyId: keys.keyId, privateKey: keys.privateKey },
      clientAttributes: ["page"],
      privateAttributes: ["email"],
      resolveContext: (req) => sessions[(req.headers.get("authorization") ?? "").replace(/^Bearer /, "")] ?? null,
      heartbeatMs: 200,
    });
    ({ server, url } = await serve(handler));
  });
  afterAll(async () => {
    await c.close();
    await new Promise((r) => server.close(r));
  });

  it("answers 401 without a principal and serves each user only their own decisions", async () => {
    expect((await fetch(url)).status).toBe(401);
    const alice = new FlagsClient({ publicKey: keys.publicKey, url, headers: { authorization: "Bearer tok-alice" } });
    expect(await alice.refresh()).toBe(true);
    expect(alice.isEnabled("checkout")).toBe(true);
    expect(alice.isEnabled("secret_beta")).toBe(true);
    expect(alice.stringValue("banner")).toBe("none");
    expect(alice.stringValue("banner", { page: "/pricing/team" })).toBe("sale");
    expect(alice.evaluate("banner", { page: "/pricing" })).toMatchObject({ reason: "TARGETING_MATCH", ruleId: "p" });
    // Identity is fixed by the server: the client cannot become another user or tenant.
    expect(alice.isEnabled("secret_beta", { tenantId: "globex", plan: "free" })).toBe(true);
    const bob = new FlagsClient({ publicKey: keys.publicKey, url, headers: { authorization: "Bearer tok-bob" } });
    await bob.refresh();
    expect(bob.isEnabled("checkout")).toBe(false);
    expect(bob.evaluate("secret_beta").value).toBe(false);
    const raw = await (await fetch(url, { headers: { authorization: "Bearer tok-bob" } })).text();
    expect(raw).not.toContain("acme"); // no other tenant's override
    expect(raw).not.toContain("bob@globex.example"); // private attribute
    expect(raw).not.toContain("enterprise"); // conditions on server-side attributes are decided on the server
  });

  it("polls with ETag: 304 while nothing changed, the new payload after a change", async () => {
    const client = new FlagsClient({ publicKey: keys.publicKey, url, headers: { authorization: "Bearer tok-bob" } });
    expect(await client.refresh()).toBe(true);
    expect(await client.refresh()).toBe(false);
    const etag = (await fetch(url, { headers: { authorization: "Bearer tok-bob" } })).headers.get("etag")!;
    expect((await fetch(url, { headers: { authorization: "Bearer tok-bob", "if-none-match": etag } })).status).toBe(304);
    await c.setFlag({ key: "checkout", newValue: true, tenantId: "globex", ...who });
    expect(await client.refresh()).toBe(true);
    expect(client.isEnabled("checkout")).toBe(true);
    await c.clearTenantOverride({ key: "checkout", tenantId: "globex", ...who });
  });

  it("streams a new signed payload over SSE within milliseconds of a change", async () => {
    const client = new FlagsClient({ publicKey: keys.publicKey, url, headers: { authorization: "Bearer tok-alice" } });
    const seen: number[] = [];
    client.watch(() => seen.push(Date.now()));
    const done = client.stream();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
    expect(client.isEnabled("checkout")).toBe(true);
    const t0 = Date.now();
    await c.setEnabled({ key: "checkout", enabled: false, ...who });
    await expect.poll(() => client.isEnabled("checkout"), { timeout: 5000 }).toBe(false);
    const latency = Date.now() - t0;
    expect(client.evaluate("checkout").reason).toBe("DISABLED");
    // An unrelated environment-wide reload that changes nothing for this user sends nothing.
    const before = seen.length;
    await c.refresh();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.length).toBe(before);
    client.close();
    await done;
    await c.setEnabled({ key: "checkout", enabled: true, ...who });
    console.log(`SSE propagation: ${latency} ms`);
  });

  it("refuses a tampered, foreign-key, expired or other-user payload and keeps what it had", async () => {
    const signing = await importSigningKey({ keyId: "k1", privateKey: keys.privateKey });
    const payload = buildClientPayload(c, sessions["tok-bob"]!, { clientAttributes: ["page"] });
    const signed = await signClientPayload(payload, signing, "k1");
    const client = new FlagsClient({ publicKey: keys.publicKey, expectSubject: { unit: "bob" } });
    await client.load(signed);
    expect(client.isEnabled("checkout")).toBe(false);
    const tampered = { ...signed, payload: signed.payload.replace('"value":false', '"value":true') };
    expect(tampered.payload).not.toBe(signed.payload);
    await expect(client.load(tampered)).rejects.toMatchObject({ code: "SIGNATURE" });
    const other = await createClientSigningKey("k2");
    await expect(verifyClientPayload(signed, other.publicKey)).rejects.toBeInstanceOf(PayloadError);
    const old = await signClientPayload(buildClientPayload(c, sessions["tok-bob"]!, { now: Date.now() - 7_200_000 }), signing, "k1");
    await expect(client.load(old)).rejects.toMatchObject({ code: "EXPIRED" });
    const alices = await signClientPayload(buildClientPayload(c, sessions["tok-alice"]!), signing, "k1");
    await expect(client.load(alices)).rejects.toMatchObject({ code: "SUBJECT" });
    expect(client.isEnabled("checkout")).toBe(false);
    expect(() => buildClientPayload(c, {}, { clientAttributes: ["tenantId"] })).toThrow(/clientAttributes/);
  });

  it("bundles for the browser with no Node built-ins and no zod, and runs where no Node API exists", async () => {
    const out = await esbuild.build({
      entryPoints: [fileURLToPath(new URL("../src/client/index.ts", import.meta.url))],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "OpsFlagsClient",
      conditions: ["@ops/source"],
      alias: clientAlias,
      write: false,
      minify: true,
      logLevel: "silent",
    });
    const code = out.outputFiles[0]!.text;
    expect(code).not.toMatch(/node:|require\(|process\.|Buffer/);
    expect(code).not.toContain("zod");
    // ~25 KB of our own code plus re2js (~150 KB), which the Unleash constraint semantics need.
    expect(code.length).toBeLessThan(250_000);
    // A sandbox with only web-platform globals: no require, process, Buffer or module.
    const sandbox = createContext({
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      TextDecoderStream,
      atob,
      btoa,
      console,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
    });
    runInContext(code, sandbox);
    const api = (sandbox as { OpsFlagsClient: typeof import("@ops/flags/client") }).OpsFlagsClient;
    const signing = await importSigningKey({ keyId: "k1", privateKey: keys.privateKey });
    const ctx = { userId: "carol", tenantId: "acme", plan: "enterprise", email: "c@acme.example" };
    const client = new api.FlagsClient({ publicKey: keys.publicKey });
    await client.load(await signClientPayload(buildClientPayload(c, ctx, { clientAttributes: ["page"] }), signing, "k1"));
    for (const key of ["checkout", "banner", "secret_beta"]) {
      expect(client.evaluate(key).value).toEqual(c.evaluate(key, ctx).value);
      expect(client.evaluate(key, { page: "/pricing" }).value).toEqual(c.evaluate(key, { ...ctx, page: "/pricing" }).value);
    }
    console.log(`client bundle: ${code.length} bytes minified`);
  });
});
