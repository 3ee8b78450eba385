// The operator's journeys in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core (no browser download), against the example service on PostgreSQL with JWT auth.
// The console UI is built here (vite) when packages/console/dist/ui is missing or older than its
// sources, so the test needs no prior `pnpm build`. Screenshots of every page are written to
// packages/console/screenshots/. Skips locally without Chromium or PostgreSQL; fails under CI.
import { execFile, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireService, testPgAdminUrl, testPgUrl } from "@ops/testkit";
import { eventually, startTestService, type TestService } from "./support.js";

const CHROMIUM = "/usr/bin/chromium";
const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
const consoleDir = join(root, "packages", "console");
const shots = join(consoleDir, "screenshots");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`Chromium is missing at ${CHROMIUM}: .ci/chromium.sh installs it (apt-get install -y chromium)`);
if (!haveChromium) console.warn(`[console-browser] skipped: no ${CHROMIUM} (apt-get install -y chromium)`);
const pgUp = haveChromium && (await requireService("postgres"));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function buildUiIfStale(): void {
  const index = join(consoleDir, "dist", "ui", "index.html");
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(consoleDir, "ui"))) return;
  execFileSync(join(consoleDir, "node_modules", ".bin", "vite"), ["build", "--config", "vite.config.ts"], {
    cwd: consoleDir,
    stdio: "inherit",
  });
}

const secret = "browser-journeys-secret-0123456789abcdef";
function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}
const TENANT = "acme";
const OPERATOR = jwt({ sub: "ann", name: "Ann (acme operator)", roles: ["operator"], tenant_id: TENANT });
const ADMIN = jwt({ sub: "root", name: "Root (global admin)", roles: ["admin"], ops_scope: "global" });
const APP = jwt({ sub: "acme-app", roles: [], tenant_id: TENANT });
const FLAG = "checkout.new_flow";

