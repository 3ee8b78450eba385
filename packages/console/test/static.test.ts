import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { createConsole } from "../src/index.js";

// The serving logic over a stand-in UI directory (the real UI is built by `pnpm build`; the
// browser journeys in examples/server run against the built one).
function ui() {
  const dir = mkdtempSync(join(tmpdir(), "ops-console-ui-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), '<!doctype html><script type="module" src="./assets/app-1.js"></script>');
  writeFileSync(join(dir, "assets", "app-1.js"), "console.log(1)");
  writeFileSync(join(dir, "assets", "app-1.css"), "body{}");
  return dir;
}

describe("the UI assets", () => {
  const c = createConsole({ authorize: () => null, basePath: "/ops", uiDir: ui() });
  const get = (p: string, init?: RequestInit) => c.fetch(new Request(`http://x.test${p}`, init));

  it("serves index.html and hashed assets with their content types and a strict CSP, without a principal", async () => {
    const page = await get("/ops/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(page.headers.get("content-security-policy")).not.toMatch(/unsafe-inline/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const js = await get("/ops/assets/app-1.js");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toMatch(/immutable/);
    expect((await get("/ops/assets/app-1.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("serves a UI directory given as a relative path (./dir), resolved against the working directory", async () => {
    const rel = `.${"/"}${relative(process.cwd(), ui())}`;
    const c2 = createConsole({ authorize: () => null, basePath: "/ops", uiDir: rel });
    const page = await c2.fetch(new Request("http://x.test/ops/"));
    expect(page.status).toBe(200);
    expect((await c2.fetch(new Request("http://x.test/ops/assets/app-1.js"))).status).toBe(200);
    expect((await c2.fetch(new Request("http://x.test/ops/../../etc/passwd"))).status).toBe(404);
  });

  it("redirects the bare basePath, refuses paths outside the UI directory and other methods", async () => {
    const r = await get("/ops", { redirect: "manual" });
    expect(r.status).toBe(308);
    expect(r.headers.get("location")).toBe("/ops/");
    expect((await get("/ops/../../etc/passwd")).status).toBe(404);
    expect((await get("/ops/%2e%2e/%2e%2e/etc/passwd")).status).toBe(404);
    expect((await get("/ops/assets/nope.js")).status).toBe(404);
    // Encoded separators and malformed escapes are a plain 404, never a 500 (nor a read outside).
    expect((await get("/ops/assets/..%2f..%2f..%2fetc%2fpasswd")).status).toBe(404);
    expect((await get("/ops/..%5c..%5cindex.html")).status).toBe(404);
    const bad = await get("/ops/%E0%A4%A");
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect((await get("/elsewhere")).status).toBe(404);
    expect((await get("/ops/", { method: "POST" })).status).toBe(405);
  });

  it("says how to build when the UI is missing, while the API still answers", async () => {
    const bare = createConsole({ authorize: () => null, basePath: "/ops", uiDir: join(tmpdir(), "does-not-exist-ops-ui") });
    // An explicit uiDir that does not exist serves nothing (404); no uiDir and no build -> 503 hint.
    expect((await bare.fetch(new Request("http://x.test/ops/api/v1/session"))).status).toBe(401);
  });
});