describe.skipIf(!pgUp)("the console in Chromium, against the example service on PostgreSQL", () => {
  let db: string;
  let t: TestService;
  let ctx: BrowserContext;
  let userDir: string;
  let receiver: Server;
  let accept = false;
  const received: string[] = [];
  // Everything the pages load must come from the service itself (no CDN), and the CSP must not
  // have to block anything (no inline script or style in the built UI).
  const foreign: string[] = [];
  const refused: string[] = [];

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  async function signIn(token: string, name: string): Promise<Page> {
    const page = await ctx.newPage();
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    await page.goto(`${t.base}/ops/`);
    await page.getByTestId("login-form").waitFor();
    if (name === "operator") await shot(page, "login");
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("who").waitFor();
    return page;
  }

  beforeAll(async () => {
    buildUiIfStale();
    mkdirSync(shots, { recursive: true });
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push(req.url ?? "");
        res.writeHead(accept ? 200 : 410).end(accept ? "ok" : "gone");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const name = `ops_console_browser_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    // CREATE DATABASE needs the admin; the database belongs to testPgUrl()'s role (CI: the non-superuser ops_test).
    const admin = new pg.Client({ connectionString: testPgAdminUrl() });
    await admin.connect();
    const owner = decodeURIComponent(new URL(testPgUrl()).username || "postgres");
    await admin.query(`CREATE DATABASE "${name}" OWNER "${owner.replace(/"/g, '""')}"`);
    await admin.end();
    const url = new URL(testPgUrl());
    url.pathname = `/${name}`;
    db = name;
    t = await startTestService({
      DATABASE_URL: url.toString(),
      OPS_TENANT_JWT_SECRET: secret,
      OPS_MITIGATION: "apply",
      OPS_TICK_MS: "300",
      OPSSPINE_NOTIFY_MODE: "webhook",
      OPSSPINE_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      OPSSPINE_WEBHOOK_SECRET: "browser-webhook-secret-0123",
    });
    userDir = mkdtempSync(join(tmpdir(), "ops-chromium-"));
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    ctx.on("request", (r) => {
      const u = new URL(r.url());
      if ((u.protocol === "http:" || u.protocol === "https:") && u.origin !== new URL(t.base).origin) foreign.push(r.url());
    });
    expect((await api(ADMIN, "PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: false, reason: "seed: off until launch" })).status).toBe(
      200,
    );
  }, 240_000);

  afterAll(async () => {
    await ctx?.close();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
    await t?.close();
    await new Promise((r) => receiver?.close(r));
    if (db) {
      const c = new pg.Client({ connectionString: testPgAdminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await c.end();
    }
  });

  it("signs in as a tenant operator (sees only its tenant) and as a global admin", async () => {
    const op = await signIn(OPERATOR, "operator");
    await expect.poll(() => op.getByTestId("who").innerText()).toContain(`tenant ${TENANT}`);
    await op.getByTestId(`flag-row-${FLAG}`).waitFor();
    await shot(op, "flags-tenant-operator");
    // A tenant operator has no global change controls.
    await op.goto(`${t.base}/ops/#/flags/${FLAG}`);
    await op.getByTestId("evaluation").waitFor();
    expect(await op.getByTestId("value-form").count()).toBe(0);
    expect(await op.getByTestId("kill-form").count()).toBe(0);
    await op.close();
    const admin = await signIn(ADMIN, "admin");
    await expect.poll(() => admin.getByTestId("who").innerText()).toContain("global");
    await admin.close();
    // A bad token never gets past the sign-in page.
    const bad = await ctx.newPage();
    await bad.goto(`${t.base}/ops/`);
    await bad.getByLabel("Token").fill(`${ADMIN}x`);
    await bad.getByRole("button", { name: "Sign in" }).click();
    await bad.getByTestId("error").waitFor();
    expect(await bad.getByTestId("error").innerText()).toContain("UNAUTHENTICATED");
    await bad.close();
  });

  it("a global admin flips a flag with a reason; it is served and audited", async () => {
    const page = await signIn(ADMIN, "admin");
    await page.goto(`${t.base}/ops/#/flags/${FLAG}`);
    const form = page.getByTestId("value-form");
    await form.locator('input[name="value"]').fill("true");
    // No reason, no change: the form does not submit.
    await form.getByRole("button").click();
    expect(
      await form
        .locator('input[name="reason"]')
        .evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing),
    ).toBe(true);
    expect(await page.getByTestId("flag-value").innerText()).toBe("false");
    await form.locator('input[name="reason"]').fill("launch the new checkout for everyone");
    await form.getByRole("button").click();
    await expect.poll(() => page.getByTestId("flag-value").innerText()).toBe("true");
    await expect.poll(() => page.getByTestId("flag-history").innerText()).toContain("launch the new checkout for everyone");
    expect(t.service.flags.evaluate(FLAG, { tenantId: TENANT }).value).toBe(true);
    const audit = await api(ADMIN, "GET", `/ops/api/v1/audit?targetId=${FLAG}&limit=5`);
    expect(audit.json.items[0]).toMatchObject({
      action: "FLAG_CHANGE",
      actor: { id: "root" },
      reason: "launch the new checkout for everyone",
    });
    await shot(page, "flag-detail");
    await page.goto(`${t.base}/ops/#/flags`);
    await page.getByTestId(`flag-row-${FLAG}`).waitFor();
    await shot(page, "flags");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.base}/ops/#/flags/${FLAG}`);
    await page.getByTestId("evaluation").waitFor();
    await shot(page, "phone-flag-detail");
    await page.close();
  });

  it("a failed-login spike becomes an incident; the operator opens its plan, rolls it back and resolves it", async () => {
    const events = Array.from({ length: 12 }, () => ({ type: "LOGIN_FAILED", userId: "alice", ip: "203.0.113.7" }));
    expect((await api(APP, "POST", "/api/signals", { events })).status).toBe(202);
    const page = await signIn(OPERATOR, "operator");
    await page.goto(`${t.base}/ops/#/incidents`);
    await eventually(
      "the incident in the list",
      async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return (await page.getByTestId("incident-row-FAILED_LOGINS_SPIKE").count()) > 0;
      },
      30_000,
    );
    await shot(page, "incidents");
    await page.getByTestId("incident-row-FAILED_LOGINS_SPIKE").getByRole("link").first().click();
    await page.getByTestId("plan").waitFor();
    expect(await page.getByTestId("plan").innerText()).toContain("Rollback plan");
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByTestId("mitigation-status").waitFor();
          return page.getByTestId("mitigation-status").innerText();
        },
        { timeout: 20_000 },
      )
      .toContain("applied");
    expect(await page.getByTestId("recommended-flags").innerText()).toContain(`tenant ${TENANT}`);
    await shot(page, "incident-detail");
    const rollback = page.getByTestId("rollback-form");
    await rollback.locator('input[name="reason"]').fill("false alarm: alice mistyped her password");
    await rollback.getByRole("button").click();
    await expect.poll(() => page.getByTestId("mitigation-status").innerText()).toContain("rolled_back");
    const resolve = page.getByTestId("resolve-form");
    await resolve.locator('input[name="reason"]').fill("confirmed with alice");
    await resolve.getByRole("button").click();
    await expect.poll(() => page.getByTestId("incident-state-badge").innerText()).toBe("resolved");
    await expect.poll(() => page.getByTestId("timeline").innerText()).toContain("confirmed with alice");
    await shot(page, "incident-resolved");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.base}/ops/#/incidents`);
    await page.getByTestId("incidents-table").waitFor();
    await shot(page, "phone-incidents");
    await page.close();
  });

  it("browses and verifies the audit trail, and downloads an export that `ops-audit verify` accepts", async () => {
    const page = await signIn(ADMIN, "admin");
    await page.goto(`${t.base}/ops/#/audit`);
    await page.getByTestId("verify").click();
    await expect.poll(() => page.getByTestId("verify-result").innerText()).toContain("Chain verified");
    await page.getByTestId("audit-actorId").fill("root");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => page.getByTestId("audit-table").innerText()).toContain("launch the new checkout for everyone");
    await shot(page, "audit");
    const form = page.getByTestId("export-form");
    await form.locator('input[name="reason"]').fill("quarterly access review");
    const [download] = await Promise.all([page.waitForEvent("download"), form.getByRole("button").click()]);
    const file = join(userDir, download.suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^audit-global-.*\.jsonl$/);
    const out = await new Promise<{ code: number; stdout: string }>((resolveRun) =>
      execFile(
        join(root, "node_modules", ".bin", "tsx"),
        ["--conditions=@ops/source", "packages/audit/src/cli.ts", "verify", file],
        { cwd: root },
        (err, stdout, stderr) => resolveRun({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: stdout + stderr }),
      ),
    );
    expect(out.code, out.stdout).toBe(0);
    // The tenant's own chain, seen by its operator.
    const op = await signIn(OPERATOR, "operator");
    await op.goto(`${t.base}/ops/#/audit`);
    await op.getByTestId("verify").click();
    await expect.poll(() => op.getByTestId("verify-result").innerText()).toContain("Chain verified");
    await expect.poll(() => op.getByTestId("audit-table").innerText()).toContain("confirmed with alice");
    await shot(op, "audit-tenant");
    await op.close();
    await page.close();
  });

  it("resends a dead-lettered notification", async () => {
    // The incident's notification hit a webhook answering 410: dead-lettered.
    await eventually(
      "a dead notification",
      async () => (await api(OPERATOR, "GET", "/ops/api/v1/outbox?status=dead")).json?.items?.[0],
      30_000,
    );
    accept = true;
    const page = await signIn(OPERATOR, "operator");
    await page.goto(`${t.base}/ops/#/outbox`);
    await page.getByTestId("outbox-table").locator("tbody tr").first().waitFor();
    await shot(page, "outbox");
    const resend = page.locator('[data-testid^="resend-"]').first();
    await resend.locator('input[name="reason"]').fill("receiver fixed, send again");
    await resend.getByRole("button").click();
    await expect.poll(() => resend.innerText()).toContain("done");
    const delivered = await eventually(
      "the resent copy delivered",
      async () => {
        const r = await api(OPERATOR, "GET", "/ops/api/v1/outbox?status=delivered");
        return r.json?.items?.find((m: { payload: { resendOf?: string } }) => m.payload.resendOf);
      },
      30_000,
    );
    expect(delivered.channel).toBe("webhook");
    const trail = await api(OPERATOR, "GET", "/ops/api/v1/audit?actorId=ann&limit=50");
    expect(trail.json.items.map((e: { reason: string }) => e.reason)).toContain("receiver fixed, send again");
    await page.getByTestId("tab-delivered").click();
    await page.getByTestId("outbox-table").locator("tbody tr").first().waitFor();
    await page.close();
    const admin = await signIn(ADMIN, "admin");
    await admin.goto(`${t.base}/ops/#/health`);
    await admin.getByTestId("health-status").waitFor();
    await shot(admin, "health");
    await admin.goto(`${t.base}/ops/#/silences`);
    await admin.getByTestId("silence-form").waitFor();
    await shot(admin, "silences");
    await admin.close();
    expect(foreign).toEqual([]);
    expect(refused).toEqual([]);
  });
});
